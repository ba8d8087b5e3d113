//! Authentication when one stack serves many RingCentral accounts.
//!
//! The account a body claims ([`claimed_account`]) chooses the tokens: a
//! registered account's own, and only those; otherwise the default
//! account's ([`Verifier`], as the single-account relay). Once decoded, the
//! notification must be the authenticating account's and come from one of
//! its subscriptions, or it is refused: a token of account B never
//! authenticates a notification of account A, and the default account's
//! token never one of a registered account.
//!
//! Each account's tokens are read once and kept ([`cache`]), on the rules
//! the default account's verifier follows: a known account costs no read
//! per notification; an unknown or previous token re-reads its account at
//! most once per [`REREAD_INTERVAL`]; tokens older than [`MAX_TOKEN_AGE`]
//! are re-read. Reads of accounts not known to be registered (a first
//! sight, or one read as not registered) come from one instance-wide
//! budget, so a flood of forged account ids costs a bounded number of reads.

mod cache;
#[cfg(test)]
mod tests;

use super::auth;
use super::authenticate::{Authenticate, Authenticated, Mismatch, RegisteredAccount};
use super::verifier::{Verifier, MAX_TOKEN_AGE, REREAD_INTERVAL};
use super::Rejection;
use crate::change::AccountId;
use crate::notification::{claimed_account, ClaimedAccount, Inbound};
use crate::registry::{AccountRegistry, AccountTokens, Tenant};
use crate::token::TokenMatch;
use crate::token_store::TokenStore;
use cache::Cache;
use lambda_http::http::HeaderMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How much a warm instance keeps and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At most one re-read of an account per interval; the budget's window.
    pub reread_interval: Duration,
    /// Accounts kept, registered or not: 16,384 entries of a few hundred
    /// bytes each stay within a few MB, and hold the 10,000 accounts a stack may serve.
    pub max_accounts: usize,
    /// Reads per interval, instance-wide, of accounts not known to be
    /// registered. Number changes are rare, so a new instance meets a few
    /// accounts a minute; a flood of forged ids costs about one read a second.
    pub unknown_reads: u32,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        reread_interval: REREAD_INTERVAL,
        max_accounts: 16_384,
        unknown_reads: 64,
    };
}

#[derive(Debug)]
pub struct AccountVerifier<R, T> {
    default: Verifier<T>,
    registry: R,
    limits: Limits,
    cache: Mutex<Cache>,
}

impl<R: AccountRegistry, T: TokenStore> AccountVerifier<R, T> {
    /// The default account's verifier (read at cold start) and the registry,
    /// whose accounts are read as their notifications arrive.
    pub fn new(default: Verifier<T>, registry: R, limits: Limits) -> Self {
        Self {
            default,
            registry,
            limits,
            cache: Mutex::new(Cache::new(limits.max_accounts)),
        }
    }

    /// How many accounts the instance keeps, registered or not.
    pub fn accounts_kept(&self) -> usize {
        self.lock().len()
    }

    /// A body claiming `claim`: its own tokens when it is registered, else the default account's.
    async fn authenticate_claimed(
        &self,
        claim: ClaimedAccount<'_>,
        headers: &HeaderMap,
    ) -> Result<Authenticated, Rejection> {
        let known = self.lock().get(claim.as_str());
        let Some(entry) = known else {
            return self.first_sight(claim, headers).await;
        };
        let Some(account) = entry.account else {
            return self.not_registered(claim, entry.read_at.elapsed(), headers).await;
        };
        let matched = auth::authenticated(&account.tokens.tokens, headers);
        let worth_a_reread = match matched {
            TokenMatch::Current => entry.read_at.elapsed() >= MAX_TOKEN_AGE,
            TokenMatch::Previous => true,
            TokenMatch::None => auth::carries_token(headers),
        };
        if worth_a_reread && self.claim_reread(claim.as_str()) {
            match self.read(claim).await {
                Reading::Registered(fresh) => return self.with_read(Some(fresh), headers).await,
                Reading::NotRegistered => return self.with_read(None, headers).await,
                // The tokens read before still stand, for this request too.
                Reading::Failed => {}
            }
        }
        with_tokens(account, matched)
    }

    /// An account read as not registered: the default account's tokens,
    /// unless it has been registered since. That is asked when the token is
    /// not the default account's, or the reading is old, and only within
    /// the budget: a flood of forged ids re-read costs no more than new ones.
    async fn not_registered(
        &self,
        claim: ClaimedAccount<'_>,
        age: Duration,
        headers: &HeaderMap,
    ) -> Result<Authenticated, Rejection> {
        let by_default = self.default.authenticate(headers).await;
        let ask = auth::carries_token(headers) && (!by_default || age >= MAX_TOKEN_AGE);
        if ask && self.claim_reread(claim.as_str()) && self.claim_unknown_read() {
            if let Reading::Registered(account) = self.read(claim).await {
                return self.with_read(Some(account), headers).await;
            }
        }
        by_default
            .then_some(Authenticated::DEFAULT)
            .ok_or(Rejection::Unauthenticated)
    }

    /// An account this instance has not read: read it, within the budget.
    async fn first_sight(&self, claim: ClaimedAccount<'_>, headers: &HeaderMap) -> Result<Authenticated, Rejection> {
        // No token, no account's to look up: not worth a read.
        if !auth::carries_token(headers) {
            return Err(Rejection::Unauthenticated);
        }
        if !self.claim_unknown_read() {
            return self.default_or(headers, Rejection::Unauthenticated).await;
        }
        match self.read(claim).await {
            Reading::Registered(account) => self.with_read(Some(account), headers).await,
            Reading::NotRegistered => self.with_read(None, headers).await,
            // 503, not 401: nothing says the token is wrong, only that its
            // account could not be looked up. Both count towards RingCentral
            // blacklisting the subscription alike (and the guardian heals
            // that), so the answer says what happened: retryable, counted as
            // the registry's failure rather than as a forgery, which is what
            // the Unauthenticated metric and its alarm are for.
            Reading::Failed => self.default_or(headers, Rejection::RegistryUnavailable).await,
        }
    }

