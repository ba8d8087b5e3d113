//! Reconciliation end to end: the relay binary under `cargo lambda watch`
//! records what it publishes in the inventory (DynamoDB on moto), then
//! RingCentral's truth (the stand-in) changes with no notification, and the
//! CLI's `reconcile` publishes exactly those changes to the usual topics.

use crate::inventory::{hanging_endpoint, inventory_table};
use crate::support::ringcentral_standin::phone_numbers::record;
use crate::support::ringcentral_standin::*;
use crate::support::*;
use serde_json::Value;
use std::time::Duration;

const CC: &str = "ContactCenterNumber";

fn notification(id: u64, e164: &str, event_type: &str, uuid: &str, at: &str) -> String {
    let mut body = body_file("created");
    body["uuid"] = uuid.into();
    body["timestamp"] = at.into();
    body["body"]["eventType"] = event_type.into();
    body["body"]["phoneNumberInfo"] = record(id, e164, CC);
    body["body"]["phoneNumberInfo"]["id"] = id.to_string().into();
    body.to_string()
}

struct Setup {
    aws: Aws,
    topology: Topology,
    standin: StandIn,
    env: Vec<(&'static str, String)>,
}

impl Setup {
    async fn new() -> Setup {
        let aws = Aws::moto().await;
        let topology = Topology::create(&aws, false).await;
        let table = inventory_table(&aws).await;
        let standin = StandIn::start();
        let mut env = topology.env();
        env.push(("INVENTORY_TABLE", table));
        env.extend(standin.env());
        Setup {
            aws,
            topology,
            standin,
            env,
        }
    }

    fn reconcile(&self, extra: &[&str]) -> Run {
        let mut args = vec!["reconcile", "--page-interval", "0"];
        args.extend(extra);
        ctl(&self.env, &args)
    }

