//! The golden messages, `schema/vectors/messages/` (format in its README):
//! every kind of message the relay publishes, as each kind of subscriber
//! receives it, one complete Lambda event per file, for subscribers in any
//! language to test against.
//!
//! They are generated here from the relay's real output: the webhook
//! (published, and an older state published flagged stale), redrive,
//! reconciliation corrections and a snapshot go through the real cores and
//! the real AWS sink to topics on moto, standard and FIFO; SNS fans them out
//! to one queue subscribed raw and one without raw delivery; what SQS
//! delivered becomes the records Lambda's event source mapping hands over,
//! and the SNS envelope becomes the record a Lambda subscribed to the topic
//! gets. Volatile values (message ids, receipt handles, delivery times,
//! signatures, generated names) are replaced by fixed ones, so a difference
//! from the committed files is a difference in what the relay publishes:
//! the test fails and says how to accept it (`UPDATE_GOLDEN=1`).
//!
//! The kit (`cc_number_change::receive` and `Subscriber`, what a subscriber
//! Lambda runs) must decode every good file to its `expect` and refuse every
//! bad one with its error: `cc_number_change::messages` runs it on what was
//! just generated here, and on the committed files in the kit's own tests.

use crate::subscriber::{lambda_record, notification};
use crate::support::*;
use cc_number_change::messages::{failures, files};
use cc_number_relay::change::{NumberState, PhoneNumberId};
use cc_number_relay::dead_letters::sqs::SqsDeadLetters;
use cc_number_relay::inventory::memory::MemoryInventory;
use cc_number_relay::notification::decode_number;
use cc_number_relay::reconcile::{Mode, Reconciler};
use cc_number_relay::redrive::Redrive;
use cc_number_relay::ringcentral::{Listing, PhoneNumbersApi, RingCentralError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const DIR: &str = "schema/vectors/messages";
const UPDATE: &str = "UPDATE_GOLDEN";
const CC: &str = "ContactCenterNumber";

/// What the generated names become: the stack of the relay's topics and the
/// subscriber's queues, as a reader of the files would name them.
const STACK: &str = "cc-number-relay";
const QUEUES: &str = "directory";

// The fixed values that replace what differs on every delivery.
const MESSAGE_ID: &str = "11111111-1111-4111-8111-111111111111";
const SNS_MESSAGE_ID: &str = "22222222-2222-4222-8222-222222222222";
const SUBSCRIPTION_ID: &str = "33333333-3333-4333-8333-333333333333";
const RECEIPT_HANDLE: &str = "AQEBgoldenReceiptHandle==";
/// 2030-01-01T12:00:00Z, later than every `occurredAt` here.
const DELIVERED_AT: &str = "2030-01-01T12:00:00.000Z";
const DELIVERED_AT_MILLIS: &str = "1893499200000";
const SIGNATURE: &str = "RVhBTVBMRS1TSUdOQVRVUkU=";
const SIGNING_CERT_URL: &str =
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem";
const SEQUENCE_NUMBER: &str = "10000000000000000001";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    SqsRaw,
    SqsEnvelope,
    SnsRecord,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::SqsRaw, Kind::SqsEnvelope, Kind::SnsRecord];

    fn as_str(self) -> &'static str {
        match self {
            Kind::SqsRaw => "sqs-raw",
            Kind::SqsEnvelope => "sqs-sns-envelope",
            Kind::SnsRecord => "sns-record",
        }
    }
}

/// The good files kept, by `<topicType>-<name>`: every eventType (and a
/// reassignment away), origin, stale and topic type at least once per
/// delivery kind, not their cross product. A Lambda cannot subscribe to a
/// FIFO topic (SNS delivers FIFO topics to SQS FIFO queues only), so
/// `sns-record` is standard only.
const STANDARD: [&str; 8] = [
    "created-webhook",
    "updated-webhook",
    "deleted-webhook",
    "created-webhook-stale",
    "updated-redrive",
    "updated-reconciliation-reassigned",
    "deleted-reconciliation",
    "created-snapshot",
];
const FIFO: [&str; 3] = ["created-webhook", "updated-redrive", "deleted-reconciliation"];

