//! docs/consumers.md's filter policies, applied: each is read out of the
//! page, set on a queue subscribed to the three topics on moto (which applies
//! SNS filter policies to message attributes), and the relay's own publish
//! path sends messages of every kind; exactly what the page says passes.
//! A policy edited in the page without its behaviour changing fails here.

use crate::support::*;
use cc_number_change::{Change, Delivery, Origin};
use cc_number_relay::sink::aws::AwsSink;
use cc_number_relay::sink::Sink;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Every policy the page shows, by the name after `filter-policy`.
fn documented_policies() -> BTreeMap<String, Value> {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/consumers.md")).unwrap();
    let mut policies = BTreeMap::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("```json filter-policy ") else {
            continue;
        };
        let body: String = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        let policy: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("policy {name}: {e}"));
        assert!(
            policies.insert(name.trim().to_owned(), policy).is_none(),
            "policy {name} twice"
        );
    }
    policies
}

/// A message's name (its notification id), change type, provider, usage, origin and stale flag.
type Kind = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Origin,
    bool,
);

/// One message of each kind a subscriber can receive, named by its notification id.
fn catalogue() -> Vec<(Change, Delivery)> {
    let kinds: [Kind; 11] = [
        (
            "created-webhook",
            "Created",
            Some("12345"),
            Some("ContactCenterNumber"),
            Origin::Webhook,
            false,
        ),
        (
            "updated-webhook-stale",
            "Updated",
            Some("12345"),
            Some("ContactCenterNumber"),
            Origin::Webhook,
            true,
        ),
        (
            "deleted-webhook",
            "Deleted",
            Some("12345"),
            Some("ContactCenterNumber"),
            Origin::Webhook,
            false,
        ),
        (
            "created-other-provider",
            "Created",
            Some("67890"),
            Some("ContactCenterNumber"),
            Origin::Webhook,
            false,
        ),
        (
            "updated-no-provider-redrive",
            "Updated",
            None,
            Some("ContactCenterNumber"),
            Origin::Redrive,
            false,
        ),
        (
            "created-correction",
            "Created",
            Some("12345"),
            Some("ContactCenterNumber"),
            Origin::Reconciliation,
            false,
        ),
        (
            "deleted-correction",
            "Deleted",
            Some("12345"),
            None,
            Origin::Reconciliation,
            false,
        ),
        (
            "reassigned-away-correction",
            "Updated",
            Some("12345"),
            Some("MainCompanyNumber"),
            Origin::Reconciliation,
            false,
        ),
        (
            "created-snapshot",
            "Created",
            Some("12345"),
            Some("ContactCenterNumber"),
            Origin::Snapshot,
            false,
        ),
        // Other RingCentral accounts (`account_of`), for the per-account policies.
        (
            "created-other-account",
            "Created",
            Some("12345"),
            Some("ContactCenterNumber"),
            Origin::Webhook,
            false,
        ),
        (
            "created-third-account",
            "Created",
            Some("12345"),
            Some("ContactCenterNumber"),
            Origin::Webhook,
            false,
        ),
    ];
    kinds
        .iter()
        .enumerate()
        .map(|(n, (name, change_type, provider, usage, origin, stale))| {
            let body = json!({
                "schemaVersion": 1, "changeType": change_type, "notificationId": name,
                "occurredAt": format!("2026-12-01T10:00:{n:02}.000Z"), "accountId": account_of(name),
                "subscriptionId": null, "ownerId": null,
                "phoneNumber": {"id": format!("{}", 1001 + n), "e164": format!("+120255510{n:02}"), "uri": null,
                                "paymentType": "Local", "location": null, "type": "VoiceFax",
                                "usageType": usage, "status": "Normal"},
                "contactCenterProvider": provider.map(|id| json!({"id": id, "name": null}))
            });
            let change = cc_number_change::decode(body.to_string().as_bytes()).unwrap();
            (
                change,
                Delivery {
                    origin: *origin,
                    stale: *stale,
                },
            )
        })
        .collect()
}

