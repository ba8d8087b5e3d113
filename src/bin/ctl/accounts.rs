//! `accounts add|list|remove`: the RingCentral accounts this stack serves
//! besides its own (the default account: the stack's credentials secret and
//! token secret). Each registered account's JWT and verification tokens are
//! sealed in the registry (`cc_number_relay::registry::dynamodb`); the app's
//! client id and secret stay in the credentials secret.

use crate::clients::{app_credentials, client_of, registry, RingCentralArgs};
use crate::subscription::deaf_from_the_start;
use crate::subscriptions::create_failed;
use cc_number_relay::change::{AccountId, Timestamp};
use cc_number_relay::registry::dynamodb::DynamoRegistry;
use cc_number_relay::registry::sealed::MAX_PLAINTEXT_BYTES;
use cc_number_relay::registry::{
    Account, AccountRegistry, AccountSummary, CheckRecord, RegistryError, SubscriptionRecord,
};
use cc_number_relay::ringcentral::{self, Client, Secret, SignsIn, Subscription, SubscriptionApi};
use cc_number_relay::token::{TokenSet, VerificationToken};
use cc_number_relay::token_store::generate_token;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// Register a customer's RingCentral account: check its JWT signs in to
    /// it, give it its own verification token, and create its subscription
    /// to ADDRESS (the filter naming the account). All or nothing: when the
    /// subscription cannot be created, the account is not registered, and
    /// the command can be run again. Reads ACCOUNTS_TABLE and ACCOUNTS_KEY_ID.
    Add {
        /// The customer's RingCentral account id (digits).
        #[arg(long, value_parser = account_id)]
        account_id: AccountId,
        /// A file holding the customer's JWT credential for this app.
        #[arg(long, value_name = "PATH")]
        jwt_file: PathBuf,
        /// The webhook URL: the stack's WebhookUrl output.
        #[arg(long)]
        address: String,
        /// The subscription's lifetime in seconds (RingCentral's maximum, ten years, by default).
        #[arg(long, default_value_t = ringcentral::MAX_EXPIRES_IN, value_parser = clap::value_parser!(u32).range(1..=i64::from(ringcentral::MAX_EXPIRES_IN)))]
        expires_in: u32,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
    /// The registered accounts, one line each: subscription, expiry, last
    /// reconciliation, last finding. Reads ACCOUNTS_TABLE.
    List {
        /// A JSON array instead of lines, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Delete a registered account's subscriptions (with its own JWT), then
    /// forget it, credential and tokens with it. Reads ACCOUNTS_TABLE.
    Remove {
        #[arg(long, value_parser = account_id)]
        account_id: AccountId,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
}

fn account_id(value: &str) -> Result<AccountId, String> {
    AccountId::parse(value).map_err(|e| format!("a RingCentral account id {e}"))
}

pub async fn run(command: AccountsCommand) -> Result<ExitCode, String> {
    match command {
        AccountsCommand::Add {
            account_id,
            jwt_file,
            address,
            expires_in,
            ringcentral,
        } => add(&account_id, &jwt_file, &address, expires_in, &ringcentral).await,
        AccountsCommand::List { json } => list(json).await,
        AccountsCommand::Remove {
            account_id,
            ringcentral,
        } => remove(&account_id, &ringcentral).await,
    }
}

/// A file holding one JWT: trimmed, at most what KMS seals, no whitespace inside.
fn read_jwt_file(path: &Path) -> Result<Secret, String> {
    let shown = path.display();
    let too_large = |bytes: u64| {
        format!("--jwt-file {shown} holds {bytes} bytes: a JWT credential here is at most {MAX_PLAINTEXT_BYTES} (what KMS seals)")
    };
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read --jwt-file {shown}: {e}"))?
        .len();
    // Not read at all when it cannot be one, however large it is.
    if size > 4 * MAX_PLAINTEXT_BYTES as u64 {
        return Err(too_large(size));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read --jwt-file {shown}: {e}"))?;
    let jwt = text.trim();
    if jwt.is_empty() {
        return Err(format!(
            "--jwt-file {shown} is empty: it must hold the account's JWT credential"
        ));
    }
    if jwt.len() > MAX_PLAINTEXT_BYTES {
        return Err(too_large(jwt.len() as u64));
    }
    if !jwt.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "--jwt-file {shown} holds spaces, line breaks or non-ASCII characters inside: it must hold one JWT credential"
        ));
    }
    Ok(Secret::new(jwt.to_owned()))
}

