//! Decoding and normalization rules, without AWS: the wire → change step.

use crate::support::{assert_matches_schema, body_file};
use cc_number_relay::notification::{decode, DecodeError, Inbound};
use serde_json::{json, Value};

fn change(body: &Value) -> Value {
    match decode(body.to_string().as_bytes()) {
        Ok(Inbound::Change(c)) => {
            let json: Value = serde_json::from_str(&c.to_json()).unwrap();
            assert_matches_schema(&json);
            json
        }
        other => panic!("expected a change, got {other:?}"),
    }
}

fn error(body: &[u8]) -> (&'static str, String) {
    match decode(body) {
        Err(e) => (e.reason(), e.to_string()),
        Ok(other) => panic!("expected an error, got {other:?}"),
    }
}

fn edited(edit: impl Fn(&mut Value)) -> Value {
    let mut body = body_file("created");
    edit(&mut body);
    body
}

#[test]
fn account_id_comes_from_the_event_path_or_else_the_uri() {
    let uri = "https://platform.ringcentral.com/restapi/v1.0/account/37439510/phone-number/987654321";
    let cases = [
        (
            "/restapi/v1.0/account/{accountId}/phone-number?usageType=ContactCenterNumber",
            Some(uri),
            json!("37439510"),
        ),
        (
            "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber",
            Some(uri),
            json!("37439510"),
        ),
        (
            "/restapi/v1.0/account/37439510/phone-number?usageType=ContactCenterNumber",
            Some(uri),
            json!("37439510"),
        ),
        (
            "/restapi/v1.0/account/555/phone-number?usageType=ContactCenterNumber",
            None,
            json!("555"),
        ),
        (
            "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber",
            None,
            Value::Null,
        ),
        (
            "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber",
            Some("https://x/restapi/v1.0/account/~/phone-number/1"),
            Value::Null,
        ),
    ];
    for (event, uri, expected) in cases {
        let body = edited(|b| {
            b["event"] = json!(event);
            b["body"]["phoneNumberInfo"]["uri"] = uri.map_or(Value::Null, |u| json!(u));
        });
        assert_eq!(change(&body)["accountId"], expected, "{event} {uri:?}");
    }
    let body = edited(|b| b["event"] = json!("/restapi/v1.0/account/1/phone-number?usageType=ContactCenterNumber"));
    assert_eq!(error(body.to_string().as_bytes()).0, "account_mismatch");
}

#[test]
fn ids_may_be_strings_or_numbers_and_become_strings() {
    let body = edited(|b| {
        b["ownerId"] = json!(8475874957u64);
        b["body"]["phoneNumberInfo"]["id"] = json!(987654321);
        b["body"]["phoneNumberInfo"]["contactCenterProvider"]["id"] = json!(12345);
    });
    let c = change(&body);
    assert_eq!(
        (c["ownerId"].clone(), c["phoneNumber"]["id"].clone()),
        (json!("8475874957"), json!("987654321"))
    );
    assert_eq!(c["contactCenterProvider"]["id"], "12345");
    let body = edited(|b| b["body"]["phoneNumberInfo"]["id"] = json!(1.5));
    assert_eq!(
        error(body.to_string().as_bytes()),
        (
            "invalid_field",
            "$.body.phoneNumberInfo.id: invalid type: floating point, expected a string or an integer".into()
        )
    );
}

#[test]
fn optional_fields_may_be_missing_or_null_and_become_null() {
    let body = edited(|b| {
        let info = b["body"]["phoneNumberInfo"].as_object_mut().unwrap();
        for key in [
            "uri",
            "paymentType",
            "location",
            "type",
            "usageType",
            "contactCenterProvider",
        ] {
            info.remove(key);
        }
        info.insert("status".into(), Value::Null);
        b.as_object_mut().unwrap().remove("subscriptionId");
        b["ownerId"] = Value::Null;
    });
    let c = change(&body);
    assert_eq!(
        c["phoneNumber"],
        json!({"id": "987654321", "e164": "+12024999741", "uri": null, "paymentType": null, "location": null, "type": null, "usageType": null, "status": null})
    );
    assert_eq!(
        (
            c["subscriptionId"].clone(),
            c["ownerId"].clone(),
            c["contactCenterProvider"].clone()
        ),
        (Value::Null, Value::Null, Value::Null)
    );
}

#[test]
fn open_strings_and_unknown_fields_pass_through() {
    let body = edited(|b| {
        b["body"]["phoneNumberInfo"]["type"] = json!("FaxOnly");
        b["body"]["phoneNumberInfo"]["usageType"] = json!("CompanyNumber");
        b["body"]["phoneNumberInfo"]["paymentType"] = json!("ExternalNumberProviderTollFree");
        b["body"]["phoneNumberInfo"]["newField"] = json!({"nested": [1, 2]});
        b["somethingNew"] = json!(true);
    });
    let c = change(&body);
    assert_eq!(c["phoneNumber"]["type"], "FaxOnly");
    assert_eq!(c["phoneNumber"]["usageType"], "CompanyNumber");
}

#[test]
fn occurred_at_is_the_timestamp_as_received() {
    for ts in [
        "2013-06-14T12:00:00Z",
        "2013-06-14T12:00:00.123456+05:30",
        "2013-06-14t12:00:00z",
    ] {
        let body = edited(|b| b["timestamp"] = json!(ts));
        assert_eq!(change(&body)["occurredAt"], ts);
    }
}

