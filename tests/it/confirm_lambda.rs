//! The confirmer binary as Lambda runs it, against the tests' Runtime API
//! emulator, moto and the RingCentral stand-in: the relay publishes a
//! webhook `Updated` that still says `ContactCenterNumber` while RingCentral
//! has the number as a `DirectNumber`; the confirm queue (subscribed to the
//! Updated topic with the template's filter policy) gets it, and the
//! confirmer, fed that SQS event, publishes the reassigned-away correction,
//! which a subscriber receives with the exact attributes. The correction does
//! not come back to the confirm queue, and a second delivery changes nothing.

use crate::inventory::inventory_table;
use crate::support::ringcentral_standin::phone_numbers::record;
use crate::support::ringcentral_standin::*;
use crate::support::runtime_api::{Functions, RuntimeApi};
use crate::support::*;
use cc_number_relay::change::{EventType, Origin, PhoneNumberId};
use cc_number_relay::inventory::dynamodb::{DynamoInventory, RELAY_TIMEOUTS, SCAN_TIMEOUTS};
use cc_number_relay::inventory::Inventory;
use cc_number_relay::reconcile::correction_id;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const CC: &str = "ContactCenterNumber";

/// A queue subscribed to the Updated topic as template.yaml's ConfirmSubscription is.
async fn confirm_queue(aws: &Aws, updated_topic: &str) -> String {
    let name = unique("confirm");
    let url = aws
        .sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let template = template();
    let filter = &template["Resources"]["ConfirmSubscription"]["Properties"]["FilterPolicy"];
    aws.sns
        .subscribe()
        .topic_arn(updated_topic)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:us-east-1:123456789012:{name}"))
        .attributes("RawMessageDelivery", "true")
        .attributes("FilterPolicyScope", "MessageAttributes")
        .attributes("FilterPolicy", filter.to_string())
        .send()
        .await
        .unwrap();
    url
}