/// Every message one topology receives, by name: what `publish_every_kind` publishes.
const PUBLISHED: [&str; 9] = [
    "created-webhook",
    "updated-webhook",
    "deleted-webhook",
    "created-webhook-stale",
    "updated-redrive",
    "created-reconciliation",
    "updated-reconciliation-reassigned",
    "deleted-reconciliation",
    "created-snapshot",
];

/// Three topics, a queue subscribed raw and one enveloped, a dead-letter queue.
struct Setup {
    fifo: bool,
    topic_prefix: String,
    queue_prefix: String,
    topics: Topics,
    dead_letter_queue: QueueUrl,
    /// (raw, url, arn)
    queues: [(bool, String, String); 2],
}

async fn setup(aws: &Aws, fifo: bool) -> Setup {
    let suffix = if fifo { ".fifo" } else { "" };
    let topic_prefix = unique("golden");
    let queue_prefix = unique("golden-queue");
    let mut arns = Vec::new();
    for kind in ["created", "updated", "deleted"] {
        arns.push(aws.topic(&format!("{topic_prefix}-{kind}{suffix}"), fifo).await);
    }
    let mut queues = Vec::new();
    for raw in [true, false] {
        let name = format!("{queue_prefix}-{}{suffix}", if raw { "raw" } else { "enveloped" });
        let mut create = aws.sqs.create_queue().queue_name(&name);
        if fifo {
            create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        }
        let url = create.send().await.unwrap().queue_url.unwrap();
        let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
        for topic in &arns {
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
        queues.push((raw, url, arn));
    }
    let dead_letter_queue = aws
        .sqs
        .create_queue()
        .queue_name(format!("{topic_prefix}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = |i: usize| TopicArn::parse(arns[i].clone()).unwrap();
    Setup {
        fifo,
        topics: Topics {
            created: arn(0),
            updated: arn(1),
            deleted: arn(2),
        },
        dead_letter_queue: QueueUrl::parse(dead_letter_queue).unwrap(),
        topic_prefix,
        queue_prefix,
        queues: queues.try_into().unwrap(),
    }
}

/// RingCentral's phone-number API in memory: the Contact Center list, and
/// every number a get by id finds (a number reassigned away is only there).
struct Numbers {
    listed: Vec<NumberState>,
    all: Vec<NumberState>,
}

impl PhoneNumbersApi for Numbers {
    fn contact_center_numbers(&self, on_page: &mut dyn FnMut(u32, usize)) -> Result<Listing, RingCentralError> {
        on_page(1, self.listed.len());
        Ok(Listing {
            numbers: self.listed.clone(),
            unreadable: Vec::new(),
            pages: 1,
        })
    }
    fn number(&self, id: &PhoneNumberId) -> Result<Option<NumberState>, RingCentralError> {
        Ok(self.all.iter().find(|n| n.phone_number.id == *id).cloned())
    }
}

fn number(id: u64, usage: &str) -> NumberState {
    let record = crate::support::ringcentral_standin::phone_numbers::record(id, &format!("+1202555{id:04}"), usage);
    decode_number(record.to_string().as_bytes()).unwrap()
}

fn webhook(body: String) -> lambda_http::Request {
    request(&http_api("POST", &[("verification-token", TOKEN)], Some(&body)))
}

fn answer_of(response: &lambda_http::Response<lambda_http::Body>) -> String {
    match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        other => panic!("not a text answer: {other:?}"),
    }
}

/// Every origin through its real code path, with fixed notifications and
/// times, so every change body is the same on every run.
async fn publish_every_kind(aws: &Aws, setup: &Setup) {
    let sink = || AwsSink::new(&aws.sdk, setup.topics.clone(), setup.dead_letter_queue.clone());
    let relay = Relay {
        verifier: verifier(),
        sink: sink(),
        inventory: Some(MemoryInventory::default()),
        xray: Default::default(),
    };
    let uuid = |n: u32| format!("00000000-0000-4000-8000-{n:012}");
    let webhooks = [
        (1001, "Created", 1, "2030-01-01T10:00:00.000Z"),
        (1001, "Updated", 2, "2030-01-01T10:00:01.000Z"),
        (1002, "Deleted", 3, "2030-01-01T10:00:02.000Z"),
        // Older than the Deleted already told: published flagged stale.
        (1002, "Created", 4, "2030-01-01T09:00:00.000Z"),
    ];
    for (id, event_type, n, at) in webhooks {
        let mut body: Value = serde_json::from_str(&notification(
            id,
            &format!("+1202555{id:04}"),
            event_type,
            &uuid(n),
            at,
            CC,
        ))
        .unwrap();
        if event_type == "Updated" {
            // Another state than the Created's, as RingCentral sends an update.
            body["body"]["phoneNumberInfo"]["location"] = "Arlington, VA".into();
        }
        let response = relay.answer(webhook(body.to_string())).await;
        assert_eq!(answer_of(&response), r#"{"status":"published"}"#, "{event_type} {id}");
    }

    // Parked (its topics are missing), then redriven to the real topics.
    let parking = Relay {
        verifier: verifier(),
        sink: missing_sinks(&aws.sdk, Some(setup.dead_letter_queue.as_str())),
        inventory: None::<MemoryInventory>,
        xray: Default::default(),
    };
    let parked = notification(
        1006,
        "+12025551006",
        "Updated",
        &uuid(5),
        "2030-01-01T10:00:03.000Z",
        CC,
    );
    let response = parking.answer(webhook(parked)).await;
    assert_eq!(response.status(), 200, "{}", answer_of(&response));
    let queue = SqsDeadLetters {
        client: aws_sdk_sqs::Client::new(&aws.sdk),
        queue: setup.dead_letter_queue.clone(),
    };
    let summary = Redrive {
        queue: &queue,
        sink: &sink(),
        inventory: &MemoryInventory::default(),
        dry_run: false,
    }
    .run(|_| {})
    .await
    .unwrap();
    assert_eq!((summary.read, summary.published), (1, 1), "{}", summary.line());

    // Reconciliation: a baseline (told nobody), then 1004 is new, 1003 was
    // reassigned to a DirectNumber, 1005 is gone; then a snapshot of what is listed.
    let inventory = MemoryInventory::default();
    let topics = AwsSink::topics_only(&aws.sdk, setup.topics.clone());
    let t0 = time::macros::datetime!(2030-01-01 11:00 UTC);
    let before = Numbers {
        listed: vec![number(1003, CC), number(1005, CC)],
        all: vec![number(1003, CC), number(1005, CC)],
    };
    let after = Numbers {
        listed: vec![number(1004, CC)],
        all: vec![number(1003, "DirectNumber"), number(1004, CC)],
    };
    // (baseline taken, published)
    for (list, mode, at, expected) in [
        (&before, Mode::Correct, t0, (true, 0)),
        (&after, Mode::Correct, t0 + time::Duration::minutes(1), (false, 3)),
        (&after, Mode::Snapshot, t0 + time::Duration::minutes(2), (false, 1)),
    ] {
        let report = Reconciler {
            api: list,
            inventory: &inventory,
            sink: &topics,
            mode,
            dry_run: false,
        }
        .run(at, |_| {})
        .await
        .unwrap();
        assert!(report.failed.is_empty(), "{}", report.line());
        let outcome = (report.baseline_taken, report.published_total());
        assert_eq!(outcome, expected, "{}", report.line());
    }
}

/// Receives (and deletes) everything on the queue, with every attribute.
async fn take_all(aws: &Aws, queue: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut out = Vec::new();
    loop {
        let messages = aws
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            aws.sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle.clone().unwrap())
                .send()
                .await
                .unwrap();
            out.push(m);
        }
    }
}

/// A generated file: its event and, for a good one, what the kit must read.
struct Golden {
    kind: Kind,
    fifo: bool,
    name: String,
    event: Value,
    expect: Value,
}

impl Golden {
    fn file(&self) -> String {
        let topic_type = if self.fifo { "fifo" } else { "standard" };
        format!("good/{}/{topic_type}-{}.json", self.kind.as_str(), self.name)
    }
}

/// Replaces `from` in every string of `value` (bodies included).
fn replace_strings(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_strings(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_strings(v, from, to)),
        _ => {}
    }
}

