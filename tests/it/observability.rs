//! What an operator sees: one JSON summary line per request, EMF metrics,
//! and X-Ray subsegments, for every outcome; never the token.

use crate::support::*;
use cc_number_relay::xray::XRay;
use lambda_http::{Context, RequestExt};
use serde_json::{json, Value};
use std::net::UdpSocket;

const TRACE_ROOT: &str = "1-6b09bc82-ebe4053a43c200488bca663d";

fn with_context(event: &Value, request_id: &str) -> lambda_http::Request {
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    context.xray_trace_id = Some(format!("Root={TRACE_ROOT};Parent=7caf43a498c2460d;Sampled=1"));
    request(event).with_lambda_context(context)
}

/// A stand-in for the X-Ray daemon: a UDP socket that collects datagrams.
fn xray_daemon_stand_in() -> (UdpSocket, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let address = socket.local_addr().unwrap().to_string();
    (socket, address)
}

fn subsegments(daemon: &UdpSocket) -> Vec<Value> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = daemon.recv(&mut buf) {
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert_eq!(header, r#"{"format":"json","version":1}"#);
        out.push(serde_json::from_str(body).unwrap());
    }
    out
}

fn emf_documents(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The EMF documents carry exactly this metric, dimensions and value.
fn assert_metric(documents: &[Value], name: &str, dimensions: &[(&str, &str)], value: Value) {
    assert_eq!(documents.len(), 1, "one EMF document: {documents:?}");
    let doc = &documents[0];
    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "RelayTests");
    assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![name]);
    let keys: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    assert_eq!(directive["Dimensions"], json!([keys]));
    for (k, v) in dimensions {
        assert_eq!(doc[*k], *v);
    }
    assert_eq!(doc[name], value);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_outcome_logs_one_summary_line_emits_its_metric_and_never_the_token() {
    // The metrics recorder and the log capture are process-wide.
    if !alone("observability::every_outcome_logs_one_summary_line_emits_its_metric_and_never_the_token") {
        return;
    }
    let logs = CapturedLogs::install();
    let collector = cc_number_relay::observe::init("RelayTests").unwrap();
    let (daemon, daemon_address) = xray_daemon_stand_in();

    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let mut relay = topology.relay(&aws.sdk);
    relay.xray = XRay::to(&daemon_address);
    let broken = Relay {
        verifier: crate::support::verifier(),
        sink: missing_sinks(&aws.sdk, None),
        inventory: None,
        xray: XRay::default(),
    };

    let flush = || {
        let mut out = Vec::new();
        cc_number_relay::observe::flush(collector, false, &mut out);
        emf_documents(&out)
    };
    let summary = |request_id: &str| -> Value {
        let text = logs.text();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["fields"]["lambda_request_id"] == request_id)
            .collect();
        assert_eq!(lines.len(), 1, "exactly one summary line for {request_id}: {text}");
        assert_eq!(lines[0]["fields"]["message"], "request summary");
        assert_eq!(lines[0]["level"], "INFO");
        lines[0]["fields"].clone()
    };

    let response = handle(&relay, with_context(&event_file("handshake"), "req-handshake")).await;
    assert_eq!(response.status(), 200);
    let line = summary("req-handshake");
    assert_eq!(
        (line["outcome"].as_str(), line["api_request_id"].as_str()),
        (Some("handshake"), Some("hs-0001"))
    );
    assert_metric(&flush(), "Handshakes", &[], json!(1));

    handle(&relay, with_context(&event_file("wrong-token"), "req-unauth")).await;
    assert_eq!(summary("req-unauth")["outcome"], "rejected");
    assert_metric(&flush(), "Unauthenticated", &[], json!(1));

    subsegments(&daemon);
    let response = handle(&relay, with_context(&event_file("created"), "req-published")).await;
    assert_eq!(response.status(), 200);
    let line = summary("req-published");
    for (field, value) in [
        ("outcome", "published"),
        ("api_request_id", "created-0001"),
        ("notification_id", "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0"),
        ("event_type", "Created"),
        ("phone_number_id", "987654321"),
        ("account_id", "37439510"),
        ("topic", topology.topics[0].rsplit(':').next().unwrap()),
    ] {
        assert_eq!(line[field], value, "{field}");
    }
    assert!(line["duration_ms"].as_f64().unwrap() > 0.0);
    let documents = flush();
    assert_eq!(documents.len(), 2, "{documents:?}");
    let latency = documents.iter().find(|d| d.get("PublishLatency").is_some()).unwrap();
    assert_eq!(
        latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0],
        json!({"Name": "PublishLatency", "Unit": "Milliseconds"})
    );
    assert_eq!(latency["PublishLatency"].as_array().unwrap().len(), 1);
    let published: Vec<Value> = documents
        .into_iter()
        .filter(|d| d.get("NotificationsPublished").is_some())
        .collect();
    assert_metric(
        &published,
        "NotificationsPublished",
        &[("eventType", "Created")],
        json!(1),
    );
    let segments = subsegments(&daemon);
    let handler = segments
        .iter()
        .find(|s| s["name"] == "cc-number-relay handler")
        .expect("handler subsegment");
    let sns = segments.iter().find(|s| s["name"] == "SNS").expect("SNS subsegment");
    assert_eq!(
        (handler["trace_id"].as_str(), handler["parent_id"].as_str()),
        (Some(TRACE_ROOT), Some("7caf43a498c2460d"))
    );
    assert_eq!(sns["parent_id"], handler["id"]);
    assert_eq!(
        (
            sns["aws"]["operation"].as_str(),
            sns["namespace"].as_str(),
            sns["fault"].as_bool()
        ),
        (Some("Publish"), Some("aws"), Some(false))
    );
    let (start, end) = (sns["start_time"].as_f64().unwrap(), sns["end_time"].as_f64().unwrap());
    assert!(end >= start && start > 1.0e9, "{sns}");

    handle(&relay, with_context(&event_file("parked"), "req-parked")).await;
    let line = summary("req-parked");
    assert_eq!(
        (line["outcome"].as_str(), line["reason"].as_str()),
        (Some("parked"), Some("invalid_e164"))
    );
    // What the refused body still said names it in the line, for the operator who searches by uuid.
    assert_eq!(
        (
            line["notification_id"].as_str(),
            line["event_type"].as_str(),
            line["phone_number_id"].as_str()
        ),
        (
            Some("badbad00-0000-4000-8000-000000000001"),
            Some("Created"),
            Some("987654321")
        )
    );
    assert_metric(&flush(), "NotificationsParked", &[("reason", "invalid_e164")], json!(1));
    let segments = subsegments(&daemon);
    assert!(
        segments
            .iter()
            .any(|s| s["name"] == "SQS" && s["aws"]["operation"] == "SendMessage"),
        "{segments:?}"
    );

    handle(&relay, with_context(&event_file("renewal-reminder"), "req-reminder")).await;
    assert_eq!(summary("req-reminder")["outcome"], "renewal_reminder");
    assert_metric(&flush(), "RenewalReminders", &[], json!(1));

    let response = handle(&broken, with_context(&event_file("created"), "req-lost")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(summary("req-lost")["outcome"], "unrecoverable");
    let documents: Vec<Value> = flush()
        .into_iter()
        .filter(|d| d.get("PublishLatency").is_none())
        .collect();
    assert_metric(
        &documents,
        "NotificationsUnrecoverable",
        &[("reason", "publish_failed")],
        json!(1),
    );

    let mut cold = Vec::new();
    cc_number_relay::observe::flush(collector, true, &mut cold);
    assert_metric(&emf_documents(&cold), "ColdStart", &[], json!(1));

    let all_logs = logs.text();
    assert!(!all_logs.contains(TOKEN), "the token is in the logs");
}
