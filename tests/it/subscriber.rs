//! The last hop: the consumer kit's DynamoDB ledger against moto, and the
//! example subscribers `cc-number-directory` (Rust) and
//! `cc-number-directory-python` end to end. The relay binary publishes
//! webhooks (duplicates, out of order, a stale one), the CLI publishes
//! reconciliation corrections and a snapshot, SNS fans them out to three
//! queues: two subscribed raw, one enveloped. The directory binary consumes
//! the first two, the Python example (`python -m awslambdaric app.handler`,
//! the Python client's venv from dev/clients.sh) the third, each under the
//! Runtime API emulator fed as Lambda's event source mapping would: batches
//! of up to 10, what succeeded deleted, what `batchItemFailures` names
//! redelivered, the dead-letter queue after `maxReceiveCount`. At the end
//! each directory's Contact Center numbers are the stand-in's, and the three
//! directories hold the same items.

use crate::inventory::inventory_table;
use crate::support::ringcentral_standin::phone_numbers::record;
use crate::support::ringcentral_standin::*;
use crate::support::runtime_api::{Functions, Launch, RuntimeApi};
use crate::support::*;
use aws_sdk_dynamodb::types::AttributeValue;
use cc_number_change::ledger::{Entry, Ledger, Recorded};
use cc_number_change::{Change, DynamoDbLedger};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

const CC: &str = "ContactCenterNumber";
const MAX_RECEIVE_COUNT: u32 = 2;

fn change(id: &str, change_type: &str, at: &str, uuid: &str) -> Change {
    let body = json!({
        "schemaVersion": 1, "changeType": change_type, "notificationId": uuid, "occurredAt": at,
        "accountId": "37439510", "subscriptionId": null, "ownerId": null,
        "phoneNumber": {"id": id, "e164": "+12025550101", "uri": null, "paymentType": null, "location": null,
                        "type": null, "usageType": CC, "status": null},
        "contactCenterProvider": {"id": "12345", "name": null}
    });
    cc_number_change::decode(body.to_string().as_bytes()).unwrap()
}

fn verdict<U>(recorded: Recorded<U>) -> &'static str {
    match recorded {
        Recorded::Applied(_) => "Applied",
        Recorded::Duplicate => "Duplicate",
        Recorded::Stale => "Stale",
    }
}