/// The SNS envelope's volatile values, fixed. `subscription` is the ARN of
/// the subscription it was delivered through, as it will read once normalized.
fn normalize_envelope(envelope: &mut Value, subscription: &str) {
    let fixed = [
        ("MessageId", SNS_MESSAGE_ID),
        ("Timestamp", DELIVERED_AT),
        ("Signature", SIGNATURE),
        ("SigningCertURL", SIGNING_CERT_URL),
        ("SequenceNumber", SEQUENCE_NUMBER),
    ];
    for (key, value) in fixed {
        if envelope.get(key).is_some() {
            envelope[key] = value.into();
        }
    }
    envelope["UnsubscribeURL"] =
        format!("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}").into();
}

/// The change and attributes a record carries, read as a subscriber in
/// another language would (plain JSON), for the manifest's `expect`.
fn expectation(change: &Value, attribute: impl Fn(&str) -> Option<String>) -> Value {
    json!({
        "changeType": change["changeType"], "origin": attribute("origin"),
        "stale": attribute("stale").as_deref() == Some("true"),
        "notificationId": change["notificationId"], "phoneNumberId": change["phoneNumber"]["id"],
        "e164": change["phoneNumber"]["e164"], "usageType": change["phoneNumber"]["usageType"]
    })
}

/// The name of a received message, from what it says: `<changeType>-<origin>`,
/// `-stale` when flagged, `-reassigned` when its number left Contact Center usage.
fn name_of(expect: &Value) -> String {
    let mut name = format!(
        "{}-{}",
        expect["changeType"].as_str().unwrap().to_lowercase(),
        expect["origin"].as_str().unwrap()
    );
    if expect["stale"] == true {
        name.push_str("-stale");
    }
    if !(expect["usageType"].is_null() || expect["usageType"] == CC) {
        name.push_str("-reassigned");
    }
    name
}

