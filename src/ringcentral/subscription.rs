//! The subscription resource: what the relay's subscription asks for, and
//! creating, listing, renewing and deleting subscriptions.

use super::client::{Client, Method};
use super::error::RingCentralError as Error;
use super::SubscriptionApi;
use crate::notification::EventFilter;
use crate::token::VerificationToken;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

const SUBSCRIPTIONS: &str = "/restapi/v1.0/subscription";

/// The relay's event: Contact Center phone numbers of the app's account.
pub const CONTACT_CENTER_NUMBER_FILTER: &str = "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber";
/// Reminders a day before expiry, hourly; the relay answers them with 200
/// and the guardian does the renewing.
pub const RENEWAL_REMINDER_FILTER: &str = "/restapi/v1.0/subscription/~?threshold=86400&interval=3600";
/// The relay's event filters, as `subscribe` creates them and `heal` puts them back.
const RELAY_FILTERS: [&str; 2] = [CONTACT_CENTER_NUMBER_FILTER, RENEWAL_REMINDER_FILTER];
/// Ten years, the most RingCentral allows for a webhook.
pub const MAX_EXPIRES_IN: u32 = 315_360_000;

/// The body of `POST /restapi/v1.0/subscription`. `expiresIn` is at the top
/// level: inside `deliveryMode` RingCentral ignores it and the subscription
/// dies after the 7-day default.
pub fn new_subscription_body(address: &str, verification_token: &VerificationToken, expires_in: u32) -> String {
    subscription_body(&RELAY_FILTERS, address, verification_token, expires_in)
}

/// The body of `POST /restapi/v1.0/subscription` with `filters`: the
/// relay's for the default account, a registered account's naming it.
pub(super) fn subscription_body(
    filters: &[impl Serialize],
    address: &str,
    verification_token: &VerificationToken,
    expires_in: u32,
) -> String {
    serde_json::json!({
        "eventFilters": filters,
        "deliveryMode": {
            "transportType": "WebHook",
            "address": address,
            "verificationToken": verification_token.expose(),
        },
        "expiresIn": expires_in,
    })
    .to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// A string in the spec; read as a number too, since RingCentral's ids
    /// are int64 elsewhere and its docs disagree.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(default)]
    pub status: SubscriptionStatus,
    #[serde(default)]
    pub expiration_time: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub event_filters: Vec<String>,
    #[serde(default)]
    pub delivery_mode: DeliveryMode,
    #[serde(default)]
    pub blacklisted_data: Option<BlacklistedData>,
    /// Filters RingCentral accepted but does not deliver: an Active
    /// subscription whose Contact Center filter is here is deaf to it.
    #[serde(default)]
    pub disabled_filters: Vec<DisabledFilter>,
    /// RFC 3339; which of two subscriptions is the newer.
    #[serde(default)]
    pub creation_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMode {
    #[serde(default)]
    pub transport_type: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlacklistedData {
    #[serde(default)]
    pub blacklisted_at: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// One of `disabledFilters`. The spec's items are `{filter, reason,
/// message}`; other RingCentral material says `errorCode` for `reason`: both
/// are read, and [`DisabledFilter::code`] is whichever came.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisabledFilter {
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl DisabledFilter {
    pub fn code(&self) -> Option<&str> {
        self.error_code.as_deref().or(self.reason.as_deref())
    }

    /// A missing permission, by RingCentral's code or its message: adding
    /// the permission to the app is the fix, recreating the subscription is not.
    pub fn missing_permission(&self) -> bool {
        matches!(self.code(), Some("SUB-412" | "CMN-408"))
            || self
                .message
                .as_deref()
                .is_some_and(|m| m.to_ascii_lowercase().contains("permission"))
    }
}

/// Whether a subscription's filters deliver Contact Center number events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactCenterFilter {
    Delivered,
    /// Not among its `eventFilters`.
    Missing,
    /// Among them, but listed in `disabledFilters`.
    Disabled(DisabledFilter),
}

fn is_contact_center_filter(filter: &str) -> bool {
    matches!(EventFilter::parse(filter), Ok(EventFilter::ContactCenterNumbers { .. }))
}

/// RingCentral documents Active, Suspended and Blacklisted; any other value
/// is kept as sent, and an absent one is `Unknown`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Active,
    Blacklisted,
    Other(String),
    #[default]
    Unknown,
}

impl SubscriptionStatus {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "Active",
            Self::Blacklisted => "Blacklisted",
            Self::Other(other) => other,
            Self::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SubscriptionStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(d)?.as_deref() {
            None => Self::Unknown,
            Some("Active") => Self::Active,
            Some("Blacklisted") => Self::Blacklisted,
            Some(other) => Self::Other(other.to_owned()),
        })
    }
}

