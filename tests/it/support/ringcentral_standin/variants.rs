//! Knobs for answers RingCentral may give, all within its published spec
//! (checked by `spec`) unless a knob says otherwise: optional properties
//! absent or unknown ones present, `disabledFilters` in either of the two
//! shapes RingCentral's material gives, subscription creation refused with
//! each documented code, a subscription limit, and a malformed record in
//! the subscription list. The module docs of `ringcentral_standin` list
//! them with their signatures.

use super::{answer, missing_permission, spec, Answer, StandIn, Sub};
use serde_json::{json, Value};

/// The relay's event filter, as the stand-in's seeded subscriptions hold it.
pub const CONTACT_CENTER_FILTER: &str = "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber";
/// What a forced CMN-301 asks a client to wait, in seconds: RingCentral's
/// penalty is 60 s, too long for a test.
pub const FORCED_RETRY_AFTER: u64 = 2;

/// How the stand-in writes subscriptions and numbers. Every combination is spec-valid.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    /// Leave out the optional properties a reader can do without: a
    /// subscription's `uri`, `creationTime`, `expiresIn` and `deliveryMode`'s
    /// `transportType` and `encryption`; a number's `uri`, `location`,
    /// `label`, `paymentType`, `type`, `status` and `contactCenterProvider`;
    /// a list's `uri`. (`id`, `status`, `eventFilters`, `expirationTime`
    /// and the address stay: the spec requires only `deliveryMode`, but a
    /// record without `id` is [`Malformed::WithoutId`]'s business.)
    pub optional_absent: bool,
    /// Add properties the spec does not name, as RingCentral adds fields over time.
    pub extra_properties: bool,
    /// Which key a `disabledFilters` entry gives its code under.
    pub disabled_filter_code: DisabledFilterCode,
    /// The form of new subscription ids (strings either way, as the spec says).
    pub subscription_ids: SubscriptionIds,
}

/// The spec's `disabledFilters` items are `{filter, reason, message}`;
/// other RingCentral material speaks of `{filter, errorCode, message}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DisabledFilterCode {
    #[default]
    Reason,
    ErrorCode,
    Both,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubscriptionIds {
    /// `5a7e0001-0000-4000-8000-standin00001`, the stand-in's default.
    #[default]
    Uuid,
    /// All digits, `100000001`: a string that reads as a number.
    Digits,
}

/// A record of the subscription list that a reader cannot take as a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A record without `id`. Spec-valid (the spec requires only
    /// `deliveryMode`), but a relay can do nothing with it.
    WithoutId,
    /// `id` as a number. NOT spec-valid (`id` is a string): the stand-in
    /// tolerates this one violation, at that record only, and counts it in
    /// [`StandIn::tolerated`].
    IdAsNumber,
}

/// A filter RingCentral accepted but does not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledFilter {
    pub filter: String,
    pub code: String,
    pub message: String,
}

#[derive(Default)]
pub(super) struct Knobs {
    pub shape: Shape,
    /// The code creations are refused with, and how many more times.
    fail_creations: Option<(String, u32)>,
    max_subscriptions: Option<usize>,
    /// `disable_filter_on_create`: the code new subscriptions' Contact Center filter is disabled with.
    pub disable_on_create: Option<String>,
    pub malformed: Option<Malformed>,
}

/// The `disabledFilters` entry of a Contact Center filter disabled with
/// `code`: its message names the [ReadAccounts] permission.
pub fn disabled_contact_center_filter(event_filters: &[String], code: &str) -> DisabledFilter {
    let filter = event_filters
        .iter()
        .find(|f| f.contains("usageType=ContactCenterNumber"))
        .cloned()
        .unwrap_or_else(|| CONTACT_CENTER_FILTER.to_owned());
    DisabledFilter {
        filter,
        code: code.to_owned(),
        message: format!(
            "Filter is disabled: in order to receive these events, application needs to have [ReadAccounts] permission ({code})"
        ),
    }
}

impl StandIn {
    pub fn set_shape(&self, shape: Shape) {
        self.with(|s| s.knobs.shape = shape);
    }

    /// RingCentral disables the subscription's Contact Center filter with
    /// `code` ("SUB-412", "CMN-408"…): a `disabledFilters` entry whose
    /// message names the [ReadAccounts] permission. The status stays
    /// Active, and the filter stays in `eventFilters`.
    pub fn disable_contact_center_filter(&self, id: &str, code: &str) {
        self.with(|s| {
            let sub = s.subscriptions.get_mut(id).expect("no such subscription");
            let disabled = disabled_contact_center_filter(&sub.event_filters, code);
            sub.disabled_filters.push(disabled);
        });
    }

    /// Every subscription created from now on comes back Active with its
    /// Contact Center filter disabled with `code`, as RingCentral does for
    /// an app without the event's permission.
    pub fn disable_filter_on_create(&self, code: &str) {
        self.with(|s| s.knobs.disable_on_create = Some(code.to_owned()));
    }

    /// The subscription loses its Contact Center filter: still Active, to the same address.
    pub fn drop_contact_center_filter(&self, id: &str) {
        self.with(|s| {
            let sub = s.subscriptions.get_mut(id).expect("no such subscription");
            sub.event_filters
                .retain(|f| !f.contains("usageType=ContactCenterNumber"));
        });
    }