async fn item(aws: &Aws, table: &str, id: &str) -> Option<BTreeMap<String, AttributeValue>> {
    aws_sdk_dynamodb::Client::new(&aws.sdk)
        .get_item()
        .table_name(table)
        .key("phoneNumberId", AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .map(|i| i.into_iter().collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dynamodb_ledger_decides_with_one_conditional_write() {
    let aws = Aws::moto().await;
    let table = inventory_table(&aws).await;
    let ledger = DynamoDbLedger::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &table);
    let record = |c: Change| {
        let ledger = &ledger;
        async move { verdict(ledger.record(&Entry::of(&c)).await.unwrap()) }
    };
    // Newer applies; the same notification is a duplicate; older is stale,
    // also when its text sorts later (+02:00 is two hours earlier).
    assert_eq!(
        record(change("n1", "Created", "2026-01-01T10:00:00Z", "a")).await,
        "Applied"
    );
    assert_eq!(
        record(change("n1", "Created", "2026-01-01T10:00:00Z", "a")).await,
        "Duplicate"
    );
    // The same notification observed later (a correction published again) is still a duplicate.
    assert_eq!(
        record(change("n1", "Created", "2026-01-01T10:30:00Z", "a")).await,
        "Duplicate"
    );
    assert_eq!(
        record(change("n1", "Updated", "2026-01-01T11:00:00+02:00", "b")).await,
        "Stale"
    );
    assert_eq!(
        record(change("n1", "Updated", "2026-01-01T11:00:00Z", "c")).await,
        "Applied"
    );
    // Equal instants: the greater notification id wins, in either order.
    assert_eq!(
        record(change("n1", "Updated", "2026-01-01T11:00:00.000+00:00", "d")).await,
        "Applied"
    );
    assert_eq!(
        record(change("n1", "Updated", "2026-01-01T11:00:00Z", "c")).await,
        "Stale"
    );
    // A Deleted leaves a tombstone that an older Created cannot revive.
    assert_eq!(
        record(change("n1", "Deleted", "2026-01-01T12:00:00Z", "e")).await,
        "Applied"
    );
    assert_eq!(
        record(change("n1", "Created", "2026-01-01T11:30:00Z", "f")).await,
        "Stale"
    );
    let tombstone = item(&aws, &table, "n1").await.unwrap();
    assert_eq!(tombstone["notificationId"], AttributeValue::S("e".into()));
    assert_eq!(tombstone["contactCenter"], AttributeValue::Bool(false));
    assert_eq!(tombstone["changeType"], AttributeValue::S("Deleted".into()));
    assert_eq!(
        tombstone["occurredAt"],
        AttributeValue::S("2026-01-01T12:00:00Z".into())
    );
    assert_eq!(tombstone["contactCenterProviderId"], AttributeValue::S("12345".into()));

    // A revert puts back what was replaced, or removes a first entry.
    let later = Entry::of(&change("n1", "Created", "2026-01-01T13:00:00Z", "g"));
    let Recorded::Applied(undo) = ledger.record(&later).await.unwrap() else {
        panic!("a later change applies")
    };
    assert_eq!(undo.as_ref().unwrap()["notificationId"], AttributeValue::S("e".into()));
    ledger.revert(&later, undo).await.unwrap();
    assert_eq!(item(&aws, &table, "n1").await.unwrap(), tombstone);
    let first = Entry::of(&change("n2", "Created", "2026-01-01T13:00:00Z", "h"));
    let Recorded::Applied(undo) = ledger.record(&first).await.unwrap() else {
        panic!("a first change applies")
    };
    ledger.revert(&first, undo).await.unwrap();
    assert_eq!(item(&aws, &table, "n2").await, None);
}

/// A queue with its own dead-letter queue, subscribed to the three topics.
pub(crate) struct SubscriberQueue {
    pub url: String,
    pub arn: String,
    pub dead_letters: String,
    pub raw: bool,
}

pub(crate) async fn subscriber_queue(aws: &Aws, topology: &Topology, raw: bool) -> SubscriberQueue {
    let name = unique(if raw { "directory-raw" } else { "directory-enveloped" });
    let dlq_name = format!("{name}-dlq");
    let create = |n: String| aws.sqs.create_queue().queue_name(n);
    let dead_letters = create(dlq_name.clone()).send().await.unwrap().queue_url.unwrap();
    let policy = json!({"deadLetterTargetArn": format!("arn:aws:sqs:us-east-1:123456789012:{dlq_name}"), "maxReceiveCount": MAX_RECEIVE_COUNT});
    let url = create(name.clone())
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            policy.to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    for topic in &topology.topics {
        aws.sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(&arn)
            .attributes("RawMessageDelivery", if raw { "true" } else { "false" })
            .send()
            .await
            .unwrap();
    }
    SubscriberQueue {
        url,
        arn,
        dead_letters,
        raw,
    }
}

/// A message as Lambda's event source mapping hands it to the function.
pub(crate) fn lambda_record(m: &aws_sdk_sqs::types::Message, queue_arn: &str) -> Value {
    let attributes: serde_json::Map<String, Value> = m
        .message_attributes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let value = json!({"stringValue": v.string_value, "dataType": v.data_type, "stringListValues": [], "binaryListValues": []});
            (k, value)
        })
        .collect();
    let system: serde_json::Map<String, Value> = m
        .attributes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_owned(), Value::String(v)))
        .collect();
    json!({
        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
        "attributes": system, "messageAttributes": attributes, "md5OfBody": m.md5_of_body,
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"
    })
}

/// What feeding a queue to the function saw.
#[derive(Default, Debug)]
pub(crate) struct Fed {
    batches: usize,
    /// Batch sizes of the invocations that reported failures, and how many.
    pub failed_batches: Vec<(usize, usize)>,
}

