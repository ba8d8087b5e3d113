//! Which RingCentral account a command speaks as: the default account (the
//! stack's credentials and token secret, as before there were many
//! accounts), or a registered one (`--account-id`: the app's client id and
//! secret, the account's JWT, tokens and address from the registry).

use crate::accounts::account_id;
use crate::clients::{
    app_credentials, client_of, default_credentials, registry, DefaultCredentials, RingCentralArgs, ACCOUNTS_TABLE,
};
use cc_number_relay::change::AccountId;
use cc_number_relay::registry::dynamodb::DynamoRegistry;
use cc_number_relay::registry::{Account, AccountRegistry, Tenant};
use cc_number_relay::ringcentral::{AppCredentials, Client};
use clap::Args;
use std::collections::BTreeSet;

#[derive(Args)]
pub struct AccountArgs {
    /// Speak as this registered account: its JWT, verification tokens and
    /// address from the registry (ACCOUNTS_TABLE), the app's client id and
    /// secret as ever. Without it, the default account (the credentials'
    /// RINGCENTRAL_JWT); when those hold no RINGCENTRAL_JWT and exactly one
    /// account is registered, that one.
    #[arg(long, value_name = "ID", value_parser = account_id)]
    pub account_id: Option<AccountId>,
}

pub enum Speaker {
    Default(Box<Client>),
    Registered(Box<Registered>),
}

/// A registered account, its client signed in with its JWT.
pub struct Registered {
    pub account: Account,
    pub client: Client,
    /// Sealing when asked for (a command that writes its tokens).
    pub registry: DynamoRegistry,
}

impl Registered {
    pub fn id(&self) -> &AccountId {
        &self.account.summary.account_id
    }
}

impl Speaker {
    pub fn client(&self) -> &Client {
        match self {
            Speaker::Default(client) => client,
            Speaker::Registered(r) => &r.client,
        }
    }

    pub fn tenant(&self) -> Tenant {
        match self {
            Speaker::Default(_) => Tenant::Default,
            Speaker::Registered(r) => Tenant::Registered(r.id().clone()),
        }
    }

    /// `--address` when given; otherwise a registered account's recorded one.
    pub fn address(&self, given: Option<&str>) -> Result<String, String> {
        match (given, self) {
            (Some(address), _) => Ok(address.to_owned()),
            (None, Speaker::Registered(r)) => Ok(r.account.summary.address.clone()),
            (None, Speaker::Default(_)) => Err(
                "--address is required for the default account (the stack's WebhookUrl output); a registered account's (--account-id) is its recorded one"
                    .to_owned(),
            ),
        }
    }
}

/// The account `args` names, or the default account; or, when the
/// credentials hold no default account's JWT, the only registered account.
/// `sealing`: the command writes the account's tokens (ACCOUNTS_KEY_ID).
pub async fn speaker(args: &AccountArgs, ringcentral: &RingCentralArgs, sealing: bool) -> Result<Speaker, String> {
    if let Some(id) = &args.account_id {
        let registry = registry(sealing).await?;
        let app = app_credentials(ringcentral).await?;
        return registered(registry, id, &app).await;
    }
    let (app, missing) = match default_credentials(ringcentral).await? {
        DefaultCredentials::Full(credentials) => return Ok(Speaker::Default(Box::new(client_of(credentials)?))),
        DefaultCredentials::AppOnly { app, missing } => (app, missing),
    };
    if !has_registry() {
        return Err(missing);
    }
    let registry = registry(sealing).await?;
    let listed = registry.list().await.map_err(|e| e.to_string())?;
    match listed.as_slice() {
        [] => Err(missing),
        [one] => {
            let id = one.account_id.clone();
            eprintln!(
                "account: speaking as account {id}, the only registered one (the credentials hold no RINGCENTRAL_JWT, the default account's)"
            );
            registered(registry, &id, &app).await
        }
        several => {
            let ids: Vec<&str> = several.iter().map(|a| a.account_id.as_str()).collect();
            Err(format!(
                "the credentials hold no RINGCENTRAL_JWT (the default account's) and {} accounts are registered: name one with --account-id ({})",
                ids.len(),
                ids.join(", ")
            ))
        }
    }
}

async fn registered(registry: DynamoRegistry, id: &AccountId, app: &AppCredentials) -> Result<Speaker, String> {
    let account = registry.get(id).await.map_err(|e| e.to_string())?.ok_or_else(|| {
        format!("account {id} is not registered (`cc-number-relay-ctl accounts list` lists those that are)")
    })?;
    let client = client_of(app.with_jwt(account.jwt.clone()))?;
    Ok(Speaker::Registered(Box::new(Registered {
        account,
        client,
        registry,
    })))
}

fn has_registry() -> bool {
    std::env::var(ACCOUNTS_TABLE).is_ok_and(|t| !t.trim().is_empty())
}

/// Every registered account, which the default account's reconciliation
/// leaves out; none without ACCOUNTS_TABLE (a stack of one account).
pub async fn registered_ids() -> Result<BTreeSet<AccountId>, String> {
    if !has_registry() {
        return Ok(BTreeSet::new());
    }
    let listed = registry(false).await?.list().await.map_err(|e| e.to_string())?;
    Ok(listed.into_iter().map(|a| a.account_id).collect())
}