/// Everything one topology's queues received, as the three kinds of record.
async fn received(aws: &Aws, setup: &Setup) -> Vec<Golden> {
    let normalize_names = |value: &mut Value| {
        replace_strings(value, &format!("{}-", setup.topic_prefix), &format!("{STACK}-"));
        replace_strings(value, &format!("{}-", setup.queue_prefix), &format!("{QUEUES}-"));
    };
    let mut out = Vec::new();
    for (raw, url, arn) in &setup.queues {
        for m in take_all(aws, url).await {
            let mut record = lambda_record(&m, arn);
            // Lambda carries SQS's digest of the attributes, when there are any.
            if let Some(md5) = &m.md5_of_message_attributes {
                record["md5OfMessageAttributes"] = md5.as_str().into();
            }
            record["messageId"] = MESSAGE_ID.into();
            record["receiptHandle"] = RECEIPT_HANDLE.into();
            let system = record["attributes"].as_object_mut().unwrap();
            for (key, value) in system.iter_mut() {
                match key.as_str() {
                    "SentTimestamp" | "ApproximateFirstReceiveTimestamp" => *value = DELIVERED_AT_MILLIS.into(),
                    "SequenceNumber" => *value = SEQUENCE_NUMBER.into(),
                    "ApproximateReceiveCount" => assert_eq!(*value, "1"),
                    // Fixed by the sender (SNS), or the change's own ids on FIFO.
                    "SenderId" | "MessageGroupId" | "MessageDeduplicationId" => {}
                    other => panic!("a system attribute this test does not know: {other}: {value}"),
                }
            }
            normalize_names(&mut record);
            let body = record["body"].as_str().unwrap().to_owned();
            if *raw {
                // The body is the change: its md5 is SQS's and stays.
                assert_eq!(record["md5OfBody"], md5_hex(body.as_bytes()).as_str(), "md5 of {body}");
                let change: Value = serde_json::from_str(&body).unwrap();
                let attributes = record["messageAttributes"].clone();
                let expect = expectation(&change, |name| {
                    attributes[name]["stringValue"].as_str().map(str::to_owned)
                });
                let sqs = json!({ "Records": [record] });
                out.push(Golden {
                    kind: Kind::SqsRaw,
                    fifo: setup.fifo,
                    name: name_of(&expect),
                    event: sqs,
                    expect,
                });
                continue;
            }
            let mut envelope: Value = serde_json::from_str(&body).unwrap();
            let subscription = format!("{}:{SUBSCRIPTION_ID}", envelope["TopicArn"].as_str().unwrap());
            normalize_envelope(&mut envelope, &subscription);
            let body = envelope.to_string();
            record["md5OfBody"] = md5_hex(body.as_bytes()).into();
            record["body"] = body.into();
            let change: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            let attributes = envelope["MessageAttributes"].clone();
            let expect = expectation(&change, |name| attributes[name]["Value"].as_str().map(str::to_owned));
            let name = name_of(&expect);
            out.push(Golden {
                kind: Kind::SqsEnvelope,
                fifo: setup.fifo,
                name: name.clone(),
                event: json!({ "Records": [record] }),
                expect: expect.clone(),
            });
            if !setup.fifo {
                out.push(Golden {
                    kind: Kind::SnsRecord,
                    fifo: false,
                    name,
                    event: json!({ "Records": [sns_record(&envelope, &subscription)] }),
                    expect,
                });
            }
        }
    }
    out
}

