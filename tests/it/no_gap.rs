//! Nothing missed, end to end, through the real binaries: `subscribe` (the
//! handshake with the relay, then the baseline), 50 webhooks through the
//! relay, a blacklisting before any scheduled reconciliation, 50 changes
//! made only in RingCentral, then the guardian's tick and the reconcile
//! schedule invoked at the same instant (two guardian instances under the
//! Runtime API emulator). The example directory, fed from its raw queue as
//! Lambda's event source mapping would, ends equal to RingCentral's truth,
//! and every correction reached subscribers once.

use crate::guardian_lambda::{guardian_env, scheduled_event};
use crate::inventory::inventory_table;
use crate::subscriber::{contact_center_numbers, directory_binary, feed, notification, subscriber_queue};
use crate::support::ringcentral_standin::phone_numbers::record;
use crate::support::ringcentral_standin::*;
use crate::support::runtime_api::{Functions, RuntimeApi};
use crate::support::*;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

const CC: &str = "ContactCenterNumber";

fn e164(id: u64) -> String {
    format!("+1202555{id:04}")
}

fn uuid(n: u64) -> String {
    format!("bbbbbbbb-0000-4000-8000-{n:012}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gap_before_any_scheduled_reconciliation_is_repaired_and_each_correction_applied_once() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let inventory = inventory_table(&aws).await;
    let standin = StandIn::start();
    let mut env = topology.env();
    env.push(("INVENTORY_TABLE", inventory.clone()));
    env.extend(standin.env());
    // The example directory's queue, and a tap on the topics to count what was published.
    let directory_queue = subscriber_queue(&aws, &topology, true).await;
    let tap = subscriber_queue(&aws, &topology, true).await;

    // The account before the relay: 20 Contact Center numbers.
    for id in 1001..=1020 {
        standin.put_number(record(id, &e164(id), CC));
    }
    let mut relay_env = env.clone();
    relay_env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    let watch = Watch::start(&relay_env);
    watch.warm_up();
    let address = watch.url();

    // subscribe: the handshake through the relay, then the baseline at once.
    let run = ctl(&env, &["subscribe", "--address", &address]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("published 0, superseded by newer notifications 0, failed 0, took the baseline (numbers never told before, recorded quietly: 20)"),
        "{}",
        run.stdout
    );
    let sub = standin.subscriptions()[0].id.clone();
    // The directory joins with a snapshot.
    let snapshot = ctl(&env, &["reconcile", "--snapshot", "--page-interval", "0"]);
    assert_eq!(snapshot.code, 0, "{}{}", snapshot.stdout, snapshot.stderr);

    // 50 webhooks, each as RingCentral changes the number: 30 created,
    // 10 updated (location), 10 of the new ones deleted again.
    // Stamped as RingCentral would: after the baseline, 10 ms apart (all
    // of them before the reconciliation reads the list).
    let start = time::OffsetDateTime::now_utc();
    let mut n = 0;
    let mut deliver = |id: u64, event_type: &str, number: Value| {
        n += 1;
        let mut body: Value = serde_json::from_str(&notification(
            id,
            number["phoneNumber"].as_str().unwrap(),
            event_type,
            &uuid(n),
            &rfc3339(start + time::Duration::milliseconds(10 * n as i64)),
            CC,
        ))
        .unwrap();
        body["body"]["phoneNumberInfo"] = number;
        body["body"]["phoneNumberInfo"]["id"] = id.to_string().into();
        let answer = standin.deliver(&sub, &body.to_string());
        assert_eq!(answer.body, r#"{"status":"published"}"#, "{body}");
    };
    for id in 2001..=2030 {
        let number = record(id, &e164(id), CC);
        standin.put_number(number.clone());
        deliver(id, "Created", number);
    }
    for id in (1016..=1020).chain(2016..=2020) {
        let mut number = record(id, &e164(id), CC);
        number["location"] = "Arlington, VA".into();
        standin.put_number(number.clone());
        deliver(id, "Updated", number);
    }
    for id in 2021..=2030 {
        standin.remove_number(id);
        deliver(id, "Deleted", record(id, &e164(id), CC));
    }
    assert_eq!(n, 50);

    // Blacklisted before any scheduled reconciliation ran, then 50 changes
    // only in RingCentral, on numbers told by the baseline and by webhooks
    // alike: 20 created, 10 deleted, 10 reassigned away, 10 new E.164.
    standin.blacklist(&sub, "Webhook responses with code: [503]");
    // The convergence figure (printed, not asserted: timings drift here) is
    // from this instant to the directory equal to RingCentral, with the
    // guardian's schedule compressed to "now".
    let blacklisted = std::time::Instant::now();
    for id in 3001..=3020 {
        standin.put_number(record(id, &e164(id), CC));
    }
    for id in (1001..=1005).chain(2001..=2005) {
        standin.remove_number(id);
    }
    for id in (1006..=1010).chain(2006..=2010) {
        standin.put_number(record(id, &e164(id), "DirectNumber"));
    }
    for id in (1011..=1015).chain(2011..=2015) {
        standin.put_number(record(id, &e164(id + 5000), CC));
    }

    // The guardian's tick and the reconcile schedule at the same instant.
    let (mut guardian_env, _alarms) = guardian_env(&aws, &standin, &address, None).await;
    guardian_env.push(("INVENTORY_TABLE", inventory.clone()));
    guardian_env.extend(topology.env().into_iter().filter(|(k, _)| k.ends_with("_TOPIC_ARN")));
    let api = Arc::new(RuntimeApi::start());
    let mut guardians = Functions::start(&api, env!("CARGO_BIN_EXE_cc-number-relay-guardian"), 2, &guardian_env);
    guardians.wait_until_ready(&api, Duration::from_secs(60)).unwrap();
    let runs: Vec<_> = [scheduled_event(), json!({"reconcile": true})]
        .into_iter()
        .map(|event| {
            let api = api.clone();
            std::thread::spawn(move || api.invoke(&event, Duration::from_secs(120)))
        })
        .collect();
    let answers: Vec<Value> = runs
        .into_iter()
        .map(|run| {
            run.join()
                .unwrap()
                .unwrap_or_else(|e| panic!("{e}\n{}", guardians.output()))
        })
        .collect();
    let findings: Vec<String> = answers
        .iter()
        .flat_map(|a| a["findings"].as_array().unwrap().clone())
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        findings.iter().filter(|f| *f == "Healed").count(),
        1,
        "{answers:?}\n{}",
        guardians.output()
    );
    assert_eq!(
        findings.iter().filter(|f| *f == "Reconciled").count(),
        1,
        "one reconciliation published: {answers:?}\n{}",
        guardians.output()
    );
    let live: Vec<Sub> = standin.subscriptions();
    assert_eq!(live.len(), 1, "the blacklisted one replaced: {live:?}");

    // What subscribers were sent: the snapshot (20), the webhooks (50) and
    // the corrections, each correction once.
    let sent = drain(&aws, &tap.url, 120).await;
    let by_origin =
        |origin: &str| -> Vec<&Received> { sent.iter().filter(|m| m.attributes["origin"] == origin).collect() };
    assert_eq!(by_origin("snapshot").len(), 20);
    assert_eq!(by_origin("webhook").len(), 50);
    let corrections = by_origin("reconciliation");
    let mut kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in &corrections {
        let body = c.json();
        let usage = body["phoneNumber"]["usageType"].as_str().unwrap_or_default().to_owned();
        *kinds
            .entry((body["changeType"].as_str().unwrap().to_owned(), usage))
            .or_default() += 1;
    }
    assert_eq!(
        kinds,
        BTreeMap::from([
            (("Created".to_owned(), CC.to_owned()), 20),
            (("Deleted".to_owned(), CC.to_owned()), 10),
            (("Updated".to_owned(), "DirectNumber".to_owned()), 10),
            (("Updated".to_owned(), CC.to_owned()), 10),
        ]),
        "every change of the gap, on baseline and webhook numbers alike"
    );
    let ids: BTreeSet<String> = corrections
        .iter()
        .map(|c| c.json()["notificationId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), corrections.len(), "each correction published once");
    assert!(drain_now(&aws, &tap.url).await.is_empty(), "nothing more");

    // The example directory applies it all and ends as RingCentral is.
    let directory = RuntimeApi::start();
    let table = inventory_table(&aws).await;
    let directory_env = vec![
        ("DIRECTORY_TABLE", table.clone()),
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", "cc-number-directory".into()),
    ];
    let mut function = Functions::start(&directory, &directory_binary(), 1, &directory_env);
    function.wait_until_ready(&directory, Duration::from_secs(30)).unwrap();
    let fed = feed(&aws, &directory, &directory_queue).await;
    assert!(fed.failed_batches.is_empty(), "{fed:?}\n{}", function.output());
    let truth = standin.contact_center_ids();
    // 20 at the start, 30 created and 10 deleted by webhooks, then 20
    // created, 10 deleted and 10 reassigned away in the gap.
    assert_eq!(truth.len(), 40, "{truth:?}");
    assert_eq!(contact_center_numbers(&aws, &table).await, truth);
    eprintln!(
        "convergence with the schedule compressed: {:.1} s from the blacklisting to the directory equal to RingCentral (50 changes in the gap)",
        blacklisted.elapsed().as_secs_f64()
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    for id in [1011, 2015] {
        let item = dynamodb
            .get_item()
            .table_name(&table)
            .key("phoneNumberId", AttributeValue::S(id.to_string()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        assert_eq!(item["e164"], AttributeValue::S(e164(id + 5000)), "{id}: the new E.164");
    }
}
