//! Newtypes that carry the rules, so an invalid value cannot exist past decoding.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was refused; the caller adds the JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub &'static str);

macro_rules! string_newtype {
    ($name:ident, $check:path) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, Invalid> {
                let value = value.into();
                $check(&value)?;
                Ok(Self(value))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(value: String) -> Result<Self, Invalid> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(E164, check_e164);
string_newtype!(AccountId, check_account_id);
string_newtype!(PhoneNumberId, check_phone_number_id);
string_newtype!(NotificationId, check_notification_id);
string_newtype!(Timestamp, check_timestamp);

fn check_e164(v: &str) -> Result<(), Invalid> {
    const RULE: &str = "must be E.164: '+' then 1 to 15 digits, the first not 0";
    let digits = v.strip_prefix('+').ok_or(Invalid(RULE))?;
    let ok = (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    ok.then_some(()).ok_or(Invalid(RULE))
}

fn check_account_id(v: &str) -> Result<(), Invalid> {
    let ok = (1..=32).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(()).ok_or(Invalid("must be 1 to 32 digits"))
}

/// The id is used as the FIFO MessageGroupId and as a message attribute,
/// so it must fit SNS's 128-character printable-ASCII rule.
fn check_phone_number_id(v: &str) -> Result<(), Invalid> {
    visible_ascii(v, "must be 1 to 128 visible ASCII characters")
}

/// The uuid becomes the FIFO MessageDeduplicationId, which has the same rule.
fn check_notification_id(v: &str) -> Result<(), Invalid> {
    visible_ascii(v, "must be 1 to 128 visible ASCII characters")
}

fn visible_ascii(v: &str, rule: &'static str) -> Result<(), Invalid> {
    let ok = (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(()).ok_or(Invalid(rule))
}

impl Timestamp {
    /// The instant, for ordering: the text may carry any offset.
    pub fn instant(&self) -> time::OffsetDateTime {
        use time::format_description::well_known::Rfc3339;
        // Parsed once already when the value was made.
        time::OffsetDateTime::parse(&self.0, &Rfc3339).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// An instant as RFC 3339 in UTC with milliseconds.
    pub fn at(instant: time::OffsetDateTime) -> Self {
        use time::macros::format_description;
        let utc = instant.to_offset(time::UtcOffset::UTC);
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
        Self(
            utc.format(&format)
                .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned()),
        )
    }
}

fn check_timestamp(v: &str) -> Result<(), Invalid> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(v, &Rfc3339)
        .map(|_| ())
        .map_err(|_| Invalid("must be an RFC 3339 timestamp"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    Created,
    Updated,
    Deleted,
}

impl EventType {
    pub const ALL: [EventType; 3] = [EventType::Created, EventType::Updated, EventType::Deleted];

    pub fn parse(v: &str) -> Result<Self, Invalid> {
        match v {
            "Created" => Ok(Self::Created),
            "Updated" => Ok(Self::Updated),
            "Deleted" => Ok(Self::Deleted),
            _ => Err(Invalid("must be one of Created, Updated, Deleted")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Updated => "Updated",
            Self::Deleted => "Deleted",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_one_to_fifteen_digits() {
        for ok in ["+1", "+12024999741", "+123456789012345"] {
            assert!(E164::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn e164_refuses_malformed_numbers() {
        for bad in [
            "12024999741",
            "+02024999741",
            "+1234567890123456",
            "+1202ABC9741",
            "+1 202 499",
            "+",
            "",
            " +1202",
            "++1",
        ] {
            assert_eq!(
                E164::parse(bad).unwrap_err().0,
                "must be E.164: '+' then 1 to 15 digits, the first not 0",
                "{bad}"
            );
        }
    }

    #[test]
    fn timestamp_must_be_rfc3339() {
        assert!(Timestamp::parse("2013-06-14T12:00:00.000Z").is_ok());
        assert!(Timestamp::parse("2013-06-14T12:00:00+02:00").is_ok());
        // RFC 3339 section 5.6 lets a space stand for the T.
        assert!(Timestamp::parse("2013-06-14 12:00:00Z").is_ok());
        for bad in [
            "2013-06-14",
            "2013-06-14T12:00:00",
            "yesterday",
            "2013-13-14T12:00:00Z",
            "1371211200",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_order_by_instant_not_text() {
        let a = Timestamp::parse("2026-01-01T10:00:00+02:00").unwrap();
        let b = Timestamp::parse("2026-01-01T09:00:00Z").unwrap();
        assert!(a.instant() < b.instant());
        let made = Timestamp::at(b.instant());
        assert_eq!(made.as_str(), "2026-01-01T09:00:00.000Z");
        assert!(Timestamp::parse(made.as_str()).is_ok());
    }

    #[test]
    fn ids_refuse_empty_long_and_invisible() {
        assert!(PhoneNumberId::parse("").is_err());
        assert!(PhoneNumberId::parse("a b").is_err());
        assert!(PhoneNumberId::parse("x".repeat(129)).is_err());
        assert!(NotificationId::parse("ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0").is_ok());
        assert!(AccountId::parse("~").is_err());
        assert!(AccountId::parse("37439510").is_ok());
    }
}