impl Serialize for SubscriptionStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Unknown => s.serialize_none(),
            other => s.serialize_str(other.as_str()),
        }
    }
}

impl Subscription {
    pub fn is_active(&self) -> bool {
        self.status == SubscriptionStatus::Active
    }
    pub fn address(&self) -> Option<&str> {
        self.delivery_mode.address.as_deref()
    }
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        use time::format_description::well_known::Rfc3339;
        OffsetDateTime::parse(self.expiration_time.as_deref()?, &Rfc3339).ok()
    }
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        use time::format_description::well_known::Rfc3339;
        OffsetDateTime::parse(self.creation_time.as_deref()?, &Rfc3339).ok()
    }
    pub fn expiration(&self) -> &str {
        self.expiration_time.as_deref().unwrap_or("unknown")
    }

    /// The Contact Center filter as RingCentral lists it: `~` or the real
    /// account id in its path, matched by shape. A disabled entry wins over
    /// the `eventFilters` list, since it says why nothing arrives.
    pub fn contact_center_filter(&self) -> ContactCenterFilter {
        if let Some(disabled) = self
            .disabled_filters
            .iter()
            .find(|d| d.filter.as_deref().is_some_and(is_contact_center_filter))
        {
            return ContactCenterFilter::Disabled(disabled.clone());
        }
        if self.event_filters.iter().any(|f| is_contact_center_filter(f)) {
            ContactCenterFilter::Delivered
        } else {
            ContactCenterFilter::Missing
        }
    }
}

/// An id as a JSON string or number.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(text) => text,
        Id::Number(n) => n.to_string(),
    })
}

#[derive(Deserialize)]
struct Records {
    #[serde(default)]
    records: Vec<serde_json::Value>,
}

/// The records of a list, each read on its own: one that does not read
/// (no `id`, say) is skipped with a warning, and the rest still count.
pub(crate) fn read_records(
    body: &str,
    operation: &'static str,
    warn: &dyn Fn(&str),
) -> Result<Vec<Subscription>, Error> {
    let records = parse::<Records>(body, operation)?.records;
    Ok(records
        .into_iter()
        .enumerate()
        .filter_map(|(at, record)| match serde_json::from_value::<Subscription>(record) {
            Ok(subscription) => Some(subscription),
            Err(e) => {
                warn(&format!(
                    "skipped subscription record {} of RingCentral's list, which could not be read: {e}",
                    at + 1
                ));
                None
            }
        })
        .collect())
}

impl Client {
    /// This app's subscriptions (RingCentral lists only the caller's own).
    pub fn list_subscriptions(&self) -> Result<Vec<Subscription>, Error> {
        let operation = "listing subscriptions";
        let answer = self.api(Method::Get, SUBSCRIPTIONS, None, operation)?;
        expect_ok(&answer, operation)?;
        read_records(&answer.body, operation, &|warning| self.warn(warning))
    }

    pub fn get_subscription(&self, id: &str) -> Result<Subscription, Error> {
        let operation = "reading a subscription";
        let answer = self.api(Method::Get, &path(id)?, None, operation)?;
        expect_found(&answer, id)?;
        expect_ok(&answer, operation)?;
        parse(&answer.body, operation)
    }
}

impl SubscriptionApi for Client {
    /// This app's subscriptions that deliver to `address`.
    fn subscriptions_to(&self, address: &str) -> Result<Vec<Subscription>, Error> {
        let mut all = self.list_subscriptions()?;
        all.retain(|s| s.address() == Some(address));
        Ok(all)
    }

