//! `schema/asyncapi.yaml` held to the code. Its message's headers declare
//! exactly the attributes the crate can set; every message the relay
//! publishes (the three webhook events, a stale one, redrive, reconciliation
//! and snapshot; on standard and FIFO topics), received by a raw-delivery
//! subscriber queue through the real SDK and moto, validates against the
//! payload and headers schemas taken from the document; FIFO messages carry
//! the group and deduplication ids its sns binding names; its examples are
//! what the relay publishes for `events/bodies`; its channels are
//! template.yaml's topics. (The parser's own validation is `dev/test.sh`'s.)

use crate::support::ringcentral_standin::phone_numbers::record;
use crate::support::*;
use cc_number_change::attributes::{message_attributes, NAMES};
use cc_number_relay::change::{Change, Delivery, EventType, NumberState, Origin, PhoneNumberId};
use cc_number_relay::dead_letters::sqs::SqsDeadLetters;
use cc_number_relay::inventory::memory::MemoryInventory;
use cc_number_relay::notification::{decode, decode_number, Inbound};
use cc_number_relay::reconcile::{Mode, Reconciler};
use cc_number_relay::redrive::Redrive;
use cc_number_relay::ringcentral::{Listing, PhoneNumbersApi, RingCentralError};
use jsonschema::{Draft, Validator};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const DOCUMENT: &str = "schema/asyncapi.yaml";
const MESSAGE: &str = "ContactCenterNumberChange";
/// The only JSON Schema format the parser validates (see the document's head).
const PAYLOAD_FORMAT: &str = "application/schema+json;version=draft-07";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The document as JSON, decoded by the venv's PyYAML (safe_load).
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let script = "import json,sys,yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout)";
        let output = Command::new(dev_tool("python"))
            .args(["-c", script, DOCUMENT])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "decoding {DOCUMENT}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    })
}

fn message() -> &'static Value {
    let message = &document()["components"]["messages"][MESSAGE];
    assert!(message.is_object(), "{DOCUMENT} has no components.messages.{MESSAGE}");
    message
}

fn compile(schema: &Value, draft: Draft, what: &str) -> Validator {
    jsonschema::options()
        .with_draft(draft)
        .build(schema)
        .unwrap_or_else(|e| panic!("{what} is not a valid {draft:?} schema: {e}"))
}

/// The message's two schemas, as the document gives them.
struct Contract {
    /// The payload under the draft the file itself declares (2020-12) and
    /// under the draft the document's schemaFormat names (draft-07).
    payload: [(Draft, Validator); 2],
    /// An AsyncAPI Schema Object: draft-07 plus keywords this one does not use.
    headers: Validator,
    declared: BTreeSet<String>,
}

/// The file the payload's `$ref` names, relative to the document.
fn payload_schema_file() -> PathBuf {
    let payload = &message()["payload"];
    assert_eq!(payload["schemaFormat"], PAYLOAD_FORMAT, "payload: {payload}");
    let schema = payload["schema"].as_object().unwrap();
    assert_eq!(
        schema.keys().collect::<Vec<_>>(),
        ["$ref"],
        "the payload is the crate's schema by reference, not a copy: {payload}"
    );
    let reference = schema["$ref"].as_str().unwrap();
    let document_dir = root().join(DOCUMENT).parent().unwrap().to_owned();
    document_dir
        .join(reference)
        .canonicalize()
        .unwrap_or_else(|e| panic!("payload $ref {reference}: {e}"))
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let file = payload_schema_file();
        let payload: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(payload["$schema"], "https://json-schema.org/draft/2020-12/schema");
        let headers = &message()["headers"];
        Contract {
            payload: [Draft::Draft202012, Draft::Draft7].map(|d| (d, compile(&payload, d, "the payload"))),
            headers: compile(headers, Draft::Draft7, "the headers"),
            declared: headers["properties"].as_object().unwrap().keys().cloned().collect(),
        }
    })
}