#[test]
fn renewal_reminders_are_recognised() {
    let reminder = body_file("renewal-reminder");
    assert_eq!(
        decode(reminder.to_string().as_bytes()),
        Ok(Inbound::RenewalReminder {
            subscription_id: Some("9d38419f-645f-4ee3-a053-8cf1368c21c4".into())
        })
    );
}

#[test]
fn structural_errors_name_the_path() {
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            b"[1,2]".to_vec(),
            "invalid_field",
            "$: invalid type: sequence, expected an object",
        ),
        (
            edited(|b| b["body"] = json!(["Created", {}])).to_string().into_bytes(),
            "invalid_field",
            "$.body: invalid type: sequence, expected an object",
        ),
        (
            edited(|b| b["body"]["phoneNumberInfo"] = json!(["u", "1", "+1"]))
                .to_string()
                .into_bytes(),
            "invalid_field",
            "$.body.phoneNumberInfo: invalid type: sequence, expected an object",
        ),
        (
            b"\"text\"".to_vec(),
            "invalid_field",
            "$: invalid type: string, expected an object",
        ),
        (
            br#"{"uuid":"a","uuid":"b"}"#.to_vec(),
            "invalid_field",
            "$.uuid: appears more than once",
        ),
        (
            edited(|b| b["body"] = json!(null)).to_string().into_bytes(),
            "invalid_field",
            "$.body: invalid type: null, expected an object",
        ),
        (
            edited(|b| {
                b["body"].as_object_mut().unwrap().remove("phoneNumberInfo");
            })
            .to_string()
            .into_bytes(),
            "invalid_field",
            "$.body.phoneNumberInfo: is required",
        ),
        (
            edited(|b| b["uuid"] = json!(42)).to_string().into_bytes(),
            "invalid_field",
            "$.uuid: invalid type: integer, expected a string",
        ),
        (
            edited(|b| b["uuid"] = json!("")).to_string().into_bytes(),
            "invalid_field",
            "$.uuid: must be 1 to 128 visible ASCII characters",
        ),
        (
            format!("{} trailing", body_file("created")).into_bytes(),
            "invalid_json",
            "not valid JSON: trailing characters at line 1 column 626",
        ),
    ];
    for (body, reason, detail) in cases {
        let (r, d) = error(&body);
        assert_eq!((r, d.as_str()), (reason, detail), "{}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn deep_nesting_is_refused_or_skipped_without_overflowing_the_stack() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert_eq!(
        error(deep(60_000).as_bytes()),
        ("invalid_field", "$: invalid type: sequence, expected an object".into())
    );
    let in_unknown_root_field = format!("{{\"a\":{}}}", deep(60_000));
    assert_eq!(
        error(in_unknown_root_field.as_bytes()),
        ("invalid_field", "$.uuid: is required".into())
    );
    let in_known_field = edited(|b| b["uuid"] = json!(null))
        .to_string()
        .replace("\"uuid\":null", &format!("\"uuid\":{}", deep(30_000)));
    assert_eq!(
        error(in_known_field.as_bytes()),
        (
            "invalid_field",
            "$.uuid: invalid type: sequence, expected a string".into()
        )
    );
    let in_body = edited(|b| b["body"] = json!(null))
        .to_string()
        .replace("\"body\":null", &format!("\"body\":{}", deep(30_000)));
    assert_eq!(
        error(in_body.as_bytes()),
        (
            "invalid_field",
            "$.body: invalid type: sequence, expected an object".into()
        )
    );
    let in_provider = edited(|b| b["body"]["phoneNumberInfo"]["contactCenterProvider"]["id"] = json!(null))
        .to_string()
        .replace(
            "\"id\":null",
            &format!("\"id\":{}", "{\"a\":".repeat(200) + "1" + &"}".repeat(200)),
        );
    assert_eq!(
        error(in_provider.as_bytes()),
        (
            "invalid_field",
            "$.body.phoneNumberInfo.contactCenterProvider.id: invalid type: map, expected a string or an integer"
                .into()
        )
    );
    let in_unknown_body_field = edited(|b| b["body"]["phoneNumberInfo"]["extra"] = json!(null))
        .to_string()
        .replace("\"extra\":null", &format!("\"extra\":{}", deep(20_000)));
    assert!(
        matches!(decode(in_unknown_body_field.as_bytes()), Ok(Inbound::Change(_))),
        "unknown fields are skipped, however deep"
    );
}

#[test]
fn invalid_utf8_is_invalid_json() {
    let mut body = body_file("created").to_string().into_bytes();
    let at = body.windows(5).position(|w| w == b"Local").unwrap();
    body[at] = 0xFF;
    let (reason, detail) = error(&body);
    assert_eq!(reason, "invalid_json");
    assert!(
        detail.starts_with("not valid JSON: invalid unicode code point"),
        "{detail}"
    );
}

#[test]
fn decode_error_reasons_are_distinct() {
    let reasons = [
        DecodeError::InvalidBase64.reason(),
        DecodeError::InvalidJson { detail: String::new() }.reason(),
        DecodeError::InvalidField {
            path: String::new(),
            problem: String::new(),
        }
        .reason(),
        DecodeError::UnknownEventType { path: "", problem: "" }.reason(),
        DecodeError::InvalidPhoneNumber { path: "", problem: "" }.reason(),
        DecodeError::InvalidTimestamp { path: "", problem: "" }.reason(),
        DecodeError::UnexpectedEventFilter("").reason(),
        DecodeError::AccountMismatch.reason(),
    ];
    let unique: std::collections::BTreeSet<_> = reasons.iter().collect();
    assert_eq!(unique.len(), reasons.len());
}
