//! What a warm instance knows of the registered accounts: per account the
//! tokens last read (or that it was not registered), within a cap, and the
//! instance-wide budget of reads for accounts it does not know to be registered.

use crate::change::AccountId;
use crate::http::RegisteredAccount;
use crate::registry::AccountTokens;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one read of one account said.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// `None`: not registered when read.
    pub account: Option<Arc<RegisteredAccount>>,
    pub read_at: Instant,
    /// The last read that was not the account's first; as the default
    /// account's verifier, the first read is not a re-read.
    pub last_reread: Option<Instant>,
    /// Orders the readings (instants may tie): the smallest is the oldest.
    seq: u64,
}

#[derive(Debug)]
pub(super) struct Cache {
    /// Keyed by the id's text: a claim is looked up without allocating.
    entries: HashMap<Box<str>, Entry>,
    max_entries: usize,
    next_seq: u64,
    /// Reads of accounts not known to be registered: when the current
    /// window began, and how many it has had.
    window: Option<Instant>,
    spent: u32,
}

impl Cache {
    pub fn new(max_entries: usize) -> Self {
        Self {
            entries: HashMap::new(),
            max_entries: max_entries.max(1),
            next_seq: 0,
            window: None,
            spent: 0,
        }
    }

    pub fn get(&self, account: &str) -> Option<Entry> {
        self.entries.get(account).cloned()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Takes the right to re-read `account`, when its last re-read is at
    /// least `interval` old (or it has had none).
    pub fn claim_reread(&mut self, account: &str, interval: Duration) -> bool {
        let now = Instant::now();
        let Some(entry) = self.entries.get_mut(account) else {
            return false;
        };
        let due = entry
            .last_reread
            .is_none_or(|last| now.duration_since(last) >= interval);
        if due {
            entry.last_reread = Some(now);
        }
        due
    }

    /// Takes one of the `budget` reads per `interval` the whole instance may
    /// spend on accounts it does not know to be registered: what a flood of
    /// forged account ids can cost.
    pub fn claim_unknown_read(&mut self, budget: u32, interval: Duration) -> bool {
        let now = Instant::now();
        if self.window.is_none_or(|start| now.duration_since(start) >= interval) {
            self.window = Some(now);
            self.spent = 0;
        }
        let allowed = self.spent < budget;
        if allowed {
            self.spent += 1;
        }
        allowed
    }

    /// Keeps what a read said, replacing what was known of the account.
    pub fn store(&mut self, account: &AccountId, tokens: Option<AccountTokens>) -> Option<Arc<RegisteredAccount>> {
        let now = Instant::now();
        let read = tokens.map(|tokens| Arc::new(RegisteredAccount::new(account.clone(), tokens)));
        let kept = read.clone();
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(entry) = self.entries.get_mut(account.as_str()) {
            entry.account = read;
            entry.read_at = now;
            entry.seq = seq;
            return kept;
        }
        if self.entries.len() >= self.max_entries {
            self.evict_one();
        }
        let entry = Entry {
            account: read,
            read_at: now,
            last_reread: None,
            seq,
        };
        self.entries.insert(account.as_str().into(), entry);
        kept
    }

    /// Makes what was read of `account` look `by` older.
    #[cfg(test)]
    pub fn backdate(&mut self, account: &str, by: Duration) {
        if let Some(entry) = self.entries.get_mut(account) {
            entry.read_at = entry.read_at.checked_sub(by).unwrap_or(entry.read_at);
        }
    }

    /// The oldest reading of an account not registered, else the oldest of
    /// all: a flood of forged ids pushes out other forged ids before any
    /// registered account. A scan, but new entries come only from budgeted
    /// reads, so it runs at most the budget's times per interval.
    fn evict_one(&mut self) {
        let oldest = |registered: bool| {
            self.entries
                .iter()
                .filter(|(_, e)| e.account.is_some() == registered)
                .min_by_key(|(_, e)| e.seq)
                .map(|(id, _)| id.clone())
        };
        if let Some(id) = oldest(false).or_else(|| oldest(true)) {
            self.entries.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{TokenSet, VerificationToken};

    fn id(n: u32) -> AccountId {
        AccountId::parse(n.to_string()).unwrap()
    }

    fn tokens() -> AccountTokens {
        AccountTokens {
            tokens: TokenSet::single(VerificationToken::parse("t".into()).unwrap()),
            subscription_ids: Vec::new(),
        }
    }

    #[test]
    fn stays_within_its_cap_and_evicts_accounts_not_registered_first() {
        let mut cache = Cache::new(3);
        cache.store(&id(1), Some(tokens()));
        cache.store(&id(2), None);
        cache.store(&id(3), Some(tokens()));
        cache.store(&id(4), None);
        assert_eq!(cache.len(), 3);
        assert!(cache.get("2").is_none(), "the unregistered one went first");
        cache.store(&id(5), None);
        assert!(cache.get("4").is_none());
        cache.store(&id(4), Some(tokens()));
        cache.store(&id(6), Some(tokens()));
        assert_eq!(cache.len(), 3);
        assert!(cache.get("1").is_none(), "then the oldest registered one");
        assert!(cache.get("3").is_some() && cache.get("4").is_some() && cache.get("6").is_some());
    }

    #[test]
    fn a_new_reading_replaces_the_old_one_in_place() {
        let mut cache = Cache::new(2);
        cache.store(&id(1), Some(tokens()));
        cache.store(&id(2), None);
        cache.store(&id(1), None);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("1").unwrap().account.is_none());
    }

    #[test]
    fn the_unknown_read_budget_refills_each_interval() {
        let mut cache = Cache::new(8);
        let spent: usize = (0..10)
            .filter(|_| cache.claim_unknown_read(4, Duration::from_secs(60)))
            .count();
        assert_eq!(spent, 4);
        let refilled: usize = (0..10).filter(|_| cache.claim_unknown_read(4, Duration::ZERO)).count();
        assert_eq!(refilled, 10, "a zero interval starts a new window every time");
    }

    #[test]
    fn an_account_is_reread_at_most_once_per_interval() {
        let mut cache = Cache::new(8);
        assert!(!cache.claim_reread("1", Duration::ZERO), "nothing to re-read");
        cache.store(&id(1), Some(tokens()));
        assert!(cache.claim_reread("1", Duration::from_secs(60)));
        assert!(!cache.claim_reread("1", Duration::from_secs(60)));
        assert!(cache.claim_reread("1", Duration::ZERO));
    }
}