fn errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn change_of(body: &Value) -> Change {
    match decode(body.to_string().as_bytes()) {
        Ok(Inbound::Change(change)) => *change,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_headers_declare_exactly_the_attributes_the_relay_can_set() {
    let headers = &message()["headers"];
    let names: BTreeSet<String> = NAMES.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        contract().declared,
        names,
        "{DOCUMENT} must declare every name of cc_number_change::attributes::NAMES, and nothing else"
    );
    assert_eq!(headers["type"], "object");
    for (name, property) in headers["properties"].as_object().unwrap() {
        assert_eq!(property["type"], "string", "{name}: every attribute is a String");
    }

    // Required: what message_attributes sets when the change knows nothing optional.
    let mut bare = change_of(&body_file("created"));
    bare.account_id = None;
    bare.phone_number.usage_type = None;
    bare.contact_center_provider = None;
    let always: BTreeSet<String> = message_attributes(&bare, Delivery::fresh(Origin::Webhook))
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect();
    let required: BTreeSet<String> = strings(&headers["required"]).into_iter().collect();
    assert_eq!(required, always, "required headers are the attributes on every message");
    let full = change_of(&body_file("created"));
    let all: BTreeSet<String> = message_attributes(&full, Delivery::fresh(Origin::Webhook))
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(all, names, "a change that knows every value gets every attribute");

    // The closed value sets, from the code.
    let p = &headers["properties"];
    let event_types: Vec<String> = EventType::ALL.iter().map(|e| e.as_str().to_owned()).collect();
    assert_eq!(strings(&p["eventType"]["enum"]), event_types);
    let origins: Vec<String> = Origin::ALL.iter().map(|o| o.as_str().to_owned()).collect();
    assert_eq!(strings(&p["origin"]["enum"]), origins);
    assert_eq!(strings(&p["stale"]["enum"]), ["true", "false"]);

    // The same rules as the body's fields they copy.
    let payload: Value = serde_json::from_str(cc_number_relay::change::SCHEMA).unwrap();
    assert_eq!(p["accountId"]["pattern"], "^[0-9]{1,32}$");
    assert_eq!(p["accountId"]["pattern"], payload["properties"]["accountId"]["pattern"]);
    let id = &payload["properties"]["phoneNumber"]["properties"]["id"];
    for rule in ["pattern", "minLength", "maxLength"] {
        assert_eq!(p["phoneNumberId"][rule], id[rule], "phoneNumberId {rule}");
    }
}

#[test]
fn the_payload_is_the_crates_schema_file() {
    let file = payload_schema_file();
    let crate_schema = root()
        .join("crates/cc-number-change/schema/contact-center-number-change.v1.json")
        .canonicalize()
        .unwrap();
    assert_eq!(file, crate_schema);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), cc_number_relay::change::SCHEMA);
}

/// Channel id → (eventType, the channel's sns binding, its address).
fn channels() -> BTreeMap<String, (String, Value, String)> {
    let doc = document();
    let channels = doc["channels"].as_object().unwrap();
    assert_eq!(channels.len(), 3, "one channel per topic");
    let reference = format!("#/components/messages/{MESSAGE}");
    channels
        .iter()
        .map(|(id, channel)| {
            let event_type = channel["title"].as_str().unwrap().to_owned();
            assert!(
                EventType::ALL.iter().any(|e| e.as_str() == event_type),
                "{id}: title {event_type}"
            );
            let messages = channel["messages"].as_object().unwrap();
            assert_eq!(messages.len(), 1, "{id}: the one message");
            let (key, message) = messages.iter().next().unwrap();
            assert_eq!(message["$ref"], reference.as_str(), "{id}");
            // The relay sends it there, and only it.
            let operations: Vec<&Value> = doc["operations"]
                .as_object()
                .unwrap()
                .values()
                .filter(|o| o["channel"]["$ref"] == format!("#/channels/{id}").as_str())
                .collect();
            assert_eq!(operations.len(), 1, "{id}: one operation");
            assert_eq!(operations[0]["action"], "send", "{id}");
            assert_eq!(
                operations[0]["messages"],
                json!([{"$ref": format!("#/channels/{id}/messages/{key}")}]),
                "{id}"
            );
            let address = channel["address"].as_str().unwrap().to_owned();
            (id.clone(), (event_type, channel["bindings"]["sns"].clone(), address))
        })
        .collect()
}

#[test]
fn the_channels_are_the_templates_topics() {
    let template = template();
    let mut event_types = BTreeSet::new();
    for (id, (event_type, binding, address)) in channels() {
        event_types.insert(event_type.clone());
        let fifo_suffix = &document()["channels"][&id]["parameters"]["fifoSuffix"];
        assert_eq!(strings(&fifo_suffix["enum"]), ["", ".fifo"], "{id}");
        let name = |suffix: &str| {
            address
                .replace("{stack}", "${AWS::StackName}")
                .replace("{fifoSuffix}", suffix)
        };
        let topic = &template["Resources"][format!("{event_type}Topic")]["Properties"];
        assert_eq!(
            topic["TopicName"],
            json!({"Fn::If": ["IsFifo", {"Fn::Sub": name(".fifo")}, {"Fn::Sub": name("")}]}),
            "{id}: the address must name template.yaml's {event_type}Topic"
        );
        assert_eq!(binding["name"], address.as_str(), "{id}");
        assert_eq!(
            binding["ordering"],
            json!({"type": "standard"}),
            "{id}: TopicType=Standard"
        );
        let fifo = &binding["x-fifo"];
        assert_eq!(fifo["name"], address.replace("{fifoSuffix}", ".fifo").as_str(), "{id}");
        assert_eq!(
            topic["ContentBasedDeduplication"],
            json!({"Fn::If": ["IsFifo", false, {"Ref": "AWS::NoValue"}]}),
            "{id}"
        );
        assert_eq!(
            fifo["ordering"],
            json!({"type": "FIFO", "contentBasedDeduplication": false}),
            "{id}: TopicType=Fifo"
        );
    }
    let all: BTreeSet<String> = EventType::ALL.iter().map(|e| e.as_str().to_owned()).collect();
    assert_eq!(event_types, all);
    assert_eq!(
        strings(&template["Parameters"]["TopicType"]["AllowedValues"]),
        ["Standard", "Fifo"]
    );
}