    /// Every message on the three subscriber queues, with its topic's event type.
    async fn received(&self) -> Vec<(&'static str, Received)> {
        let mut all = Vec::new();
        for kind in EVENT_TYPES {
            for m in drain_now(&self.aws, self.topology.subscriber_of(kind)).await {
                all.push((kind, m));
            }
        }
        all
    }
}

fn id_of(m: &Received) -> String {
    m.json()["phoneNumber"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_publishes_what_ringcentral_never_delivered_and_only_that() {
    let s = Setup::new().await;
    // RingCentral's account: five Contact Center numbers (three pages of two) and one other.
    s.standin.set_page_cap(2);
    for (id, e164) in [
        (1001, "+12025550101"),
        (1002, "+12025550102"),
        (1003, "+12025550103"),
        (1004, "+12025550104"),
        (1005, "+12025550105"),
    ] {
        s.standin.put_number(record(id, e164, CC));
    }
    s.standin.put_number(record(2001, "+12025550201", "MainCompanyNumber"));

    // The first run takes the baseline, quietly.
    let first = s.reconcile(&[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert_eq!(
        first.stdout.trim(),
        "reconcile summary: 5 numbers in 3 pages, published 0, superseded by newer notifications 0, failed 0, took the baseline (numbers never told before, recorded quietly: 5)"
    );
    assert!(
        first
            .stderr
            .contains("reconcile: page 3 read, 5 Contact Center numbers so far"),
        "{}",
        first.stderr
    );
    assert!(s.received().await.is_empty());

    // Two notifications arrive through the real relay binary and are recorded.
    let mut relay_env = s.env.clone();
    relay_env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    let watch = Watch::start(&relay_env);
    watch.warm_up();
    let sub = s.standin.seed(&watch.url(), TOKEN, Duration::from_secs(3600));
    s.standin.put_number(record(1006, "+12025550106", CC));
    let created = notification(
        1006,
        "+12025550106",
        "Created",
        "aaaaaaaa-0000-4000-8000-000000001006",
        "2030-01-01T10:00:00.000Z",
    );
    let mut changed = record(1001, "+12025550101", CC);
    changed["location"] = "Arlington, VA".into();
    s.standin.put_number(changed);
    let mut updated: Value = serde_json::from_str(&notification(
        1001,
        "+12025550101",
        "Updated",
        "aaaaaaaa-0000-4000-8000-000000001001",
        "2030-01-01T10:00:01.000Z",
    ))
    .unwrap();
    updated["body"]["phoneNumberInfo"]["location"] = "Arlington, VA".into();
    for body in [created.clone(), updated.to_string()] {
        let delivery = s.standin.deliver(&sub, &body);
        assert_eq!(delivery.body, r#"{"status":"published"}"#);
    }
    let delivered = s.received().await;
    assert_eq!(delivered.len(), 2);
    assert!(delivered
        .iter()
        .all(|(_, m)| m.attributes["origin"] == "webhook" && m.attributes["stale"] == "false"));

    // RingCentral changes four numbers and tells nobody.
    s.standin.put_number(record(1007, "+12025550107", CC)); // created
    s.standin.remove_number(1002); // deleted
    s.standin.put_number(record(1003, "+12025550103", "MainCompanyNumber")); // reassigned away
    let mut moved = record(1004, "+12025550104", CC);
    moved["status"] = "PortedIn".into();
    s.standin.put_number(moved); // changed

    let run = s.reconcile(&[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "Deleted 1002 +12025550102",
            "Updated (reassigned away) 1003 +12025550103",
            "Updated 1004 +12025550104",
            "Created 1007 +12025550107",
            "reconcile summary: 5 numbers in 3 pages, published 4 (Created: 1, Updated: 1, Updated (reassigned away): 1, Deleted: 1), superseded by newer notifications 0, failed 0",
        ]
    );
    let received = s.received().await;
    let mut seen: Vec<(&str, String)> = received.iter().map(|(kind, m)| (*kind, id_of(m))).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("Created", "1007".into()),
            ("Deleted", "1002".into()),
            ("Updated", "1003".into()),
            ("Updated", "1004".into())
        ]
    );
    for (kind, m) in &received {
        let change = m.json();
        assert_matches_schema(&change);
        assert_eq!(change["changeType"], *kind);
        assert_eq!(m.attributes["origin"], "reconciliation");
        assert_eq!(m.attributes["stale"], "false");
        assert_eq!(m.attributes["eventType"], *kind);
        assert_eq!(m.attributes["phoneNumberId"], id_of(m));
        assert!(change["subscriptionId"].is_null() && change["ownerId"].is_null());
        let uuid = change["notificationId"].as_str().unwrap();
        assert!(uuid.len() == 36 && &uuid[14..15] == "8", "{uuid}");
    }
    let reassigned = received.iter().find(|(_, m)| id_of(m) == "1003").unwrap();
    assert_eq!(reassigned.1.json()["phoneNumber"]["usageType"], "MainCompanyNumber");
    let deleted = received.iter().find(|(_, m)| id_of(m) == "1002").unwrap();
    assert_eq!(
        deleted.1.json()["phoneNumber"]["e164"],
        "+12025550102",
        "the last known fields"
    );
    let (lists, gets) = s.standin.phone_number_requests();
    assert_eq!(
        (lists, gets),
        (6, 2),
        "3 pages a run, and a get only for the two vanished numbers"
    );

    // Right after, nothing.
    let again = s.reconcile(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains(", published 0,"), "{}", again.stdout);
    assert!(s.received().await.is_empty());

    // A redelivery is a duplicate; an older notification is published, stale.
    let duplicate = s.standin.deliver(&sub, &created);
    assert_eq!(duplicate.body, r#"{"status":"duplicate"}"#);
    let older = notification(
        1006,
        "+12025550106",
        "Updated",
        "aaaaaaaa-0000-4000-8000-000000000999",
        "2029-01-01T10:00:00.000Z",
    );
    assert_eq!(s.standin.deliver(&sub, &older).body, r#"{"status":"published"}"#);
    let received = s.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1.attributes["stale"], "true");
    assert!(!s.standin.subscription(&sub).unwrap().status.contains("Blacklisted"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_heavy_list_is_retried_after_retry_after_and_a_dry_run_writes_nothing() {
    let s = Setup::new().await;
    s.standin.put_number(record(3001, "+12025550301", CC));
    s.standin.put_number(record(3002, "+12025550302", CC));
    s.standin.set_page_cap(1);
    s.standin.omit_totals(); // RingCentral may; `navigation.nextPage` then tells
    s.standin.heavy_rate_limit(1, 1);
    let dry = s.reconcile(&["--dry-run"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(
        dry.stderr
            .contains("RingCentral is rate limiting: waiting 1 s as Retry-After asks"),
        "{}",
        dry.stderr
    );
    assert!(
        dry.stdout.contains("2 numbers in 2 pages, would publish 0, superseded by newer notifications 0, failed 0, would take the baseline (numbers never told before, recorded quietly: 2)"),
        "{}",
        dry.stdout
    );
    // Nothing was written: the real first run still takes the baseline.
    let first = s.reconcile(&[]);
    assert!(
        first
            .stdout
            .contains("took the baseline (numbers never told before, recorded quietly: 2)"),
        "{}",
        first.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_goes_only_to_the_late_consumers_queue() {
    let s = Setup::new().await;
    s.standin.put_number(record(4001, "+12025550401", CC));
    s.standin.put_number(record(4002, "+12025550402", CC));
    let own = s
        .aws
        .sqs
        .create_queue()
        .queue_name(unique("late-consumer"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let run = s.reconcile(&["--snapshot", "--to", &own]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("snapshot summary: 2 numbers in 1 pages, published 2 (Created: 2)"),
        "{}",
        run.stdout
    );
    let mine = drain(&s.aws, &own, 2).await;
    assert_eq!(mine.len(), 2);
    for m in &mine {
        assert_matches_schema(&m.json());
        assert_eq!(m.attributes["origin"], "snapshot");
        assert_eq!(m.json()["changeType"], "Created");
    }
    assert!(s.received().await.is_empty(), "nobody else sees the replay");
    let bad = s.reconcile(&["--snapshot", "--to", "nowhere"]);
    assert_eq!(bad.code, 1);
    assert_eq!(
        bad.stderr.trim(),
        "cc-number-relay-ctl: --to nowhere: expected an SNS topic ARN (arn:…:sns:…) or an SQS queue URL (https://…)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_inventory_leaves_the_relay_answering_in_time() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let mut env = topology.env();
    env.push(("INVENTORY_TABLE", "unreachable".to_owned()));
    env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    env.push(("AWS_ENDPOINT_URL_DYNAMODB", hanging_endpoint()));
    let watch = Watch::start(&env);
    watch.warm_up();
    let body = body_file("created").to_string();
    let (status, answer, took) = watch.post(
        &[("Verification-Token", TOKEN), ("Content-Type", "application/json")],
        &body,
    );
    assert_eq!((status, answer.as_str()), (200, r#"{"status":"published"}"#));
    assert!(took < Duration::from_millis(3000), "RingCentral's limit: {took:?}");
    assert_eq!(drain(&aws, topology.subscriber_of("Created"), 1).await.len(), 1);
    let logs = watch.logs();
    assert!(logs.contains("inventory read failed: Timeout"), "{logs}");
}
