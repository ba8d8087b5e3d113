//! The relay's own subscription to ADDRESS: `subscribe`, `status`, `renew`
//! and `heal`, the last three for the default account or a registered one
//! (`--account-id`). What is healthy and how to mend it is the guardian's
//! (`cc_number_relay::guardian`); here, the lines and the exit codes.

use crate::clients::{aws, client, verification_token, RingCentralArgs, TokenArgs};
use crate::reconcile::{not_run, reconcile_now, Reconciled};
use crate::subscriptions::{create_failed, limit_reached, print_app_subscriptions};
use crate::tenant::{speaker, AccountArgs, Registered, Speaker};
use cc_number_relay::change::Timestamp;
use cc_number_relay::guardian;
use cc_number_relay::inventory::dynamodb::{lease_holder, DynamoInventory, SCAN_TIMEOUTS};
use cc_number_relay::registry::{AccountRegistry, CheckRecord, Tenant};
use cc_number_relay::ringcentral::{Client, Subscription, SubscriptionApi};
use cc_number_relay::token::VerificationToken;
use std::process::ExitCode;
use std::time::Duration;

/// Exit status of `status` when a subscription needs attention.
const NEEDS_ATTENTION: u8 = 3;

pub async fn subscribe(
    address: &str,
    expires_in: u32,
    token: &TokenArgs,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let token = verification_token(token).await?;
    let client = client(args).await?;
    let created = client
        .create_subscription(address, &token, expires_in)
        .map_err(|e| create_failed(&client, address, &e))?;
    println!(
        "created subscription {}: status {}, expires {}, address {}",
        created.id,
        created.status,
        created.expiration(),
        created.address().unwrap_or(address)
    );
    if let Some(deaf) = deaf_from_the_start(&client, address, created)? {
        return Err(deaf.summary());
    }
    // The relay is responsible for the account from now on: the baseline
    // is taken now, so a gap from this moment on is repaired like any other.
    if let Reconciled::NotRun(missing) =
        reconcile_now("cc-number-relay-ctl subscribe", &client, Tenant::Default).await?
    {
        println!("{}", not_run(&missing, &Tenant::Default));
    }
    Ok(ExitCode::SUCCESS)
}

/// Deaf from the start (a permission missing, say)? RingCentral says so in
/// its answer, or in its list right after. For `subscribe` and `accounts add`.
pub fn deaf_from_the_start(
    client: &Client,
    address: &str,
    created: Subscription,
) -> Result<Option<guardian::Finding>, String> {
    let now = time::OffsetDateTime::now_utc();
    let listed = guardian::inspect(client, address, guardian::DEFAULT_RENEW_WITHIN, now).map_err(|e| e.to_string())?;
    let assessed = listed
        .subscriptions
        .into_iter()
        .find(|a| a.subscription.id == created.id)
        .unwrap_or_else(|| guardian::Assessed {
            state: guardian::assess(&created, guardian::DEFAULT_RENEW_WITHIN, now),
            subscription: created,
        });
    let inspection = guardian::Inspection {
        address: address.to_owned(),
        subscriptions: vec![assessed],
    };
    Ok(inspection.findings().into_iter().find(guardian::Finding::is_deaf))
}

pub async fn status(
    address: Option<&str>,
    expiring_within: Duration,
    account: &AccountArgs,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let speaker = speaker(account, args, false).await?;
    let address = &speaker.address(address)?;
    let now = time::OffsetDateTime::now_utc();
    let inspection = guardian::inspect(speaker.client(), address, expiring_within, now).map_err(|e| e.to_string())?;
    match &speaker {
        Speaker::Default(_) => println!("subscriptions of this app to {address}:"),
        Speaker::Registered(r) => println!("subscriptions of this app for account {} to {address}:", r.id()),
    }
    for assessed in &inspection.subscriptions {
        println!("  {}", assessed.line(now));
    }
    let findings = inspection.findings();
    if findings.is_empty() {
        println!("healthy");
        return Ok(ExitCode::SUCCESS);
    }
    for finding in &findings {
        println!("needs attention: {}", finding.summary());
    }
    Ok(ExitCode::from(NEEDS_ATTENTION))
}

