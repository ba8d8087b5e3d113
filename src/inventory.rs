//! The inventory port: what subscribers were last told about each phone
//! number. The relay records every change that reached its topic and reads
//! it to drop redeliveries and flag stale ones; the reconciler compares it
//! with RingCentral's own list. It never moves backwards in time: a record
//! is written only over an older one (DBLog's rule: the newer wins).
//!
//! - [`dynamodb`]: the deployed table (`INVENTORY_TABLE`).
//! - [`memory`]: in memory, for the core's tests.
//! - `Option<I>`: `None` is no inventory at all, so the relay behaves as
//!   before it had one (the minimal deployment).
//!
//! The same table holds the lease ([`SubscriptionLease`]) that lets one run
//! at a time (the guardian's, the CLI's `heal`) create the RingCentral
//! subscription, under a key no phone number can have ([`LEASE_KEY`]).

pub mod dynamodb;
pub mod memory;

use crate::change::{Change, EventType, Origin, PhoneNumberId, Timestamp};
use serde::{Deserialize, Serialize};
use std::future::Future;
use time::OffsetDateTime;

/// The last change subscribers were told about one number, and who told them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Told {
    pub change: Change,
    pub origin: Origin,
}

impl Told {
    pub fn id(&self) -> &PhoneNumberId {
        &self.change.phone_number.id
    }

    pub fn deleted(&self) -> bool {
        self.change.change_type == EventType::Deleted
    }

    /// Counted as a Contact Center number: not deleted, and its usage type
    /// is `ContactCenterNumber` or absent (a number told as reassigned away
    /// is out of the set, so reconciliation does not report it again).
    pub fn is_contact_center(&self) -> bool {
        !self.deleted()
            && matches!(
                self.change.phone_number.usage_type.as_deref(),
                None | Some(CONTACT_CENTER_NUMBER)
            )
    }

    /// Strictly newer than `change`, by the instant it occurred.
    pub fn newer_than(&self, change: &Change) -> bool {
        self.change.occurred_at.instant() > change.occurred_at.instant()
    }

    /// `change` is a redelivery of what was told: the same notification, or
    /// (two subscriptions deliver during a token rotation, each with its own
    /// uuid) the same state of the number at the same instant.
    pub fn already_told(&self, change: &Change) -> bool {
        self.change.notification_id == change.notification_id
            || (self.change.occurred_at.instant() == change.occurred_at.instant() && self.change.same_state(change))
    }
}

pub const CONTACT_CENTER_NUMBER: &str = "ContactCenterNumber";

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Written,
    /// The inventory holds a state as new or newer; it was kept.
    KeptNewer,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inventory {operation} failed: {detail}")]
pub struct InventoryError {
    pub operation: &'static str,
    pub detail: String,
}

pub trait Inventory: Sync {
    fn last_told(&self, id: &PhoneNumberId) -> impl Future<Output = Result<Option<Told>, InventoryError>> + Send;

    /// Writes `told` unless the inventory holds a state that occurred at the
    /// same instant or later.
    fn record(&self, told: &Told) -> impl Future<Output = Result<Recorded, InventoryError>> + Send;

    /// Every record: the reconciler's side of the comparison.
    fn all(&self) -> impl Future<Output = Result<Vec<Told>, InventoryError>> + Send;

    /// When the baseline was taken, if it was: before it, RingCentral's
    /// numbers are the starting state, not missed changes.
    fn baseline(&self) -> impl Future<Output = Result<Option<Timestamp>, InventoryError>> + Send;

    fn mark_baseline(&self, at: &Timestamp) -> impl Future<Output = Result<(), InventoryError>> + Send;
}

/// The lease's item key. Phone number ids are 1 to 128 *visible* ASCII
/// characters (`cc-number-change`'s `PhoneNumberId`); this key holds a
/// space, so no number's item can ever be it, and the relay's reads and
/// conditional writes, which are all by a number's id, never touch it.
pub const LEASE_KEY: &str = "#lease subscription";

/// The reconciliation lease's item key (a space too, as [`LEASE_KEY`]): one
/// reconciliation at a time publishes corrections, so the guardian's run
/// that healed and the reconcile schedule firing in the same minute do not
/// both publish the same ones.
pub const RECONCILE_LEASE_KEY: &str = "#lease reconcile";

/// What taking the lease came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseTaken {
    /// This run holds it, until the time it asked for or its release.
    Taken,
    /// Another run holds it (`holder`) until `until`: that run is creating
    /// the subscription.
    Held { holder: String, until: OffsetDateTime },
    /// No inventory, so no lease: nothing keeps two runs from creating a
    /// subscription each at the same moment (the guardian deletes the
    /// extra one on its next run, see `Finding::Duplicate`).
    Unguarded,
}