    /// Creates the relay's subscription. RingCentral first sends its
    /// validation request to `address`; SUB-52x mean that failed.
    fn create_subscription(
        &self,
        address: &str,
        verification_token: &VerificationToken,
        expires_in: u32,
    ) -> Result<Subscription, Error> {
        let body = new_subscription_body(address, verification_token, expires_in);
        self.create_with(&body, address)
    }

    /// Puts the relay's event filters back on a subscription that lost
    /// them (`PUT`, RingCentral's updateSubscription): same id, same token.
    fn restore_filters(&self, id: &str, expires_in: u32) -> Result<Subscription, Error> {
        self.put_filters(id, &RELAY_FILTERS, expires_in)
    }

    /// Extends the subscription by its own `expiresIn`.
    fn renew_subscription(&self, id: &str) -> Result<Subscription, Error> {
        let operation = "renewing a subscription";
        let answer = self.api(Method::Post, &format!("{}/renew", path(id)?), None, operation)?;
        expect_found(&answer, id)?;
        expect_ok(&answer, operation)?;
        parse(&answer.body, operation)
    }

    fn delete_subscription(&self, id: &str) -> Result<(), Error> {
        let operation = "deleting a subscription";
        let answer = self.api(Method::Delete, &path(id)?, None, operation)?;
        expect_found(&answer, id)?;
        expect_ok(&answer, operation)
    }
}

impl Client {
    /// `POST /restapi/v1.0/subscription` with `body`, a subscription to `address`.
    pub(super) fn create_with(&self, body: &str, address: &str) -> Result<Subscription, Error> {
        let operation = "creating the subscription";
        let answer = self.api(Method::Post, SUBSCRIPTIONS, Some(body), operation)?;
        if !(200..300).contains(&answer.status) {
            // The address, for the explanations of SUB-520/521/523/525.
            return Err(Error::from_answer(
                answer.status,
                operation,
                &answer.body,
                Some(address),
            ));
        }
        parse(&answer.body, operation)
    }

    /// Puts `filters` back on subscription `id` (`PUT`, RingCentral's
    /// updateSubscription): same id, same token.
    pub(super) fn put_filters(
        &self,
        id: &str,
        filters: &[impl Serialize],
        expires_in: u32,
    ) -> Result<Subscription, Error> {
        let operation = "updating a subscription's event filters";
        let body = filters_body(filters, expires_in);
        let answer = self.api(Method::Put, &path(id)?, Some(&body), operation)?;
        expect_found(&answer, id)?;
        expect_ok(&answer, operation)?;
        parse(&answer.body, operation)
    }
}

/// The body of the `PUT` that puts `filters` back.
pub(super) fn filters_body(filters: &[impl Serialize], expires_in: u32) -> String {
    serde_json::json!({
        "eventFilters": filters,
        "expiresIn": expires_in,
    })
    .to_string()
}

pub(super) fn path(id: &str) -> Result<String, Error> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if ok {
        Ok(format!("{SUBSCRIPTIONS}/{id}"))
    } else {
        Err(Error::InvalidSubscriptionId(id.to_owned()))
    }
}

pub(super) fn expect_found(answer: &super::client::Answer, id: &str) -> Result<(), Error> {
    if answer.status == 404 {
        return Err(Error::NotFound(id.to_owned()));
    }
    Ok(())
}

