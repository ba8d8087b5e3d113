//! RingCentral's wire format, and the one step that turns it into a [`Change`].

mod claim;
mod error;
mod event_filter;
mod identity;
mod wire;

pub use claim::{claimed_account, ClaimedAccount};
pub use error::DecodeError;
pub use event_filter::EventFilter;
pub use identity::Identity;

use crate::change::types::Invalid;
use crate::change::{
    AccountId, Change, ContactCenterProvider, EventType, NotificationId, NumberState, PhoneNumber, PhoneNumberId,
    SchemaVersion, Timestamp, E164,
};
use wire::{WireBody, WireEnvelope};

/// What an authenticated request body turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Change(Box<Change>),
    RenewalReminder { subscription_id: Option<String> },
}

/// Decodes a notification body and normalizes it.
pub fn decode(bytes: &[u8]) -> Result<Inbound, DecodeError> {
    let envelope: WireEnvelope<'_> = wire::parse(bytes, "$")?;
    let filter = EventFilter::parse(&envelope.event)?;
    let notification_id = NotificationId::parse(envelope.uuid).map_err(invalid_field("$.uuid"))?;
    let occurred_at = Timestamp::parse(envelope.timestamp).map_err(|e| DecodeError::InvalidTimestamp {
        path: "$.timestamp",
        problem: e.0,
    })?;
    let path_account = match filter {
        EventFilter::RenewalReminder => {
            return Ok(Inbound::RenewalReminder {
                subscription_id: envelope.subscription_id,
            })
        }
        EventFilter::ContactCenterNumbers { account_id } => account_id,
    };
    let body: WireBody = wire::parse(envelope.body.get().as_bytes(), "$.body")?;
    let change_type = EventType::parse(&body.event_type).map_err(|e| DecodeError::UnknownEventType {
        path: "$.body.eventType",
        problem: e.0,
    })?;
    let info = body.phone_number_info.0;
    let account_id = reconcile_account(path_account, info.uri.as_deref())?;
    let number = normalize(info, "$.body.phoneNumberInfo.phoneNumber", "$.body.phoneNumberInfo.id")?;
    Ok(Inbound::Change(Box::new(Change {
        schema_version: SchemaVersion,
        change_type,
        notification_id,
        occurred_at,
        account_id,
        subscription_id: envelope.subscription_id,
        owner_id: envelope.owner_id.map(|o| o.0),
        phone_number: number.phone_number,
        contact_center_provider: number.contact_center_provider,
    })))
}

/// One record of RingCentral's phone-number API (`GET …/phone-number`, ids
/// as int64 there), normalized exactly as a webhook's `phoneNumberInfo`, so
/// the two compare field by field.
pub fn decode_number(bytes: &[u8]) -> Result<NumberState, DecodeError> {
    let info: wire::WirePhoneNumberInfo = wire::parse(bytes, "$")?;
    normalize(info, "$.phoneNumber", "$.id")
}

fn normalize(
    info: wire::WirePhoneNumberInfo,
    e164_path: &'static str,
    id_path: &'static str,
) -> Result<NumberState, DecodeError> {
    let account_id = info.uri.as_deref().and_then(event_filter::account_in_uri);
    let e164 = E164::parse(info.phone_number).map_err(|e| DecodeError::InvalidPhoneNumber {
        path: e164_path,
        problem: e.0,
    })?;
    let id = PhoneNumberId::parse(info.id.0).map_err(invalid_field(id_path))?;
    Ok(NumberState {
        account_id,
        phone_number: PhoneNumber {
            id,
            e164,
            uri: info.uri,
            payment_type: info.payment_type,
            location: info.location,
            kind: info.kind,
            usage_type: info.usage_type,
            status: info.status,
        },
        contact_center_provider: info
            .contact_center_provider
            .map(|wire::Object(p)| ContactCenterProvider {
                id: p.id.map(|i| i.0),
                name: p.name,
            }),
    })
}

fn invalid_field(path: &'static str) -> impl Fn(Invalid) -> DecodeError {
    move |e| DecodeError::InvalidField {
        path: path.to_owned(),
        problem: e.0.to_owned(),
    }
}

/// The event path wins when it names a real account; the resource uri is the
/// fallback because RingCentral's own example leaves `{accountId}` unexpanded.
fn reconcile_account(from_event: Option<AccountId>, uri: Option<&str>) -> Result<Option<AccountId>, DecodeError> {
    let from_uri = uri.and_then(event_filter::account_in_uri);
    match (from_event, from_uri) {
        (Some(a), Some(b)) if a != b => Err(DecodeError::AccountMismatch),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}