pub async fn renew(id: &str, account: &AccountArgs, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let speaker = speaker(account, args, false).await?;
    let renewed = speaker.client().renew_subscription(id).map_err(|e| e.to_string())?;
    println!(
        "renewed subscription {}: status {}, expires {}",
        renewed.id,
        renewed.status,
        renewed.expiration()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn heal(
    address: Option<&str>,
    token: &TokenArgs,
    account: &AccountArgs,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let speaker = speaker(account, args, false).await?;
    let address = &speaker.address(address)?;
    match &speaker {
        Speaker::Default(client) => {
            let token = verification_token(token).await?;
            let (code, mended) = heal_as(&**client, client, &Tenant::Default, address, &token).await?;
            if mended {
                reconcile_after_mending(client, &Tenant::Default).await?;
            }
            Ok(code)
        }
        Speaker::Registered(r) => {
            if token.is_given() {
                return Err(format!(
                    "--verification-token-secret is the default account's: account {}'s tokens are in the registry",
                    r.id()
                ));
            }
            let tenant = Tenant::Registered(r.id().clone());
            let token = r.account.tokens.current.clone();
            let (code, mended) = heal_as(&r.client.as_account(r.id()), &r.client, &tenant, address, &token).await?;
            // Recorded first: the relay refuses the account's notifications
            // from a subscription the registry does not name.
            record_subscription(r, address).await?;
            if mended {
                reconcile_after_mending(&r.client, &tenant).await?;
            }
            Ok(code)
        }
    }
}

/// `heal` over `api` (a registered account's creates with the filter
/// naming it), under `tenant`'s lease; whether it mended a subscription.
async fn heal_as(
    api: &impl SubscriptionApi,
    client: &Client,
    tenant: &Tenant,
    address: &str,
    token: &VerificationToken,
) -> Result<(ExitCode, bool), String> {
    // Without the table, nothing keeps a guardian run at the same moment
    // from creating one too; its next run deletes the extra one.
    let lease = match std::env::var("INVENTORY_TABLE").ok().filter(|t| !t.is_empty()) {
        Some(table) => Some(
            DynamoInventory::new(aws().await, table, SCAN_TIMEOUTS)
                .for_tenant(tenant.clone())
                .lease(lease_holder("cc-number-relay-ctl heal")),
        ),
        None => None,
    };
    let now = time::OffsetDateTime::now_utc();
    let inspection = guardian::inspect(api, address, guardian::DEFAULT_RENEW_WITHIN, now).map_err(|e| e.to_string())?;
    // The operator runs `heal` once the cause of a disabled filter is fixed:
    // the filters are put again (the guardian never does this by itself).
    let mut findings = guardian::retry_disabled(api, &inspection);
    if findings.is_empty() {
        findings = guardian::heal(api, &lease, &inspection, token).await;
    }
    if findings.is_empty() {
        // Active already, or created by another run since this one looked.
        let now = time::OffsetDateTime::now_utc();
        let after = if inspection.alive() {
            inspection
        } else {
            guardian::inspect(api, address, guardian::DEFAULT_RENEW_WITHIN, now).map_err(|e| e.to_string())?
        };
        let live: Vec<&str> = after
            .subscriptions
            .iter()
            .filter(|a| a.subscription.is_active())
            .map(|a| a.subscription.id.as_str())
            .collect();
        println!(
            "nothing to heal: Active subscription {} delivers to {address}",
            live.join(", ")
        );
        return Ok((ExitCode::SUCCESS, false));
    }
    let mut failed = false;
    for finding in &findings {
        let failure = matches!(
            finding,
            guardian::Finding::HealFailed { .. }
                | guardian::Finding::HealDeferred { .. }
                | guardian::Finding::RemoveFailed { .. }
                | guardian::Finding::RestoreFailed { .. }
        );
        failed |= failure;
        if limit_reached(finding) {
            print_app_subscriptions(client, address);
        }
        if failure {
            eprintln!("cc-number-relay-ctl: {}", finding.summary());
        } else {
            println!("{}", finding.summary());
        }
    }
    let mended = findings.iter().any(|f| {
        matches!(
            f,
            guardian::Finding::Healed { .. } | guardian::Finding::FiltersRestored { .. }
        )
    });
    let code = if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    Ok((code, mended))
}

/// The gap just closed: what RingCentral did not deliver meanwhile is published now.
async fn reconcile_after_mending(client: &Client, tenant: &Tenant) -> Result<(), String> {
    if let Reconciled::NotRun(missing) = reconcile_now("cc-number-relay-ctl heal", client, tenant.clone()).await? {
        println!("{}", not_run(&missing, tenant));
    }
    Ok(())
}

/// The subscription that now delivers to a registered account's address,
/// recorded in the registry: the relay accepts the account's notifications
/// only from the subscription recorded there (or a rotation's).
async fn record_subscription(registered: &Registered, address: &str) -> Result<(), String> {
    let now = time::OffsetDateTime::now_utc();
    let after = guardian::inspect(&registered.client, address, guardian::DEFAULT_RENEW_WITHIN, now)
        .map_err(|e| e.to_string())?;
    let Some(active) = after
        .subscriptions
        .iter()
        .map(|a| &a.subscription)
        .filter(|s| s.is_active())
        .max_by_key(|s| s.created_at())
    else {
        return Ok(());
    };
    let summary = &registered.account.summary;
    if summary
        .subscription
        .as_ref()
        .is_some_and(|s| s.id == active.id && s.status == active.status.to_string())
    {
        return Ok(());
    }
    let check = CheckRecord {
        checked_at: Timestamp::at(now),
        subscription: Some(crate::accounts::record_of(active)),
        last_finding: None,
        reconciled_at: None,
    };
    registered.registry.record_check(registered.id(), &check).await.map_err(|e| {
        format!(
            "subscription {} delivers to {address}, but recording it for account {} failed (the guardian's next check records it): {e}",
            active.id,
            registered.id()
        )
    })
}