/// One run's handle on the lease that lets only one run at a time create
/// the RingCentral subscription: a conditional write, so two runs that find
/// no subscription at the same moment do not both create one. It expires,
/// so a run that crashed holding it frees it by itself.
pub trait SubscriptionLease: Sync {
    /// Takes the lease until `until`, unless another holder's has not
    /// expired at `now`.
    fn take(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<LeaseTaken, InventoryError>> + Send;

    /// Gives it back, if this run still holds it (it may have expired and
    /// been taken by another since).
    fn release(&self) -> impl Future<Output = Result<(), InventoryError>> + Send;
}

/// No inventory: no lease, nothing to give back.
impl<L: SubscriptionLease> SubscriptionLease for Option<L> {
    async fn take(&self, now: OffsetDateTime, until: OffsetDateTime) -> Result<LeaseTaken, InventoryError> {
        match self {
            Some(lease) => lease.take(now, until).await,
            None => Ok(LeaseTaken::Unguarded),
        }
    }
    async fn release(&self) -> Result<(), InventoryError> {
        match self {
            Some(lease) => lease.release().await,
            None => Ok(()),
        }
    }
}

/// No inventory: nothing is known, nothing is kept.
impl<I: Inventory> Inventory for Option<I> {
    async fn last_told(&self, id: &PhoneNumberId) -> Result<Option<Told>, InventoryError> {
        match self {
            Some(inventory) => inventory.last_told(id).await,
            None => Ok(None),
        }
    }
    async fn record(&self, told: &Told) -> Result<Recorded, InventoryError> {
        match self {
            Some(inventory) => inventory.record(told).await,
            None => Ok(Recorded::Written),
        }
    }
    async fn all(&self) -> Result<Vec<Told>, InventoryError> {
        match self {
            Some(inventory) => inventory.all().await,
            None => Ok(Vec::new()),
        }
    }
    async fn baseline(&self) -> Result<Option<Timestamp>, InventoryError> {
        match self {
            Some(inventory) => inventory.baseline().await,
            None => Ok(None),
        }
    }
    async fn mark_baseline(&self, at: &Timestamp) -> Result<(), InventoryError> {
        match self {
            Some(inventory) => inventory.mark_baseline(at).await,
            None => Ok(()),
        }
    }
}

/// Reads pass through; writes are dropped (dry runs).
pub struct ReadOnly<I>(pub I);

impl<I: Inventory> Inventory for ReadOnly<I> {
    fn last_told(&self, id: &PhoneNumberId) -> impl Future<Output = Result<Option<Told>, InventoryError>> + Send {
        self.0.last_told(id)
    }
    async fn record(&self, _told: &Told) -> Result<Recorded, InventoryError> {
        Ok(Recorded::Written)
    }
    fn all(&self) -> impl Future<Output = Result<Vec<Told>, InventoryError>> + Send {
        self.0.all()
    }
    fn baseline(&self) -> impl Future<Output = Result<Option<Timestamp>, InventoryError>> + Send {
        self.0.baseline()
    }
    async fn mark_baseline(&self, _at: &Timestamp) -> Result<(), InventoryError> {
        Ok(())
    }
}

impl<I: Inventory> Inventory for &I {
    fn last_told(&self, id: &PhoneNumberId) -> impl Future<Output = Result<Option<Told>, InventoryError>> + Send {
        (**self).last_told(id)
    }
    fn record(&self, told: &Told) -> impl Future<Output = Result<Recorded, InventoryError>> + Send {
        (**self).record(told)
    }
    fn all(&self) -> impl Future<Output = Result<Vec<Told>, InventoryError>> + Send {
        (**self).all()
    }
    fn baseline(&self) -> impl Future<Output = Result<Option<Timestamp>, InventoryError>> + Send {
        (**self).baseline()
    }
    fn mark_baseline(&self, at: &Timestamp) -> impl Future<Output = Result<(), InventoryError>> + Send {
        (**self).mark_baseline(at)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_phone_number_id_can_be_the_lease_key() {
        use crate::change::PhoneNumberId;
        assert!(PhoneNumberId::parse(super::LEASE_KEY).is_err());
        assert!(PhoneNumberId::parse(super::RECONCILE_LEASE_KEY).is_err());
        assert!(
            PhoneNumberId::parse(super::LEASE_KEY.replace(' ', "#")).is_ok(),
            "the space is what does it"
        );
    }
}
