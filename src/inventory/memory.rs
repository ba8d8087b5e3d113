//! The inventory in memory, with the same never-backwards rule as the table;
//! it can be made to fail, for the core's tests of a failing inventory.

use super::{Inventory, InventoryError, Recorded, Told};
use crate::change::{PhoneNumberId, Timestamp};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
pub struct MemoryInventory {
    records: Mutex<BTreeMap<String, Told>>,
    baseline: Mutex<Option<Timestamp>>,
    failing: bool,
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
