//! The normalized, versioned change event that subscribers receive. The
//! event itself lives in the `cc-number-change` crate, which subscribers
//! depend on too; what only the relay needs (the state RingCentral reports
//! for a number) lives here.

pub use cc_number_change::types;
pub use cc_number_change::{
    escape_non_characters, AccountId, Change, ContactCenterProvider, Delivery, EventType, NotificationId, Origin,
    PhoneNumber, PhoneNumberId, SchemaVersion, Timestamp, E164, SCHEMA, SCHEMA_VERSION,
};

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