/// A runtime expression of the document (`$message.payload#/a/b` or
/// `$message.header#/name`) evaluated on a received message.
fn evaluate<'a>(expression: &str, body: &'a Value, headers: &'a Value) -> &'a Value {
    let (source, pointer) = expression
        .split_once('#')
        .unwrap_or_else(|| panic!("not a runtime expression: {expression}"));
    let target = match source {
        "$message.payload" => body,
        "$message.header" => headers,
        other => panic!("unknown source {other} in {expression}"),
    };
    target
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{expression} finds nothing in {target}"))
}

/// A message as a subscriber queue hands it out, the attributes' data types kept.
struct Delivered {
    body: Value,
    /// Name → (DataType, StringValue).
    attributes: BTreeMap<String, (String, String)>,
    group_id: Option<String>,
    deduplication_id: Option<String>,
}

impl Delivered {
    fn headers(&self) -> Value {
        Value::Object(
            self.attributes
                .iter()
                .map(|(name, (_, value))| (name.clone(), Value::String(value.clone())))
                .collect(),
        )
    }
}

/// Receives (and deletes) what is on the queue now: moto fans SNS out to
/// SQS inside the Publish call, so nothing is still in flight.
async fn take_all(aws: &Aws, queue: &str) -> Vec<Delivered> {
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let mut out = Vec::new();
    loop {
        let messages = aws
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(A::MessageGroupId)
            .message_system_attribute_names(A::MessageDeduplicationId)
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
            let system = m.attributes.clone().unwrap_or_default();
            out.push(Delivered {
                body: serde_json::from_str(m.body.as_deref().unwrap()).unwrap(),
                attributes: m
                    .message_attributes
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, (v.data_type, v.string_value.unwrap_or_default())))
                    .collect(),
                group_id: system.get(&A::MessageGroupId).cloned(),
                deduplication_id: system.get(&A::MessageDeduplicationId).cloned(),
            });
            aws.sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// RingCentral's phone-number list in memory.
struct Numbers(Vec<NumberState>);

impl PhoneNumbersApi for Numbers {
    fn contact_center_numbers(&self, on_page: &mut dyn FnMut(u32, usize)) -> Result<Listing, RingCentralError> {
        on_page(1, self.0.len());
        Ok(Listing {
            numbers: self.0.clone(),
            unreadable: Vec::new(),
            pages: 1,
        })
    }
    fn number(&self, id: &PhoneNumberId) -> Result<Option<NumberState>, RingCentralError> {
        Ok(self.0.iter().find(|n| n.phone_number.id == *id).cloned())
    }
}

fn number(id: u64, e164: &str, status: &str) -> NumberState {
    let mut record = record(id, e164, "ContactCenterNumber");
    record["status"] = status.into();
    decode_number(record.to_string().as_bytes()).unwrap()
}

fn notification(name: &str, uuid: &str) -> lambda_http::Request {
    let mut body = body_file(name);
    body["uuid"] = uuid.into();
    request(&http_api(
        "POST",
        &[("verification-token", TOKEN)],
        Some(&body.to_string()),
    ))
}

fn published(response: &lambda_http::Response<lambda_http::Body>) -> bool {
    let lambda_http::Body::Text(text) = response.body() else {
        return false;
    };
    response.status() == 200 && serde_json::from_str::<Value>(text).ok() == Some(json!({"status": "published"}))
}

