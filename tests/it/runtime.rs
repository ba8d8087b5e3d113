//! The real Lambda runtime path: the compiled binary under `cargo lambda
//! watch`, invoked with the `events/` files by `cargo lambda invoke`; and a
//! burst from concurrent senders through several processes of the binary,
//! as Lambda runs several instances, against the tests' own Runtime API
//! emulator (`support::runtime_api`).

use crate::support::runtime_api::{Functions, RuntimeApi};
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn watch_on_moto(topology: &Topology) -> Watch {
    let mut env = topology.env();
    env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    let watch = Watch::start(&env);
    watch.warm_up();
    watch
}

/// `cargo lambda invoke --data-file events/<name>.json`, as the README shows.
fn invoke(port: u16, name: &str) -> Value {
    let output = Command::new(dev_tool("cargo-lambda"))
        .args([
            "lambda",
            "invoke",
            "cc-number-relay",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .args(["--data-file", &format!("events/{name}.json"), "--output-format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", path_with_venv())
        .output()
        .expect("run cargo lambda invoke");
    assert!(
        output.status.success(),
        "cargo lambda invoke failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_answers_handshakes_publishes_and_parks_under_cargo_lambda() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let watch = watch_on_moto(&topology);
    let port = watch.port;

    let handshake = tokio::task::spawn_blocking(move || invoke(port, "handshake"))
        .await
        .unwrap();
    assert_eq!(handshake["statusCode"], 200);
    assert_eq!(handshake["headers"]["validation-token"], "a1b2c3d4-handshake-token");
    assert_eq!(handshake["headers"]["content-type"], "application/json");

    let created = tokio::task::spawn_blocking(move || invoke(port, "created"))
        .await
        .unwrap();
    assert_eq!(created["statusCode"], 200);
    assert_eq!(created["body"], r#"{"status":"published"}"#);
    let received = drain(&aws, topology.subscriber_of("Created"), 1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].json()["notificationId"],
        "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0"
    );
    assert_matches_schema(&received[0].json());

    let parked = tokio::task::spawn_blocking(move || invoke(port, "parked"))
        .await
        .unwrap();
    assert_eq!(parked["statusCode"], 200);
    let answer: Value = serde_json::from_str(parked["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["reason"], "invalid_e164");
    assert_eq!(drain(&aws, &topology.dead_letter_queue, 1).await.len(), 1);

    let wrong = tokio::task::spawn_blocking(move || invoke(port, "wrong-token"))
        .await
        .unwrap();
    assert_eq!(wrong["statusCode"], 401);

    let logs = watch.logs();
    assert!(!logs.contains(TOKEN), "the token appeared in the function's logs");
    let summaries: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "request summary")
        .collect();
    assert!(summaries.len() >= 5, "one JSON summary line per request:\n{logs}");
}

/// The emulator itself, with a plain HTTP client as the function: one event
/// per instance at a time, the Runtime API headers, answers and errors back
/// to the caller, and what it refuses.
#[test]
fn the_tests_runtime_api_hands_each_instance_one_event_at_a_time() {
    let api = Arc::new(RuntimeApi::start());
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let runtime = |instance: &str, path: &str| format!("{}/2018-06-01/runtime/{path}", api.address_for(instance));
    let invoke = |event: Value| {
        let api = api.clone();
        std::thread::spawn(move || api.invoke(&event, Duration::from_secs(10)))
    };

    let caller = invoke(serde_json::json!({"n": 1}));
    let mut next = agent.get(runtime("fn-a", "invocation/next")).call().unwrap();
    assert_eq!(next.status(), 200);
    for header in [
        "lambda-runtime-aws-request-id",
        "lambda-runtime-deadline-ms",
        "lambda-runtime-invoked-function-arn",
        "lambda-runtime-trace-id",
    ] {
        assert!(next.headers().contains_key(header), "{header}");
    }
    let id = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let event: Value = serde_json::from_str(&next.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(event, serde_json::json!({"n": 1}));
    let again = agent.get(runtime("fn-a", "invocation/next")).call().unwrap();
    assert_eq!(again.status(), 400, "a second event before the first is answered");
    let stranger = agent
        .post(runtime("fn-b", &format!("invocation/{id}/response")))
        .send("{}")
        .unwrap();
    assert_eq!(stranger.status(), 400, "an answer from another instance");
    let answered = agent
        .post(runtime("fn-a", &format!("invocation/{id}/response")))
        .send(r#"{"statusCode":200}"#)
        .unwrap();
    assert_eq!(answered.status(), 202);
    assert_eq!(caller.join().unwrap(), Ok(serde_json::json!({"statusCode": 200})));

    let caller = invoke(serde_json::json!({"n": 2}));
    let next = agent.get(runtime("fn-a", "invocation/next")).call().unwrap();
    let id = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    agent
        .post(runtime("fn-a", &format!("invocation/{id}/error")))
        .send(r#"{"errorType":"Boom","errorMessage":"handler failed"}"#)
        .unwrap();
    let error = caller.join().unwrap().unwrap_err();
    assert!(error.contains("Boom"), "{error}");

    assert_eq!(api.invocations(), [("fn-a".to_owned(), 2)].into());
    assert_eq!(api.violations().len(), 2, "{:?}", api.violations());
}

/// `count` notifications of mixed types (Created, Updated, Deleted in turn),
/// each with its own `uuid` and phone-number id: (uuid, eventType, body).
fn mixed_notifications(count: usize) -> Vec<(String, &'static str, String)> {
    let template = body_file("created");
    (0..count)
        .map(|i| {
            let kind = EVENT_TYPES[i % 3];
            let mut body = template.clone();
            let uuid = format!("vol-{i:05}-{}", std::process::id());
            body["uuid"] = uuid.clone().into();
            body["body"]["eventType"] = kind.into();
            body["body"]["phoneNumberInfo"]["id"] = format!("{}", 100_000 + i).into();
            (uuid, kind, body.to_string())
        })
        .collect()
}

/// The `q`-quantile of sorted durations, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let at = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1000.0
}

/// Issue 12's burst: 1,000 notifications from 20 concurrent senders, through
/// 4 processes of the compiled relay, each taking one event at a time from
/// the Runtime API emulator, as 4 Lambda instances would. Every answer is
/// 200 published; every notification arrives once, on its own topic.
/// (`cargo lambda watch` runs one instance by default and queues concurrent
/// invocations behind it: see docs/testing.md.)
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_from_twenty_senders_through_four_instances_arrives_once_each_on_the_right_topic() {
    const COUNT: usize = 1000;
    const SENDERS: usize = 20;
    const INSTANCES: usize = 4;
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let api = Arc::new(RuntimeApi::start());
    let mut env = topology.env();
    env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    let mut functions = Functions::start(&api, env!("CARGO_BIN_EXE_cc-number-relay"), INSTANCES, &env);
    functions.wait_until_ready(&api, Duration::from_secs(60)).unwrap();

    let notifications = mixed_notifications(COUNT);
    let headers = notification_headers();
    let events: Arc<Vec<Value>> = Arc::new(
        notifications
            .iter()
            .map(|(_, _, body)| http_api("POST", &headers, Some(body)))
            .collect(),
    );
    let (sending, invoking) = (events.clone(), api.clone());
    let (answers, wall) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        // Sender k sends notifications k, k + 20, k + 40, …, one after another.
        let answers: Vec<(usize, Result<Value, String>, Duration)> = std::thread::scope(|scope| {
            let senders: Vec<_> = (0..SENDERS)
                .map(|k| {
                    let (events, api) = (&sending, &invoking);
                    scope.spawn(move || {
                        (k..COUNT)
                            .step_by(SENDERS)
                            .map(|i| {
                                let sent = Instant::now();
                                let answer = api.invoke(&events[i], Duration::from_secs(60));
                                (i, answer, sent.elapsed())
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            senders.into_iter().flat_map(|s| s.join().unwrap()).collect()
        });
        (answers, started.elapsed())
    })
    .await
    .unwrap();

    assert_eq!(answers.len(), COUNT);
    let wrong: Vec<String> = answers
        .iter()
        .filter_map(|(i, answer, _)| match answer {
            Ok(a) if a["statusCode"] == 200 && a["body"] == r#"{"status":"published"}"# => None,
            Ok(a) => Some(format!("{}: {a}", notifications[*i].0)),
            Err(e) => Some(format!("{}: {e}", notifications[*i].0)),
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {COUNT} not answered 200 published, for example {:#?}\n{}",
        wrong.len(),
        &wrong[..wrong.len().min(5)],
        functions.output()
    );
    assert_eq!(api.violations(), Vec::<String>::new(), "against the Runtime API");
    functions.check_running().unwrap();
    let invocations = api.invocations();
    assert_eq!(invocations.values().sum::<usize>(), COUNT, "{invocations:?}");
    // All 4 were waiting for an event when the burst began.
    assert_eq!(invocations.len(), INSTANCES, "instances that served: {invocations:?}");

    let mut latencies: Vec<Duration> = answers.iter().map(|(_, _, d)| *d).collect();
    latencies.sort();
    eprintln!(
        "burst: {COUNT} notifications, {SENDERS} senders, {INSTANCES} instances: wall {:.2} s, {:.0} notifications/s; \
         answer latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; invocations per instance {invocations:?}; \
         at most {} in flight at once",
        wall.as_secs_f64(),
        COUNT as f64 / wall.as_secs_f64(),
        quantile_ms(&latencies, 0.50),
        quantile_ms(&latencies, 0.99),
        quantile_ms(&latencies, 1.0),
        api.peak_in_flight(),
    );

    let mut seen = BTreeSet::new();
    for kind in EVENT_TYPES {
        let expected = notifications.iter().filter(|(_, k, _)| *k == kind).count();
        let received = drain(&aws, topology.subscriber_of(kind), expected).await;
        assert_eq!(received.len(), expected, "{kind} subscriber");
        for message in &received {
            let body = message.json();
            assert_eq!(
                body["changeType"], kind,
                "a {} change on the {kind} topic",
                body["changeType"]
            );
            assert_eq!(message.attributes["eventType"], kind);
            assert!(
                seen.insert(body["notificationId"].as_str().unwrap().to_owned()),
                "delivered twice: {}",
                body["notificationId"]
            );
        }
    }
    let sent: BTreeSet<String> = notifications.iter().map(|(u, _, _)| u.clone()).collect();
    assert_eq!(seen, sent);
    assert!(drain_now(&aws, &topology.dead_letter_queue).await.is_empty());

    let output = functions.output();
    assert!(!output.contains(TOKEN), "the token appeared in the functions' logs");
    let summaries = output
        .lines()
        .filter(|l| l.contains(r#""message":"request summary""#))
        .count();
    assert_eq!(summaries, COUNT, "one summary line per request");
}