/// The record a Lambda subscribed to the topic receives for the message in
/// this envelope, in AWS's documented shape ("Using AWS Lambda with Amazon
/// SNS"): the envelope's fields under `Sns`, the two URLs spelt `Url`, and
/// the Lambda's own subscription.
fn sns_record(envelope: &Value, subscription: &str) -> Value {
    let mut sns = envelope.as_object().unwrap().clone();
    for (from, to) in [
        ("SigningCertURL", "SigningCertUrl"),
        ("UnsubscribeURL", "UnsubscribeUrl"),
    ] {
        let value = sns
            .remove(from)
            .unwrap_or_else(|| panic!("the envelope has no {from}: {envelope}"));
        sns.insert(to.to_owned(), value);
    }
    sns.entry("Subject").or_insert(Value::Null);
    json!({"EventVersion": "1.0", "EventSubscriptionArn": subscription, "EventSource": "aws:sns", "Sns": sns})
}

/// One bad file: a good record of its delivery kind with another body.
struct Bad {
    kind: Kind,
    name: &'static str,
    body: fn(&Value) -> String,
    error: Value,
}

fn with(change: &Value, pointer: &str, value: Value) -> String {
    let mut change = change.clone();
    *change.pointer_mut(pointer).unwrap() = value;
    change.to_string()
}

fn without(change: &Value, object: &str, key: &str) -> String {
    let mut change = change.clone();
    change.pointer_mut(object).unwrap().as_object_mut().unwrap().remove(key);
    change.to_string()
}

fn bad_cases() -> Vec<Bad> {
    let invalid = |path: &str| json!({"kind": "invalid-field", "path": path});
    let not_json = json!({"kind": "invalid-json", "path": null});
    let newer = json!({"kind": "newer-schema", "path": null});
    let malformed_e164: fn(&Value) -> String = |c| with(c, "/phoneNumber/e164", "12025551001".into());
    // A newer version may change any field: the version is what is reported.
    let newer_schema: fn(&Value) -> String = |c| {
        let mut change: Value = serde_json::from_str(&with(c, "/schemaVersion", 2.into())).unwrap();
        change["phoneNumber"] = change["phoneNumber"]["e164"].clone();
        change.to_string()
    };
    vec![
        Bad {
            kind: Kind::SqsRaw,
            name: "not-json",
            body: |c| c.to_string()[..40].to_owned(),
            error: not_json.clone(),
        },
        Bad {
            kind: Kind::SqsRaw,
            name: "newer-schema",
            body: newer_schema,
            error: newer.clone(),
        },
        Bad {
            kind: Kind::SqsRaw,
            name: "malformed-e164",
            body: malformed_e164,
            error: invalid("$.phoneNumber.e164"),
        },
        Bad {
            kind: Kind::SqsRaw,
            name: "schema-version-0",
            body: |c| with(c, "/schemaVersion", 0.into()),
            error: invalid("$.schemaVersion"),
        },
        Bad {
            kind: Kind::SqsEnvelope,
            name: "not-json",
            body: |_| "Created 1001".to_owned(),
            error: not_json.clone(),
        },
        Bad {
            kind: Kind::SqsEnvelope,
            name: "newer-schema",
            body: newer_schema,
            error: newer.clone(),
        },
        Bad {
            kind: Kind::SqsEnvelope,
            name: "missing-e164",
            body: |c| without(c, "/phoneNumber", "e164"),
            error: invalid("$.phoneNumber.e164"),
        },
        Bad {
            kind: Kind::SqsEnvelope,
            name: "unknown-change-type",
            body: |c| with(c, "/changeType", "Renamed".into()),
            error: invalid("$.changeType"),
        },
        Bad {
            kind: Kind::SnsRecord,
            name: "not-json",
            body: |_| String::new(),
            error: not_json,
        },
        Bad {
            kind: Kind::SnsRecord,
            name: "newer-schema",
            body: newer_schema,
            error: newer,
        },
        Bad {
            kind: Kind::SnsRecord,
            name: "occurred-at-not-rfc3339",
            body: |c| with(c, "/occurredAt", "2030-01-01 10:00".into()),
            error: invalid("$.occurredAt"),
        },
        Bad {
            kind: Kind::SnsRecord,
            name: "missing-notification-id",
            body: |c| without(c, "", "notificationId"),
            error: invalid("$.notificationId"),
        },
    ]
}