/// Every way a message reaches the topics, through the real cores and the
/// real AWS sink: the webhook (in order, then an older state: stale),
/// redrive, reconciliation (Created, Updated, Deleted) and a snapshot.
async fn publish_every_kind(aws: &Aws, topology: &Topology) {
    let config = topology.config();
    let sink = || AwsSink::new(&aws.sdk, config.topics.clone(), config.dead_letter_queue_url.clone());

    let relay = Relay {
        verifier: verifier(),
        sink: sink(),
        inventory: Some(MemoryInventory::default()),
        xray: Default::default(),
    };
    for name in ["created", "updated-reassigned-away", "deleted"] {
        let response = relay.answer(request(&event_file(name))).await;
        assert!(published(&response), "{name}: {response:?}");
    }
    // Created again under another uuid, older than the Deleted already told.
    let response = relay.answer(notification("created", "asyncapi-stale-created")).await;
    assert!(published(&response), "stale: {response:?}");

    // Parked (its topic is missing), then redriven to the real topics.
    let parking = Relay {
        verifier: verifier(),
        sink: missing_sinks(&aws.sdk, Some(&topology.dead_letter_queue)),
        inventory: None::<MemoryInventory>,
        xray: Default::default(),
    };
    let response = parking
        .answer(notification("updated-reassigned-away", "asyncapi-redriven-updated"))
        .await;
    assert_eq!(response.status(), 200);
    let queue = SqsDeadLetters {
        client: aws_sdk_sqs::Client::new(&aws.sdk),
        queue: config.dead_letter_queue_url.clone(),
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

    // Reconciliation: a baseline, then one number changed, one new, one gone.
    let inventory = MemoryInventory::default();
    let topics = AwsSink::topics_only(&aws.sdk, config.topics.clone());
    let t0 = time::OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
    let before = Numbers(vec![
        number(1001, "+12025550101", "Normal"),
        number(1002, "+12025550102", "Normal"),
    ]);
    let after = Numbers(vec![
        number(1001, "+12025550101", "Disabled"),
        number(1003, "+12025550103", "Normal"),
    ]);
    // (baseline taken, published): the baseline's numbers are recorded quietly
    for (list, mode, at, expected) in [
        (&before, Mode::Correct, t0, (true, 0)),
        (&after, Mode::Correct, t0 + time::Duration::hours(1), (false, 3)),
        (&after, Mode::Snapshot, t0 + time::Duration::hours(2), (false, 2)),
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
        assert_eq!(
            (report.baseline_taken, report.published_total()),
            expected,
            "{}",
            report.line()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_the_relay_publishes_matches_the_document() {
    let contract = contract();
    let channels = channels();
    let examples = message()["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 3, "one example per eventType, from events/bodies");
    let aws = Aws::moto().await;
    for fifo in [false, true] {
        let kind = if fifo { "FIFO" } else { "standard" };
        let topology = Topology::create(&aws, fifo).await;
        publish_every_kind(&aws, &topology).await;

        let mut origins = BTreeSet::new();
        let mut stale = BTreeSet::new();
        let mut examples_seen = 0;
        for (id, (event_type, binding, _)) in &channels {
            let received = take_all(&aws, topology.subscriber_of(event_type)).await;
            let expected = match event_type.as_str() {
                // webhook, stale webhook, reconciliation, snapshot ×2
                "Created" => 5,
                // webhook, redrive, reconciliation
                "Updated" => 3,
                // webhook, reconciliation
                _ => 2,
            };
            assert_eq!(received.len(), expected, "{kind} {id}");
            for m in received {
                let headers = m.headers();
                let what = format!("{kind} {id}: {} with {headers}", m.body);
                for (draft, validator) in &contract.payload {
                    let errors = errors(validator, &m.body);
                    assert!(errors.is_empty(), "payload ({draft:?}) of {what}: {errors:?}");
                }
                let errors = errors(&contract.headers, &headers);
                assert!(errors.is_empty(), "headers of {what}: {errors:?}");
                for (name, (data_type, _)) in &m.attributes {
                    assert!(contract.declared.contains(name), "{name} is not declared: {what}");
                    assert_eq!(data_type, "String", "{name}: {what}");
                }
                assert_eq!(m.attributes["eventType"].1, *event_type, "{what}");
                if fifo {
                    let fifo = &binding["x-fifo"];
                    let group = evaluate(fifo["messageGroupId"].as_str().unwrap(), &m.body, &headers);
                    let dedup = evaluate(fifo["messageDeduplicationId"].as_str().unwrap(), &m.body, &headers);
                    assert_eq!(m.group_id.as_deref(), group.as_str(), "MessageGroupId of {what}");
                    assert_eq!(
                        m.deduplication_id.as_deref(),
                        dedup.as_str(),
                        "MessageDeduplicationId of {what}"
                    );
                } else {
                    assert_eq!((&m.group_id, &m.deduplication_id), (&None, &None), "{what}");
                }
                for example in examples.iter().filter(|e| e["payload"] == m.body) {
                    assert_eq!(example["headers"], headers, "example {}: {what}", example["name"]);
                    examples_seen += 1;
                }
                origins.insert(m.attributes["origin"].1.clone());
                stale.insert(m.attributes["stale"].1.clone());
            }
        }
        assert_eq!(
            examples_seen,
            examples.len(),
            "{kind}: each example is a message the relay published"
        );
        let all: BTreeSet<String> = Origin::ALL.iter().map(|o| o.as_str().to_owned()).collect();
        assert_eq!(origins, all, "{kind}: every origin was published");
        assert_eq!(stale, BTreeSet::from(["false".to_owned(), "true".to_owned()]), "{kind}");
    }
}
