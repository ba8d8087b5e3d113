//! The change event cc-number-relay publishes for each RingCentral Contact
//! Center phone-number notification, shared by the relay (which writes it)
//! and its subscribers (which read it), so the two cannot drift.
//!
//! # Where everything lives
//! Always (serde, serde_json, time, thiserror and nothing else):
//! - [`change`]: the v1 [`Change`], its [`Origin`] and [`Delivery`], the JSON Schema;
//! - [`types`]: the newtypes that carry the rules ([`E164`], [`AccountId`], ...);
//! - [`attributes`]: the SNS message attributes subscribers filter on;
//! - [`decode()`]: bytes → [`Change`], forward compatible within v1;
//! - [`ledger`]: applied once, in order, per number: the [`Ledger`] port,
//!   its precedence rule and [`MemoryLedger`].
//!
//! Feature `lambda` (aws_lambda_events): [`receive`] (raw SQS, SNS-enveloped
//! SQS, SNS records), [`Subscriber`] (batches, partial failures, metrics),
//! [`metrics`] (EMF). Feature `dynamodb`: [`DynamoDbLedger`], one
//! conditional write per change. Feature `vectors`: [`vectors`], the
//! precedence vectors every ledger must pass, and their runner; with
//! `lambda` too, [`messages`]: the golden messages (every message the relay
//! publishes, as each kind of subscriber receives it) and their runner.

pub mod attributes;
pub mod change;
mod decode;
pub mod ledger;
pub mod types;

#[cfg(feature = "lambda")]
mod batch;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(all(feature = "lambda", any(test, feature = "vectors")))]
pub mod messages;
#[cfg(feature = "lambda")]
pub mod metrics;
#[cfg(feature = "lambda")]
pub mod receive;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(any(test, feature = "vectors"))]
pub mod vectors;

pub use change::{
    escape_non_characters, Change, ContactCenterProvider, Delivery, Origin, PhoneNumber, SchemaVersion,
    CONTACT_CENTER_USAGE, SCHEMA, SCHEMA_VERSION,
};
pub use decode::{decode, DecodeError};
pub use ledger::{apply, Entry, Ledger, LedgerError, MemoryLedger, Verdict};
pub use types::{AccountId, EventType, Invalid, NotificationId, PhoneNumberId, Timestamp, E164};

#[cfg(feature = "lambda")]
pub use aws_lambda_events;
#[cfg(feature = "lambda")]
pub use batch::{Failure, SnsFailures, Subscriber};
#[cfg(feature = "dynamodb")]
pub use dynamodb::DynamoDbLedger;
