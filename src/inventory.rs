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
//!
//! One stack serves many RingCentral accounts, all in one table: items stay
//! keyed by number id (RingCentral's ids are unique across the platform, so
//! the webhook path reads and writes by id whatever the account), each
//! carrying the account it was told for. A [`Scope`] is one account's view:
//! its items, its baseline, its leases.

pub mod dynamodb;
pub mod memory;

use crate::change::{AccountId, Change, EventType, Origin, PhoneNumberId, Timestamp};
use crate::registry::Tenant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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

/// One account's view of the inventory: which items are its own, and the
/// keys of its baseline and leases. The default account's keys are those of
/// every stack deployed before there were many accounts; a registered
/// account's add its id after a space, which no number id can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    tenant: Tenant,
    /// Only for the default account: the registered accounts, whose items
    /// are theirs and not the default account's.
    registered: BTreeSet<AccountId>,
}

/// The default account with nothing registered: the whole table, as before
/// there were many accounts.
pub static WHOLE_TABLE: Scope = Scope {
    tenant: Tenant::Default,
    registered: BTreeSet::new(),
};

impl Scope {
    /// `registered`: every registered account, which a default-account view
    /// leaves out; a registered account's view does not need it.
    pub fn new(tenant: Tenant, registered: BTreeSet<AccountId>) -> Self {
        let registered = match tenant {
            Tenant::Default => registered,
            Tenant::Registered(_) => BTreeSet::new(),
        };
        Self { tenant, registered }
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// Whether `told` is this account's: told with its id for a registered
    /// account; for the default account, told with no account id (items
    /// written before changes carried one) or with one no registered account has.
    pub fn holds(&self, told: &Told) -> bool {
        let told_for = told.change.account_id.as_ref();
        match &self.tenant {
            Tenant::Registered(account) => told_for == Some(account),
            Tenant::Default => told_for.is_none_or(|a| !self.registered.contains(a)),
        }
    }

    pub fn lease_key(&self) -> String {
        self.key(LEASE_KEY)
    }

    pub fn reconcile_lease_key(&self) -> String {
        self.key(RECONCILE_LEASE_KEY)
    }

    pub fn baseline_key(&self) -> String {
        self.key(BASELINE_KEY)
    }

    fn key(&self, default: &str) -> String {
        match &self.tenant {
            Tenant::Default => default.to_owned(),
            Tenant::Registered(account) => format!("{default} {account}"),
        }
    }
}

/// Whether an item's key is no number's: a baseline or a lease, of any
/// account. Every such key but the default account's `#baseline` holds a
/// space, which no number id can; `#baseline` relies on RingCentral's ids
/// being digits.
pub fn is_bookkeeping(key: &str) -> bool {
    key == BASELINE_KEY || key.contains(' ')
}

pub trait Inventory: Sync {
    /// Whose items [`Inventory::all`] gives, whose baseline it keeps.
    fn scope(&self) -> &Scope {
        &WHOLE_TABLE
    }

    /// The last change told about a number, for whichever account it was
    /// told: ids are unique across RingCentral.
    fn last_told(&self, id: &PhoneNumberId) -> impl Future<Output = Result<Option<Told>, InventoryError>> + Send;

    /// Writes `told` unless the inventory holds a state that occurred at the
    /// same instant or later.
    fn record(&self, told: &Told) -> impl Future<Output = Result<Recorded, InventoryError>> + Send;

    /// Every record of the scope's account: the reconciler's side of the comparison.
    fn all(&self) -> impl Future<Output = Result<Vec<Told>, InventoryError>> + Send;

    /// When the baseline was taken, if it was: before it, RingCentral's
    /// numbers are the starting state, not missed changes.
    fn baseline(&self) -> impl Future<Output = Result<Option<Timestamp>, InventoryError>> + Send;

    fn mark_baseline(&self, at: &Timestamp) -> impl Future<Output = Result<(), InventoryError>> + Send;
}

/// The default account's baseline item key (a registered account's adds
/// its id after a space).
pub const BASELINE_KEY: &str = "#baseline";

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
    fn scope(&self) -> &Scope {
        self.as_ref().map_or(&WHOLE_TABLE, Inventory::scope)
    }
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
    fn scope(&self) -> &Scope {
        self.0.scope()
    }
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
    fn scope(&self) -> &Scope {
        (**self).scope()
    }
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
    use super::*;
    use crate::change::PhoneNumberId;

    #[test]
    fn no_phone_number_id_can_be_the_lease_key() {
        assert!(PhoneNumberId::parse(LEASE_KEY).is_err());
        assert!(PhoneNumberId::parse(RECONCILE_LEASE_KEY).is_err());
        assert!(
            PhoneNumberId::parse(LEASE_KEY.replace(' ', "#")).is_ok(),
            "the space is what does it"
        );
    }

    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    fn registered(id: &str) -> Scope {
        Scope::new(Tenant::Registered(account(id)), BTreeSet::new())
    }

    #[test]
    fn the_default_accounts_keys_are_todays_and_a_registered_accounts_add_its_id() {
        let default = Scope::new(Tenant::Default, BTreeSet::from([account("222")]));
        assert_eq!(
            [
                default.lease_key(),
                default.reconcile_lease_key(),
                default.baseline_key()
            ],
            ["#lease subscription", "#lease reconcile", "#baseline"]
        );
        let a = registered("111");
        assert_eq!(
            [a.lease_key(), a.reconcile_lease_key(), a.baseline_key()],
            ["#lease subscription 111", "#lease reconcile 111", "#baseline 111"]
        );
        for key in [a.lease_key(), a.reconcile_lease_key(), a.baseline_key()] {
            assert!(PhoneNumberId::parse(&key).is_err(), "{key} could be a number's");
            assert!(is_bookkeeping(&key), "{key}");
        }
        assert!(is_bookkeeping("#baseline") && is_bookkeeping("#lease subscription"));
        assert!(!is_bookkeeping("123456") && !is_bookkeeping("#baseline2"));
    }

    fn told_for(account_id: Option<&str>) -> Told {
        let body = include_str!("../events/bodies/created.json");
        let Ok(crate::notification::Inbound::Change(change)) = crate::notification::decode(body.as_bytes()) else {
            panic!("the sample event decodes")
        };
        let mut change = *change;
        change.account_id = account_id.map(account);
        Told {
            change,
            origin: Origin::Webhook,
        }
    }

    #[test]
    fn an_item_is_its_registered_accounts_or_else_the_default_accounts() {
        let default = Scope::new(Tenant::Default, BTreeSet::from([account("111"), account("222")]));
        let (a, b) = (registered("111"), registered("222"));
        // told for: no account (written before changes carried one), the
        // default account's own id, registered 111, registered 222.
        let holds = |scope: &Scope| [None, Some("999"), Some("111"), Some("222")].map(|id| scope.holds(&told_for(id)));
        assert_eq!(holds(&default), [true, true, false, false]);
        assert_eq!(holds(&a), [false, false, true, false]);
        assert_eq!(holds(&b), [false, false, false, true]);
        assert_eq!(holds(&WHOLE_TABLE), [true; 4], "nothing registered: the whole table");
    }

    #[test]
    fn a_registered_accounts_scope_ignores_the_registered_set() {
        let with = Scope::new(Tenant::Registered(account("111")), BTreeSet::from([account("111")]));
        assert_eq!(with, registered("111"));
        assert!(with.holds(&told_for(Some("111"))));
    }
}
