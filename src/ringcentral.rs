//! The RingCentral port: the subscription API as the guardian's core uses
//! it ([`SubscriptionApi`]), and beside it the HTTP adapter ([`Client`]):
//! the JWT grant and the subscription resource (create, list, renew,
//! delete), with clear errors for bad credentials, missing permissions and
//! rate limiting; plus reading credentials from Secrets Manager.
//!
//! Blocking HTTP (ureq) on the AWS SDK's own TLS stack: rustls with the
//! aws-lc-rs provider, handed to ureq explicitly, and the system's root
//! certificates. Nothing here runs on the webhook path: the relay never
//! waits on RingCentral's API.

mod account;
mod app_subscriptions;
mod client;
mod credentials;
mod error;
mod phone_numbers;
mod secret;
mod subscription;

pub use account::{account_filters, account_number_filter, new_account_subscription_body, SignsIn};
pub use app_subscriptions::{listing, short_filter, Listed};
pub use client::{Client, Sleep, Wait};
pub use credentials::{
    AppCredentials, Credentials, CredentialsError, Secret, ServerUrl, CLIENT_ID_VAR, CLIENT_SECRET_VAR,
    DEFAULT_SERVER_URL, JWT_VAR, SERVER_URL_VAR,
};
pub use error::{explanation, Explanation, Outcome, RingCentralError, EXPLANATIONS};
pub use phone_numbers::{PhoneNumbers, HEAVY_PAGE_INTERVAL};
pub use secret::{read_secret, verification_token, SecretError, TokenError};
pub use subscription::{
    new_subscription_body, BlacklistedData, ContactCenterFilter, DeliveryMode, DisabledFilter, Subscription,
    SubscriptionStatus, CONTACT_CENTER_NUMBER_FILTER, MAX_EXPIRES_IN, RENEWAL_REMINDER_FILTER,
};

use crate::change::{NumberState, PhoneNumberId};
use crate::notification::DecodeError;
use crate::token::VerificationToken;

/// RingCentral's list of the account's Contact Center numbers: the truth a
/// reconciliation compares with.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub numbers: Vec<NumberState>,
    /// Records that did not decode, by their raw id (or position): their
    /// state is unknown, so nothing is concluded about them.
    pub unreadable: Vec<(String, DecodeError)>,
    /// Pages read.
    pub pages: u32,
}

/// What the reconciler needs of RingCentral's phone-number resource.
pub trait PhoneNumbersApi {
    /// Every Contact Center number, page by page; `on_page(page, numbers so far)`.
    fn contact_center_numbers(&self, on_page: &mut dyn FnMut(u32, usize)) -> Result<Listing, RingCentralError>;

    /// One number as it is now; `None` when RingCentral no longer has it.
    fn number(&self, id: &PhoneNumberId) -> Result<Option<NumberState>, RingCentralError>;
}

/// What the guardian needs of RingCentral's subscription resource. Blocking:
/// the guardian runs it on tokio's blocking pool, the CLI directly.
pub trait SubscriptionApi {
    /// This app's subscriptions that deliver to `address`.
    fn subscriptions_to(&self, address: &str) -> Result<Vec<Subscription>, RingCentralError>;

    /// Creates the relay's subscription. RingCentral first sends its
    /// validation request to `address`.
    fn create_subscription(
        &self,
        address: &str,
        verification_token: &VerificationToken,
        expires_in: u32,
    ) -> Result<Subscription, RingCentralError>;

    /// Puts the relay's event filters back on a subscription whose
    /// `eventFilters` lost the Contact Center one, and sets its lifetime.
    fn restore_filters(&self, id: &str, expires_in: u32) -> Result<Subscription, RingCentralError>;

    /// Extends the subscription by its own `expiresIn`.
    fn renew_subscription(&self, id: &str) -> Result<Subscription, RingCentralError>;

    fn delete_subscription(&self, id: &str) -> Result<(), RingCentralError>;
}
