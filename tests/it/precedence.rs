//! The precedence vectors (schema/vectors/precedence.json) against the
//! kit's DynamoDB ledger on moto, through the runner the in-memory ledger's
//! test uses (`cc_number_change::vectors`): one fresh table per vector, its
//! final state read back with a Scan. The two ledgers pass one table of
//! cases, so they cannot decide differently on any of them.

use crate::inventory::inventory_table;
use crate::support::*;
use cc_number_change::dynamodb::entry_of;
use cc_number_change::vectors::{mismatch, precedence, replay};
use cc_number_change::{DynamoDbLedger, Entry};
use jsonschema::Draft;

async fn scan(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Entry> {
    let items = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    items
        .iter()
        .map(|item| entry_of(item).unwrap_or_else(|| panic!("not a ledger item: {item:?}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dynamodb_ledger_passes_every_precedence_vector() {
    let aws = Aws::moto().await;
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let vectors = precedence().unwrap();
    assert_eq!(vectors.len(), 30);
    let mut failed = Vec::new();
    for vector in &vectors {
        let table = inventory_table(&aws).await;
        let ledger = DynamoDbLedger::new(client.clone(), &table);
        let outcomes = replay(&ledger, vector).await.unwrap();
        failed.extend(mismatch(vector, &outcomes, &scan(&client, &table).await));
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Every delivery's body is one the relay could publish: it validates
/// against the v1 JSON Schema, so other implementations may rely on it.
#[test]
fn every_vector_body_validates_against_the_v1_schema() {
    let schema: serde_json::Value = serde_json::from_str(cc_number_change::SCHEMA).unwrap();
    let validator = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema)
        .unwrap();
    let mut bodies = 0;
    for vector in precedence().unwrap() {
        for (step, delivery) in vector.deliveries.iter().enumerate() {
            let errors: Vec<String> = validator
                .iter_errors(&delivery.body)
                .map(|e| format!("{}: {e}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{} delivery {step}: {errors:?}", vector.name);
            bodies += 1;
        }
    }
    assert_eq!(bodies, 77);
}