/// The bad files, each from the standard Created webhook of its delivery kind.
fn bad_files(good: &[Golden]) -> Vec<(String, Kind, Value, Value)> {
    bad_cases()
        .into_iter()
        .map(|bad| {
            let base = good
                .iter()
                .find(|g| g.kind == bad.kind && !g.fifo && g.name == "created-webhook")
                .unwrap();
            let mut event = base.event.clone();
            let record = &mut event["Records"][0];
            match bad.kind {
                Kind::SqsRaw => {
                    let change: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
                    let body = (bad.body)(&change);
                    record["md5OfBody"] = md5_hex(body.as_bytes()).into();
                    record["body"] = body.into();
                }
                Kind::SqsEnvelope => {
                    let mut envelope: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
                    let change: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
                    envelope["Message"] = (bad.body)(&change).into();
                    let body = envelope.to_string();
                    record["md5OfBody"] = md5_hex(body.as_bytes()).into();
                    record["body"] = body.into();
                }
                Kind::SnsRecord => {
                    let change: Value = serde_json::from_str(record["Sns"]["Message"].as_str().unwrap()).unwrap();
                    record["Sns"]["Message"] = (bad.body)(&change).into();
                }
            }
            let file = format!("bad/{}/{}.json", bad.kind.as_str(), bad.name);
            (file, bad.kind, event, json!({ "error": bad.error }))
        })
        .collect()
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}

/// Every file of the directory but the README, by path inside it.
async fn generate() -> BTreeMap<String, String> {
    let aws = Aws::moto().await;
    let mut good = Vec::new();
    for fifo in [false, true] {
        let setup = setup(&aws, fifo).await;
        publish_every_kind(&aws, &setup).await;
        let all = received(&aws, &setup).await;
        for kind in Kind::ALL {
            if fifo && kind == Kind::SnsRecord {
                continue;
            }
            let mut names: Vec<&str> = all.iter().filter(|g| g.kind == kind).map(|g| g.name.as_str()).collect();
            names.sort();
            let mut published = PUBLISHED.to_vec();
            published.sort();
            assert_eq!(
                names,
                published,
                "fifo {fifo}, {}: what the queue received",
                kind.as_str()
            );
        }
        good.extend(all);
    }
    for g in &good {
        let record = &g.event["Records"][0];
        let body = match g.kind {
            Kind::SqsRaw => record["body"].as_str().unwrap().to_owned(),
            Kind::SqsEnvelope => {
                let envelope: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
                envelope["Message"].as_str().unwrap().to_owned()
            }
            Kind::SnsRecord => record["Sns"]["Message"].as_str().unwrap().to_owned(),
        };
        assert_matches_schema(&serde_json::from_str(&body).unwrap());
        if g.kind != Kind::SnsRecord {
            // A FIFO queue's record carries the ids SNS FIFO sets: the number and the notification.
            let system = &record["attributes"];
            let ids = (&system["MessageGroupId"], &system["MessageDeduplicationId"]);
            if g.fifo {
                assert_eq!(
                    ids,
                    (&g.expect["phoneNumberId"], &g.expect["notificationId"]),
                    "{}",
                    g.file()
                );
                assert!(record["eventSourceARN"].as_str().unwrap().ends_with(".fifo"));
            } else {
                assert_eq!(ids, (&Value::Null, &Value::Null), "{}", g.file());
            }
        }
    }
    let bad = bad_files(&good);
    let kept = |g: &Golden| {
        if g.fifo {
            FIFO.contains(&g.name.as_str())
        } else {
            STANDARD.contains(&g.name.as_str())
        }
    };
    good.retain(kept);
    good.sort_by_key(Golden::file);

    let mut files = BTreeMap::new();
    let mut good_index = Vec::new();
    for g in &good {
        good_index.push(json!({
            "file": g.file(), "delivery": g.kind.as_str(),
            "topicType": if g.fifo { "fifo" } else { "standard" }, "expect": g.expect
        }));
        files.insert(g.file(), pretty(&g.event));
    }
    let mut bad_index = Vec::new();
    for (file, kind, event, expect) in bad {
        bad_index.push(json!({"file": file, "delivery": kind.as_str(), "expect": expect}));
        files.insert(file, pretty(&event));
    }
    let index = json!({"good": good_index, "bad": bad_index});
    files.insert("index.json".to_owned(), pretty(&index));
    files
}

