//! The inventory in memory, with the same never-backwards rule as the table;
//! it can be made to fail, for the core's tests of a failing inventory.
//! It holds the leases and baselines too, with the table's rules and keys.
//!
//! One store, as the table is one: [`MemoryInventory`] itself is the whole
//! store seen as the default account with nothing registered (the stack
//! before there were many accounts), and [`MemoryInventory::view`] is one
//! account's view of it, as `DynamoInventory::for_tenant` is.

use super::{Inventory, InventoryError, LeaseTaken, Recorded, Scope, SubscriptionLease, Told, WHOLE_TABLE};
use crate::change::{PhoneNumberId, Timestamp};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use time::OffsetDateTime;

#[derive(Debug, Default)]
pub struct MemoryInventory {
    records: Mutex<BTreeMap<String, Told>>,
    /// By the baseline item's key, one per account.
    baselines: Mutex<BTreeMap<String, Timestamp>>,
    /// By the lease item's key: its holder and until when.
    leases: Mutex<BTreeMap<String, (String, OffsetDateTime)>>,
    failing: bool,
}

/// One account's view of a [`MemoryInventory`].
#[derive(Debug)]
pub struct MemoryView<'a> {
    store: &'a MemoryInventory,
    scope: Scope,
}

/// One run's handle on a lease in a [`MemoryInventory`].
#[derive(Debug)]
pub struct MemoryLease<'a> {
    inventory: &'a MemoryInventory,
    key: String,
    holder: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryInventory {
    /// Every call fails, as a table that is down or throttled.
    pub fn failing() -> Self {
        Self {
            failing: true,
            ..Self::default()
        }
    }

    pub fn get(&self, id: &str) -> Option<Told> {
        lock(&self.records).get(id).cloned()
    }

    /// One account's items, baseline and leases.
    pub fn view(&self, scope: Scope) -> MemoryView<'_> {
        MemoryView { store: self, scope }
    }

    /// The default account's subscription lease, as `holder` takes and releases it.
    pub fn lease(&self, holder: &str) -> MemoryLease<'_> {
        self.lease_at(WHOLE_TABLE.lease_key(), holder)
    }

    /// Who holds the default account's subscription lease, until when (expired or not).
    pub fn lease_holder(&self) -> Option<(String, OffsetDateTime)> {
        self.holder_at(&WHOLE_TABLE.lease_key())
    }

    fn lease_at(&self, key: String, holder: &str) -> MemoryLease<'_> {
        MemoryLease {
            inventory: self,
            key,
            holder: holder.to_owned(),
        }
    }

    fn holder_at(&self, key: &str) -> Option<(String, OffsetDateTime)> {
        lock(&self.leases).get(key).cloned()
    }

    fn check(&self, operation: &'static str) -> Result<(), InventoryError> {
        if self.failing {
            return Err(InventoryError {
                operation,
                detail: "ProvisionedThroughputExceededException".into(),
            });
        }
        Ok(())
    }

    async fn all_of(&self, scope: &Scope) -> Result<Vec<Told>, InventoryError> {
        self.check("scan")?;
        Ok(lock(&self.records)
            .values()
            .filter(|t| scope.holds(t))
            .cloned()
            .collect())
    }

    async fn baseline_of(&self, scope: &Scope) -> Result<Option<Timestamp>, InventoryError> {
        self.check("read baseline")?;
        Ok(lock(&self.baselines).get(&scope.baseline_key()).cloned())
    }

    async fn mark_baseline_of(&self, scope: &Scope, at: &Timestamp) -> Result<(), InventoryError> {
        self.check("mark baseline")?;
        lock(&self.baselines)
            .entry(scope.baseline_key())
            .or_insert_with(|| at.clone());
        Ok(())
    }
}

impl<'a> MemoryView<'a> {
    /// This account's subscription lease.
    pub fn lease(&self, holder: &str) -> MemoryLease<'a> {
        self.store.lease_at(self.scope.lease_key(), holder)
    }

    /// This account's reconciliation lease.
    pub fn reconcile_lease(&self, holder: &str) -> MemoryLease<'a> {
        self.store.lease_at(self.scope.reconcile_lease_key(), holder)
    }

    /// Who holds this account's subscription lease, until when.
    pub fn lease_holder(&self) -> Option<(String, OffsetDateTime)> {
        self.store.holder_at(&self.scope.lease_key())
    }
}

impl Inventory for MemoryInventory {
    async fn last_told(&self, id: &PhoneNumberId) -> Result<Option<Told>, InventoryError> {
        self.check("read")?;
        Ok(self.get(id.as_str()))
    }

    async fn record(&self, told: &Told) -> Result<Recorded, InventoryError> {
        self.check("write")?;
        let mut records = lock(&self.records);
        let held = records.get(told.id().as_str());
        if held.is_some_and(|held| held.change.occurred_at.instant() >= told.change.occurred_at.instant()) {
            return Ok(Recorded::KeptNewer);
        }
        records.insert(told.id().as_str().to_owned(), told.clone());
        Ok(Recorded::Written)
    }

    async fn all(&self) -> Result<Vec<Told>, InventoryError> {
        self.all_of(&WHOLE_TABLE).await
    }

    async fn baseline(&self) -> Result<Option<Timestamp>, InventoryError> {
        self.baseline_of(&WHOLE_TABLE).await
    }

    async fn mark_baseline(&self, at: &Timestamp) -> Result<(), InventoryError> {
        self.mark_baseline_of(&WHOLE_TABLE, at).await
    }
}