/// The RingCentral account of each catalogue message: the default one but for two.
fn account_of(name: &str) -> &'static str {
    match name {
        "created-other-account" => "40000001",
        "created-third-account" => "40000002",
        _ => "37439510",
    }
}

/// What passes each documented policy, in the page's words.
fn expected(name: &str) -> BTreeSet<&'static str> {
    let all: BTreeSet<&str> = [
        "created-webhook",
        "updated-webhook-stale",
        "deleted-webhook",
        "created-other-provider",
        "updated-no-provider-redrive",
        "created-correction",
        "deleted-correction",
        "reassigned-away-correction",
        "created-snapshot",
        "created-other-account",
        "created-third-account",
    ]
    .into();
    let without = |gone: &[&str]| all.iter().copied().filter(|n| !gone.contains(n)).collect();
    match name {
        "only-deleted" => ["deleted-webhook", "deleted-correction"].into(),
        "one-provider" => without(&["created-other-provider", "updated-no-provider-redrive"]),
        "no-snapshots" => without(&["created-snapshot"]),
        "only-corrections" => ["created-correction", "deleted-correction", "reassigned-away-correction"].into(),
        "never-stale" => without(&["updated-webhook-stale"]),
        "fifo-live" => without(&["updated-webhook-stale", "created-snapshot"]),
        "one-account" => without(&["created-other-account", "created-third-account"]),
        "some-accounts" => without(&["created-third-account"]),
        other => panic!("docs/consumers.md shows a policy this test does not know: {other}"),
    }
}

const FIFO_POLICIES: [&str; 1] = ["fifo-live"];

/// A queue subscribed raw to the three topics with `policy`.
async fn filtered_queue(aws: &Aws, topology: &Topology, name: &str, policy: &Value, fifo: bool) -> String {
    let queue_name = format!("{}{}", unique(name), if fifo { ".fifo" } else { "" });
    let mut create = aws.sqs.create_queue().queue_name(&queue_name);
    if fifo {
        create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let url = create.send().await.unwrap().queue_url.unwrap();
    for topic in &topology.topics {
        aws.sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:us-east-1:123456789012:{queue_name}"))
            .attributes("RawMessageDelivery", "true")
            .attributes("FilterPolicy", policy.to_string())
            .send()
            .await
            .unwrap();
    }
    url
}

async fn check(fifo: bool) {
    let policies = documented_policies();
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, fifo).await;
    let config = topology.config();
    let sink = AwsSink::new(&aws.sdk, config.topics, config.dead_letter_queue_url);
    let mut queues = Vec::new();
    for (name, policy) in &policies {
        if FIFO_POLICIES.contains(&name.as_str()) == fifo {
            queues.push((name, filtered_queue(&aws, &topology, name, policy, fifo).await));
        }
    }
    assert!(!queues.is_empty());
    for (change, delivery) in catalogue() {
        sink.publish(&change, delivery).await.unwrap();
    }
    for (name, queue) in queues {
        let received = drain_now(&aws, &queue).await;
        let passed: BTreeSet<String> = received
            .iter()
            .map(|m| m.json()["notificationId"].as_str().unwrap().to_owned())
            .collect();
        let expected: BTreeSet<String> = expected(name).into_iter().map(String::from).collect();
        assert_eq!(passed, expected, "policy {name}: {}", policies[name]);
        assert_eq!(received.len(), expected.len(), "policy {name}: each passes once");
    }
}

#[test]
fn the_page_shows_every_policy_this_test_checks() {
    let names: BTreeSet<String> = documented_policies().into_keys().collect();
    let known = [
        "only-deleted",
        "one-provider",
        "no-snapshots",
        "only-corrections",
        "never-stale",
        "fifo-live",
        "one-account",
        "some-accounts",
    ];
    assert_eq!(names, known.map(String::from).into());
}

#[tokio::test(flavor = "multi_thread")]
async fn each_documented_filter_policy_passes_exactly_what_the_page_says() {
    check(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fifo_policy_passes_exactly_what_the_page_says_on_fifo_topics() {
    check(true).await;
}