async fn add(
    id: &AccountId,
    jwt_file: &Path,
    address: &str,
    expires_in: u32,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let registry = registry(true).await?;
    let jwt = read_jwt_file(jwt_file)?;
    let client = client_of(app_credentials(args).await?.with_jwt(jwt.clone()))?;
    eprintln!("accounts add: signing in with the JWT and checking it is account {id}'s");
    if client.signs_in_to(id).map_err(|e| e.to_string())? == SignsIn::ToAnotherAccount {
        return Err(format!(
            "the JWT signs in to another account than {id}: check --jwt-file and --account-id (nothing was registered)"
        ));
    }
    let token = generate_token().map_err(|e| e.to_string())?;
    let account = Account {
        summary: AccountSummary {
            account_id: id.clone(),
            address: address.to_owned(),
            added_at: Timestamp::at(time::OffsetDateTime::now_utc()),
            subscription: None,
            last_checked_at: None,
            last_reconciled_at: None,
            last_finding: None,
        },
        jwt,
        tokens: TokenSet::single(token.clone()),
    };
    // Registered before subscribing: the relay must know the token by the
    // time RingCentral delivers with it.
    registry.add(&account).await.map_err(|e| match e {
        RegistryError::AlreadyRegistered(_) => {
            format!("{e}: `cc-number-relay-ctl accounts remove --account-id {id}` first to register it anew")
        }
        other => other.to_string(),
    })?;
    eprintln!(
        "accounts add: creating account {id}'s subscription to {address} (RingCentral validates the address first)"
    );
    let created = match subscribe(&client, id, address, &token, expires_in) {
        Ok(created) => created,
        Err(failure) => return Err(unregister(&registry, id, failure).await),
    };
    let now = Timestamp::at(time::OffsetDateTime::now_utc());
    let check = CheckRecord {
        checked_at: now,
        subscription: Some(record_of(&created)),
        last_finding: None,
        reconciled_at: None,
    };
    registry.record_check(id, &check).await.map_err(|e| {
        format!(
            "account {id} is registered and subscription {} delivers to {address}, but recording it failed (the guardian's next check records it): {e}",
            created.id
        )
    })?;
    println!(
        "registered account {id}: subscription {}, status {}, expires {}, address {}",
        created.id,
        created.status,
        created.expiration(),
        created.address().unwrap_or(address)
    );
    baseline(id, &client, &registry).await?;
    Ok(ExitCode::SUCCESS)
}

/// The account's subscription, or why there is none: a deaf one is deleted
/// again, so that nothing of a failed `add` is left behind.
fn subscribe(
    client: &Client,
    id: &AccountId,
    address: &str,
    token: &VerificationToken,
    expires_in: u32,
) -> Result<Subscription, String> {
    let created = client
        .create_account_subscription(id, address, token, expires_in)
        .map_err(|e| create_failed(client, address, &e))?;
    let Some(deaf) = deaf_from_the_start(client, address, created.clone())? else {
        return Ok(created);
    };
    match client.delete_subscription(&created.id) {
        Ok(()) | Err(ringcentral::RingCentralError::NotFound(_)) => Err(deaf.summary()),
        Err(e) => Err(format!(
            "{}; and the deaf subscription {} could not be deleted ({e})",
            deaf.summary(),
            created.id
        )),
    }
}

/// Undoes the registration after a failed subscription: one line saying both.
async fn unregister(registry: &DynamoRegistry, id: &AccountId, failure: String) -> String {
    match registry.remove(id).await {
        Ok(()) => format!("{failure} (account {id} was not registered: run `accounts add` again once this is fixed)"),
        Err(e) => format!(
            "{failure}; and account {id}'s registration could not be undone ({e}): run `cc-number-relay-ctl accounts remove --account-id {id}`"
        ),
    }
}

