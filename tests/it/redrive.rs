//! The redrive command against moto: the real CLI binary empties the
//! dead-letter queue once the cause is fixed, and is safe to rerun.

use crate::support::*;
use serde_json::{json, Value};

async fn queue_depth(aws: &Aws, queue: &str) -> usize {
    let attributes = aws
        .sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    use aws_sdk_sqs::types::QueueAttributeName as A;
    [A::ApproximateNumberOfMessages, A::ApproximateNumberOfMessagesNotVisible]
        .iter()
        .map(|k| attributes.get(k).map_or(0, |v| v.parse::<usize>().unwrap()))
        .sum()
}

/// The relay with this environment (a topic that does not exist yet, say).
fn relay_with(aws: &Aws, env: &[(&str, String)]) -> TestRelay {
    let config =
        cc_number_relay::config::Config::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Relay {
        verifier: crate::support::verifier(),
        sink: AwsSink::new(&aws.sdk, config.topics, config.dead_letter_queue_url),
        inventory: None,
        xray: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redrive_publishes_what_now_passes_and_keeps_what_still_fails() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let late_topic = format!("arn:aws:sns:us-east-1:123456789012:late-created-{}", std::process::id());
    let mut env = topology.env();
    env[0].1 = late_topic.clone();
    let relay = relay_with(&aws, &env);

    // Parked because its topic does not exist yet, and parked as not E.164.
    let answer = handle(&relay, request(&event_file("created"))).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(handle(&relay, request(&event_file("parked"))).await.status(), 200);
    // Parked long ago under an older reason; today's decoder gives another one.
    let stale = json!({
        "reason": "invalid_field", "detail": "an older decoder's complaint", "receivedAt": "2026-01-01T00:00:00Z",
        "rawBody": "{\"uuid\":\"x\"}", "rawBodyEncoding": "text", "normalized": null
    });
    aws.sqs
        .send_message()
        .queue_url(&topology.dead_letter_queue)
        .message_body(stale.to_string())
        .send()
        .await
        .unwrap();
    aws.sqs
        .send_message()
        .queue_url(&topology.dead_letter_queue)
        .message_body("not a parked item")
        .send()
        .await
        .unwrap();
    assert_eq!(queue_depth(&aws, &topology.dead_letter_queue).await, 4);

    let dry = ctl(&env, &["redrive", "--dry-run"]);
    assert_eq!(dry.code, 3, "{}{}", dry.stdout, dry.stderr);
    assert_eq!(
        dry.stdout.trim(),
        // A dry run publishes into a recording sink, not SNS: the publish_failed item decodes now.
        "redrive summary (dry run): read 4, would publish 1, duplicates 0, still failing 2 (invalid_e164: 1, invalid_field: 1), would re-park with a new reason 1, renewal reminders 0, unreadable 1"
    );
    assert!(
        dry.stderr
            .contains("redrive: 4 read, 1 would be published, 2 still failing, 1 unreadable"),
        "{}",
        dry.stderr
    );
    assert_eq!(
        queue_depth(&aws, &topology.dead_letter_queue).await,
        4,
        "a dry run changes nothing"
    );

    // Fix the cause: the topic now exists, with a subscriber.
    let name = late_topic.rsplit(':').next().unwrap();
    let arn = aws.topic(name, false).await;
    assert_eq!(arn, late_topic);
    let subscriber = aws.subscriber(&arn, &format!("{name}-sub"), false).await;

    let dry = ctl(&env, &["redrive", "--dry-run"]);
    assert!(
        dry.stdout
            .contains("would publish 1, duplicates 0, still failing 2 (invalid_e164: 1, invalid_field: 1)"),
        "{}",
        dry.stdout
    );
    assert!(
        drain_now(&aws, &subscriber).await.is_empty(),
        "a dry run publishes nothing"
    );

    let run = ctl(&env, &["redrive"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout.trim(),
        "redrive summary: read 4, published 1, duplicates 0, still failing 2 (invalid_e164: 1, invalid_field: 1), re-parked with a new reason 1, renewal reminders 0, unreadable 1; left in the queue: 3 (2 still failing, 1 not parked items of this relay)"
    );
    let published = drain(&aws, &subscriber, 1).await;
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].json()["notificationId"],
        "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0"
    );
    assert_eq!(published[0].attributes["eventType"], "Created");
    assert_matches_schema(&published[0].json());

    let left = drain(&aws, &topology.dead_letter_queue, 3).await;
    let mut reasons: Vec<(String, String)> = left
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(&m.body).map_or(("-".into(), m.body.clone()), |v| {
                (
                    v["reason"].as_str().unwrap_or("-").to_owned(),
                    v["detail"].as_str().unwrap_or("").to_owned(),
                )
            })
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            ("-".to_owned(), "not a parked item".to_owned()),
            (
                "invalid_e164".to_owned(),
                "$.body.phoneNumberInfo.phoneNumber: must be E.164: '+' then 1 to 15 digits, the first not 0"
                    .to_owned()
            ),
            ("invalid_field".to_owned(), "$.event: is required".to_owned()),
        ]
    );
    let reparked = left
        .iter()
        .find(|m| m.body.contains("$.event: is required"))
        .unwrap()
        .json();
    assert_eq!(
        reparked["receivedAt"], "2026-01-01T00:00:00Z",
        "the original arrival time is kept"
    );
    assert_eq!(reparked["rawBody"], "{\"uuid\":\"x\"}");
    for m in &left {
        aws.sqs
            .send_message()
            .queue_url(&topology.dead_letter_queue)
            .message_body(&m.body)
            .send()
            .await
            .unwrap();
    }

    let again = ctl(&env, &["redrive"]);
    assert!(
        again.stdout.contains("published 0, duplicates 0, still failing 2"),
        "{}",
        again.stdout
    );
    assert!(
        drain_now(&aws, &subscriber).await.is_empty(),
        "a rerun publishes nothing twice"
    );
}