    /// What a read said: the account's own tokens, or the default account's when it is not registered.
    async fn with_read(
        &self,
        read: Option<Arc<RegisteredAccount>>,
        headers: &HeaderMap,
    ) -> Result<Authenticated, Rejection> {
        match read {
            Some(account) => {
                let matched = auth::authenticated(&account.tokens.tokens, headers);
                with_tokens(account, matched)
            }
            None => self.default_or(headers, Rejection::Unauthenticated).await,
        }
    }

    /// The default account, when the request carries its token. Also what a
    /// claim that could not be looked up falls back to: the default token
    /// is the stack's own secret, and its account's notifications must not
    /// depend on the registry answering.
    async fn default_or(&self, headers: &HeaderMap, refusal: Rejection) -> Result<Authenticated, Rejection> {
        match self.default.authenticate(headers).await {
            true => Ok(Authenticated::DEFAULT),
            false => Err(refusal),
        }
    }

    /// Whether `account` is registered, as far as can be told without
    /// spending more than the budget: unknown counts as not registered.
    async fn registered(&self, account: &AccountId) -> bool {
        let known = self.lock().get(account.as_str());
        match known {
            Some(entry) => entry.account.is_some(),
            None => self.claim_unknown_read() && matches!(self.read_id(account).await, Reading::Registered(_)),
        }
    }

    async fn read(&self, claim: ClaimedAccount<'_>) -> Reading {
        match claim.to_account_id() {
            Some(account) => self.read_id(&account).await,
            // A claim is an account id by construction; were it not, there is nothing to read.
            None => Reading::NotRegistered,
        }
    }

    /// One read of the registry, kept when it answers.
    async fn read_id(&self, account: &AccountId) -> Reading {
        match self.registry.tokens(account).await {
            Ok(tokens) => match self.lock().store(account, tokens) {
                Some(account) => Reading::Registered(account),
                None => Reading::NotRegistered,
            },
            Err(error) => {
                // What was read before still stands (the error never carries a token).
                tracing::warn!(
                    account_id = account.as_str(),
                    "reading the account's tokens failed: {error}"
                );
                Reading::Failed
            }
        }
    }

    fn claim_reread(&self, account: &str) -> bool {
        self.lock().claim_reread(account, self.limits.reread_interval)
    }

    fn claim_unknown_read(&self) -> bool {
        self.lock()
            .claim_unknown_read(self.limits.unknown_reads, self.limits.reread_interval)
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // Nothing panics while holding it; were it poisoned, the cache is still whole.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A subscription not among those read may be newer than the reading
    /// (one recreated by the guardian): the account is re-read first, at
    /// most once per interval.
    async fn admits_subscription(
        &self,
        account: &AccountId,
        tokens: &AccountTokens,
        subscription: Option<&str>,
    ) -> bool {
        if from_its_subscription(tokens, subscription) {
            return true;
        }
        if !self.claim_reread(account.as_str()) {
            return false;
        }
        matches!(self.read_id(account).await, Reading::Registered(fresh) if from_its_subscription(&fresh.tokens, subscription))
    }
}

/// What one read of the registry said.
enum Reading {
    Registered(Arc<RegisteredAccount>),
    NotRegistered,
    Failed,
}

fn with_tokens(account: Arc<RegisteredAccount>, matched: TokenMatch) -> Result<Authenticated, Rejection> {
    match matched {
        TokenMatch::None => Err(Rejection::Unauthenticated),
        TokenMatch::Current | TokenMatch::Previous => Ok(Authenticated::registered(account)),
    }
}

/// Whether `subscription` is one the account's notifications may come from.
fn from_its_subscription(tokens: &AccountTokens, subscription: Option<&str>) -> bool {
    tokens.subscription_ids.is_empty() || subscription.is_some_and(|s| tokens.subscription_ids.iter().any(|id| id == s))
}

impl<R: AccountRegistry, T: TokenStore> Authenticate for AccountVerifier<R, T> {
    async fn authenticate(&self, headers: &HeaderMap, body: &[u8]) -> Result<Authenticated, Rejection> {
        match claimed_account(body) {
            Some(claim) => self.authenticate_claimed(claim, headers).await,
            None => self.default_or(headers, Rejection::Unauthenticated).await,
        }
    }

    async fn admit(&self, who: &Authenticated, inbound: &Inbound) -> Result<(), Mismatch> {
        let (named, subscription_id) = match inbound {
            Inbound::Change(change) => (change.account_id.as_ref(), change.subscription_id.as_deref()),
            // A reminder names no account, only its subscription.
            Inbound::RenewalReminder { subscription_id } => (None, subscription_id.as_deref()),
        };
        let admitted = match (who.account(), who.tenant()) {
            (None, _) => match named {
                Some(account) => !self.registered(account).await,
                None => true,
            },
            (Some(account), Tenant::Registered(id)) => {
                let its_own = matches!(inbound, Inbound::RenewalReminder { .. }) || named == Some(id);
                its_own && self.admits_subscription(id, &account.tokens, subscription_id).await
            }
            (Some(_), Tenant::Default) => false,
        };
        admitted.then_some(()).ok_or_else(|| Mismatch {
            authenticated: who.tenant().clone(),
            named: named.cloned(),
            subscription_id: subscription_id.map(str::to_owned),
        })
    }
}
