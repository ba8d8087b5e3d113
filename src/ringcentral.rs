//! RingCentral's REST API, as far as the operator CLI and the guardian need
//! it: the JWT grant and the subscription resource (create, list, renew,
//! delete), with clear errors for bad credentials, missing permissions and
//! rate limiting.
//!
//! Blocking HTTP (ureq) on the AWS SDK's own TLS stack: rustls with the
//! aws-lc-rs provider, handed to ureq explicitly, and the system's root
//! certificates. Nothing here runs on the webhook path: the relay never
//! waits on RingCentral's API.

mod client;
mod credentials;
mod error;
mod secret;
mod subscription;

pub use client::{Client, Sleep, Wait};
pub use credentials::{
    Credentials, CredentialsError, Secret, ServerUrl, CLIENT_ID_VAR, CLIENT_SECRET_VAR, DEFAULT_SERVER_URL, JWT_VAR,
    SERVER_URL_VAR,
};
pub use error::RingCentralError;
pub use secret::{read_secret, verification_token, verification_token_from_secret, SecretError, TokenError};
pub use subscription::{
    new_subscription_body, BlacklistedData, DeliveryMode, Subscription, CONTACT_CENTER_NUMBER_FILTER, MAX_EXPIRES_IN,
    RENEWAL_REMINDER_FILTER,
};