#[test]
fn redrive_names_a_missing_variable() {
    let run = ctl(&[], &["redrive"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        "cc-number-relay-ctl: environment variable CREATED_TOPIC_ARN is not set"
    );
}

/// Message ids in the queue, oldest first; receiving hides nothing for long.
async fn message_ids(aws: &Aws, queue: &str) -> Vec<String> {
    let received = aws
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = received
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.message_id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_that_still_fails_stays_put_with_its_message_id() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let mut env = topology.env();
    env[0].1 = format!("arn:aws:sns:us-east-1:123456789012:{}", unique("never-created"));
    let relay = relay_with(&aws, &env);
    assert_eq!(handle(&relay, request(&event_file("created"))).await.status(), 200);
    let before = message_ids(&aws, &topology.dead_letter_queue).await;
    assert_eq!(before.len(), 1);
    let item: Value = serde_json::from_str(&drain_peek(&aws, &topology.dead_letter_queue).await).unwrap();
    assert_eq!(item["reason"], "publish_failed");
    assert_eq!(item["errorCode"], "NotFound");
    let detail = item["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("publish to never-created-") && detail.contains(" failed: SNS Publish: NotFound"),
        "{detail}"
    );
    assert!(!detail.contains('\n') && detail.len() < 300, "one short line: {detail}");

    for _ in 0..2 {
        let run = ctl(&env, &["redrive"]);
        assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stdout
                .contains("still failing 1 (publish_failed: 1), re-parked with a new reason 0,"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.ends_with("left in the queue: 1 (1 still failing)\n"),
            "{}",
            run.stdout
        );
    }
    assert_eq!(
        message_ids(&aws, &topology.dead_letter_queue).await,
        before,
        "not re-sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_not_a_parked_item_keeps_the_exit_status_at_3() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    aws.sqs
        .send_message()
        .queue_url(&topology.dead_letter_queue)
        .message_body("a message someone else sent")
        .send()
        .await
        .unwrap();
    let run = ctl(&topology.env(), &["redrive"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .ends_with("unreadable 1; left in the queue: 1 (1 not parked items of this relay)\n"),
        "{}",
        run.stdout
    );
}

/// The body of the first message, left in the queue.
async fn drain_peek(aws: &Aws, queue: &str) -> String {
    let received = aws
        .sqs
        .receive_message()
        .queue_url(queue)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    received.messages.unwrap_or_default()[0].body.clone().unwrap()
}
