//! The DynamoDB inventory adapter against moto: conditional writes keep the
//! newer state, reads and scans give back what was written, the baseline
//! marker and the subscription lease are kept apart, the lease is taken by
//! one run at a time, and a table that does not answer costs at most the
//! relay's budget.

use crate::support::*;
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use cc_number_relay::change::{Origin, PhoneNumberId, Timestamp};
use cc_number_relay::inventory::dynamodb::{DynamoInventory, RELAY_TIMEOUTS, SCAN_TIMEOUTS};
use cc_number_relay::inventory::{Inventory, LeaseTaken, Recorded, SubscriptionLease, Told};
use cc_number_relay::notification::{decode, Inbound};

/// A fresh table shaped as template.yaml declares it.
pub async fn inventory_table(aws: &Aws) -> String {
    let name = unique("inventory");
    aws_sdk_dynamodb::Client::new(&aws.sdk)
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("phoneNumberId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("phoneNumberId")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
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
