//! The DynamoDB inventory adapter against moto: conditional writes keep the
//! newer state, reads and scans give back what was written, the baseline
//! marker and the subscription lease are kept apart, the lease is taken by
//! one run at a time, and a table that does not answer costs at most the
//! relay's budget.

use crate::support::*;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use cc_number_relay::change::{AccountId, Origin, PhoneNumberId, Timestamp};
use cc_number_relay::inventory::dynamodb::{DynamoInventory, RELAY_TIMEOUTS, SCAN_TIMEOUTS};
use cc_number_relay::inventory::{Inventory, LeaseTaken, Recorded, SubscriptionLease, Told};
use cc_number_relay::notification::{decode, Inbound};
use cc_number_relay::registry::Tenant;
use std::collections::BTreeSet;

/// The inventory table's keys and index as template.yaml declares them (a
/// test holds the template to it), so every test's table is the deployed one.
pub fn inventory_table_shape() -> serde_json::Value {
    serde_json::json!({
        "AttributeDefinitions": [
            {"AttributeName": "phoneNumberId", "AttributeType": "S"},
            {"AttributeName": "accountId", "AttributeType": "S"}
        ],
        "KeySchema": [{"AttributeName": "phoneNumberId", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "byAccount",
            "KeySchema": [
                {"AttributeName": "accountId", "KeyType": "HASH"},
                {"AttributeName": "phoneNumberId", "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["told"]}
        }]
    })
}

fn key_schema(keys: &serde_json::Value) -> Vec<KeySchemaElement> {
    let keys = keys.as_array().unwrap().iter();
    keys.map(|k| {
        KeySchemaElement::builder()
            .attribute_name(k["AttributeName"].as_str().unwrap())
            .key_type(KeyType::from(k["KeyType"].as_str().unwrap()))
            .build()
            .unwrap()
    })
    .collect()
}

/// A fresh table shaped as template.yaml declares it.
pub async fn inventory_table(aws: &Aws) -> String {
    let name = unique("inventory");
    let shape = inventory_table_shape();
    let attributes = shape["AttributeDefinitions"].as_array().unwrap().iter().map(|a| {
        AttributeDefinition::builder()
            .attribute_name(a["AttributeName"].as_str().unwrap())
            .attribute_type(ScalarAttributeType::from(a["AttributeType"].as_str().unwrap()))
            .build()
            .unwrap()
    });
    let indexes = shape["GlobalSecondaryIndexes"].as_array().unwrap().iter().map(|i| {
        let projection = &i["Projection"];
        let included = projection["NonKeyAttributes"].as_array().unwrap().iter();
        GlobalSecondaryIndex::builder()
            .index_name(i["IndexName"].as_str().unwrap())
            .set_key_schema(Some(key_schema(&i["KeySchema"])))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(projection["ProjectionType"].as_str().unwrap()))
                    .set_non_key_attributes(Some(included.map(|a| a.as_str().unwrap().to_owned()).collect()))
                    .build(),
            )
            .build()
            .unwrap()
    });
    aws_sdk_dynamodb::Client::new(&aws.sdk)
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes.collect()))
        .set_key_schema(Some(key_schema(&shape["KeySchema"])))
        .set_global_secondary_indexes(Some(indexes.collect()))
        .send()
        .await
        .unwrap();
    name
}

#[test]
fn every_tests_table_is_the_templates() {
    let table = &template()["Resources"]["InventoryTable"]["Properties"];
    let shape = inventory_table_shape();
    for part in ["AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"] {
        assert_eq!(table[part], shape[part], "{part}");
    }
    assert_eq!(
        shape["GlobalSecondaryIndexes"][0]["IndexName"],
        cc_number_relay::inventory::dynamodb::BY_ACCOUNT_INDEX
    );
}

