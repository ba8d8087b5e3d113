//! The message attributes subscribers filter on (all of data type `String`).
//! The relay writes them with [`message_attributes`]; the kit reads `origin`
//! and `stale` back with [`Received::from_lookup`].

use crate::change::{Change, Delivery, Origin};

pub const EVENT_TYPE: &str = "eventType";
pub const PHONE_NUMBER_ID: &str = "phoneNumberId";
pub const ORIGIN: &str = "origin";
pub const STALE: &str = "stale";
pub const USAGE_TYPE: &str = "usageType";
pub const ACCOUNT_ID: &str = "accountId";
pub const CONTACT_CENTER_PROVIDER_ID: &str = "contactCenterProviderId";

/// Every attribute the relay can set: the first four always, the rest when
/// the change knows a non-empty value.
pub const NAMES: [&str; 7] = [
    EVENT_TYPE,
    PHONE_NUMBER_ID,
    ORIGIN,
    STALE,
    USAGE_TYPE,
    ACCOUNT_ID,
    CONTACT_CENTER_PROVIDER_ID,
];

/// The attributes of one published change. SNS refuses empty values, so an
/// absent or empty optional is left out rather than sent blank. `origin` and
/// `stale` are always there, so a filter policy can match `stale: ["false"]`.
pub fn message_attributes(change: &Change, delivery: Delivery) -> Vec<(&'static str, &str)> {
    let optional = [
        (USAGE_TYPE, change.phone_number.usage_type.as_deref()),
        (ACCOUNT_ID, change.account_id.as_ref().map(|a| a.as_str())),
        (
            CONTACT_CENTER_PROVIDER_ID,
            change.contact_center_provider.as_ref().and_then(|p| p.id.as_deref()),
        ),
    ];
    let mut attributes = vec![
        (EVENT_TYPE, change.change_type.as_str()),
        (PHONE_NUMBER_ID, change.phone_number.id.as_str()),
        (ORIGIN, delivery.origin.as_str()),
        (STALE, if delivery.stale { "true" } else { "false" }),
    ];
    attributes.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v))),
    );
    attributes
}

/// What a subscriber reads back from the attributes beside the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Received {
    /// `None` when absent or a value this crate does not know yet.
    pub origin: Option<Origin>,
    /// The relay flags a change whose number it had already told subscribers
    /// a newer state of; such a change is never applied.
    pub stale: bool,
}

impl Received {
    /// From any attribute map, through a lookup by name.
    pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        Self {
            origin: get(ORIGIN).and_then(Origin::parse),
            stale: get(STALE) == Some("true"),
        }
    }
}
