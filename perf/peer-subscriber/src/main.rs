//! What a typical hand-written Rust subscriber does, without the consumer kit:
//! the peer the directory benchmark measures cc-number-directory's warm CPU
//! against. Per SQS record (raw delivery: the body is the change): the body
//! into a `serde_json::Value`, then one conditional PutItem of the same item
//! as the kit's DynamoDB ledger (crates/cc-number-change/src/dynamodb.rs),
//! with the same condition; a refused condition (a duplicate or an older
//! change) is success. No validation, no metrics, no log line per change.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::collections::HashMap;

/// The kit's condition (`NEWER` in crates/cc-number-change/src/dynamodb.rs), verbatim.
const NEWER: &str = "attribute_not_exists(phoneNumberId) OR (notificationId <> :n AND \
     (occurredAtNanos < :t OR (occurredAtNanos = :t AND notificationId < :n)))";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let table = std::env::var("DIRECTORY_TABLE")?;
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let (client, table) = (&client, table.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        for record in &event.payload.records {
            put(client, table, record.body.as_deref().unwrap_or_default()).await?;
        }
        Ok::<_, Error>(SqsBatchResponse::default())
    }))
    .await
}

async fn put(client: &aws_sdk_dynamodb::Client, table: &str, body: &str) -> Result<(), Error> {
    let change: Value = serde_json::from_str(body)?;
    let s = |v: &Value| AttributeValue::S(v.as_str().unwrap_or_default().to_owned());
    let occurred_at = change["occurredAt"].as_str().unwrap_or_default();
    let nanos = time::OffsetDateTime::parse(occurred_at, &time::format_description::well_known::Rfc3339)?
        .unix_timestamp_nanos()
        .to_string();
    let usage = change["phoneNumber"]["usageType"].as_str();
    let contact_center = change["changeType"] != "Deleted" && usage.is_none_or(|u| u == "ContactCenterNumber");
    let mut item = HashMap::from([
        ("phoneNumberId".to_owned(), s(&change["phoneNumber"]["id"])),
        ("e164".to_owned(), s(&change["phoneNumber"]["e164"])),
        ("occurredAt".to_owned(), s(&change["occurredAt"])),
        ("occurredAtNanos".to_owned(), AttributeValue::N(nanos.clone())),
        ("notificationId".to_owned(), s(&change["notificationId"])),
        ("changeType".to_owned(), s(&change["changeType"])),
        ("contactCenter".to_owned(), AttributeValue::Bool(contact_center)),
    ]);
    if let Some(provider) = change["contactCenterProvider"]["id"].as_str().filter(|p| !p.is_empty()) {
        item.insert(
            "contactCenterProviderId".to_owned(),
            AttributeValue::S(provider.to_owned()),
        );
    }
    let written = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(NEWER)
        .expression_attribute_values(":t", AttributeValue::N(nanos))
        .expression_attribute_values(":n", s(&change["notificationId"]))
        .send()
        .await;
    match written {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(PutItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