/// The SQS event Lambda's poller makes of these messages (id, body).
fn sqs_event(messages: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id, "receiptHandle": format!("handle-{id}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764324000000"},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:confirm", "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn lookups(standin: &StandIn, id: u64) -> usize {
    let path = format!("/restapi/v1.0/account/~/phone-number/{id}");
    standin
        .log()
        .iter()
        .filter(|l| l.method == "GET" && l.path == path)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_updated_that_hid_a_reassignment_is_corrected_within_the_batch() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let table = inventory_table(&aws).await;
    let confirm = confirm_queue(&aws, &topology.topics[1]).await;
    let standin = StandIn::start();
    // RingCentral moved the number to a user's direct number.
    standin.put_number(record(1001, "+12025550101", "DirectNumber"));
    let secret = crate::guardian_lambda::credentials_secret(&aws, "confirm-rc").await;

    // The webhook says Updated, still ContactCenterNumber; the relay publishes and records it.
    let config = topology.config();
    let relay = Relay {
        verifier: verifier(),
        sink: AwsSink::new(&aws.sdk, config.topics, config.dead_letter_queue_url),
        inventory: Some(DynamoInventory::new(&aws.sdk, table.clone(), RELAY_TIMEOUTS)),
        xray: Default::default(),
    };
    let mut body = body_file("updated-reassigned-away");
    body["uuid"] = "aaaaaaaa-0000-4000-8000-000000001001".into();
    body["timestamp"] = rfc3339(time::OffsetDateTime::now_utc() - time::Duration::minutes(1)).into();
    body["body"]["phoneNumberInfo"] = record(1001, "+12025550101", CC);
    body["body"]["phoneNumberInfo"]["id"] = "1001".into();
    let answer = handle(
        &relay,
        request(&http_api("POST", &notification_headers(), Some(&body.to_string()))),
    )
    .await;
    assert_eq!(answer.status(), 200);
    let told = drain(&aws, topology.subscriber_of("Updated"), 1).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].json()["phoneNumber"]["usageType"], CC);

    // The confirm queue has it, as Lambda's poller would hand it over.
    let queued = drain(&aws, &confirm, 1).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].attributes["origin"], "webhook");
    let change = queued[0].body.clone();
    // A redelivery of the same message and a body that is no change, in the same batch.
    let event = sqs_event(&[("m-1", &change), ("m-2", &change), ("m-junk", "{\"schemaVersion\":1}")]);

    let env = vec![
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ("CREATED_TOPIC_ARN", topology.topics[0].clone()),
        ("UPDATED_TOPIC_ARN", topology.topics[1].clone()),
        ("DELETED_TOPIC_ARN", topology.topics[2].clone()),
        ("INVENTORY_TABLE", table.clone()),
        ("RINGCENTRAL_CREDENTIALS_SECRET", secret),
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
        ("METRICS_NAMESPACE", "ConfirmLambdaTest".to_owned()),
    ];
    let api = RuntimeApi::start();
    let mut functions = Functions::start(&api, env!("CARGO_BIN_EXE_cc-number-relay-confirm"), 1, &env);
    functions.wait_until_ready(&api, Duration::from_secs(60)).unwrap();
    let answer = api
        .invoke(&event, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", functions.output()));
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m-junk"}]}),
        "{}",
        functions.output()
    );
    assert_eq!(lookups(&standin, 1001), 1, "one lookup for the two messages");

    // Subscribers hear that it left Contact Center, as reconciliation would tell them.
    let corrections = drain(&aws, topology.subscriber_of("Updated"), 1).await;
    assert_eq!(corrections.len(), 1, "{}", functions.output());
    let correction = &corrections[0];
    let expected: BTreeMap<String, String> = [
        ("eventType", "Updated"),
        ("phoneNumberId", "1001"),
        ("origin", "reconciliation"),
        ("stale", "false"),
        ("usageType", "DirectNumber"),
        ("accountId", "37439510"),
        ("contactCenterProviderId", "12345"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(correction.attributes, expected);
    let state = cc_number_relay::notification::decode_number(
        record(1001, "+12025550101", "DirectNumber").to_string().as_bytes(),
    )
    .unwrap();
    let body = correction.json();
    assert_eq!(
        body["notificationId"],
        correction_id(Origin::Reconciliation, EventType::Updated, &state).as_str()
    );
    assert_eq!(body["changeType"], "Updated");
    assert_eq!(body["phoneNumber"]["usageType"], "DirectNumber");
    assert_eq!(body["subscriptionId"], Value::Null);
    assert_matches_schema(&body);
    for kind in ["Created", "Deleted"] {
        assert!(drain_now(&aws, topology.subscriber_of(kind)).await.is_empty(), "{kind}");
    }
    // The correction (origin reconciliation) does not come back to be confirmed.
    assert!(drain_now(&aws, &confirm).await.is_empty());
    let inventory = DynamoInventory::new(&aws.sdk, table, SCAN_TIMEOUTS);
    let held = inventory
        .last_told(&PhoneNumberId::parse("1001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.origin, Origin::Reconciliation);
    assert_eq!(held.change.phone_number.usage_type.as_deref(), Some("DirectNumber"));

    // Delivered again (SQS is at least once): subscribers already know, nothing is published.
    let again = api
        .invoke(&sqs_event(&[("m-1", &change)]), Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", functions.output()));
    assert_eq!(again, json!({"batchItemFailures": []}));
    assert!(drain_now(&aws, topology.subscriber_of("Updated")).await.is_empty());
    assert_eq!(lookups(&standin, 1001), 2);
}

#[test]
fn a_cold_start_without_configuration_stops_with_one_line() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cc-number-relay-confirm"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("cold start failed: environment variable INVENTORY_TABLE is not set"),
        "{text}"
    );
}

/// Without a RingCentral client nothing can be concluded: every message comes
/// back (retried, then dead-lettered), the function itself does not fail,
/// and the log says why.
#[tokio::test(flavor = "multi_thread")]
async fn without_credentials_every_message_of_the_batch_comes_back() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let standin = StandIn::start();
    let env = vec![
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ("CREATED_TOPIC_ARN", topology.topics[0].clone()),
        ("UPDATED_TOPIC_ARN", topology.topics[1].clone()),
        ("DELETED_TOPIC_ARN", topology.topics[2].clone()),
        ("INVENTORY_TABLE", inventory_table(&aws).await),
        ("RINGCENTRAL_CREDENTIALS_SECRET", unique("absent-secret")),
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
    ];
    let api = RuntimeApi::start();
    let mut functions = Functions::start(&api, env!("CARGO_BIN_EXE_cc-number-relay-confirm"), 1, &env);
    functions.wait_until_ready(&api, Duration::from_secs(60)).unwrap();
    let answer = api
        .invoke(&sqs_event(&[("m-1", "{}"), ("m-2", "{}")]), Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", functions.output()));
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]})
    );
    assert!(
        functions
            .output()
            .contains("confirm: no RingCentral client, the whole batch is retried: "),
        "{}",
        functions.output()
    );
    assert!(standin.log().is_empty(), "RingCentral was not asked");
}
