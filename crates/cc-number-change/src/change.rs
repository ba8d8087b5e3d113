//! The v1 change event: one normalized fact about one Contact Center phone
//! number, as the relay publishes it and subscribers read it.

use crate::types::{AccountId, EventType, NotificationId, PhoneNumberId, Timestamp, E164};
use serde::{Deserialize, Serialize};

/// The only schema version this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema every published change validates against.
pub const SCHEMA: &str = include_str!("../schema/contact-center-number-change.v1.json");

/// Unknown fields are ignored when reading, so a v1 that gains an optional
/// field does not break subscribers built against an older crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub schema_version: SchemaVersion,
    pub change_type: EventType,
    pub notification_id: NotificationId,
    pub occurred_at: Timestamp,
    pub account_id: Option<AccountId>,
    pub subscription_id: Option<String>,
    pub owner_id: Option<String>,
    pub phone_number: PhoneNumber,
    pub contact_center_provider: Option<ContactCenterProvider>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    pub id: PhoneNumberId,
    pub e164: E164,
    pub uri: Option<String>,
    pub payment_type: Option<String>,
    pub location: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub usage_type: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCenterProvider {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// RingCentral's usage type of a Contact Center number.
pub const CONTACT_CENTER_USAGE: &str = "ContactCenterNumber";

/// Serializes as the number 1 and refuses any other value, so a `Change`
/// read from JSON cannot claim a version this code does not speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(SCHEMA_VERSION)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u64::deserialize(d)? {
            1 => Ok(SchemaVersion),
            // `decode` turns a newer version into DecodeError::NewerSchema.
            _ => Err(serde::de::Error::custom("must be 1")),
        }
    }
}

/// Who produced a message: the `origin` attribute subscribers filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The relay, from a RingCentral notification.
    Webhook,
    /// `cc-number-relay-ctl redrive`, from a parked notification.
    Redrive,
    /// A correction: RingCentral's state differed from what subscribers were told.
    Reconciliation,
    /// Every current number, replayed for a consumer that joins late.
    Snapshot,
}

impl Origin {
    pub const ALL: [Origin; 4] = [Self::Webhook, Self::Redrive, Self::Reconciliation, Self::Snapshot];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Redrive => "redrive",
            Self::Reconciliation => "reconciliation",
            Self::Snapshot => "snapshot",
        }
    }

    /// `None` for a value this crate does not know: v1 may add origins.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == value)
    }
}

/// How one change is published, beside its body: who produced it, and
/// whether subscribers were already told a newer state of its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub origin: Origin,
    pub stale: bool,
}

impl Delivery {
    pub const fn fresh(origin: Origin) -> Self {
        Self { origin, stale: false }
    }
}

impl Change {
    /// Whether both tell the same state of the number: every normalized
    /// field of the number and its provider (ids, times and who sent it aside).
    pub fn same_state(&self, other: &Change) -> bool {
        self.change_type == other.change_type
            && self.account_id == other.account_id
            && self.phone_number == other.phone_number
            && self.contact_center_provider == other.contact_center_provider
    }

    /// Whether, after this change, the number is one of the account's
    /// Contact Center numbers: not deleted, and its usage (when the change
    /// names one) is Contact Center. The relay's subscription filters on that
    /// usage, so a change that names none is about a Contact Center number.
    pub fn leaves_contact_center_number(&self) -> bool {
        self.change_type != EventType::Deleted
            && self
                .phone_number
                .usage_type
                .as_deref()
                .is_none_or(|usage| usage == CONTACT_CENTER_USAGE)
    }

    /// The JSON body published to SNS.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and options into a String cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        escape_non_characters(json)
    }
}

/// SNS and SQS refuse the two Unicode non-characters U+FFFE and U+FFFF even
/// inside JSON strings; serde_json writes them raw, so every message body
/// the relay sends goes through here. The JSON value stays the same.
pub fn escape_non_characters(json: String) -> String {
    if json.contains(['\u{fffe}', '\u{ffff}']) {
        json.replace('\u{fffe}', "\\ufffe").replace('\u{ffff}', "\\uffff")
    } else {
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_non_characters_keeps_the_json_value() {
        let json = serde_json::to_string("a\u{ffff}b\u{fffe}").unwrap();
        let safe = escape_non_characters(json);
        assert_eq!(safe, r#""a\uffffb\ufffe""#);
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "a\u{ffff}b\u{fffe}");
    }

    #[test]
    fn origins_round_trip_and_unknown_ones_are_none() {
        for origin in Origin::ALL {
            assert_eq!(Origin::parse(origin.as_str()), Some(origin));
        }
        assert_eq!(Origin::parse("backfill"), None);
    }
}