fn record_of(subscription: &Subscription) -> SubscriptionRecord {
    SubscriptionRecord {
        id: subscription.id.clone(),
        status: subscription.status.to_string(),
        expires_at: subscription
            .expiration_time
            .as_deref()
            .and_then(|at| Timestamp::parse(at).ok()),
    }
}

/// The account's reconciliation baseline, taken now so that any later gap
/// in its notifications is repaired, as `subscribe` does for the default account.
async fn baseline(id: &AccountId, _client: &Client, _registry: &DynamoRegistry) -> Result<(), String> {
    // ISSUE 26 MERGE POINT (the one spot): this branch's
    // `runtime::reconcile::Options` has no `tenant` yet. Once it has, this
    // body becomes `crate::reconcile::reconcile_now` for
    // `Tenant::Registered(id.clone())` with `_client` (the account's JWT),
    // then `_registry.record_check` with `reconciled_at` set.
    println!(
        "reconcile: account {id}'s baseline is not taken by this build; the guardian's next reconciliation takes it"
    );
    Ok(())
}

async fn list(json: bool) -> Result<ExitCode, String> {
    let accounts = registry(false).await?.list().await.map_err(|e| e.to_string())?;
    if json {
        let records: Vec<serde_json::Value> = accounts.iter().map(json_of).collect();
        println!("{}", serde_json::Value::Array(records));
        return Ok(ExitCode::SUCCESS);
    }
    println!("the default account is the stack's own (its credentials secret), not listed here");
    match accounts.len() {
        0 => println!("no registered accounts (`cc-number-relay-ctl accounts add` registers one)"),
        1 => println!("1 registered account:"),
        n => println!("{n} registered accounts:"),
    }
    for account in &accounts {
        println!("  {}", line_of(account));
    }
    Ok(ExitCode::SUCCESS)
}

/// `ID: subscription SUB Active, expires AT; reconciled AT; last finding TEXT`.
fn line_of(account: &AccountSummary) -> String {
    let subscription = match &account.subscription {
        Some(s) => format!(
            "subscription {} {}, expires {}",
            s.id,
            if s.status.is_empty() { "Unknown" } else { &s.status },
            s.expires_at.as_ref().map_or("unknown", Timestamp::as_str)
        ),
        None => "no subscription recorded".to_owned(),
    };
    format!(
        "{}: {subscription}; reconciled {}; last finding {}",
        account.account_id,
        account.last_reconciled_at.as_ref().map_or("never", Timestamp::as_str),
        account.last_finding.as_deref().unwrap_or("none")
    )
}

/// Every key always there (null when unknown), so scripts can rely on them.
fn json_of(account: &AccountSummary) -> serde_json::Value {
    let subscription = account.subscription.as_ref();
    serde_json::json!({
        "accountId": account.account_id.as_str(),
        "address": account.address,
        "addedAt": account.added_at.as_str(),
        "subscriptionId": subscription.map(|s| s.id.as_str()),
        "subscriptionStatus": subscription.map(|s| s.status.as_str()),
        "expiresAt": subscription.and_then(|s| s.expires_at.as_ref()).map(Timestamp::as_str),
        "lastCheckedAt": account.last_checked_at.as_ref().map(Timestamp::as_str),
        "lastReconciledAt": account.last_reconciled_at.as_ref().map(Timestamp::as_str),
        "lastFinding": account.last_finding,
    })
}

