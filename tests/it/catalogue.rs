//! The bad-input catalogue: every class of malformed or hostile request
//! tried, with its expected answer and what it may leave behind. Each row is
//! one class; README's "Bad-input catalogue" lists the same names (a test
//! below keeps the two in step). Runs through the real handler and moto,
//! with every log line captured and searched for the token.

use crate::support::*;
use cc_number_relay::http::INVALID_BASE64_MARKER;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Published to this eventType's topic.
    Published(&'static str),
    /// Parked with this reason and exact detail.
    Parked(&'static str, &'static str),
    /// Neither published nor parked.
    Nothing,
}
use Expect::*;

struct Case {
    name: String,
    event: Value,
    status: u16,
    expect: Expect,
}

fn notification(body: &str) -> Value {
    http_api("POST", &notification_headers(), Some(body))
}

fn edited(edit: impl Fn(&mut Value)) -> String {
    let mut body = body_file("created");
    edit(&mut body);
    body.to_string()
}

fn at<'a>(body: &'a mut Value, path: &str) -> &'a mut Value {
    path.split('.').fold(body, |v, key| &mut v[key])
}

fn remove(body: &mut Value, path: &str) {
    let (parent, key) = path.rsplit_once('.').map_or(("", path), |(p, k)| (p, k));
    let parent = if parent.is_empty() { body } else { at(body, parent) };
    parent.as_object_mut().unwrap().remove(key);
}

const E164_RULE: &str = "must be E.164: '+' then 1 to 15 digits, the first not 0";

