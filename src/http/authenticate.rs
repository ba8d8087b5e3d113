//! Who sent a notification: the port the webhook core authenticates through.
//!
//! - [`Verifier`]: the single-account relay. Every notification is the
//!   default account's, checked against the token secret, as always.
//! - [`AccountVerifier`](super::AccountVerifier): many accounts. The account
//!   a body claims chooses whose tokens check it, and the decoded
//!   notification must then be that account's, from one of its subscriptions.

use super::{Rejection, Verifier};
use crate::change::AccountId;
use crate::notification::Inbound;
use crate::registry::{AccountTokens, Tenant};
use crate::token_store::TokenStore;
use lambda_http::http::HeaderMap;
use std::future::Future;
use std::sync::Arc;

/// A registered account as an instance last read it.
#[derive(Debug, PartialEq, Eq)]
pub struct RegisteredAccount {
    /// Always [`Tenant::Registered`]: built once per reading, so that each
    /// notification borrows it instead of allocating its id.
    tenant: Tenant,
    pub tokens: AccountTokens,
}

impl RegisteredAccount {
    pub fn new(account: AccountId, tokens: AccountTokens) -> Self {
        Self {
            tenant: Tenant::Registered(account),
            tokens,
        }
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }
}

static DEFAULT_TENANT: Tenant = Tenant::Default;

/// The account whose token a request carried, and what its notifications
/// must match: for a registered account, its subscriptions as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated(Option<Arc<RegisteredAccount>>);

impl Authenticated {
    pub const DEFAULT: Authenticated = Authenticated(None);

    pub fn registered(account: Arc<RegisteredAccount>) -> Self {
        Self(Some(account))
    }

    pub fn tenant(&self) -> &Tenant {
        self.0.as_deref().map_or(&DEFAULT_TENANT, RegisteredAccount::tenant)
    }

    /// The registered account, as read; `None` for the default account.
    pub fn account(&self) -> Option<&RegisteredAccount> {
        self.0.as_deref()
    }
}

/// An authenticated notification that is not the authenticating account's:
/// another account's, or from a subscription the account does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Whose token the request carried.
    pub authenticated: Tenant,
    /// The account the decoded notification names.
    pub named: Option<AccountId>,
    /// The envelope's `subscriptionId`.
    pub subscription_id: Option<String>,
}

impl Mismatch {
    /// For the summary line: ids only.
    pub fn describe(&self) -> String {
        let named = self.named.as_ref().map_or("none", AccountId::as_str);
        let subscription = self.subscription_id.as_deref().unwrap_or("none");
        format!(
            "token of account {} on a notification of account {named} from subscription {subscription}",
            self.authenticated.label()
        )
    }
}

pub trait Authenticate: Sync {
    /// Whose token the request carries; a refusal otherwise.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> impl Future<Output = Result<Authenticated, Rejection>> + Send;

    /// Whether a decoded notification may be `who`'s.
    fn admit(&self, who: &Authenticated, inbound: &Inbound) -> impl Future<Output = Result<(), Mismatch>> + Send;
}

/// The single-account relay: exactly the token check it always made, and
/// nothing more (no claim read, no registry).
impl<T: TokenStore> Authenticate for Verifier<T> {
    async fn authenticate(&self, headers: &HeaderMap, _: &[u8]) -> Result<Authenticated, Rejection> {
        match Verifier::authenticate(self, headers).await {
            true => Ok(Authenticated::DEFAULT),
            false => Err(Rejection::Unauthenticated),
        }
    }

    async fn admit(&self, _: &Authenticated, _: &Inbound) -> Result<(), Mismatch> {
        Ok(())
    }
}
