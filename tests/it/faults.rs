//! Real faults on loopback: SNS that hangs, AWS that is unreachable, moto
//! restarted mid-run, duplicate deliveries. Each bounded in time.

use crate::support::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// RingCentral's limit. The relay's own budget is ~2.3 s; the assertions
/// leave the rest for process and emulator overhead.
const RINGCENTRAL_LIMIT: Duration = Duration::from_millis(3000);

fn headers() -> [(&'static str, &'static str); 2] {
    [("content-type", "application/json"), ("verification-token", TOKEN)]
}

#[tokio::test(flavor = "multi_thread")]
async fn hanging_sns_is_cut_off_in_time_and_the_change_is_parked() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let mut env = topology.env();
    env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    env.push((
        "AWS_ENDPOINT_URL_SNS",
        format!("http://127.0.0.1:{}", hanging_listener()),
    ));
    let watch = Watch::start(&env);
    watch.warm_up();
    let body = body_file("created").to_string();
    let (status, answer, elapsed) = tokio::task::spawn_blocking(move || watch.post(&headers(), &body))
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert!(elapsed < RINGCENTRAL_LIMIT, "answered after {elapsed:?}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        (answer["status"].as_str(), answer["reason"].as_str()),
        (Some("parked"), Some("publish_failed"))
    );
    let parked = drain(&aws, &topology.dead_letter_queue, 1).await;
    assert_eq!(parked.len(), 1);
    assert_eq!(
        parked[0].json()["normalized"]["notificationId"],
        "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0"
    );
    println!("hanging SNS: answered 200 (parked) in {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_sns_and_sqs_unreachable_the_answer_is_503_and_the_raw_body_is_logged() {
    let closed = free_port();
    let env = vec![
        ("CREATED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:c".to_owned()),
        ("UPDATED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:u".to_owned()),
        ("DELETED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:d".to_owned()),
        (
            "DEAD_LETTER_QUEUE_URL",
            format!("http://127.0.0.1:{closed}/123456789012/dlq"),
        ),
        ("VERIFICATION_TOKEN", TOKEN.to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}")),
    ];
    let watch = Watch::start(&env);
    watch.warm_up();
    let watch = std::sync::Arc::new(watch);
    let mut body = body_file("created");
    body["body"]["phoneNumberInfo"]["location"] = json!("Washington, DC \"quoted\" \\ \u{e9}\u{1f4de}");
    let body = body.to_string();
    let (w, b) = (watch.clone(), body.clone());
    let (status, answer, elapsed) = tokio::task::spawn_blocking(move || w.post(&headers(), &b))
        .await
        .unwrap();
    assert_eq!(status, 503, "{answer}");
    assert!(elapsed < RINGCENTRAL_LIMIT, "answered after {elapsed:?}");
    let logged: Vec<Value> = watch
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["level"] == "ERROR" && l["fields"]["raw_body"].is_string())
        .collect();
    assert_eq!(logged.len(), 1, "one error line with the raw body:\n{}", watch.logs());
    assert_eq!(logged[0]["fields"]["raw_body"], body, "the raw body, exactly");
    println!("both sinks unreachable: answered 503 in {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_moto_restarts_the_first_notification_is_published() {
    let port = free_port();
    let pid = start_moto_on(port);
    let endpoint = format!("http://127.0.0.1:{port}");
    let sdk = sdk_config(&endpoint).await;
    let aws = Aws {
        sns: aws_sdk_sns::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        sdk,
    };
    let topology = Topology::create_named(&aws, false, "restart").await;
    let relay = topology.relay(&aws.sdk);
    let response = handle(&relay, request(&event_file("created"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(drain(&aws, topology.subscriber_of("Created"), 1).await.len(), 1);

    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "moto did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    start_moto_on(port);
    let again = Topology::create_named(&aws, false, "restart").await;
    assert_eq!(again.topics, topology.topics, "same names give the same ARNs");

    let response = handle(&relay, request(&event_file("updated-reassigned-away"))).await;
    assert_eq!(response.status(), 200);
    let answer: Value = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        _ => Value::Null,
    };
    assert_eq!(
        answer,
        json!({"status": "published"}),
        "no stale-connection failure after the restart"
    );
    assert_eq!(drain(&aws, again.subscriber_of("Updated"), 1).await.len(), 1);
    assert!(drain_now(&aws, &again.dead_letter_queue).await.is_empty());
}

fn with_uuid_and_type(uuid: &str, kind: &str) -> String {
    let mut body = body_file("created");
    body["uuid"] = json!(uuid);
    body["body"]["eventType"] = json!(kind);
    body.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_topics_drop_duplicates_and_keep_each_numbers_order() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, true).await;
    let relay = topology.relay(&aws.sdk);
    let send = |body: String| {
        let relay = &relay;
        async move {
            handle(relay, request(&http_api("POST", &notification_headers(), Some(&body))))
                .await
                .status()
        }
    };
    assert_eq!(send(with_uuid_and_type("dup-1", "Updated")).await, 200);
    assert_eq!(send(with_uuid_and_type("dup-1", "Updated")).await, 200);
    for i in 2..=5 {
        assert_eq!(send(with_uuid_and_type(&format!("ord-{i}"), "Updated")).await, 200);
    }
    for kind in ["Created", "Deleted"] {
        assert_eq!(send(with_uuid_and_type(&format!("cud-{kind}"), kind)).await, 200);
    }
    let updated = drain(&aws, topology.subscriber_of("Updated"), 5).await;
    let ids: Vec<String> = updated
        .iter()
        .map(|m| m.json()["notificationId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        ["dup-1", "ord-2", "ord-3", "ord-4", "ord-5"],
        "one copy of the duplicate, then group order"
    );
    assert!(updated.iter().all(|m| m.group_id.as_deref() == Some("987654321")));
    assert_eq!(updated[0].deduplication_id.as_deref(), Some("dup-1"));
    for kind in ["Created", "Deleted"] {
        let got = drain(&aws, topology.subscriber_of(kind), 1).await;
        assert_eq!(got.len(), 1, "{kind}");
        assert_eq!(got[0].group_id.as_deref(), Some("987654321"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn standard_topics_deliver_both_copies_with_the_same_notification_id() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let relay = topology.relay(&aws.sdk);
    for _ in 0..2 {
        let event = http_api(
            "POST",
            &notification_headers(),
            Some(&with_uuid_and_type("dup-std", "Created")),
        );
        assert_eq!(handle(&relay, request(&event)).await.status(), 200);
    }
    let got = drain(&aws, topology.subscriber_of("Created"), 2).await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m.json()["notificationId"] == "dup-std"));
}
