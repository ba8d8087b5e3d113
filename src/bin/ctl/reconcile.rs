//! `reconcile`, and the reconciliation `subscribe` and `heal` run after
//! they put a subscription in place. The comparison is the library's
//! (`cc_number_relay::reconcile`, run by `runtime::reconcile`).

use crate::clients::{aws, client, RingCentralArgs};
use cc_number_relay::reconcile::{Mode, Progress};
use cc_number_relay::sink::target::Target;
use cc_number_relay::{config, ringcentral, runtime};
use std::process::ExitCode;
use std::time::Duration;

pub async fn reconcile(
    dry_run: bool,
    snapshot: bool,
    to: Option<&str>,
    page_interval: f64,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let config = config::Reconciliation::from_env().map_err(|e| e.to_string())?;
    let to = to
        .map(|t| Target::parse(t).map_err(|e| format!("--to {t}: {e}")))
        .transpose()?;
    let page_interval = Duration::try_from_secs_f64(page_interval)
        .map_err(|_| format!("--page-interval {page_interval}: expected seconds, 0 or more"))?;
    let client = client(args).await?;
    let sdk = aws().await;
    let options = runtime::reconcile::Options {
        mode: if snapshot { Mode::Snapshot } else { Mode::Correct },
        dry_run,
        to,
        page_interval,
        who: "cc-number-relay-ctl reconcile",
        tenant: cc_number_relay::registry::Tenant::Default,
        registered: Default::default(),
    };
    let report = runtime::reconcile::run(sdk, &config, &client, options, |progress| match progress {
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
    Ok(ExitCode::SUCCESS)
}

/// With the stack's inventory (INVENTORY_TABLE and the topics in the
/// environment), reconciles: after `subscribe` (the baseline) and after
/// `heal` mended a subscription (the gap just closed), as the guardian does.
pub async fn reconcile_now(who: &'static str, client: &ringcentral::Client) -> Result<(), String> {
    let config = match config::Reconciliation::from_env() {
        Ok(config) => config,
        Err(missing) => {
            println!(
                "reconcile: not run ({missing}); the guardian's next reconciliation does it, or run `cc-number-relay-ctl reconcile` with the stack's INVENTORY_TABLE and topic ARNs"
            );
            return Ok(());
        }
    };
    let options = runtime::reconcile::Options {
        mode: Mode::Correct,
        dry_run: false,
        to: None,
        page_interval: ringcentral::HEAVY_PAGE_INTERVAL,
        who,
        tenant: cc_number_relay::registry::Tenant::Default,
        registered: Default::default(),
    };
    let report = runtime::reconcile::run(aws().await, &config, client, options, |progress| {
        if let Progress::Page { page, numbers } = progress {
            eprintln!("reconcile: page {page} read, {numbers} Contact Center numbers so far")
        }
    })
    .await
    .map_err(|e| {
        format!("the subscription is in place, but reconciling failed (run `cc-number-relay-ctl reconcile`): {e}")
    })?;
    println!("{}", report.line());
    match report.failed.first() {
        Some(failure) => Err(format!(
            "{} corrections could not be published (the next reconciliation tries again): {failure}",
            report.failed.len()
        )),
        None => Ok(()),
    }
}
