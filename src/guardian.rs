//! Keeping the RingCentral subscription alive, and one of it. A relay can be
//! perfect and still receive nothing: RingCentral blacklists a subscription
//! after failed deliveries, and a subscription expires. `health` finds that;
//! `heal` recreates a dead or missing subscription to the same address
//! (then deletes the dead one) under a lease, so that runs at the same
//! moment create one between them, deletes all but the newest of several
//! Active ones outside a rotation, and renews what expires soon, over the
//! [`SubscriptionApi`](crate::ringcentral::SubscriptionApi) and
//! [`SubscriptionLease`](crate::inventory::SubscriptionLease) ports. The
//! operator CLI runs them one by one; the scheduled guardian Lambda
//! (`runtime::guardian`) runs them all and publishes every finding to the
//! alarm topic, with metrics.

pub mod fanout;
mod heal;
mod health;

pub use crate::finding::{human_duration, Finding};
pub use heal::{check_heal_renew, heal, inspect, renew_expiring, retire_duplicates, retry_disabled, Report};
pub use health::{assess, Assessed, Duplicates, Inspection, State};

use std::time::Duration;

/// Renew what expires within three days: a subscription that someone
/// created with the 7-day default is then renewed every four days, not on
/// every run.
pub const DEFAULT_RENEW_WITHIN: Duration = Duration::from_secs(3 * 86_400);

/// How long a run holds the lease to create the subscription, at most: a
/// crashed run's lease frees itself after this. The guardian's Lambda
/// timeout (300 s) ends its run by then, and the CLI's rate-limit budget
/// (180 s) plus a handshake (3 s) fit in it.
pub const LEASE_DURATION: Duration = Duration::from_secs(300);

/// What the guardian may wait on RingCentral's rate limits in one run; its
/// Lambda timeout (180 s) leaves room for this and the calls themselves.
pub const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(60);