async fn remove(id: &AccountId, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let registry = registry(false).await?;
    let account = registry.get(id).await.map_err(|e| e.to_string())?.ok_or_else(|| {
        format!("account {id} is not registered (`cc-number-relay-ctl accounts list` lists those that are)")
    })?;
    let address = account.summary.address.clone();
    let client = client_of(app_credentials(args).await?.with_jwt(account.jwt.clone()))?;
    eprintln!("accounts remove: deleting account {id}'s subscriptions to {address}");
    let kept = |e: ringcentral::RingCentralError| {
        format!("{e} (account {id} is still registered: run `accounts remove` again)")
    };
    let mut ids: Vec<String> = client
        .subscriptions_to(&address)
        .map_err(kept)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    // The recorded one too, in case it no longer lists at this address.
    ids.extend(account.summary.subscription.iter().map(|s| s.id.clone()));
    ids.sort();
    ids.dedup();
    for subscription in &ids {
        match client.delete_subscription(subscription) {
            Ok(()) => println!("deleted subscription {subscription}"),
            Err(ringcentral::RingCentralError::NotFound(_)) => println!("subscription {subscription} is already gone"),
            Err(e) => return Err(kept(e)),
        }
    }
    // ISSUE 26 (the lead wires it): the account's numbers' `Deleted`
    // corrections go here, before the registry forgets the account.
    registry.remove(id).await.map_err(|e| e.to_string())?;
    println!("removed account {id} from the registry");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn summary() -> AccountSummary {
        AccountSummary {
            account_id: AccountId::parse("51000001").unwrap(),
            address: "https://relay.example/webhook".into(),
            added_at: at("2026-03-01T10:00:00.000Z"),
            subscription: None,
            last_checked_at: None,
            last_reconciled_at: None,
            last_finding: None,
        }
    }

    #[test]
    fn a_line_says_the_subscription_the_reconciliation_and_the_finding() {
        assert_eq!(
            line_of(&summary()),
            "51000001: no subscription recorded; reconciled never; last finding none"
        );
        let full = AccountSummary {
            subscription: Some(SubscriptionRecord {
                id: "sub-1".into(),
                status: "Blacklisted".into(),
                expires_at: Some(at("2036-03-01T00:00:00.000Z")),
            }),
            last_reconciled_at: Some(at("2026-03-02T00:00:00.000Z")),
            last_finding: Some("Blacklisted: delivery failed".into()),
            ..summary()
        };
        assert_eq!(
            line_of(&full),
            "51000001: subscription sub-1 Blacklisted, expires 2036-03-01T00:00:00.000Z; reconciled 2026-03-02T00:00:00.000Z; last finding Blacklisted: delivery failed"
        );
    }

    #[test]
    fn the_json_has_every_key_null_when_unknown() {
        assert_eq!(
            json_of(&summary()),
            serde_json::json!({"accountId": "51000001", "address": "https://relay.example/webhook",
                "addedAt": "2026-03-01T10:00:00.000Z", "subscriptionId": null, "subscriptionStatus": null,
                "expiresAt": null, "lastCheckedAt": null, "lastReconciledAt": null, "lastFinding": null})
        );
    }

    #[test]
    fn a_jwt_file_is_one_trimmed_jwt_of_at_most_4096_bytes() {
        let dir = std::env::temp_dir().join(format!("accounts-jwt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, content: &str| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            path
        };
        let ok = read_jwt_file(&file("ok", "  eyJ.payload.sig\n")).unwrap();
        assert_eq!(ok.expose(), "eyJ.payload.sig");
        let error = |path: PathBuf| {
            read_jwt_file(&path)
                .unwrap_err()
                .replace(&dir.display().to_string(), "D")
        };
        assert_eq!(
            error(file("empty", " \n")),
            "--jwt-file D/empty is empty: it must hold the account's JWT credential"
        );
        assert_eq!(
            error(file("large", &"x".repeat(4097))),
            "--jwt-file D/large holds 4097 bytes: a JWT credential here is at most 4096 (what KMS seals)"
        );
        assert_eq!(
            error(file("huge", &"x".repeat(20_000))),
            "--jwt-file D/huge holds 20000 bytes: a JWT credential here is at most 4096 (what KMS seals)"
        );
        assert_eq!(
            error(file("two", "eyJ.a.b\neyJ.c.d")),
            "--jwt-file D/two holds spaces, line breaks or non-ASCII characters inside: it must hold one JWT credential"
        );
        assert!(error(dir.join("absent")).starts_with("cannot read --jwt-file D/absent: "));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_account_id_is_digits() {
        assert_eq!(account_id("51000001").unwrap().as_str(), "51000001");
        assert_eq!(
            account_id("~").unwrap_err(),
            "a RingCentral account id must be 1 to 32 digits"
        );
    }
}