/// By number id as the store is; the rest is the view's account's.
impl Inventory for MemoryView<'_> {
    fn scope(&self) -> &Scope {
        &self.scope
    }

    async fn last_told(&self, id: &PhoneNumberId) -> Result<Option<Told>, InventoryError> {
        self.store.last_told(id).await
    }

    async fn record(&self, told: &Told) -> Result<Recorded, InventoryError> {
        self.store.record(told).await
    }

    async fn all(&self) -> Result<Vec<Told>, InventoryError> {
        self.store.all_of(&self.scope).await
    }

    async fn baseline(&self) -> Result<Option<Timestamp>, InventoryError> {
        self.store.baseline_of(&self.scope).await
    }

    async fn mark_baseline(&self, at: &Timestamp) -> Result<(), InventoryError> {
        self.store.mark_baseline_of(&self.scope, at).await
    }
}

impl SubscriptionLease for MemoryLease<'_> {
    async fn take(&self, now: OffsetDateTime, until: OffsetDateTime) -> Result<LeaseTaken, InventoryError> {
        self.inventory.check("take lease")?;
        let mut leases = lock(&self.inventory.leases);
        match leases.get(&self.key) {
            Some((holder, held_until)) if *held_until >= now => Ok(LeaseTaken::Held {
                holder: holder.clone(),
                until: *held_until,
            }),
            _ => {
                leases.insert(self.key.clone(), (self.holder.clone(), until));
                Ok(LeaseTaken::Taken)
            }
        }
    }

    async fn release(&self) -> Result<(), InventoryError> {
        self.inventory.check("release lease")?;
        let mut leases = lock(&self.inventory.leases);
        if let Some((holder, until)) = leases.get_mut(&self.key) {
            if *holder == self.holder {
                *until = OffsetDateTime::UNIX_EPOCH;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{AccountId, Origin};
    use crate::registry::Tenant;
    use std::collections::BTreeSet;

    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    fn registered(id: &str) -> Scope {
        Scope::new(Tenant::Registered(account(id)), BTreeSet::new())
    }

    /// Number `id` told for `account_id`.
    fn told(id: &str, account_id: Option<&str>) -> Told {
        let body = include_str!("../../events/bodies/created.json").replace("987654321", id);
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

    fn ids(all: Vec<Told>) -> Vec<String> {
        all.iter().map(|t| t.id().to_string()).collect()
    }

    #[tokio::test]
    async fn each_view_holds_its_accounts_numbers_and_reads_any_by_id() {
        let store = MemoryInventory::default();
        for (id, account) in [("1", None), ("2", Some("999")), ("3", Some("111")), ("4", Some("222"))] {
            store.record(&told(id, account)).await.unwrap();
        }
        let default = store.view(Scope::new(
            Tenant::Default,
            BTreeSet::from([account("111"), account("222")]),
        ));
        let (a, b) = (store.view(registered("111")), store.view(registered("222")));
        assert_eq!(ids(default.all().await.unwrap()), ["1", "2"]);
        assert_eq!(ids(a.all().await.unwrap()), ["3"]);
        assert_eq!(ids(b.all().await.unwrap()), ["4"]);
        assert_eq!(
            ids(store.all().await.unwrap()),
            ["1", "2", "3", "4"],
            "nothing registered"
        );
        let four = PhoneNumberId::parse("4").unwrap();
        assert_eq!(a.last_told(&four).await.unwrap(), Some(told("4", Some("222"))));
    }

    #[tokio::test]
    async fn each_account_takes_its_own_baseline() {
        let store = MemoryInventory::default();
        let (a, b) = (store.view(registered("111")), store.view(registered("222")));
        let (first, later) = (
            Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap(),
            Timestamp::parse("2026-02-01T00:00:00.000Z").unwrap(),
        );
        a.mark_baseline(&first).await.unwrap();
        assert_eq!(a.baseline().await.unwrap(), Some(first.clone()));
        assert_eq!(b.baseline().await.unwrap(), None);
        assert_eq!(
            store.baseline().await.unwrap(),
            None,
            "the default account's is its own"
        );
        store.mark_baseline(&later).await.unwrap();
        a.mark_baseline(&later).await.unwrap();
        assert_eq!(a.baseline().await.unwrap(), Some(first), "taken once");
        assert_eq!(store.baseline().await.unwrap(), Some(later));
    }

    #[tokio::test]
    async fn each_accounts_leases_are_its_own() {
        let store = MemoryInventory::default();
        let (a, b) = (store.view(registered("111")), store.view(registered("222")));
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let until = now + time::Duration::minutes(5);
        async fn taken(lease: MemoryLease<'_>, now: OffsetDateTime, until: OffsetDateTime) -> LeaseTaken {
            lease.take(now, until).await.unwrap()
        }
        assert_eq!(taken(a.lease("a run"), now, until).await, LeaseTaken::Taken);
        assert_eq!(
            taken(b.lease("b run"), now, until).await,
            LeaseTaken::Taken,
            "another account's"
        );
        assert_eq!(taken(store.lease("default run"), now, until).await, LeaseTaken::Taken);
        assert_eq!(
            taken(a.reconcile_lease("a run"), now, until).await,
            LeaseTaken::Taken,
            "another lease"
        );
        assert_eq!(
            taken(a.lease("a second run"), now, until).await,
            LeaseTaken::Held {
                holder: "a run".into(),
                until
            }
        );
        assert_eq!(a.lease_holder(), Some(("a run".to_owned(), until)));
        assert_eq!(store.lease_holder(), Some(("default run".to_owned(), until)));
    }
}