/// A 2xx answer, or RingCentral's error with its explanation.
pub(super) fn expect_ok(answer: &super::client::Answer, operation: &'static str) -> Result<(), Error> {
    if (200..300).contains(&answer.status) {
        return Ok(());
    }
    Err(Error::from_answer(answer.status, operation, &answer.body, None))
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &str, operation: &'static str) -> Result<T, Error> {
    serde_json::from_str(body).map_err(|e| Error::InvalidAnswer {
        operation,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_an_enum_and_absent_is_unknown() {
        let parse = |json: &str| serde_json::from_str::<Subscription>(json).unwrap().status;
        assert_eq!(parse(r#"{"id":"a","status":"Active"}"#), SubscriptionStatus::Active);
        assert_eq!(
            parse(r#"{"id":"a","status":"Blacklisted"}"#),
            SubscriptionStatus::Blacklisted
        );
        assert_eq!(
            parse(r#"{"id":"a","status":"Suspended"}"#),
            SubscriptionStatus::Other("Suspended".into())
        );
        assert_eq!(parse(r#"{"id":"a"}"#), SubscriptionStatus::Unknown);
        assert_eq!(parse(r#"{"id":"a","status":null}"#), SubscriptionStatus::Unknown);
    }

    #[test]
    fn expires_in_is_at_the_top_level_and_the_filters_are_the_relays() {
        let body: serde_json::Value = serde_json::from_str(&new_subscription_body(
            "https://x/y",
            &VerificationToken::parse("t0ken".into()).unwrap(),
            MAX_EXPIRES_IN,
        ))
        .unwrap();
        assert_eq!(body["expiresIn"], 315_360_000);
        assert!(body["deliveryMode"].get("expiresIn").is_none());
        assert_eq!(body["deliveryMode"]["transportType"], "WebHook");
        assert_eq!(body["deliveryMode"]["verificationToken"], "t0ken");
        assert_eq!(body["eventFilters"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn the_relay_recognises_both_filters() {
        assert!(matches!(
            EventFilter::parse(CONTACT_CENTER_NUMBER_FILTER),
            Ok(EventFilter::ContactCenterNumbers { account_id: None })
        ));
        assert_eq!(
            EventFilter::parse(RENEWAL_REMINDER_FILTER),
            Ok(EventFilter::RenewalReminder)
        );
    }

    #[test]
    fn ids_are_strings_or_numbers_and_a_bad_record_is_skipped() {
        let warnings = std::cell::RefCell::new(Vec::new());
        let listed = read_records(
            r#"{"records":[{"id":"a","deliveryMode":{}},{"id":12345678901,"deliveryMode":{}},{"deliveryMode":{}},{"id":"b","status":"Active","extra":1}]}"#,
            "listing",
            &|w| warnings.borrow_mut().push(w.to_owned()),
        )
        .unwrap();
        let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "12345678901", "b"]);
        assert_eq!(
            *warnings.borrow(),
            ["skipped subscription record 3 of RingCentral's list, which could not be read: missing field `id`"]
        );
    }

    #[test]
    fn the_contact_center_filter_is_delivered_missing_or_disabled() {
        let with = |json: &str| {
            serde_json::from_str::<Subscription>(json)
                .unwrap()
                .contact_center_filter()
        };
        assert_eq!(
            with(
                r#"{"id":"a","eventFilters":["/restapi/v1.0/account/37439510/phone-number?usageType=ContactCenterNumber"]}"#
            ),
            ContactCenterFilter::Delivered
        );
        assert_eq!(
            with(r#"{"id":"a","eventFilters":["/restapi/v1.0/subscription/~?threshold=86400&interval=3600"]}"#),
            ContactCenterFilter::Missing
        );
        // The spec's shape (reason) and the other (errorCode) alike.
        for item in [
            r#"{"filter":"/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber","reason":"SUB-412","message":"Permission [ReadAccounts] required"}"#,
            r#"{"filter":"/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber","errorCode":"SUB-412","message":"Permission [ReadAccounts] required"}"#,
        ] {
            let json = format!(
                r#"{{"id":"a","eventFilters":["/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber"],"disabledFilters":[{item}]}}"#
            );
            let ContactCenterFilter::Disabled(disabled) = with(&json) else {
                panic!("{json}")
            };
            assert_eq!(disabled.code(), Some("SUB-412"));
            assert!(disabled.missing_permission());
        }
        // Another filter disabled is not ours.
        assert_eq!(
            with(
                r#"{"id":"a","eventFilters":["/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber"],"disabledFilters":[{"filter":"/restapi/v1.0/subscription/~?threshold=86400&interval=3600","reason":"X"}]}"#
            ),
            ContactCenterFilter::Delivered
        );
    }

    #[test]
    fn ids_cannot_leave_the_subscription_path() {
        assert!(path("9d38419f-645f-4ee3-a053-8cf1368c21c4").is_ok());
        for bad in ["", "../account", "a/renew", "a?x", "a b"] {
            assert!(path(bad).is_err(), "{bad}");
        }
    }
}
