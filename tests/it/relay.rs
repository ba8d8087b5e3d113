//! The HTTP contract, row by row, through the real handler, the real AWS
//! SDK and a moto server: what RingCentral gets back, and what subscribers
//! and the dead-letter queue receive.

use crate::support::*;
use cc_number_relay::inventory::dynamodb::{DynamoInventory, RELAY_TIMEOUTS};
use lambda_http::{Body, Response};
use serde_json::{json, Value};

fn body_json(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("expected a JSON text body, got {other:?}"),
    }
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn setup(fifo: bool) -> (Aws, Topology, TestRelay) {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, fifo).await;
    let relay = topology.relay(&aws.sdk);
    (aws, topology, relay)
}

async fn assert_nothing_sent(aws: &Aws, topology: &Topology) {
    for queue in topology.subscribers.iter().chain([&topology.dead_letter_queue]) {
        assert!(drain(aws, queue, 0).await.is_empty(), "unexpected message on {queue}");
    }
}

fn expected_created() -> Value {
    json!({
        "schemaVersion": 1,
        "changeType": "Created",
        "notificationId": "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0",
        "occurredAt": "2013-06-14T12:00:00.000Z",
        "accountId": "37439510",
        "subscriptionId": "9d38419f-645f-4ee3-a053-8cf1368c21c4",
        "ownerId": "8475874957",
        "phoneNumber": {
            "id": "987654321", "e164": "+12024999741",
            "uri": "https://platform.ringcentral.com/restapi/v1.0/account/37439510/phone-number/987654321",
            "paymentType": "Local", "location": "Washington, DC", "type": "VoiceFax",
            "usageType": "ContactCenterNumber", "status": "Normal"
        },
        "contactCenterProvider": { "id": "12345", "name": "ProviderName" }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn handshake_echoes_the_token_in_a_tiny_answer() {
    let (aws, topology, relay) = setup(false).await;
    let response = handle(&relay, request(&event_file("handshake"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "validation-token"), Some("a1b2c3d4-handshake-token"));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert!(matches!(response.body(), Body::Empty));
    let wire_size: usize = "HTTP/1.1 200 OK\r\n".len()
        + response
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + 2 + v.len() + 2)
            .sum::<usize>()
        + 2;
    assert!(wire_size < 200, "handshake answer is {wire_size} bytes");
    assert_nothing_sent(&aws, &topology).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn handshake_header_is_found_in_any_case_and_any_event_kind() {
    let (_aws, _topology, relay) = setup(false).await;
    for name in [
        "Validation-Token",
        "validation-token",
        "VALIDATION-TOKEN",
        "vAlIdAtIoN-tOkEn",
    ] {
        for event in [
            rest_api("POST", &[(name, "tok-1")], None),
            http_api("POST", &[(name, "tok-1")], None),
            function_url("POST", &[(name, "tok-1")], None),
        ] {
            let response = handle(&relay, request(&event)).await;
            assert_eq!(response.status(), 200, "{name}");
            assert_eq!(header(&response, "Validation-Token"), Some("tok-1"), "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_handshake_tokens_get_400() {
    let (aws, topology, relay) = setup(false).await;
    let long = "x".repeat(257);
    for token in ["", long.as_str(), "has space", "tab\there", "caf\u{e9}"] {
        let mut event = http_api("POST", &[], None);
        event["headers"]["validation-token"] = json!(token);
        let response = handle(&relay, request(&event)).await;
        assert_eq!(response.status(), 400, "{token:?}");
        assert_eq!(
            body_json(&response),
            json!({"error": "Validation-Token must be 1 to 256 visible ASCII characters"})
        );
        assert_eq!(header(&response, "validation-token"), None);
    }
    let at_limit = "y".repeat(256);
    let response = handle(
        &relay,
        request(&http_api("POST", &[("validation-token", &at_limit)], None)),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = handle(&relay, request(&http_api("POST", &[], None))).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        body_json(&response),
        json!({"error": "empty body and no Validation-Token header"})
    );
    assert_nothing_sent(&aws, &topology).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthenticated_bodies_get_401_and_leave_no_trace() {
    let (aws, topology, relay) = setup(false).await;
    let body = body_file("created").to_string();
    let almost = format!("{}y", &TOKEN[..TOKEN.len() - 1]);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("verification-token", "wrong")],
        vec![("verification-token", &almost)],
        vec![("verification-token", "")],
        vec![("authorization", TOKEN)],
    ];
    for headers in cases {
        let response = handle(&relay, request(&http_api("POST", &headers, Some(&body)))).await;
        assert_eq!(response.status(), 401, "{headers:?}");
        assert_eq!(
            body_json(&response),
            json!({"error": "missing or wrong Verification-Token"})
        );
    }
    let response = handle(&relay, request(&event_file("wrong-token"))).await;
    assert_eq!(response.status(), 401);
    assert_nothing_sent(&aws, &topology).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn created_is_published_to_its_topic_exactly_as_documented() {
    let (aws, topology, relay) = setup(false).await;
    let response = handle(&relay, request(&event_file("created"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({"status": "published"}));
    let received = drain(&aws, topology.subscriber_of("Created"), 1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json(), expected_created());
    assert_matches_schema(&received[0].json());
    let attributes: Vec<(&str, &str)> = received[0]
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attributes,
        vec![
            ("accountId", "37439510"),
            ("contactCenterProviderId", "12345"),
            ("eventType", "Created"),
            ("origin", "webhook"),
            ("phoneNumberId", "987654321"),
            ("stale", "false"),
            ("usageType", "ContactCenterNumber"),
        ]
    );
    assert_eq!(received[0].group_id, None);
    for other in ["Updated", "Deleted"] {
        assert!(drain(&aws, topology.subscriber_of(other), 0).await.is_empty());
    }
    assert!(drain(&aws, &topology.dead_letter_queue, 0).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn updated_and_deleted_go_to_their_own_topics() {
    let (aws, topology, relay) = setup(false).await;
    for name in ["updated-reassigned-away", "deleted"] {
        let response = handle(&relay, request(&event_file(name))).await;
        assert_eq!(response.status(), 200, "{name}");
    }
    let updated = drain(&aws, topology.subscriber_of("Updated"), 1).await;
    assert_eq!(updated.len(), 1);
    let body = updated[0].json();
    assert_matches_schema(&body);
    assert_eq!(body["changeType"], "Updated");
    assert_eq!(body["phoneNumber"]["usageType"], "DirectNumber");
    assert_eq!(body["phoneNumber"]["type"], "VoiceOnly");
    assert_eq!(body["contactCenterProvider"], Value::Null);
    assert_eq!(updated[0].attributes.get("contactCenterProviderId"), None);
    assert_eq!(updated[0].attributes["usageType"], "DirectNumber");
    let deleted = drain(&aws, topology.subscriber_of("Deleted"), 1).await;
    assert_eq!(deleted.len(), 1);
    let body = deleted[0].json();
    assert_matches_schema(&body);
    assert_eq!(body["changeType"], "Deleted");
    assert_eq!(
        body["phoneNumber"]["id"], "987654321",
        "numeric id is normalized to a string"
    );
    assert_eq!(
        body["accountId"], "37439510",
        "taken from the uri when the event path has ~"
    );
    assert!(drain(&aws, topology.subscriber_of("Created"), 0).await.is_empty());
}

/// The sample event `name` with its body's `uuid` (and, if given, the
/// number's location) replaced: another delivery of the same change.
fn redelivered_as(name: &str, uuid: &str, location: Option<&str>) -> Value {
    let mut event = event_file(name);
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["uuid"] = uuid.into();
    if let Some(location) = location {
        body["body"]["phoneNumberInfo"]["location"] = location.into();
    }
    event["body"] = body.to_string().into();
    event
}

async fn status(relay: &TestRelay, event: &Value) -> String {
    let response = handle(relay, request(event)).await;
    assert_eq!(response.status(), 200);
    body_json(&response)["status"].as_str().unwrap().to_owned()
}

/// The README's promise ("the same body sent twice is answered duplicate")
/// and the rule behind it (docs/contract.md, "Which redeliveries are
/// answered duplicate"), through the relay with the DynamoDB inventory as
/// `make run` has it: the inventory keeps one record per number, so a
/// redelivery is a duplicate while it is the last change told about its
/// number, and is published again, flagged stale, once a newer one was told.
#[tokio::test(flavor = "multi_thread")]
async fn a_redelivery_is_a_duplicate_until_a_newer_change_is_told() {
    let (aws, topology, mut relay) = setup(false).await;
    relay.inventory = Some(DynamoInventory::new(
        &aws.sdk,
        crate::inventory::inventory_table(&aws).await,
        RELAY_TIMEOUTS,
    ));
    let mut answers: Vec<String> = Vec::new();
    // The same body twice: published, then duplicate.
    answers.push(status(&relay, &event_file("created")).await);
    answers.push(status(&relay, &event_file("created")).await);
    // The demo's sequence: the location and provider change, then the number
    // is reassigned away, then deleted.
    for name in ["updated-location", "updated-reassigned-away", "deleted"] {
        answers.push(status(&relay, &event_file(name)).await);
    }
    // The last change told, again: duplicate; and a second subscription's
    // delivery of it (another uuid, the same state at the same instant) too.
    answers.push(status(&relay, &event_file("deleted")).await);
    answers.push(
        status(
            &relay,
            &redelivered_as("deleted", "2d0b5a1e-0000-4000-8000-000000000001", None),
        )
        .await,
    );
    // Another state at the same instant: published, not stale, the record kept.
    let other = redelivered_as("deleted", "2d0b5a1e-0000-4000-8000-000000000002", Some("Elsewhere"));
    answers.push(status(&relay, &other).await);
    answers.push(status(&relay, &event_file("deleted")).await);
    // Redeliveries of changes older than the last one told: published again, stale.
    answers.push(status(&relay, &event_file("created")).await);
    answers.push(status(&relay, &event_file("updated-location")).await);
    assert_eq!(
        answers,
        [
            "published",
            "duplicate",
            "published",
            "published",
            "published",
            "duplicate",
            "duplicate",
            "published",
            "duplicate",
            "published",
            "published",
        ]
    );

    let told = |messages: Vec<Received>| -> Vec<(String, String, String)> {
        let mut told: Vec<_> = messages
            .iter()
            .map(|m| {
                let body = m.json();
                assert_matches_schema(&body);
                (
                    body["notificationId"].as_str().unwrap().to_owned(),
                    m.attributes["stale"].clone(),
                    body["phoneNumber"]["location"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        told.sort();
        told
    };
    let created = told(drain(&aws, topology.subscriber_of("Created"), 2).await);
    let created_id = expected_created()["notificationId"].as_str().unwrap().to_owned();
    let dc = || "Washington, DC".to_owned();
    assert_eq!(
        created,
        [
            (created_id.clone(), "false".into(), dc()),
            (created_id, "true".into(), dc())
        ],
        "the Created redelivered after newer changes reached subscribers again, stale, with its notificationId"
    );
    let updated = drain(&aws, topology.subscriber_of("Updated"), 3).await;
    let location = updated
        .iter()
        .find(|m| m.json()["phoneNumber"]["location"] == "Arlington, VA" && m.attributes["stale"] == "false")
        .expect("updated-location published, not stale");
    assert_eq!(location.json()["phoneNumber"]["usageType"], "ContactCenterNumber");
    assert_eq!(location.json()["contactCenterProvider"]["id"], "67890");
    assert_eq!(
        told(updated)
            .iter()
            .map(|(_, stale, place)| (stale.as_str(), place.as_str()))
            .collect::<Vec<_>>(),
        [
            ("false", "Washington, DC"),
            ("false", "Arlington, VA"),
            ("true", "Arlington, VA")
        ],
        "the Updated redelivered after newer changes reached subscribers again, stale"
    );
    let deleted = told(drain(&aws, topology.subscriber_of("Deleted"), 2).await);
    assert_eq!(
        deleted
            .iter()
            .map(|(_, stale, place)| (stale.as_str(), place.as_str()))
            .collect::<Vec<_>>(),
        [("false", "Elsewhere"), ("false", "Washington, DC")],
        "each Deleted once: the redelivery and the second subscription's were duplicates"
    );
    assert!(drain(&aws, &topology.dead_letter_queue, 0).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_topics_get_group_and_deduplication_ids() {
    let (aws, topology, relay) = setup(true).await;
    let response = handle(&relay, request(&event_file("created"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({"status": "published"}));
    let received = drain(&aws, topology.subscriber_of("Created"), 1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json(), expected_created());
    assert_eq!(received[0].group_id.as_deref(), Some("987654321"));
    assert_eq!(received[0].attributes["eventType"], "Created");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_notification_is_parked_with_path_and_answered_200() {
    let (aws, topology, relay) = setup(false).await;
    let event = event_file("parked");
    let raw = event["body"].as_str().unwrap().to_owned();
    let response = handle(&relay, request(&event)).await;
    assert_eq!(response.status(), 200);
    let detail = "$.body.phoneNumberInfo.phoneNumber: must be E.164: '+' then 1 to 15 digits, the first not 0";
    assert_eq!(
        body_json(&response),
        json!({"status": "parked", "reason": "invalid_e164", "detail": detail})
    );
    let parked = drain(&aws, &topology.dead_letter_queue, 1).await;
    assert_eq!(parked.len(), 1);
    let item = parked[0].json();
    assert_eq!(item["reason"], "invalid_e164");
    assert_eq!(item["detail"], detail);
    assert_eq!(item["rawBody"], raw, "the exact text received");
    assert_eq!(item["rawBodyEncoding"], "text");
    assert_eq!(item["normalized"], Value::Null);
    assert!(time::OffsetDateTime::parse(
        item["receivedAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    assert_eq!(parked[0].attributes["reason"], "invalid_e164");
    for queue in &topology.subscribers {
        assert!(drain(&aws, queue, 0).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_of_invalid_notification_is_parked_with_its_reason() {
    let (aws, topology, relay) = setup(false).await;
    let base = body_file("created");
    let mut cases: Vec<(String, &str, &str)> = Vec::new();
    let mut with = |edit: &dyn Fn(&mut Value), reason: &'static str, detail: &'static str| {
        let mut b = base.clone();
        edit(&mut b);
        cases.push((b.to_string(), reason, detail));
    };
    with(
        &|b| b["body"]["eventType"] = json!("Moved"),
        "unknown_event_type",
        "$.body.eventType: must be one of Created, Updated, Deleted",
    );
    with(
        &|b| b["event"] = json!("/restapi/v1.0/account/~/extension/~/message-store"),
        "unexpected_event_filter",
        "$.event: not the Contact Center phone-number event filter",
    );
    with(
        &|b| b["event"] = json!("/restapi/v1.0/account/1234/phone-number?usageType=ContactCenterNumber"),
        "account_mismatch",
        "$.event and $.body.phoneNumberInfo.uri name different accounts",
    );
    with(
        &|b| b["timestamp"] = json!("14/06/2013 12:00"),
        "invalid_timestamp",
        "$.timestamp: must be an RFC 3339 timestamp",
    );
    with(
        &|b| {
            b.as_object_mut().unwrap().remove("uuid");
        },
        "invalid_field",
        "$.uuid: is required",
    );
    with(
        &|b| b["body"]["phoneNumberInfo"]["id"] = json!(null),
        "invalid_field",
        "$.body.phoneNumberInfo.id: invalid type: null, expected a string or an integer",
    );
    with(
        &|b| b["body"]["phoneNumberInfo"] = json!("s3cret"),
        "invalid_field",
        "$.body.phoneNumberInfo: invalid type: string, expected an object",
    );
    cases.push((
        "{\"uuid\": ".to_owned(),
        "invalid_json",
        "not valid JSON: EOF while parsing a value at line 1 column 9",
    ));
    for (body, reason, detail) in &cases {
        let response = handle(&relay, request(&http_api("POST", &notification_headers(), Some(body)))).await;
        assert_eq!(response.status(), 200, "{reason}");
        assert_eq!(
            body_json(&response),
            json!({"status": "parked", "reason": reason, "detail": detail})
        );
    }
    let parked = drain(&aws, &topology.dead_letter_queue, cases.len()).await;
    assert_eq!(parked.len(), cases.len());
    for (body, reason, detail) in &cases {
        let item = parked
            .iter()
            .map(Received::json)
            .find(|i| i["rawBody"] == json!(body))
            .expect("parked item for case");
        assert_eq!(
            (item["reason"].as_str().unwrap(), item["detail"].as_str().unwrap()),
            (*reason, *detail)
        );
    }
    for queue in &topology.subscribers {
        assert!(drain(&aws, queue, 0).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn renewal_reminder_is_acknowledged_and_neither_published_nor_parked() {
    let (aws, topology, relay) = setup(false).await;
    let response = handle(&relay, request(&event_file("renewal-reminder"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({"status": "renewal_reminder_received"}));
    assert_nothing_sent(&aws, &topology).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_publish_parks_the_normalized_change() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let relay = Relay {
        verifier: crate::support::verifier(),
        sink: missing_sinks(&aws.sdk, Some(&topology.dead_letter_queue)),
        inventory: None,
        xray: Default::default(),
    };
    let event = event_file("created");
    let response = handle(&relay, request(&event)).await;
    assert_eq!(response.status(), 200);
    let answer = body_json(&response);
    assert_eq!(answer["status"], "parked");
    assert_eq!(answer["reason"], "publish_failed");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .starts_with("publish to absent-c failed"),
        "{answer}"
    );
    let parked = drain(&aws, &topology.dead_letter_queue, 1).await;
    assert_eq!(parked.len(), 1);
    let item = parked[0].json();
    assert_eq!(item["reason"], "publish_failed");
    assert_eq!(item["normalized"], expected_created());
    assert_eq!(item["rawBody"], event["body"]);
    assert_eq!(parked[0].attributes["reason"], "publish_failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_publish_and_parking_both_fail_the_answer_is_503() {
    let aws = Aws::moto().await;
    let relay = Relay {
        verifier: crate::support::verifier(),
        sink: missing_sinks(&aws.sdk, None),
        inventory: None,
        xray: Default::default(),
    };
    let response = handle(&relay, request(&event_file("created"))).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        body_json(&response),
        json!({"error": "temporarily unable to accept notifications"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn other_methods_get_405() {
    let (aws, topology, relay) = setup(false).await;
    let body = body_file("created").to_string();
    for method in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
        let response = handle(&relay, request(&http_api(method, &notification_headers(), Some(&body)))).await;
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(header(&response, "allow"), Some("POST"));
    }
    assert_nothing_sent(&aws, &topology).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_64_kib_get_413_even_when_authenticated() {
    let (aws, topology, relay) = setup(false).await;
    let mut body = body_file("created");
    body["padding"] = json!("x".repeat(64 * 1024));
    let response = handle(
        &relay,
        request(&http_api("POST", &notification_headers(), Some(&body.to_string()))),
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        body_json(&response),
        json!({"error": "body is larger than 65536 bytes"})
    );
    let mut exactly = body_file("created").to_string();
    exactly.push_str(&" ".repeat(64 * 1024 - exactly.len()));
    let response = handle(
        &relay,
        request(&http_api("POST", &notification_headers(), Some(&exactly))),
    )
    .await;
    assert_eq!(response.status(), 200, "64 KiB exactly is accepted");
    assert_eq!(drain(&aws, topology.subscriber_of("Created"), 1).await.len(), 1);
    assert_nothing_sent(&aws, &topology).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn base64_bodies_with_or_without_content_type_are_published() {
    let (aws, topology, relay) = setup(false).await;
    let body = body_file("created").to_string();
    let plain = vec![("verification-token", TOKEN)];
    for headers in [plain, notification_headers()] {
        let event = with_base64_body(http_api("POST", &headers, None), body.as_bytes());
        let response = handle(&relay, guarded_request(&event)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(body_json(&response), json!({"status": "published"}));
    }
    assert_eq!(drain(&aws, topology.subscriber_of("Created"), 2).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_base64_is_parked_not_a_crash() {
    let (aws, topology, relay) = setup(false).await;
    let mut event = http_api("POST", &notification_headers(), Some("%%% not base64 %%%"));
    event["isBase64Encoded"] = json!(true);
    let response = handle(&relay, guarded_request(&event)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["reason"], "invalid_base64");
    let parked = drain(&aws, &topology.dead_letter_queue, 1).await;
    assert_eq!(parked[0].json()["rawBody"], "%%% not base64 %%%");
    // A client cannot force parking by sending the internal marker itself.
    let headers = [
        notification_headers(),
        vec![(cc_number_relay::http::INVALID_BASE64_MARKER, "1")],
    ]
    .concat();
    let response = handle(
        &relay,
        guarded_request(&http_api("POST", &headers, Some(&body_file("created").to_string()))),
    )
    .await;
    assert_eq!(body_json(&response), json!({"status": "published"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_api_and_function_url_events_behave_like_http_api_events() {
    let (aws, topology, relay) = setup(false).await;
    let body = body_file("created").to_string();
    let headers = [("Content-Type", "application/json"), ("Verification-Token", TOKEN)];
    for event in [
        rest_api("POST", &headers, Some(&body)),
        function_url("POST", &headers, Some(&body)),
    ] {
        let response = handle(&relay, request(&event)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(body_json(&response), json!({"status": "published"}));
    }
    let wrong = [("Verification-Token", "nope")];
    for event in [
        rest_api("POST", &wrong, Some(&body)),
        function_url("POST", &wrong, Some(&body)),
    ] {
        assert_eq!(handle(&relay, request(&event)).await.status(), 401);
    }
    assert_eq!(drain(&aws, topology.subscriber_of("Created"), 2).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_in_validation_token_header_authenticates_a_body() {
    let (aws, topology, relay) = setup(false).await;
    let body = body_file("created").to_string();
    let response = handle(
        &relay,
        request(&http_api("POST", &[("validation-token", TOKEN)], Some(&body))),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("validation-token").is_none(),
        "a notification answer never echoes the token"
    );
    assert_eq!(drain(&aws, topology.subscriber_of("Created"), 1).await.len(), 1);
}
