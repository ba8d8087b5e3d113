//! The registry in memory, counting token reads: the core's tests.

use super::{Account, AccountRegistry, AccountSummary, AccountTokens, CheckRecord, RegistryError};
use crate::change::AccountId;
use crate::token::TokenSet;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub struct MemoryRegistry {
    accounts: Mutex<BTreeMap<AccountId, Account>>,
    /// Calls to [`AccountRegistry::tokens`], found or not.
    pub token_reads: AtomicUsize,
    /// Set: every call fails, as an unreachable table.
    pub failing: AtomicBool,
}

impl MemoryRegistry {
    pub fn with(accounts: impl IntoIterator<Item = Account>) -> Self {
        let registry = Self::default();
        registry
            .lock()
            .extend(accounts.into_iter().map(|a| (a.summary.account_id.clone(), a)));
        registry
    }

    pub fn token_reads(&self) -> usize {
        self.token_reads.load(Ordering::SeqCst)
    }

    pub fn account(&self, id: &AccountId) -> Option<Account> {
        self.lock().get(id).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<AccountId, Account>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reachable(&self, operation: &'static str) -> Result<(), RegistryError> {
        match self.failing.load(Ordering::SeqCst) {
            true => Err(RegistryError::Store {
                operation,
                detail: "unreachable (test)".into(),
            }),
            false => Ok(()),
        }
    }
}

impl AccountRegistry for MemoryRegistry {
    async fn tokens(&self, account: &AccountId) -> Result<Option<AccountTokens>, RegistryError> {
        self.token_reads.fetch_add(1, Ordering::SeqCst);
        self.reachable("read")?;
        Ok(self.lock().get(account).map(Account::webhook_tokens))
    }

    async fn get(&self, account: &AccountId) -> Result<Option<Account>, RegistryError> {
        self.reachable("read")?;
        Ok(self.lock().get(account).cloned())
    }

    async fn list(&self) -> Result<Vec<AccountSummary>, RegistryError> {
        self.reachable("list")?;
        Ok(self.lock().values().map(|a| a.summary.clone()).collect())
    }

    async fn add(&self, account: &Account) -> Result<(), RegistryError> {
        self.reachable("add")?;
        let id = account.summary.account_id.clone();
        let mut accounts = self.lock();
        if accounts.contains_key(&id) {
            return Err(RegistryError::AlreadyRegistered(id));
        }
        accounts.insert(id, account.clone());
        Ok(())
    }

    async fn set_tokens(&self, account: &AccountId, tokens: &TokenSet) -> Result<(), RegistryError> {
        self.reachable("write")?;
        let mut accounts = self.lock();
        let found = accounts
            .get_mut(account)
            .ok_or_else(|| RegistryError::NotRegistered(account.clone()))?;
        found.tokens = tokens.clone();
        Ok(())
    }

    async fn record_check(&self, account: &AccountId, check: &CheckRecord) -> Result<(), RegistryError> {
        self.reachable("write")?;
        let mut accounts = self.lock();
        let found = accounts
            .get_mut(account)
            .ok_or_else(|| RegistryError::NotRegistered(account.clone()))?;
        let summary = &mut found.summary;
        summary.last_checked_at = Some(check.checked_at.clone());
        summary.subscription = check.subscription.clone();
        summary.last_finding = check.last_finding.clone();
        if let Some(at) = &check.reconciled_at {
            summary.last_reconciled_at = Some(at.clone());
        }
        Ok(())
    }

    async fn remove(&self, account: &AccountId) -> Result<(), RegistryError> {
        self.reachable("remove")?;
        self.lock().remove(account);
        Ok(())
    }
}
