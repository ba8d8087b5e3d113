//! The inventory in memory, with the same never-backwards rule as the table;
//! it can be made to fail, for the core's tests of a failing inventory.
//! It holds the subscription lease too, with the table's rules.

use super::{Inventory, InventoryError, LeaseTaken, Recorded, SubscriptionLease, Told};
use crate::change::{PhoneNumberId, Timestamp};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use time::OffsetDateTime;

#[derive(Debug, Default)]
pub struct MemoryInventory {
    records: Mutex<BTreeMap<String, Told>>,
    baseline: Mutex<Option<Timestamp>>,
    /// The lease: its holder and until when.
    lease: Mutex<Option<(String, OffsetDateTime)>>,
    failing: bool,
}

/// One run's handle on the lease in a [`MemoryInventory`].
#[derive(Debug)]
pub struct MemoryLease<'a> {
    inventory: &'a MemoryInventory,
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

    /// The lease as `holder` takes and releases it.
    pub fn lease(&self, holder: &str) -> MemoryLease<'_> {
        MemoryLease {
            inventory: self,
            holder: holder.to_owned(),
        }
    }

    /// Who holds the lease, until when (expired or not).
    pub fn lease_holder(&self) -> Option<(String, OffsetDateTime)> {
        lock(&self.lease).clone()
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
        self.check("scan")?;
        Ok(lock(&self.records).values().cloned().collect())
    }

    async fn baseline(&self) -> Result<Option<Timestamp>, InventoryError> {
        self.check("read baseline")?;
        Ok(lock(&self.baseline).clone())
    }

    async fn mark_baseline(&self, at: &Timestamp) -> Result<(), InventoryError> {
        self.check("mark baseline")?;
        lock(&self.baseline).get_or_insert_with(|| at.clone());
        Ok(())
    }
}

impl SubscriptionLease for MemoryLease<'_> {
    async fn take(&self, now: OffsetDateTime, until: OffsetDateTime) -> Result<LeaseTaken, InventoryError> {
        self.inventory.check("take lease")?;
        let mut lease = lock(&self.inventory.lease);
        match lease.as_ref() {
            Some((holder, held_until)) if *held_until >= now => Ok(LeaseTaken::Held {
                holder: holder.clone(),
                until: *held_until,
            }),
            _ => {
                *lease = Some((self.holder.clone(), until));
                Ok(LeaseTaken::Taken)
            }
        }
    }

    async fn release(&self) -> Result<(), InventoryError> {
        self.inventory.check("release lease")?;
        let mut lease = lock(&self.inventory.lease);
        if let Some((holder, until)) = lease.as_mut() {
            if *holder == self.holder {
                *until = OffsetDateTime::UNIX_EPOCH;
            }
        }
        Ok(())
    }
}