/// The committed files, as the kit's runner reads them.
fn committed() -> BTreeMap<String, String> {
    files(&root().join(DIR)).unwrap_or_default()
}

fn first_difference(a: &str, b: &str) -> String {
    let line = a.lines().zip(b.lines()).position(|(x, y)| x != y);
    match line {
        Some(n) => format!(
            "line {}:\n  committed: {}\n  generated: {}",
            n + 1,
            a.lines().nth(n).unwrap_or_default(),
            b.lines().nth(n).unwrap_or_default()
        ),
        None => format!("{} lines committed, {} generated", a.lines().count(), b.lines().count()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_golden_messages_are_what_the_relay_publishes() {
    assert_eq!(Kind::ALL.map(Kind::as_str), cc_number_change::messages::DELIVERIES);
    let generated = generate().await;
    let failures = failures(&generated).await;
    assert!(
        failures.is_empty(),
        "the kit, on the generated files:\n{}",
        failures.join("\n")
    );
    let committed = committed();
    if std::env::var(UPDATE).is_ok_and(|v| v == "1") {
        let dir = root().join(DIR);
        for gone in committed.keys().filter(|f| !generated.contains_key(*f)) {
            std::fs::remove_file(dir.join(gone)).unwrap();
        }
        for (file, text) in &generated {
            let path: PathBuf = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            // Whole files only: whoever reads them meanwhile never sees half of one.
            let partial = path.with_extension("json.partial");
            std::fs::write(&partial, text).unwrap();
            std::fs::rename(&partial, &path).unwrap();
        }
        return;
    }
    let mut differences = Vec::new();
    for file in committed.keys().chain(generated.keys()).collect::<BTreeSet<_>>() {
        match (committed.get(file), generated.get(file)) {
            (Some(a), Some(b)) if a != b => differences.push(format!("{file} differs, {}", first_difference(a, b))),
            (Some(_), None) => differences.push(format!("{file} is committed but no longer generated")),
            (None, Some(_)) => differences.push(format!("{file} is generated but not committed")),
            _ => {}
        }
    }
    assert!(
        differences.is_empty(),
        "{DIR} is not what the relay publishes now:\n{}\n\nIf the change is intended, rewrite the files with\n  {UPDATE}=1 cargo test -p cc-number-relay --test it golden\nand review and commit the difference (other languages' subscribers test against it).",
        differences.join("\n")
    );
}

/// MD5 (RFC 1321) as hex, for `md5OfBody`: SQS's digest of a body this
/// test rewrote. Checked against SQS's own digests of the raw bodies.
fn md5_hex(data: &[u8]) -> String {
    const SHIFTS: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ];
    let mut message = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bits.to_le_bytes());
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for chunk in message.chunks(64) {
        let words: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for (i, shift) in SHIFTS.iter().enumerate() {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            // K[i] = floor(2^32 × |sin(i + 1)|), exact in f64.
            let k = ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32;
            let f = f.wrapping_add(a).wrapping_add(k).wrapping_add(words[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(*shift));
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    state
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn md5_is_rfc_1321s() {
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(
        md5_hex(b"The quick brown fox jumps over the lazy dog"),
        "9e107d9d372bb6826bd81d3542a419d6"
    );
    // Around the padding's edges: 55 bytes fit one block, 56 need two.
    assert_eq!(md5_hex(&[b'a'; 55]), "ef1772b6dff9a122358552954ad0df65");
    assert_eq!(md5_hex(&[b'a'; 56]), "3b0c8ac703f828b04c6c197006d17218");
    assert_eq!(md5_hex(&[b'a'; 64]), "014842d480b571495a4a0363793f7367");
}