/// (field path in the notification, JSON path, wrong-typed value, its type error)
const REQUIRED: [(&str, &str, &str, &str); 8] = [
    ("uuid", "$.uuid", "5", "invalid type: integer, expected a string"),
    ("event", "$.event", "[]", "invalid type: sequence, expected a string"),
    (
        "timestamp",
        "$.timestamp",
        "1371211200",
        "invalid type: integer, expected a string",
    ),
    (
        "body",
        "$.body",
        "\"Created\"",
        "invalid type: string, expected an object",
    ),
    (
        "body.eventType",
        "$.body.eventType",
        "1",
        "invalid type: integer, expected a string",
    ),
    (
        "body.phoneNumberInfo",
        "$.body.phoneNumberInfo",
        "[]",
        "invalid type: sequence, expected an object",
    ),
    (
        "body.phoneNumberInfo.id",
        "$.body.phoneNumberInfo.id",
        "true",
        "invalid type: boolean, expected a string or an integer",
    ),
    (
        "body.phoneNumberInfo.phoneNumber",
        "$.body.phoneNumberInfo.phoneNumber",
        "12024999741",
        "invalid type: integer, expected a string",
    ),
];

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn catalogue() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: &str, event: Value, status: u16, expect: Expect| {
        cases.push(Case {
            name: name.to_owned(),
            event,
            status,
            expect,
        });
    };
    let created = body_file("created").to_string();

    // Not JSON, or not an object.
    add(
        "truncated JSON",
        notification(&created[..created.len() / 2]),
        200,
        Parked(
            "invalid_json",
            "not valid JSON: EOF while parsing a string at line 1 column 312",
        ),
    );
    let mut bytes = created.clone().into_bytes();
    let at_l = created.find("Local").unwrap();
    bytes[at_l] = 0xC3;
    add(
        "invalid UTF-8",
        with_base64_body(http_api("POST", &notification_headers(), None), &bytes),
        200,
        Parked(
            "invalid_json",
            "not valid JSON: invalid unicode code point at line 1 column 172",
        ),
    );
    add(
        "JSON array instead of an object",
        notification("[1,2,3]"),
        200,
        Parked("invalid_field", "$: invalid type: sequence, expected an object"),
    );
    add(
        "JSON string instead of an object",
        notification("\"Created\""),
        200,
        Parked("invalid_field", "$: invalid type: string, expected an object"),
    );
    add(
        "JSON number instead of an object",
        notification("42"),
        200,
        Parked("invalid_field", "$: invalid type: integer, expected an object"),
    );
    add(
        "JSON null",
        notification("null"),
        200,
        Parked("invalid_field", "$: invalid type: null, expected an object"),
    );
    add(
        "empty object",
        notification("{}"),
        200,
        Parked("invalid_field", "$.uuid: is required"),
    );
    add(
        "trailing garbage after the object",
        notification(&format!("{created}}}")),
        200,
        Parked(
            "invalid_json",
            "not valid JSON: trailing characters at line 1 column 625",
        ),
    );
    add(
        "whitespace-only body",
        notification("   \n"),
        200,
        Parked(
            "invalid_json",
            "not valid JSON: EOF while parsing a value at line 2 column 0",
        ),
    );

    // Each required field missing, null, of the wrong type, empty, huge.
    for (field, path, wrong, type_error) in REQUIRED {
        add(
            &format!("{field} missing"),
            notification(&edited(|b| remove(b, field))),
            200,
            Parked("invalid_field", leak(format!("{path}: is required"))),
        );
        let null_error = if matches!(field, "body" | "body.phoneNumberInfo") {
            "invalid type: null, expected an object"
        } else if field.ends_with(".id") {
            "invalid type: null, expected a string or an integer"
        } else {
            "invalid type: null, expected a string"
        };
        add(
            &format!("{field} null"),
            notification(&edited(|b| *at(b, field) = Value::Null)),
            200,
            Parked("invalid_field", leak(format!("{path}: {null_error}"))),
        );
        let wrong_value: Value = serde_json::from_str(wrong).unwrap();
        add(
            &format!("{field} of the wrong type"),
            notification(&edited(|b| *at(b, field) = wrong_value.clone())),
            200,
            Parked("invalid_field", leak(format!("{path}: {type_error}"))),
        );
    }
    let empty_and_huge: [(&str, Expect, Expect); 6] = [
        (
            "uuid",
            Parked("invalid_field", "$.uuid: must be 1 to 128 visible ASCII characters"),
            Parked("invalid_field", "$.uuid: must be 1 to 128 visible ASCII characters"),
        ),
        (
            "event",
            Parked(
                "unexpected_event_filter",
                "$.event: not the Contact Center phone-number event filter",
            ),
            Parked(
                "unexpected_event_filter",
                "$.event: not the Contact Center phone-number event filter",
            ),
        ),
        (
            "timestamp",
            Parked("invalid_timestamp", "$.timestamp: must be an RFC 3339 timestamp"),
            Parked("invalid_timestamp", "$.timestamp: must be an RFC 3339 timestamp"),
        ),
        (
            "body.eventType",
            Parked(
                "unknown_event_type",
                "$.body.eventType: must be one of Created, Updated, Deleted",
            ),
            Parked(
                "unknown_event_type",
                "$.body.eventType: must be one of Created, Updated, Deleted",
            ),
        ),
        (
            "body.phoneNumberInfo.id",
            Parked(
                "invalid_field",
                "$.body.phoneNumberInfo.id: must be 1 to 128 visible ASCII characters",
            ),
            Parked(
                "invalid_field",
                "$.body.phoneNumberInfo.id: must be 1 to 128 visible ASCII characters",
            ),
        ),
        (
            "body.phoneNumberInfo.phoneNumber",
            Parked(
                "invalid_e164",
                leak(format!("$.body.phoneNumberInfo.phoneNumber: {E164_RULE}")),
            ),
            Parked(
                "invalid_e164",
                leak(format!("$.body.phoneNumberInfo.phoneNumber: {E164_RULE}")),
            ),
        ),
    ];
    let huge = "9".repeat(60_000);
    for (field, on_empty, on_huge) in empty_and_huge {
        add(
            &format!("{field} empty string"),
            notification(&edited(|b| *at(b, field) = json!(""))),
            200,
            on_empty,
        );
        add(
            &format!("{field} huge string"),
            notification(&edited(|b| *at(b, field) = json!(huge))),
            200,
            on_huge,
        );
    }
    add(
        "open string fields empty",
        notification(&edited(|b| {
            for k in ["location", "status", "type", "usageType", "paymentType"] {
                b["body"]["phoneNumberInfo"][k] = json!("")
            }
        })),
        200,
        Published("Created"),
    );
    add(
        "open string field huge",
        notification(&edited(|b| b["body"]["phoneNumberInfo"]["location"] = json!(huge))),
        200,
        Published("Created"),
    );
    add(
        "optional field of the wrong type",
        notification(&edited(|b| b["body"]["phoneNumberInfo"]["status"] = json!(1))),
        200,
        Parked(
            "invalid_field",
            "$.body.phoneNumberInfo.status: invalid type: integer, expected a string",
        ),
    );
    add(
        "contactCenterProvider not an object",
        notification(&edited(|b| {
            b["body"]["phoneNumberInfo"]["contactCenterProvider"] = json!("12345")
        })),
        200,
        Parked(
            "invalid_field",
            "$.body.phoneNumberInfo.contactCenterProvider: invalid type: string, expected an object",
        ),
    );
    add(
        "id as a number",
        notification(&edited(|b| b["body"]["phoneNumberInfo"]["id"] = json!(987654321))),
        200,
        Published("Created"),
    );
    add(
        "id as a negative number",
        notification(&edited(|b| b["body"]["phoneNumberInfo"]["id"] = json!(-5))),
        200,
        Published("Created"),
    );
    add(
        "id as a float",
        notification(&edited(|b| b["body"]["phoneNumberInfo"]["id"] = json!(1.5))),
        200,
        Parked(
            "invalid_field",
            "$.body.phoneNumberInfo.id: invalid type: floating point, expected a string or an integer",
        ),
    );
    add(
        "control characters and U+FFFF in an open string",
        notification(&edited(|b| {
            b["body"]["phoneNumberInfo"]["location"] = json!("a\u{0}b\u{1f}c\u{ffff}d\u{fffe}")
        })),
        200,
        Published("Created"),
    );

    // Depth bombs and duplicate keys.
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    add(
        "depth bomb at the root",
        notification(&deep(30_000)),
        200,
        Parked("invalid_field", "$: invalid type: sequence, expected an object"),
    );
    add(
        "depth bomb in a known field",
        notification(&created.replace("\"Created\"", &deep(30_000))),
        200,
        Parked(
            "invalid_field",
            "$.body.eventType: invalid type: sequence, expected a string",
        ),
    );
    add(
        "depth bomb in an unknown field",
        notification(&created.replacen('{', &format!("{{\"x\":{},", deep(30_000)), 1)),
        200,
        Published("Created"),
    );
    add(
        "object depth bomb in body",
        notification(&created.replace("\"Created\"", &("{\"a\":".repeat(3_000) + "1" + &"}".repeat(3_000)))),
        200,
        Parked(
            "invalid_field",
            "$.body.eventType: invalid type: map, expected a string",
        ),
    );
    add(
        "duplicate key in the envelope",
        notification(&created.replacen('{', "{\"uuid\":\"x\",", 1)),
        200,
        Parked("invalid_field", "$.uuid: appears more than once"),
    );
    add(
        "duplicate key in the body",
        notification(&created.replace(
            "\"eventType\":\"Created\"",
            "\"eventType\":\"Created\",\"eventType\":\"Deleted\"",
        )),
        200,
        Parked("invalid_field", "$.body.eventType: appears more than once"),
    );

    // Bad values.
    for (name, number) in [
        ("E.164 without +", "12024999741"),
        ("E.164 with leading 0", "+02024999741"),
        ("E.164 with 16 digits", "+1234567890123456"),
        ("E.164 with letters", "+1202ABC9741"),
        ("E.164 with spaces", "+1 202 499 9741"),
        ("E.164 with dashes", "+1-202-499-9741"),
        ("E.164 just +", "+"),
    ] {
        add(
            name,
            notification(&edited(|b| b["body"]["phoneNumberInfo"]["phoneNumber"] = json!(number))),
            200,
            Parked(
                "invalid_e164",
                leak(format!("$.body.phoneNumberInfo.phoneNumber: {E164_RULE}")),
            ),
        );
    }
    for (name, ts) in [
        ("timestamp date only", "2013-06-14"),
        ("timestamp day-first", "14/06/2013 12:00"),
        ("timestamp without zone", "2013-06-14T12:00:00"),
        ("timestamp out of range", "2013-02-30T12:00:00Z"),
    ] {
        add(
            name,
            notification(&edited(|b| b["timestamp"] = json!(ts))),
            200,
            Parked("invalid_timestamp", "$.timestamp: must be an RFC 3339 timestamp"),
        );
    }
    add(
        "eventType in lower case",
        notification(&edited(|b| b["body"]["eventType"] = json!("created"))),
        200,
        Parked(
            "unknown_event_type",
            "$.body.eventType: must be one of Created, Updated, Deleted",
        ),
    );
    for (name, event, detail) in [
        (
            "another event filter",
            "/restapi/v1.0/account/~/extension/~/message-store",
            "$.event: not the Contact Center phone-number event filter",
        ),
        (
            "phone-number filter without usageType",
            "/restapi/v1.0/account/~/phone-number",
            "$.event: query must carry usageType=ContactCenterNumber",
        ),
        (
            "phone-number filter for another usageType",
            "/restapi/v1.0/account/~/phone-number?usageType=MainCompanyNumber",
            "$.event: query must carry usageType=ContactCenterNumber",
        ),
        (
            "account segment not digits",
            "/restapi/v1.0/account/abc/phone-number?usageType=ContactCenterNumber",
            "$.event: account must be digits, '~' or '{accountId}'",
        ),
    ] {
        add(
            name,
            notification(&edited(|b| b["event"] = json!(event))),
            200,
            Parked("unexpected_event_filter", detail),
        );
    }
    add(
        "account ids that disagree",
        notification(&edited(|b| {
            b["event"] = json!("/restapi/v1.0/account/1234/phone-number?usageType=ContactCenterNumber")
        })),
        200,
        Parked(
            "account_mismatch",
            "$.event and $.body.phoneNumberInfo.uri name different accounts",
        ),
    );
    let mut bad_base64 = notification("!!!not base64!!!");
    bad_base64["isBase64Encoded"] = json!(true);
    add(
        "base64 that is not valid",
        bad_base64,
        200,
        Parked(
            "invalid_base64",
            "body: isBase64Encoded is true but the body is not valid base64",
        ),
    );
    add(
        "client-sent internal base64 marker",
        http_api(
            "POST",
            &[("verification-token", TOKEN), (INVALID_BASE64_MARKER, "1")],
            Some(&created),
        ),
        200,
        Published("Created"),
    );
    add(
        "token pasted into a field",
        notification(&edited(|b| b["body"]["phoneNumberInfo"]["phoneNumber"] = json!(TOKEN))),
        200,
        Parked(
            "invalid_e164",
            leak(format!("$.body.phoneNumberInfo.phoneNumber: {E164_RULE}")),
        ),
    );

    // Size, method, handshake.
    let mut oversized = body_file("created");
    oversized["pad"] = json!("x".repeat(64 * 1024));
    add("body over 64 KiB", notification(&oversized.to_string()), 413, Nothing);
    add(
        "body over 64 KiB, unauthenticated",
        http_api("POST", &[], Some(&oversized.to_string())),
        413,
        Nothing,
    );
    add(
        "handshake token over 256 bytes",
        http_api("POST", &[("validation-token", &"t".repeat(257))], None),
        400,
        Nothing,
    );
    add(
        "handshake token empty",
        http_api("POST", &[("validation-token", "")], None),
        400,
        Nothing,
    );
    add(
        "handshake token with a control character",
        http_api("POST", &[("validation-token", "abc\u{7f}def")], None),
        400,
        Nothing,
    );
    add(
        "handshake token with a space",
        http_api("POST", &[("validation-token", "abc def")], None),
        400,
        Nothing,
    );
    add(
        "empty body without any token",
        http_api("POST", &[], None),
        400,
        Nothing,
    );
    add(
        "handshake with GET",
        http_api("GET", &[("validation-token", "abc")], None),
        405,
        Nothing,
    );
    add(
        "notification with PUT",
        http_api("PUT", &notification_headers(), Some(&created)),
        405,
        Nothing,
    );
    add(
        "handshake in header case Validation-Token (REST API)",
        rest_api("POST", &[("Validation-Token", "abc")], None),
        200,
        Nothing,
    );
    add(
        "notification in header case VERIFICATION-TOKEN (REST API)",
        rest_api("POST", &[("VERIFICATION-TOKEN", TOKEN)], Some(&created)),
        200,
        Published("Created"),
    );

    // Authentication.
    let almost = format!("{}X", &TOKEN[..TOKEN.len() - 1]);
    for (name, headers) in [
        ("no token", vec![("content-type", "application/json")]),
        (
            "wrong token",
            vec![("verification-token", "wrongwrongwrongwrongwrongwrong12")],
        ),
        (
            "token almost right (last character)",
            vec![("verification-token", almost.as_str())],
        ),
        ("token prefix", vec![("verification-token", &TOKEN[..TOKEN.len() - 1])]),
        (
            "token with a trailing space",
            vec![("verification-token", leak(format!("{TOKEN} ")))],
        ),
        (
            "token in lower case",
            vec![("verification-token", leak(TOKEN.to_lowercase()))],
        ),
        ("token in another header", vec![("authorization", TOKEN)]),
    ] {
        add(name, http_api("POST", &headers, Some(&created)), 401, Nothing);
    }
    add(
        "token sent only in Validation-Token",
        http_api("POST", &[("validation-token", TOKEN)], Some(&created)),
        200,
        Published("Created"),
    );
    add(
        "wrong Verification-Token but right Validation-Token",
        http_api(
            "POST",
            &[("verification-token", "nope"), ("validation-token", TOKEN)],
            Some(&created),
        ),
        200,
        Published("Created"),
    );
    add("renewal reminder", event_file("renewal-reminder"), 200, Nothing);
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn every_catalogued_request_gets_its_answer_and_leaves_only_what_it_should() {
    // The log capture is process-wide: only this test's requests may write to it.
    if !alone("catalogue::every_catalogued_request_gets_its_answer_and_leaves_only_what_it_should") {
        return;
    }
    let logs = CapturedLogs::install();
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let relay = topology.relay(&aws.sdk);
    let cases = catalogue();
    assert!(cases.len() >= 40, "the catalogue has {} classes", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let response = handle(&relay, guarded_request(&case.event)).await;
        let answer = match response.body() {
            lambda_http::Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        let published: Vec<(&str, usize)> = {
            let mut v = Vec::new();
            for kind in EVENT_TYPES {
                let n = drain_now(&aws, topology.subscriber_of(kind)).await.len();
                if n > 0 {
                    v.push((kind, n));
                }
            }
            v
        };
        let parked = drain_now(&aws, &topology.dead_letter_queue).await;
        let seen = match (published.as_slice(), parked.as_slice()) {
            ([], []) => Nothing,
            ([(kind, 1)], []) => Published(kind),
            ([], [one]) => {
                let item = one.json();
                Parked(
                    leak(item["reason"].as_str().unwrap().to_owned()),
                    leak(item["detail"].as_str().unwrap().to_owned()),
                )
            }
            _ => {
                failures.push(format!(
                    "{}: published {published:?} and parked {}",
                    case.name,
                    parked.len()
                ));
                continue;
            }
        };
        if response.status().as_u16() != case.status || seen != case.expect {
            failures.push(format!(
                "{}: got {} {seen:?}, expected {} {:?}; answer {answer}",
                case.name,
                response.status(),
                case.status,
                case.expect
            ));
        }
        if let Parked(reason, detail) = case.expect {
            let expected_answer = json!({"status": "parked", "reason": reason, "detail": truncate(detail)});
            if serde_json::from_str::<Value>(&answer).ok() != Some(expected_answer.clone()) {
                failures.push(format!("{}: answer {answer}, expected {expected_answer}", case.name));
            }
        }
        if answer.len() > 400 || answer.contains(TOKEN) {
            failures.push(format!("{}: answer too long or echoes the token: {answer}", case.name));
        }
        if response.status().is_server_error() {
            failures.push(format!("{}: 5xx with both AWS sinks healthy", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let logs = logs.text();
    let summaries = logs.lines().filter(|l| l.contains("request summary")).count();
    assert_eq!(summaries, cases.len(), "one summary line per request");
    assert!(!logs.contains(TOKEN), "the token appeared in the logs");
    assert!(
        !logs.contains(&TOKEN.to_lowercase()),
        "a near-copy of the token appeared in the logs"
    );
}

fn truncate(detail: &str) -> String {
    match detail.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &detail[..at]),
        None => detail.to_owned(),
    }
}

#[test]
fn readme_lists_every_catalogued_class() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/contract.md")).unwrap();
    let missing: Vec<String> = catalogue()
        .into_iter()
        .filter(|c| !readme.contains(&format!("| {} |", c.name)))
        .map(|c| {
            let outcome = match c.expect {
                Published(kind) => format!("published to {kind}"),
                Parked(reason, _) => format!("parked: `{reason}`"),
                Nothing => "nothing published or parked".to_owned(),
            };
            format!("| {} | {} | {outcome} |", c.name, c.status)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/contract.md's bad-input catalogue lacks these rows:\n{}",
        missing.join("\n")
    );
}
