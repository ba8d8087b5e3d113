//! Decoding and classifying one message (envelope → change → attributes)
//! against the `serde_json::Value` floor on the same bytes, measured
//! interleaved in one run (this machine's speed drifts between hours, so
//! only the ratio is a budget). `cargo bench -p cc-number-change` prints
//! the figures; under `cargo test --all-targets` it only checks that both
//! sides decode the samples (a debug build: no figures).

use cc_number_change::aws_lambda_events::sqs::SqsMessage;
use cc_number_change::receive::from_sqs;
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Instant;

const BUDGET: f64 = 2.0;

fn change() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/change.json");
    serde_json::from_slice(&std::fs::read(path).expect("benches/change.json")).expect("a JSON change")
}

fn raw(body: &str) -> SqsMessage {
    serde_json::from_value(json!({
        "messageId": "m1", "body": body, "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:directory",
        "messageAttributes": {
            "eventType": {"stringValue": "Created", "dataType": "String"},
            "origin": {"stringValue": "webhook", "dataType": "String"},
            "stale": {"stringValue": "false", "dataType": "String"}
        }
    }))
    .expect("an SQS message")
}

fn enveloped(body: &str) -> SqsMessage {
    let envelope = json!({
        "Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:relay-created", "Message": body,
        "Timestamp": "2026-11-30T10:00:01.000Z", "SignatureVersion": "1", "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        "MessageAttributes": {"origin": {"Type": "String", "Value": "webhook"}, "stale": {"Type": "String", "Value": "false"}}
    });
    serde_json::from_value(json!({"messageId": "m2", "body": envelope.to_string()})).expect("an SQS message")
}

/// The floor: the body as a `Value`, and for an envelope its message too.
fn floor(message: &SqsMessage) -> usize {
    let body: Value = serde_json::from_str(message.body.as_deref().unwrap_or_default()).unwrap_or_default();
    match body.get("Message").and_then(Value::as_str) {
        Some(inner) => serde_json::from_str::<Value>(inner).map_or(0, |v| v.as_object().map_or(0, |o| o.len())),
        None => body.as_object().map_or(0, |o| o.len()),
    }
}

fn kit(message: &SqsMessage) -> usize {
    from_sqs(message).map_or(0, |m| {
        m.change.phone_number.id.as_str().len() + usize::from(m.received.stale)
    })
}

/// Nanoseconds per call of `f`, over `n` calls.
fn time(n: u32, message: &SqsMessage, f: fn(&SqsMessage) -> usize) -> f64 {
    let started = Instant::now();
    let mut sink = 0;
    for _ in 0..n {
        sink += f(black_box(message));
    }
    black_box(sink);
    started.elapsed().as_nanos() as f64 / f64::from(n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let body = change().to_string();
    if !std::env::args().any(|a| a == "--bench") {
        // Under `cargo test`: a debug build, so no figures and no verdict, only the work checked.
        for message in [raw(&body), enveloped(&body)] {
            assert!(floor(&message) > 0 && kit(&message) > 0, "the sample did not decode");
        }
        println!("decode: smoke test only (both deliveries decode); figures: cargo bench -p cc-number-change --features lambda --bench decode");
        return;
    }
    let (rounds, n) = (31, 20_000);
    println!("decode and classify one message: medians of {rounds} interleaved rounds of {n} calls; budget <= {BUDGET}x the Value floor");
    println!(
        "{:<10} {:>6} {:>12} {:>10} {:>8}  verdict",
        "delivery", "bytes", "Value floor", "kit", "x floor"
    );
    for (name, message) in [("raw", raw(&body)), ("enveloped", enveloped(&body))] {
        assert!(
            floor(&message) > 0 && kit(&message) > 0,
            "{name}: the sample did not decode"
        );
        let (mut floors, mut kits, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let f = time(n, &message, floor);
            let k = time(n, &message, kit);
            floors.push(f);
            kits.push(k);
            ratios.push(k / f);
        }
        let bytes = message.body.as_deref().map_or(0, str::len);
        let (lo, hi) = (
            ratios.iter().copied().fold(f64::MAX, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        );
        let ratio = median(ratios);
        let verdict = if ratio <= BUDGET { "within" } else { "OVER BUDGET" };
        println!(
            "{name:<10} {bytes:>6} {:>9.0} ns {:>7.0} ns {ratio:>7.2}x  {verdict} (rounds {lo:.2}-{hi:.2})",
            median(floors),
            median(kits)
        );
    }
}
