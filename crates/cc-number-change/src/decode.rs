//! One message body → one [`Change`], or an error that names the JSON path
//! and the rule it broke, never the value (a body may carry personal data).

use crate::change::{Change, SCHEMA_VERSION};
use serde_json::error::Category;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{path}: {rule}")]
    InvalidField { path: String, rule: String },
    #[error("$.schemaVersion: {0} is newer than this crate reads ({SCHEMA_VERSION}); upgrade cc-number-change")]
    NewerSchema(u64),
}

/// Decodes a v1 change. Unknown fields are ignored (v1 may gain optional
/// fields); a `schemaVersion` above 1 is [`DecodeError::NewerSchema`].
pub fn decode(bytes: &[u8]) -> Result<Change, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let change = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // Only on failure: a later version may have changed any other field.
        match newer_version(bytes) {
            Some(version) => DecodeError::NewerSchema(version),
            None => describe(&e.path().to_string(), e.inner()),
        }
    })?;
    de.end().map_err(|e| describe(".", &e))?;
    Ok(change)
}

fn newer_version(bytes: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion")]
        schema_version: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(bytes).ok()?;
    probe
        .schema_version?
        .as_u64()
        .filter(|v| *v > u64::from(SCHEMA_VERSION))
}

fn describe(path: &str, err: &serde_json::Error) -> DecodeError {
    let message = err.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    if err.classify() != Category::Data {
        return DecodeError::InvalidJson(message.to_owned());
    }
    let mut path = if path == "." {
        "$".to_owned()
    } else {
        format!("$.{path}")
    };
    let rule = if let Some(name) = between(message, "missing field `", "`") {
        path = format!("{path}.{name}");
        "is required".to_owned()
    } else if let Some(expected) = message.split_once(", expected ").map(|(_, e)| e) {
        // serde's "invalid type: string \"...\", expected ..." quotes the value: keep only the rule.
        let expected = if expected.starts_with("struct ") {
            "an object"
        } else {
            expected
        };
        format!("must be {expected}")
    } else {
        // The newtypes' own rules (E.164, RFC 3339, ...) name no value.
        message.to_owned()
    };
    DecodeError::InvalidField { path, rule }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(start)?;
    rest.split(end).next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    pub(crate) fn sample() -> Value {
        json!({
            "schemaVersion": 1, "changeType": "Created",
            "notificationId": "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0",
            "occurredAt": "2026-11-30T10:00:00.000Z", "accountId": "37439510",
            "subscriptionId": "sub-1", "ownerId": null,
            "phoneNumber": {
                "id": "1001", "e164": "+12025550101", "uri": null, "paymentType": "Local",
                "location": null, "type": "VoiceFax", "usageType": "ContactCenterNumber", "status": "Normal"
            },
            "contactCenterProvider": { "id": "1", "name": "RingCX" }
        })
    }

    fn error_of(value: &Value) -> String {
        decode(value.to_string().as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn decodes_a_change_and_round_trips_it() {
        let change = decode(sample().to_string().as_bytes()).unwrap();
        assert_eq!(change.phone_number.e164.as_str(), "+12025550101");
        let again: Value = serde_json::from_str(&change.to_json()).unwrap();
        assert_eq!(again, sample());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let mut body = sample();
        body["addedInV1_1"] = json!({"anything": [1, 2]});
        body["phoneNumber"]["label"] = json!("front desk");
        assert!(decode(body.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn a_newer_schema_says_to_upgrade_even_when_its_shape_changed() {
        let mut body = sample();
        body["schemaVersion"] = json!(2);
        body["phoneNumber"] = json!("+12025550101");
        assert_eq!(
            error_of(&body),
            "$.schemaVersion: 2 is newer than this crate reads (1); upgrade cc-number-change"
        );
        let mut body = sample();
        body["schemaVersion"] = json!(0);
        assert_eq!(error_of(&body), "$.schemaVersion: must be 1");
        body["schemaVersion"] = json!(1);
        body["phoneNumber"] = json!("+12025550101");
        assert_eq!(error_of(&body), "$.phoneNumber: must be an object");
    }

    #[test]
    fn a_malformed_message_names_the_path_and_the_rule_never_the_value() {
        let cases = [
            (
                "/phoneNumber/e164",
                json!("12025550101"),
                "$.phoneNumber.e164: must be E.164: '+' then 1 to 15 digits, the first not 0",
            ),
            (
                "/occurredAt",
                json!("yesterday"),
                "$.occurredAt: must be an RFC 3339 timestamp",
            ),
            (
                "/changeType",
                json!("Renamed"),
                "$.changeType: must be one of `Created`, `Updated`, `Deleted`",
            ),
            ("/phoneNumber/id", json!(1001), "$.phoneNumber.id: must be a string"),
        ];
        for (pointer, value, expected) in cases {
            let mut body = sample();
            *body.pointer_mut(pointer).unwrap() = value;
            assert_eq!(error_of(&body), expected, "{pointer}");
        }
        let mut body = sample();
        body["phoneNumber"].as_object_mut().unwrap().remove("e164");
        assert_eq!(error_of(&body), "$.phoneNumber.e164: is required");
        assert!(!error_of(&body).contains("+1202"));
    }

    #[test]
    fn not_json_is_invalid_json() {
        assert!(matches!(
            decode(b"{\"schemaVersion\":"),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(decode(b"nope"), Err(DecodeError::InvalidJson(_))));
    }
}
