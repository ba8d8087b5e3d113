//! The account registry port: the RingCentral accounts one stack serves.
//!
//! Accounts are data, not stack parameters. Each registered account has its
//! own JWT credential (the customer's, restricted to the app's client id;
//! the app's client id and secret stay in the stack's credentials secret),
//! its own verification tokens, its own subscription, reconciliation and
//! last finding.
//!
//! The stack's own account, the one its credentials secret and token secret
//! name (every stack deployed before there were many accounts), is the
//! **default account**: it is not in the registry, and everything about it
//! works as it always did. A stack with no registered account is a registry
//! of one.
//!
//! - [`memory`]: in memory, counting reads, for the core's tests.
//! - [`dynamodb`]: the deployed table (`ACCOUNTS_TABLE`), the credential and
//!   the tokens sealed under the stack's KMS key ([`sealed`]) with the
//!   account id and the field as encryption context.

pub mod dynamodb;
pub mod memory;
pub mod sealed;

use crate::change::{AccountId, Timestamp};
use crate::ringcentral::Secret;
use crate::token::TokenSet;
use std::future::Future;

/// Which account a run, a lease or an inventory item is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tenant {
    /// The stack's own account: its credentials secret and token secret, its
    /// inventory items keyed as before there were many accounts.
    Default,
    Registered(AccountId),
}

impl Tenant {
    /// How findings, log lines and the CLI name it.
    pub fn label(&self) -> &str {
        match self {
            Tenant::Default => "default",
            Tenant::Registered(id) => id.as_str(),
        }
    }

    pub fn account_id(&self) -> Option<&AccountId> {
        match self {
            Tenant::Default => None,
            Tenant::Registered(id) => Some(id),
        }
    }
}

/// The subscription the registry last saw for an account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscriptionRecord {
    pub id: String,
    /// RingCentral's `status` (`Active`, `Blacklisted`, ...), as it said it.
    pub status: String,
    pub expires_at: Option<Timestamp>,
}

/// What an operator and the guardian read about one account: never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub account_id: AccountId,
    /// The webhook address its subscription delivers to.
    pub address: String,
    pub added_at: Timestamp,
    pub subscription: Option<SubscriptionRecord>,
    pub last_checked_at: Option<Timestamp>,
    pub last_reconciled_at: Option<Timestamp>,
    /// The last finding's kind (`Blacklisted`, ...) and one line about it;
    /// `None` when the last check found nothing wrong.
    pub last_finding: Option<String>,
}

/// One registered account with its secrets opened: what the guardian and
/// the CLI need to talk to RingCentral as that account.
#[derive(Debug, Clone)]
pub struct Account {
    pub summary: AccountSummary,
    /// The customer's JWT credential. Debug never shows it.
    pub jwt: Secret,
    pub tokens: TokenSet,
}

/// What the webhook path needs of an account: the tokens that authenticate
/// its notifications, and the subscriptions they may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTokens {
    pub tokens: TokenSet,
    /// The recorded subscription's id, and during a rotation the retiring
    /// and successor subscriptions' ids (from `tokens`): a notification's
    /// envelope `subscriptionId` must be one of them.
    pub subscription_ids: Vec<String>,
}

impl AccountTokens {
    /// The tokens, and the subscriptions they may come from: the recorded
    /// one and a rotation's retiring and successor ones.
    pub fn new(tokens: TokenSet, subscription: Option<&str>) -> Self {
        let mut ids: Vec<String> = subscription.into_iter().map(str::to_owned).collect();
        ids.extend(tokens.retiring.iter().cloned());
        ids.extend(tokens.successor.iter().cloned());
        ids.sort();
        ids.dedup();
        Self {
            tokens,
            subscription_ids: ids,
        }
    }
}

impl Account {
    pub fn webhook_tokens(&self) -> AccountTokens {
        let subscription = self.summary.subscription.as_ref().map(|s| s.id.as_str());
        AccountTokens::new(self.tokens.clone(), subscription)
    }
}

/// What one guardian run (or CLI command) learned about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    pub checked_at: Timestamp,
    pub subscription: Option<SubscriptionRecord>,
    pub last_finding: Option<String>,
    /// Set when this run reconciled the account.
    pub reconciled_at: Option<Timestamp>,
}

/// Why the registry could not answer. Never carries a credential or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("account {0} is already registered")]
    AlreadyRegistered(AccountId),
    #[error("account {0} is not registered")]
    NotRegistered(AccountId),
    #[error("the account registry's {operation} failed: {detail}")]
    Store { operation: &'static str, detail: String },
    /// KMS refused to seal or open, or what it opened does not read.
    #[error("account {account}'s {field} cannot be {action}: {detail}")]
    Sealing {
        account: AccountId,
        field: &'static str,
        action: &'static str,
        detail: String,
    },
}

pub trait AccountRegistry: Sync {
    /// The verification tokens of one account; `None` when it is not
    /// registered. The webhook path's only read: one item, one decryption.
    fn tokens(&self, account: &AccountId) -> impl Future<Output = Result<Option<AccountTokens>, RegistryError>> + Send;

    /// One account with its secrets opened; `None` when not registered.
    fn get(&self, account: &AccountId) -> impl Future<Output = Result<Option<Account>, RegistryError>> + Send;

    /// Every registered account, in account id order, no secret opened.
    fn list(&self) -> impl Future<Output = Result<Vec<AccountSummary>, RegistryError>> + Send;

    /// Registers a new account; [`RegistryError::AlreadyRegistered`] if it is.
    fn add(&self, account: &Account) -> impl Future<Output = Result<(), RegistryError>> + Send;

    /// Replaces an account's verification tokens (a rotation, a recreated subscription).
    fn set_tokens(
        &self,
        account: &AccountId,
        tokens: &TokenSet,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;

    /// Records what a check learned; the account must be registered.
    fn record_check(
        &self,
        account: &AccountId,
        check: &CheckRecord,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;

    /// Forgets an account, credential and tokens with it. Removing one that
    /// is not registered is not an error (a retried removal).
    fn remove(&self, account: &AccountId) -> impl Future<Output = Result<(), RegistryError>> + Send;
}

impl<R: AccountRegistry> AccountRegistry for &R {
    fn tokens(&self, account: &AccountId) -> impl Future<Output = Result<Option<AccountTokens>, RegistryError>> + Send {
        (**self).tokens(account)
    }
    fn get(&self, account: &AccountId) -> impl Future<Output = Result<Option<Account>, RegistryError>> + Send {
        (**self).get(account)
    }
    fn list(&self) -> impl Future<Output = Result<Vec<AccountSummary>, RegistryError>> + Send {
        (**self).list()
    }
    fn add(&self, account: &Account) -> impl Future<Output = Result<(), RegistryError>> + Send {
        (**self).add(account)
    }
    fn set_tokens(
        &self,
        account: &AccountId,
        tokens: &TokenSet,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send {
        (**self).set_tokens(account, tokens)
    }
    fn record_check(
        &self,
        account: &AccountId,
        check: &CheckRecord,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send {
        (**self).record_check(account, check)
    }
    fn remove(&self, account: &AccountId) -> impl Future<Output = Result<(), RegistryError>> + Send {
        (**self).remove(account)
    }
}
