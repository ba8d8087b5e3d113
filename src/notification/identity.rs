//! What a refused notification still tells about itself. A body that
//! authenticated but failed to decode is parked; its summary log line must
//! still carry the uuid RingCentral shows, the event type and the phone
//! number id wherever those could be read, so an operator can find it.

use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Fields read leniently from a body that did not decode: each one only if
/// it is present and a string (or, for the id, a number).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Identity {
    pub notification_id: Option<String>,
    pub event_type: Option<String>,
    pub phone_number_id: Option<String>,
}

/// Only a JSON object reads as a map (a derived struct would also take an
/// array, by position).
type Object<'a> = BTreeMap<String, &'a RawValue>;

fn object(json: &str) -> Option<Object<'_>> {
    serde_json::from_str(json).ok()
}

impl Identity {
    /// Never fails: what cannot be read is `None`. Values longer than 128
    /// characters or with invisible characters are left out, so a log line
    /// cannot be flooded or forged through them.
    pub fn read(bytes: &[u8]) -> Self {
        let Some(envelope) = std::str::from_utf8(bytes).ok().and_then(object) else {
            return Self::default();
        };
        let body = envelope.get("body").and_then(|b| object(b.get()));
        let field = |o: Option<&Object<'_>>, name: &str| o.and_then(|o| o.get(name)).and_then(|v| short_text(v));
        let info = body
            .as_ref()
            .and_then(|b| b.get("phoneNumberInfo"))
            .and_then(|i| object(i.get()));
        Self {
            notification_id: field(Some(&envelope), "uuid"),
            event_type: field(body.as_ref(), "eventType"),
            phone_number_id: field(info.as_ref(), "id"),
        }
    }
}

fn short_text(raw: &RawValue) -> Option<String> {
    let text = match serde_json::from_str::<serde_json::Value>(raw.get()).ok()? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let ok = (1..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_a_refused_body_still_says() {
        let body = br#"{"uuid":"u-1","event":"x","body":{"eventType":"Suspended","phoneNumberInfo":{"id":42}}}"#;
        assert_eq!(
            Identity::read(body),
            Identity {
                notification_id: Some("u-1".into()),
                event_type: Some("Suspended".into()),
                phone_number_id: Some("42".into()),
            }
        );
    }

    #[test]
    fn leaves_out_what_it_cannot_read() {
        assert_eq!(Identity::read(b"not json"), Identity::default());
        assert_eq!(Identity::read(b"[1,2]"), Identity::default());
        let odd = br#"{"uuid":{"a":1},"body":"text"}"#;
        assert_eq!(Identity::read(odd), Identity::default());
        let forged = br#"{"uuid":"a\nb","body":{"eventType":"has space"}}"#;
        assert_eq!(Identity::read(forged), Identity::default());
    }
}
