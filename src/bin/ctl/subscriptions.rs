//! `subscriptions [delete]`: ALL of this app's subscriptions, every address,
//! and deleting the orphans; the same listing explains SUB-505 (too many
//! subscriptions) when `subscribe` or `heal` cannot create one.

use crate::clients::RingCentralArgs;
use crate::tenant::{speaker, AccountArgs, Speaker};
use cc_number_relay::guardian;
use cc_number_relay::ringcentral::{self, SubscriptionApi};
use std::process::ExitCode;

/// `ours`: `--address`, or a registered account's recorded one.
pub async fn list_subscriptions(
    ours: Option<&str>,
    json: bool,
    account: &AccountArgs,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let speaker = speaker(account, args, false).await?;
    let ours = match (&speaker, ours) {
        (Speaker::Registered(r), None) => Some(r.account.summary.address.clone()),
        (_, ours) => ours.map(str::to_owned),
    };
    let all = speaker.client().list_subscriptions().map_err(|e| e.to_string())?;
    let listed = ringcentral::listing(&all, ours.as_deref());
    if json {
        let records: Vec<serde_json::Value> = listed.iter().map(ringcentral::Listed::json).collect();
        println!(
            "{}",
            serde_json::json!({"count": records.len(), "subscriptions": records})
        );
    } else {
        print_listing(&listed);
    }
    Ok(ExitCode::SUCCESS)
}

/// The count, one line each, and how to delete what looks orphaned.
fn print_listing(listed: &[ringcentral::Listed<'_>]) {
    match listed.len() {
        0 => println!("this app has no subscriptions"),
        1 => println!("this app has 1 subscription (RingCentral allows about 20 per user and app):"),
        n => println!("this app has {n} subscriptions (RingCentral allows about 20 per user and app):"),
    }
    for one in listed {
        println!("  {}", one.line());
    }
    let orphaned = listed.iter().filter(|l| l.orphaned.is_some()).count();
    if orphaned > 0 {
        println!("{orphaned} look orphaned: delete those nothing else uses with `cc-number-relay-ctl subscriptions delete ID [ID...]`");
    }
}

/// The line for a failed creation; on SUB-505 the app's subscriptions go to
/// stdout first, so the operator can pick the orphans. For `subscribe` and
/// `heal`.
pub fn create_failed(client: &ringcentral::Client, address: &str, error: &ringcentral::RingCentralError) -> String {
    if matches!(error, ringcentral::RingCentralError::SubscriptionLimit { .. }) {
        print_app_subscriptions(client, address);
    }
    error.to_string()
}

/// The app's subscriptions marked against `address`, on stdout; a failure
/// to list them is said there too (the error being explained comes first).
pub fn print_app_subscriptions(client: &ringcentral::Client, address: &str) {
    match client.list_subscriptions() {
        Ok(all) => print_listing(&ringcentral::listing(&all, Some(address))),
        Err(e) => println!("could not list this app's subscriptions: {e}"),
    }
}

/// `heal` could not create for SUB-505, the app's subscriptions limit.
pub fn limit_reached(finding: &guardian::Finding) -> bool {
    matches!(finding, guardian::Finding::HealFailed { code: Some(code), .. } if code == "SUB-505")
}

/// Each id deleted, or said to be gone already; exits 1 when one could not be.
pub async fn delete_subscriptions(
    ids: &[String],
    account: &AccountArgs,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let speaker = speaker(account, args, false).await?;
    let client = speaker.client();
    let mut failed = false;
    for id in ids {
        match client.delete_subscription(id) {
            Ok(()) => println!("deleted subscription {id}"),
            Err(ringcentral::RingCentralError::NotFound(_)) => {
                println!("subscription {id} is already gone")
            }
            Err(e) => {
                failed = true;
                eprintln!("cc-number-relay-ctl: could not delete subscription {id}: {e}");
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
