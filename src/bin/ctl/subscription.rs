//! The relay's own subscription to ADDRESS: `subscribe`, `status`, `renew`
//! and `heal`. What is healthy and how to mend it is the guardian's
//! (`cc_number_relay::guardian`); here, the lines and the exit codes.

use crate::clients::{aws, client, verification_token, RingCentralArgs, TokenArgs};
use crate::reconcile::reconcile_now;
use crate::subscriptions::{create_failed, limit_reached, print_app_subscriptions};
use cc_number_relay::guardian;
use cc_number_relay::inventory::dynamodb::{lease_holder, DynamoInventory, SCAN_TIMEOUTS};
use cc_number_relay::ringcentral::{Client, Subscription, SubscriptionApi};
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
    reconcile_now("cc-number-relay-ctl subscribe", &client).await?;
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

pub async fn status(address: &str, expiring_within: Duration, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let client = client(args).await?;
    let now = time::OffsetDateTime::now_utc();
    let inspection = guardian::inspect(&client, address, expiring_within, now).map_err(|e| e.to_string())?;
    println!("subscriptions of this app to {address}:");
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

pub async fn renew(id: &str, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let client = client(args).await?;
    let renewed = client.renew_subscription(id).map_err(|e| e.to_string())?;
    println!(
        "renewed subscription {}: status {}, expires {}",
        renewed.id,
        renewed.status,
        renewed.expiration()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn heal(address: &str, token: &TokenArgs, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let token = verification_token(token).await?;
    let client = client(args).await?;
    // Without the table, nothing keeps a guardian run at the same moment
    // from creating one too; its next run deletes the extra one.
    let lease = match std::env::var("INVENTORY_TABLE").ok().filter(|t| !t.is_empty()) {
        Some(table) => Some(
            DynamoInventory::new(aws().await, table, SCAN_TIMEOUTS).lease(lease_holder("cc-number-relay-ctl heal")),
        ),
        None => None,
    };
    let now = time::OffsetDateTime::now_utc();
    let inspection =
        guardian::inspect(&client, address, guardian::DEFAULT_RENEW_WITHIN, now).map_err(|e| e.to_string())?;
    // The operator runs `heal` once the cause of a disabled filter is fixed:
    // the filters are put again (the guardian never does this by itself).
    let mut findings = guardian::retry_disabled(&client, &inspection);
    if findings.is_empty() {
        findings = guardian::heal(&client, &lease, &inspection, &token).await;
    }
    if findings.is_empty() {
        // Active already, or created by another run since this one looked.
        let now = time::OffsetDateTime::now_utc();
        let after = if inspection.alive() {
            inspection
        } else {
            guardian::inspect(&client, address, guardian::DEFAULT_RENEW_WITHIN, now).map_err(|e| e.to_string())?
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
        return Ok(ExitCode::SUCCESS);
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
            print_app_subscriptions(&client, address);
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
    if mended {
        // The gap just closed: what RingCentral did not deliver meanwhile is published now.
        reconcile_now("cc-number-relay-ctl heal", &client).await?;
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
