//! `reconcile`, and the reconciliation `subscribe` and `heal` run after
//! they put a subscription in place. The comparison is the library's
//! (`cc_number_relay::reconcile`, run by `runtime::reconcile`).

use crate::clients::{aws, RingCentralArgs};
use crate::tenant::{registered_ids, speaker, AccountArgs, Registered, Speaker};
use cc_number_relay::change::Timestamp;
use cc_number_relay::reconcile::{Mode, Progress};
use cc_number_relay::registry::{AccountRegistry, CheckRecord, Tenant};
use cc_number_relay::sink::target::Target;
use cc_number_relay::{config, ringcentral, runtime};
use std::process::ExitCode;
use std::time::Duration;

pub async fn reconcile(
    dry_run: bool,
    snapshot: bool,
    to: Option<&str>,
    page_interval: f64,
    account: &AccountArgs,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let config = config::Reconciliation::from_env().map_err(|e| e.to_string())?;
    let to = to
        .map(|t| Target::parse(t).map_err(|e| format!("--to {t}: {e}")))
        .transpose()?;
    let page_interval = Duration::try_from_secs_f64(page_interval)
        .map_err(|_| format!("--page-interval {page_interval}: expected seconds, 0 or more"))?;
    let speaker = speaker(account, args, false).await?;
    let sdk = aws().await;
    let options = runtime::reconcile::Options {
        mode: if snapshot { Mode::Snapshot } else { Mode::Correct },
        dry_run,
        to,
        page_interval,
        who: "cc-number-relay-ctl reconcile",
        tenant: speaker.tenant(),
        registered: registered_ids().await?,
    };
    let report = runtime::reconcile::run(sdk, &config, speaker.client(), options, |progress| match progress {
        Progress::Page { page, numbers } => {
            eprintln!("reconcile: page {page} read, {numbers} Contact Center numbers so far")
        }
        Progress::Correction(c) => println!(
            "{} {} {}",
            c.kind.as_str(),
            c.change.phone_number.id,
            c.change.phone_number.e164
        ),
    })
    .await
    .map_err(|e| e.to_string())?;
    println!("{}", report.line());
    if let Some(failure) = report.failed.first() {
        return Err(format!(
            "{} of the changes could not be published (the next run tries again): {failure}",
            report.failed.len()
        ));
    }
    if let Speaker::Registered(registered) = &speaker {
        if !dry_run && !snapshot && report.deferred_to.is_none() {
            record_reconciled(registered).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A registered account's reconciliation, recorded in the registry (what
/// `accounts list` shows): its last check as it was, `reconciled_at` now.
pub async fn record_reconciled(registered: &Registered) -> Result<(), String> {
    let summary = &registered.account.summary;
    let now = Timestamp::at(time::OffsetDateTime::now_utc());
    let check = CheckRecord {
        checked_at: summary.last_checked_at.clone().unwrap_or_else(|| now.clone()),
        subscription: summary.subscription.clone(),
        last_finding: summary.last_finding.clone(),
        reconciled_at: Some(now),
    };
    registered
        .registry
        .record_check(registered.id(), &check)
        .await
        .map_err(|e| format!("account {} reconciled, but recording it failed: {e}", registered.id()))
}

/// What came of [`reconcile_now`].
pub enum Reconciled {
    /// The inventory or a topic is not configured: the reason.
    NotRun(config::ConfigError),
    /// Another run holds the account's reconciliation lease: it reconciles.
    Deferred,
    Done,
}

/// With the stack's inventory (INVENTORY_TABLE and the topics in the
/// environment), reconciles `tenant` (`client` speaks as it): after
/// `subscribe` and `accounts add` (the baseline) and after `heal` mended a
/// subscription (the gap just closed), as the guardian does.
pub async fn reconcile_now(
    who: &'static str,
    client: &ringcentral::Client,
    tenant: Tenant,
) -> Result<Reconciled, String> {
    let config = match config::Reconciliation::from_env() {
        Ok(config) => config,
        Err(missing) => return Ok(Reconciled::NotRun(missing)),
    };
    let flag = tenant
        .account_id()
        .map(|id| format!(" --account-id {id}"))
        .unwrap_or_default();
    let options = runtime::reconcile::Options {
        mode: Mode::Correct,
        dry_run: false,
        to: None,
        page_interval: ringcentral::HEAVY_PAGE_INTERVAL,
        who,
        tenant,
        registered: registered_ids().await?,
    };
    let report = runtime::reconcile::run(aws().await, &config, client, options, |progress| {
        if let Progress::Page { page, numbers } = progress {
            eprintln!("reconcile: page {page} read, {numbers} Contact Center numbers so far")
        }
    })
    .await
    .map_err(|e| {
        format!("the subscription is in place, but reconciling failed (run `cc-number-relay-ctl reconcile{flag}`): {e}")
    })?;
    println!("{}", report.line());
    if let Some(failure) = report.failed.first() {
        return Err(format!(
            "{} corrections could not be published (the next reconciliation tries again): {failure}",
            report.failed.len()
        ));
    }
    Ok(match report.deferred_to {
        Some(_) => Reconciled::Deferred,
        None => Reconciled::Done,
    })
}

/// The line for a reconciliation `subscribe` or `heal` did not run.
pub fn not_run(missing: &config::ConfigError, tenant: &Tenant) -> String {
    let flag = match tenant.account_id() {
        Some(id) => format!(" --account-id {id}"),
        None => String::new(),
    };
    format!(
        "reconcile: not run ({missing}); the guardian's next reconciliation does it, or run `cc-number-relay-ctl reconcile{flag}` with the stack's INVENTORY_TABLE and topic ARNs"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_number_relay::change::AccountId;

    #[test]
    fn a_reconciliation_not_run_says_how_to_run_it_for_its_account() {
        let missing = config::ConfigError::Missing("INVENTORY_TABLE");
        assert_eq!(
            not_run(&missing, &Tenant::Default),
            "reconcile: not run (environment variable INVENTORY_TABLE is not set); the guardian's next reconciliation does it, or run `cc-number-relay-ctl reconcile` with the stack's INVENTORY_TABLE and topic ARNs"
        );
        let account = Tenant::Registered(AccountId::parse("51000001").unwrap());
        assert_eq!(
            not_run(&missing, &account),
            "reconcile: not run (environment variable INVENTORY_TABLE is not set); the guardian's next reconciliation does it, or run `cc-number-relay-ctl reconcile --account-id 51000001` with the stack's INVENTORY_TABLE and topic ARNs"
        );
    }
}
