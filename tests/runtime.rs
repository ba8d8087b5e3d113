//! The real Lambda runtime path: the compiled binary under `cargo lambda
//! watch`, invoked with the `events/` files by `cargo lambda invoke`.

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use support::*;

struct Watch {
    port: u16,
    topology: Topology,
}

static WATCH: OnceLock<Watch> = OnceLock::new();

async fn watch() -> &'static Watch {
    if let Some(w) = WATCH.get() {
        return w;
    }
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let port = free_port();
    let mut command = Command::new(dev_tool("cargo-lambda"));
    command
        .args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", path_with_venv())
        .env("AWS_ENDPOINT_URL", &moto().endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in topology.env() {
        command.env(k, v);
    }
    spawn_tied(command);
    wait_for_port(port, "cargo lambda watch");
    let _ = WATCH.set(Watch { port, topology });
    WATCH.get().unwrap()
}

pub fn path_with_venv() -> String {
    let venv = format!("{}/.venv/bin", env!("CARGO_MANIFEST_DIR"));
    format!("{venv}:{}", std::env::var("PATH").unwrap_or_default())
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
    let watch = watch().await;
    let port = watch.port;
    let aws = Aws::moto().await;

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
    let received = drain(&aws, watch.topology.subscriber_of("Created"), 1).await;
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
    assert_eq!(drain(&aws, &watch.topology.dead_letter_queue, 1).await.len(), 1);

    let wrong = tokio::task::spawn_blocking(move || invoke(port, "wrong-token"))
        .await
        .unwrap();
    assert_eq!(wrong["statusCode"], 401);
}
