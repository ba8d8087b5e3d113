//! The real Lambda runtime path: the compiled binary under `cargo lambda
//! watch`, invoked with the `events/` files by `cargo lambda invoke`, and
//! under volume through the function-URL emulation.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

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

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_mixed_notifications_arrive_once_each_on_the_right_topic() {
    const COUNT: usize = 1000;
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let watch = watch_on_moto(&topology);
    let template = body_file("created");
    let bodies: Vec<(String, &str, String)> = (0..COUNT)
        .map(|i| {
            let kind = EVENT_TYPES[i % 3];
            let mut body = template.clone();
            let uuid = format!("vol-{i:05}-{}", std::process::id());
            body["uuid"] = uuid.clone().into();
            body["body"]["eventType"] = kind.into();
            body["body"]["phoneNumberInfo"]["id"] = format!("{}", 100_000 + i).into();
            (uuid, kind, body.to_string())
        })
        .collect();
    // One sender: the emulator runs one function instance, as Lambda would per
    // concurrent request, and it stalled under parallel posts here.
    let url_watch = std::sync::Arc::new(watch);
    let chunks: Vec<Vec<(String, &'static str, String)>> = bodies.chunks(COUNT).map(|c| c.to_vec()).collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let w = url_watch.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let headers = [("content-type", "application/json"), ("verification-token", TOKEN)];
            for (uuid, _, body) in &chunk {
                let (status, answer, _) = w.post(&headers, body);
                assert_eq!((status, answer.as_str()), (200, r#"{"status":"published"}"#), "{uuid}");
            }
            started.elapsed()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut seen = BTreeSet::new();
    for kind in EVENT_TYPES {
        let expected = bodies.iter().filter(|(_, k, _)| *k == kind).count();
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
    let sent: BTreeSet<String> = bodies.iter().map(|(u, _, _)| u.clone()).collect();
    assert_eq!(seen, sent);
    assert!(drain_now(&aws, &topology.dead_letter_queue).await.is_empty());
}