    /// The next `times` creations are refused with `code` (before any
    /// handshake): its HTTP status and message from the spec's
    /// `x-error-codes` of createSubscription, an ErrorResponse body.
    /// `CMN-408` (not listed there) is 403 naming `ReadAccounts` in
    /// `permissionName`; `CMN-301` carries `Retry-After: 2`. `u32::MAX`: always.
    pub fn fail_creations(&self, code: &str, times: u32) {
        assert!(
            code == "CMN-408" || spec::error_code("createSubscription", code).is_some(),
            "{code} is not an error code of createSubscription"
        );
        self.with(|s| s.knobs.fail_creations = Some((code.to_owned(), times)));
    }

    /// At most `max` subscriptions in each account: a creation past it
    /// (the caller's account's subscriptions counted) gets 403 SUB-505.
    pub fn limit_subscriptions(&self, max: usize) {
        self.with(|s| s.knobs.max_subscriptions = Some(max));
    }

    /// The subscription list ends with one malformed record (or none again).
    pub fn malformed_record(&self, malformed: Option<Malformed>) {
        self.with(|s| s.knobs.malformed = malformed);
    }
}

impl Knobs {
    /// A forced refusal, or the limit, for a creation when there are `existing` subscriptions.
    pub(super) fn refusal(&mut self, existing: usize) -> Option<Answer> {
        if let Some((code, times)) = self.fail_creations.as_mut().filter(|(_, t)| *t > 0) {
            *times = times.saturating_sub(1);
            return Some(refusal(code));
        }
        match self.max_subscriptions {
            Some(max) if existing >= max => Some(refusal("SUB-505")),
            _ => None,
        }
    }
}

/// A refusal of a creation with `code`, as [`StandIn::fail_creations`] describes it.
pub(super) fn refusal(code: &str) -> Answer {
    if code == "CMN-408" {
        return missing_permission("ReadAccounts");
    }
    let (status, message) = spec::error_code("createSubscription", code).unwrap_or((400, String::new()));
    let mut a = answer(
        status,
        json!({"errorCode": code, "message": message, "errors": [{"errorCode": code, "message": message}]}),
    );
    if code == "CMN-301" {
        a.headers
            .push(("Retry-After".to_owned(), FORCED_RETRY_AFTER.to_string()));
    }
    a
}

impl Shape {
    /// Every combination of the knobs.
    pub fn every() -> Vec<Shape> {
        let mut shapes = vec![];
        for optional_absent in [false, true] {
            for extra_properties in [false, true] {
                for disabled_filter_code in [
                    DisabledFilterCode::Reason,
                    DisabledFilterCode::ErrorCode,
                    DisabledFilterCode::Both,
                ] {
                    for subscription_ids in [SubscriptionIds::Uuid, SubscriptionIds::Digits] {
                        shapes.push(Shape {
                            optional_absent,
                            extra_properties,
                            disabled_filter_code,
                            subscription_ids,
                        });
                    }
                }
            }
        }
        shapes
    }

    pub fn subscription(&self, sub: &Sub, mut value: Value) -> Value {
        if !sub.disabled_filters.is_empty() {
            let entries: Vec<Value> = sub
                .disabled_filters
                .iter()
                .map(|d| {
                    let mut entry = json!({"filter": d.filter, "message": d.message});
                    if self.disabled_filter_code != DisabledFilterCode::ErrorCode {
                        entry["reason"] = json!(d.code);
                    }
                    if self.disabled_filter_code != DisabledFilterCode::Reason {
                        entry["errorCode"] = json!(d.code);
                    }
                    entry
                })
                .collect();
            value["disabledFilters"] = json!(entries);
        }
        if self.optional_absent {
            strip(&mut value, &["uri", "creationTime", "expiresIn"]);
            strip(&mut value["deliveryMode"], &["transportType", "encryption"]);
        }
        if self.extra_properties {
            value["standinAddedLater"] = json!({"nested": [1, "two"]});
            value["deliveryMode"]["standinAddedLater"] = json!(true);
        }
        value
    }

    pub fn number(&self, mut record: Value) -> Value {
        if self.optional_absent {
            strip(
                &mut record,
                &[
                    "uri",
                    "location",
                    "label",
                    "paymentType",
                    "type",
                    "status",
                    "contactCenterProvider",
                ],
            );
        }
        if self.extra_properties {
            record["standinAddedLater"] = json!({"nested": true});
        }
        record
    }

    pub fn list(&self, mut list: Value) -> Value {
        if self.optional_absent {
            strip(&mut list, &["uri"]);
        }
        if self.extra_properties {
            list["standinAddedLater"] = json!("yes");
        }
        list
    }
}

fn strip(value: &mut Value, keys: &[&str]) {
    if let Some(map) = value.as_object_mut() {
        keys.iter().for_each(|k| {
            map.remove(*k);
        });
    }
}

/// The malformed record, made from a well-formed one.
pub fn malformed(kind: Malformed, mut record: Value) -> Value {
    match kind {
        Malformed::WithoutId => strip(&mut record, &["id"]),
        Malformed::IdAsNumber => record["id"] = json!(4_200_000_001_u64),
    }
    record
}