fn told(uuid: &str, at: &str) -> Told {
    let body = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/events/bodies/created.json"))
        .unwrap()
        .replace("ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0", uuid)
        .replace("2013-06-14T12:00:00.000Z", at);
    let Ok(Inbound::Change(change)) = decode(body.as_bytes()) else {
        panic!()
    };
    Told {
        change: *change,
        origin: Origin::Webhook,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conditional_writes_keep_the_newer_state() {
    let aws = Aws::moto().await;
    let inventory = DynamoInventory::new(&aws.sdk, inventory_table(&aws).await, SCAN_TIMEOUTS);
    let id = PhoneNumberId::parse("987654321").unwrap();
    assert_eq!(inventory.last_told(&id).await.unwrap(), None);

    let newer = told("00000000-0000-4000-8000-000000000002", "2026-01-01T10:00:00Z");
    let older = told("00000000-0000-4000-8000-000000000001", "2026-01-01T11:00:00+02:00"); // 09:00Z
    assert_eq!(inventory.record(&newer).await.unwrap(), Recorded::Written);
    assert_eq!(inventory.record(&older).await.unwrap(), Recorded::KeptNewer);
    assert_eq!(
        inventory.record(&newer).await.unwrap(),
        Recorded::KeptNewer,
        "same instant: kept"
    );
    assert_eq!(inventory.last_told(&id).await.unwrap(), Some(newer.clone()));

    let newest = told("00000000-0000-4000-8000-000000000003", "2026-01-01T10:00:00.001Z");
    assert_eq!(inventory.record(&newest).await.unwrap(), Recorded::Written);
    assert_eq!(inventory.all().await.unwrap(), [newest]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_baseline_marker_is_kept_apart_and_taken_once() {
    let aws = Aws::moto().await;
    let inventory = DynamoInventory::new(&aws.sdk, inventory_table(&aws).await, SCAN_TIMEOUTS);
    assert_eq!(inventory.baseline().await.unwrap(), None);
    let first = Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap();
    inventory.mark_baseline(&first).await.unwrap();
    inventory
        .mark_baseline(&Timestamp::parse("2026-02-01T00:00:00.000Z").unwrap())
        .await
        .unwrap();
    assert_eq!(inventory.baseline().await.unwrap(), Some(first));
    assert!(inventory.all().await.unwrap().is_empty(), "the marker is no number");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_subscription_lease_is_one_runs_at_a_time_expires_and_is_no_number() {
    let aws = Aws::moto().await;
    let inventory = DynamoInventory::new(&aws.sdk, inventory_table(&aws).await, SCAN_TIMEOUTS);
    let record = told("00000000-0000-4000-8000-000000000004", "2026-01-01T10:00:00Z");
    inventory.record(&record).await.unwrap();
    let (first, second) = (inventory.lease("run one".into()), inventory.lease("run two".into()));
    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::minutes(5);
    assert_eq!(first.take(now, until).await.unwrap(), LeaseTaken::Taken);
    // The reconciler's scan and the relay's reads see numbers only.
    assert_eq!(
        inventory.all().await.unwrap(),
        std::slice::from_ref(&record),
        "the lease is no number"
    );
    let held = second.take(now, now + time::Duration::minutes(5)).await.unwrap();
    let LeaseTaken::Held {
        holder,
        until: held_until,
    } = held
    else {
        panic!("{held:?}")
    };
    assert_eq!(holder, "run one");
    assert_eq!((held_until - until).whole_milliseconds(), 0, "{held_until} {until}");

    // Giving back someone else's lease changes nothing; one's own frees it.
    second.release().await.unwrap();
    assert!(matches!(
        second.take(now, until).await.unwrap(),
        LeaseTaken::Held { .. }
    ));
    first.release().await.unwrap();
    assert_eq!(second.take(now, until).await.unwrap(), LeaseTaken::Taken);

    // A run that crashed holding it: free once it has expired.
    let later = until + time::Duration::seconds(1);
    assert_eq!(
        first.take(later, later + time::Duration::minutes(5)).await.unwrap(),
        LeaseTaken::Taken
    );
    assert_eq!(inventory.all().await.unwrap(), [record]);
}

/// An endpoint that accepts connections and never answers.
pub fn hanging_endpoint() -> String {
    format!("http://127.0.0.1:{}", hanging_listener())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_table_is_cut_off_after_one_attempt() {
    let sdk = sdk_config(&hanging_endpoint()).await;
    let inventory = DynamoInventory::new(&sdk, "t".into(), RELAY_TIMEOUTS);
    let started = std::time::Instant::now();
    let error = inventory
        .last_told(&PhoneNumberId::parse("1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.operation, "read");
    assert!(error.detail.starts_with("Timeout"), "{error}");
    // The relay's whole budget for the inventory is 250 ms a call; far under RingCentral's 3 s.
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

/// Number `id` told for `account` (`None`: a change that named none).
fn told_for(id: &str, account: Option<&str>) -> Told {
    let mut told = told("00000000-0000-4000-8000-000000000010", "2026-01-01T10:00:00Z");
    told.change.phone_number.id = PhoneNumberId::parse(id).unwrap();
    told.change.account_id = account.map(|a| AccountId::parse(a).unwrap());
    told
}

fn registered(table: &DynamoInventory, account: &str) -> DynamoInventory {
    table
        .clone()
        .for_tenant(Tenant::Registered(AccountId::parse(account).unwrap()))
}

fn ids(all: Vec<Told>) -> Vec<String> {
    let mut ids: Vec<String> = all.iter().map(|t| t.id().to_string()).collect();
    ids.sort();
    ids
}

/// The default account's numbers (one told with no account id, one with
/// its own) and two registered accounts' in one table.
async fn three_accounts(aws: &Aws) -> DynamoInventory {
    let table = DynamoInventory::new(&aws.sdk, inventory_table(aws).await, SCAN_TIMEOUTS);
    for (id, account) in [
        ("100", None),
        ("101", Some("37439510")),
        ("200", Some("111")),
        ("201", Some("111")),
        ("300", Some("222")),
    ] {
        assert_eq!(table.record(&told_for(id, account)).await.unwrap(), Recorded::Written);
    }
    table
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registered_account_reads_only_its_numbers_and_the_default_account_none_of_theirs() {
    let aws = Aws::moto().await;
    let table = three_accounts(&aws).await;
    let (a, b) = (registered(&table, "111"), registered(&table, "222"));
    // Bookkeeping of every account in the same table: none of it is a number.
    let at = Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap();
    for inventory in [&table, &a, &b] {
        inventory.mark_baseline(&at).await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        let until = now + time::Duration::minutes(5);
        inventory.lease("run".into()).take(now, until).await.unwrap();
        inventory.reconcile_lease("run".into()).take(now, until).await.unwrap();
    }
    assert_eq!(ids(a.all().await.unwrap()), ["200", "201"]);
    assert_eq!(ids(b.all().await.unwrap()), ["300"]);
    let registered_ids = BTreeSet::from([AccountId::parse("111").unwrap(), AccountId::parse("222").unwrap()]);
    let default = table.clone().excluding(registered_ids);
    assert_eq!(ids(default.all().await.unwrap()), ["100", "101"]);
    assert_eq!(
        ids(table.all().await.unwrap()),
        ["100", "101", "200", "201", "300"],
        "nothing registered: the whole table, as before there were many accounts"
    );
    // By id, any account's number, as the webhook path reads it.
    let told = a.last_told(&PhoneNumberId::parse("300").unwrap()).await.unwrap();
    assert_eq!(told, Some(told_for("300", Some("222"))));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_ported_to_another_account_leaves_the_first_ones_reading() {
    let aws = Aws::moto().await;
    let table = three_accounts(&aws).await;
    let mut ported = told_for("300", Some("111"));
    ported.change.occurred_at = Timestamp::parse("2026-01-02T10:00:00Z").unwrap();
    table.record(&ported).await.unwrap();
    assert_eq!(
        ids(registered(&table, "111").all().await.unwrap()),
        ["200", "201", "300"]
    );
    assert!(registered(&table, "222").all().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn each_account_has_its_own_baseline_and_leases_under_todays_keys_for_the_default() {
    let aws = Aws::moto().await;
    let table = DynamoInventory::new(&aws.sdk, inventory_table(&aws).await, SCAN_TIMEOUTS);
    let (a, b) = (registered(&table, "111"), registered(&table, "222"));
    let first = Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap();
    a.mark_baseline(&first).await.unwrap();
    assert_eq!(a.baseline().await.unwrap(), Some(first.clone()));
    assert_eq!(b.baseline().await.unwrap(), None);
    assert_eq!(table.baseline().await.unwrap(), None);

    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::minutes(5);
    assert_eq!(a.lease("a".into()).take(now, until).await.unwrap(), LeaseTaken::Taken);
    assert_eq!(b.lease("b".into()).take(now, until).await.unwrap(), LeaseTaken::Taken);
    assert_eq!(
        table.lease("d".into()).take(now, until).await.unwrap(),
        LeaseTaken::Taken
    );
    assert_eq!(
        a.reconcile_lease("a".into()).take(now, until).await.unwrap(),
        LeaseTaken::Taken
    );
    let held = a.lease("a2".into()).take(now, until).await.unwrap();
    assert!(
        matches!(&held, LeaseTaken::Held { holder, .. } if holder == "a"),
        "{held:?}"
    );

    // The items, by key: the default account's are today's.
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let items = client.scan().table_name(table.table()).send().await.unwrap();
    let mut keys: Vec<&str> = items
        .items()
        .iter()
        .filter_map(|i| i.get("phoneNumberId")?.as_s().ok().map(String::as_str))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "#baseline 111",
            "#lease reconcile 111",
            "#lease subscription",
            "#lease subscription 111",
            "#lease subscription 222"
        ]
    );
}