/// Lambda's event source mapping, bounded: receive up to 10, invoke, delete
/// what succeeded, make what failed visible again at once (instead of after
/// the visibility timeout), until the queue stays empty.
pub(crate) async fn feed(aws: &Aws, api: &RuntimeApi, queue: &SubscriberQueue) -> Fed {
    let mut fed = Fed::default();
    let mut empty_polls = 0;
    for _ in 0..200 {
        let received = aws
            .sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .visibility_timeout(30)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            empty_polls += 1;
            if empty_polls == 2 {
                return fed;
            }
            continue;
        }
        empty_polls = 0;
        let records: Vec<Value> = received.iter().map(|m| lambda_record(m, &queue.arn)).collect();
        let event = json!({ "Records": records });
        let answer = tokio::task::block_in_place(|| api.invoke(&event, Duration::from_secs(30))).unwrap();
        fed.batches += 1;
        let failed: BTreeSet<String> = answer["batchItemFailures"]
            .as_array()
            .unwrap_or_else(|| panic!("not a batch response: {answer}"))
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
            .collect();
        if !failed.is_empty() {
            fed.failed_batches.push((received.len(), failed.len()));
        }
        for m in &received {
            let handle = m.receipt_handle.clone().unwrap();
            if failed.contains(m.message_id.as_deref().unwrap()) {
                aws.sqs
                    .change_message_visibility()
                    .queue_url(&queue.url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                aws.sqs
                    .delete_message()
                    .queue_url(&queue.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    panic!("the queue did not drain within 200 polls: {fed:?}");
}

pub(crate) async fn contact_center_numbers(aws: &Aws, table: &str) -> BTreeSet<String> {
    let items = aws_sdk_dynamodb::Client::new(&aws.sdk)
        .scan()
        .table_name(table)
        .filter_expression("contactCenter = :t")
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    items
        .iter()
        .map(|i| i["phoneNumberId"].as_s().unwrap().clone())
        .collect()
}

pub(crate) fn notification(id: u64, e164: &str, event_type: &str, uuid: &str, at: &str, usage: &str) -> String {
    let mut body = body_file("created");
    body["uuid"] = uuid.into();
    body["timestamp"] = at.into();
    body["body"]["eventType"] = event_type.into();
    body["body"]["phoneNumberInfo"] = record(id, e164, usage);
    body["body"]["phoneNumberInfo"]["id"] = id.to_string().into();
    body.to_string()
}

/// A message no decoder accepts, as each kind of subscription would carry it.
async fn poison(aws: &Aws, queue: &SubscriberQueue) {
    let bad = r#"{"schemaVersion":1,"changeType":"Created","phoneNumber":{"id":"9999"}}"#;
    let mut send = aws.sqs.send_message().queue_url(&queue.url);
    if queue.raw {
        let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Created")
            .build()
            .unwrap();
        send = send.message_body(bad).message_attributes("eventType", attribute);
    } else {
        let envelope = json!({
            "Type": "Notification", "MessageId": "poison", "TopicArn": "arn:aws:sns:us-east-1:123456789012:x",
            "Message": bad, "Timestamp": "2026-11-30T10:00:00.000Z", "SignatureVersion": "1", "Signature": "x",
            "SigningCertURL": "https://x", "UnsubscribeURL": "https://x", "MessageAttributes": {}
        });
        send = send.message_body(envelope.to_string());
    }
    send.send().await.unwrap();
}

/// Every message on the queue is sent a second time (SQS delivers at least once).
async fn duplicate_everything(aws: &Aws, queue: &SubscriberQueue) -> usize {
    let mut copies = Vec::new();
    loop {
        let batch = aws
            .sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .visibility_timeout(60)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        copies.extend(batch);
    }
    for m in &copies {
        for _ in 0..2 {
            let mut send = aws
                .sqs
                .send_message()
                .queue_url(&queue.url)
                .message_body(m.body.clone().unwrap());
            for (k, v) in m.message_attributes.clone().unwrap_or_default() {
                send = send.message_attributes(k, v);
            }
            send.send().await.unwrap();
        }
        aws.sqs
            .delete_message()
            .queue_url(&queue.url)
            .receipt_handle(m.receipt_handle.clone().unwrap())
            .send()
            .await
            .unwrap();
    }
    copies.len()
}

/// The directory binary: `cargo test --workspace --all-targets` builds it
/// beside this test binary.
pub(crate) fn directory_binary() -> String {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = dir.join("cc-number-directory");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p cc-number-directory` (make test does)",
        binary.display()
    );
    binary.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_directory_converges_to_ringcentral_through_both_kinds_of_subscription() {
    // The Python directory's venv, checked before anything runs.
    python_client_venv();
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let inventory = inventory_table(&aws).await;
    let standin = StandIn::start();
    let mut env = topology.env();
    env.push(("INVENTORY_TABLE", inventory));
    env.extend(standin.env());
    // The Rust directory on a raw and on an enveloped queue; the Python one on its own raw queue.
    let queues = [
        subscriber_queue(&aws, &topology, true).await,
        subscriber_queue(&aws, &topology, false).await,
        subscriber_queue(&aws, &topology, true).await,
    ];

    // RingCentral's account: four Contact Center numbers and one other.
    for id in 1001..=1004 {
        standin.put_number(record(id, &format!("+1202555{id:04}"), CC));
    }
    standin.put_number(record(2001, "+12025552001", "MainCompanyNumber"));

    // The relay's inventory takes its baseline (quietly); a new subscriber
    // bootstraps from a snapshot (on the usual topics here).
    let baseline = ctl(&env, &["reconcile", "--page-interval", "0"]);
    assert_eq!(baseline.code, 0, "{}{}", baseline.stdout, baseline.stderr);
    let snapshot = ctl(&env, &["reconcile", "--snapshot", "--page-interval", "0"]);
    assert_eq!(snapshot.code, 0, "{}{}", snapshot.stdout, snapshot.stderr);

    // Webhooks through the real relay binary.
    let mut relay_env = env.clone();
    relay_env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    let watch = Watch::start(&relay_env);
    watch.warm_up();
    let sub = standin.seed(&watch.url(), TOKEN, Duration::from_secs(3600));
    let deliver = |body: String, expected: &str| {
        let answer = standin.deliver(&sub, &body);
        assert_eq!(answer.body, format!(r#"{{"status":"{expected}"}}"#), "{body}");
    };
    standin.put_number(record(1005, "+12025551005", CC));
    let created = notification(
        1005,
        "+12025551005",
        "Created",
        "aaaaaaaa-0000-4000-8000-000000001005",
        "2030-01-01T10:00:00.000Z",
        CC,
    );
    deliver(created.clone(), "published");
    deliver(created, "duplicate");
    // 1001 changes twice; RingCentral delivers the later change first, so
    // the relay publishes the earlier one flagged stale.
    let mut moved = record(1001, "+12025551001", CC);
    moved["location"] = "Arlington, VA".into();
    standin.put_number(moved);
    let mut later: Value = serde_json::from_str(&notification(
        1001,
        "+12025551001",
        "Updated",
        "aaaaaaaa-0000-4000-8000-000000002001",
        "2030-01-01T10:00:02.000Z",
        CC,
    ))
    .unwrap();
    later["body"]["phoneNumberInfo"]["location"] = "Arlington, VA".into();
    deliver(later.to_string(), "published");
    deliver(
        notification(
            1001,
            "+12025551001",
            "Updated",
            "aaaaaaaa-0000-4000-8000-000000003001",
            "2030-01-01T10:00:01.000Z",
            CC,
        ),
        "published",
    );
    // 1002 is deleted; a late, older Created follows (flagged stale too).
    standin.remove_number(1002);
    deliver(
        notification(
            1002,
            "+12025551002",
            "Deleted",
            "aaaaaaaa-0000-4000-8000-000000001002",
            "2030-01-01T10:00:03.000Z",
            CC,
        ),
        "published",
    );
    deliver(
        notification(
            1002,
            "+12025551002",
            "Created",
            "aaaaaaaa-0000-4000-8000-000000002002",
            "2030-01-01T09:00:00.000Z",
            CC,
        ),
        "published",
    );

    // RingCentral changes three numbers and tells nobody: reconciliation corrects.
    standin.put_number(record(1006, "+12025551006", CC));
    standin.remove_number(1003);
    standin.put_number(record(1004, "+12025551004", "MainCompanyNumber"));
    let corrections = ctl(&env, &["reconcile", "--page-interval", "0"]);
    assert_eq!(corrections.code, 0, "{}{}", corrections.stdout, corrections.stderr);
    assert!(
        corrections.stdout.contains("Deleted 1003") && corrections.stdout.contains("Created 1006"),
        "{}",
        corrections.stdout
    );

    // Every kind of message reached every queue: at least once, so twice here.
    let truth = standin.contact_center_ids();
    assert_eq!(truth, BTreeSet::from(["1001", "1005", "1006"].map(String::from)));
    let mut directories = Vec::new();
    for (queue, directory) in queues.iter().zip([Directory::Rust, Directory::Rust, Directory::Python]) {
        let table = run_directory(&aws, queue, directory, &truth).await;
        directories.push((directory.name(queue), directory_items(&aws, &table).await));
    }

    // Whichever the language and the kind of subscription, the same items, attribute by attribute.
    let (first, expected) = &directories[0];
    assert_eq!(expected.len(), 6, "{first}: {expected:?}");
    for (name, items) in &directories[1..] {
        assert_eq!(
            items.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{name} and {first} hold different numbers"
        );
        for (id, item) in items {
            for attribute in [
                "phoneNumberId",
                "e164",
                "notificationId",
                "changeType",
                "contactCenter",
                "contactCenterProviderId",
            ] {
                assert!(
                    item.contains_key(attribute),
                    "{name}: {id} has no {attribute}: {item:?}"
                );
            }
            assert_eq!(item, &expected[id], "{name} and {first} differ on {id}");
        }
    }
}

/// A directory function: the Rust example's binary, or the Python example
/// under the Lambda runtime interface client.
#[derive(Clone, Copy, Debug)]
enum Directory {
    Rust,
    Python,
}

impl Directory {
    fn name(self, queue: &SubscriberQueue) -> String {
        let kind = if queue.raw { "raw" } else { "enveloped" };
        match self {
            Directory::Rust => format!("cc-number-directory ({kind})"),
            Directory::Python => format!("cc-number-directory-python ({kind})"),
        }
    }

    /// One instance on `api`, keeping its directory in `table`.
    fn start(self, api: &RuntimeApi, table: &str) -> Functions {
        let mut env = vec![
            ("DIRECTORY_TABLE", table.to_owned()),
            ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ];
        match self {
            Directory::Rust => {
                env.push(("AWS_LAMBDA_FUNCTION_NAME", "cc-number-directory".into()));
                // The handler's line is at debug level: shown here to count the handler's runs.
                env.push(("RUST_LOG", "info,cc_number_directory=debug".into()));
                Functions::start(api, &directory_binary(), 1, &env)
            }
            Directory::Python => {
                let root = Path::new(env!("CARGO_MANIFEST_DIR"));
                env.push(("AWS_LAMBDA_FUNCTION_NAME", "cc-number-directory-python".into()));
                // The client from the tree, as build.sh copies it into the zip.
                env.push(("PYTHONPATH", root.join("clients/python/src").display().to_string()));
                // app.py's handler line is at debug level too.
                env.push(("LOG_LEVEL", "DEBUG".into()));
                let launch = Launch::command(
                    &python_client_venv(),
                    &["-m", "awslambdaric", "app.handler"],
                    &root.join("examples/number-directory-python"),
                );
                Functions::launch(api, &launch, 1, &env)
            }
        }
    }
}

/// The Python client's venv, with awslambdaric: dev/clients.sh makes it
/// (dev/test.sh runs that before the Rust tests). Missing, the test fails.
fn python_client_venv() -> String {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/python/.venv/bin/python");
    let usable = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", "import awslambdaric, aws_lambda_powertools, boto3, pydantic"])
            .env_clear()
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        usable,
        "{} is missing or lacks awslambdaric: run dev/clients.sh, which makes the Python client's venv from clients/python/requirements.txt",
        python.display()
    );
    python.display().to_string()
}

/// Every item of a directory, by phone number id.
async fn directory_items(aws: &Aws, table: &str) -> BTreeMap<String, BTreeMap<String, AttributeValue>> {
    let items = aws_sdk_dynamodb::Client::new(&aws.sdk)
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    items
        .into_iter()
        .map(|i| (i["phoneNumberId"].as_s().unwrap().clone(), i.into_iter().collect()))
        .collect()
}

/// Every message of `queue` sent twice, a poison message added, fed to
/// `directory` as Lambda would, into a new table; asserts what it did, and
/// returns the table.
async fn run_directory(aws: &Aws, queue: &SubscriberQueue, directory: Directory, truth: &BTreeSet<String>) -> String {
    let kind = directory.name(queue);
    // An emulator per function: a killed instance's pending `/next` would take the next event.
    let api = RuntimeApi::start();
    let originals = duplicate_everything(aws, queue).await;
    assert!(originals >= 10, "{kind}: {originals} messages reached the queue");
    poison(aws, queue).await;
    let table = inventory_table(aws).await;
    let mut function = directory.start(&api, &table);
    function
        .wait_until_ready(&api, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let fed = feed(aws, &api, queue).await;

    // Only the poison message failed, once per receive, and its batch-mates were applied.
    assert_eq!(fed.failed_batches.len(), MAX_RECEIVE_COUNT as usize, "{kind}: {fed:?}");
    assert!(
        fed.failed_batches.iter().all(|(_, failed)| *failed == 1),
        "{kind}: {fed:?}"
    );
    assert!(
        fed.failed_batches[0].0 > 1,
        "{kind}: the poison message came alone: {fed:?}"
    );
    let parked = drain(aws, &queue.dead_letters, 1).await;
    assert_eq!(parked.len(), 1, "{kind}");
    assert!(parked[0].body.contains("9999"), "{kind}: {}", parked[0].body);

    assert_eq!(&contact_center_numbers(aws, &table).await, truth, "{kind}");
    // The tombstone of 1002 kept the late Created out; 1001 holds its later change.
    let deleted = item(aws, &table, "1002").await.unwrap();
    assert_eq!(deleted["changeType"], AttributeValue::S("Deleted".into()), "{kind}");
    let moved = item(aws, &table, "1001").await.unwrap();
    assert_eq!(
        moved["notificationId"],
        AttributeValue::S("aaaaaaaa-0000-4000-8000-000000002001".into()),
        "{kind}"
    );
    assert_eq!(
        item(aws, &table, "1004").await.unwrap()["contactCenter"],
        AttributeValue::Bool(false),
        "{kind}"
    );

    // The handler ran once per applied change: one log line each, none for duplicates.
    let output = function.output();
    let applied = output.matches("directory updated").count();
    let numbers = 6; // 1001..1006 each applied at least once
    assert!(
        applied >= numbers && applied < originals,
        "{kind}: {applied} applied of {originals}\n{output}"
    );
    assert!(
        !output.contains("+1202555"),
        "{kind}: a log line carries an E.164 number\n{output}"
    );
    if let Directory::Rust = directory {
        // The Rust kit's EMF counts (the Python client emits none).
        assert!(output.contains(r#""Duplicate":"#), "{kind}: no EMF counts\n{output}");
    }
    assert!(api.violations().is_empty(), "{kind}: {:?}\n{output}", api.violations());
    function.check_running().unwrap_or_else(|e| panic!("{kind}: {e}"));
    table
}

/// The example's template wires what the kit relies on, and imports exactly
/// what the relay's template exports.
#[test]
fn the_example_template_subscribes_raw_with_partial_batch_failures_to_the_relays_exports() {
    let relay = template();
    let example = template_at("examples/number-directory/template.yaml");
    let exports: BTreeSet<String> = relay["Outputs"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|o| o["Export"]["Name"]["Fn::Sub"].as_str())
        .map(|name| name.replace("${AWS::StackName}", "STACK"))
        .collect();
    let resources = example["Resources"].as_object().unwrap();
    let subscriptions: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::SNS::Subscription")
        .collect();
    let imported: BTreeSet<String> = subscriptions
        .iter()
        .map(|s| {
            let name = s["Properties"]["TopicArn"]["Fn::ImportValue"]["Fn::Sub"]
                .as_str()
                .unwrap();
            name.replace("${RelayStackName}", "STACK")
        })
        .collect();
    let topics: BTreeSet<String> = ["Created", "Updated", "Deleted"]
        .map(|t| format!("STACK-{t}TopicArn"))
        .into();
    assert_eq!(imported, topics);
    assert!(topics.is_subset(&exports), "{exports:?}");
    for s in &subscriptions {
        assert_eq!(s["Properties"]["Protocol"], "sqs");
        assert_eq!(s["Properties"]["RawMessageDelivery"], true);
        assert_eq!(
            s["Properties"]["Endpoint"]["Fn::GetAtt"],
            json!(["DirectoryQueue", "Arn"])
        );
    }
    let queue = &resources["DirectoryQueue"]["Properties"];
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"],
        json!(["DirectoryDeadLetterQueue", "Arn"])
    );
    assert_eq!(queue["SqsManagedSseEnabled"], true);
    let function = &resources["DirectoryFunction"];
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], "cc-number-directory");
    let properties = &function["Properties"];
    assert_eq!(
        properties["Environment"]["Variables"]["DIRECTORY_TABLE"]["Ref"],
        "DirectoryTable"
    );
    let events: Vec<&Value> = properties["Events"].as_object().unwrap().values().collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["Type"], "SQS");
    assert_eq!(
        events[0]["Properties"]["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert!(events[0]["Properties"]["BatchSize"].as_u64().unwrap() <= 10);
    let table = &resources["DirectoryTable"]["Properties"];
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": "phoneNumberId", "KeyType": "HASH"}])
    );
}

/// The crate's README shows the example's handler whole: the two cannot drift.
#[test]
fn the_crate_readme_shows_the_example_subscriber_as_it_is() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/crates/cc-number-change/README.md")).unwrap();
    let main = std::fs::read_to_string(format!("{root}/examples/number-directory/src/main.rs")).unwrap();
    let shown = readme
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    assert_eq!(shown, main);
}
