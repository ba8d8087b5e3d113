//! The normalized, versioned change event that subscribers receive.

pub(crate) mod types;

pub use types::{AccountId, EventType, NotificationId, PhoneNumberId, Timestamp, E164};

use serde::{Deserialize, Serialize};

/// The only schema version this relay emits; bump it with a new schema file.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema every published change validates against.
pub const SCHEMA: &str = include_str!("../schema/contact-center-number-change.v1.json");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct ContactCenterProvider {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// What RingCentral says a number is now (its phone-number API), or what a
/// notification said it became: the part of a change that is state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberState {
    /// From the resource uri, when it names a real account.
    pub account_id: Option<AccountId>,
    pub phone_number: PhoneNumber,
    pub contact_center_provider: Option<ContactCenterProvider>,
}

impl NumberState {
    /// Whether a subscriber told `change` would hold different facts about
    /// the number: every normalized field but the resource uri (RingCentral
    /// may spell it differently in events and in its API) and the account.
    pub fn differs_from(&self, change: &Change) -> bool {
        let (a, b) = (&self.phone_number, &change.phone_number);
        a.e164 != b.e164
            || a.payment_type != b.payment_type
            || a.location != b.location
            || a.kind != b.kind
            || a.usage_type != b.usage_type
            || a.status != b.status
            || self.contact_center_provider != change.contact_center_provider
    }
}

/// Serializes as the number 1 and refuses any other value, so a `Change`
/// read back from JSON cannot claim a version this code does not speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(SCHEMA_VERSION)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            SCHEMA_VERSION => Ok(SchemaVersion),
            other => Err(serde::de::Error::custom(format!(
                "schemaVersion {other} is not supported (expected {SCHEMA_VERSION})"
            ))),
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
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Redrive => "redrive",
            Self::Reconciliation => "reconciliation",
            Self::Snapshot => "snapshot",
        }
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

    /// The JSON body published to SNS.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and options into a String cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        escape_non_characters(json)
    }
}

/// SNS and SQS refuse the two Unicode non-characters U+FFFE and U+FFFF even
/// inside JSON strings; serde_json writes them raw, so every message body
/// this relay sends goes through here. The JSON value stays the same.
pub fn escape_non_characters(json: String) -> String {
    if json.contains(['\u{fffe}', '\u{ffff}']) {
        json.replace('\u{fffe}', "\\ufffe").replace('\u{ffff}', "\\uffff")
    } else {
        json
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escaping_non_characters_keeps_the_json_value() {
        let json = serde_json::to_string("a\u{ffff}b\u{fffe}").unwrap();
        let safe = super::escape_non_characters(json);
        assert_eq!(safe, r#""a\uffffb\ufffe""#);
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "a\u{ffff}b\u{fffe}");
    }
}
