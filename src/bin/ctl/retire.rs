//! `accounts remove`'s `Deleted` for the account's numbers: the stack's
//! inventory and topics wired to the library's decision
//! (`cc_number_relay::reconcile::retire`), under the account's
//! reconciliation lease so a guardian run reconciling it at the same moment
//! does not interleave.

use crate::clients::aws;
use cc_number_relay::change::AccountId;
use cc_number_relay::config::{ConfigError, Reconciliation};
use cc_number_relay::inventory::dynamodb::{lease_holder, DynamoInventory, SCAN_TIMEOUTS};
use cc_number_relay::reconcile::{retire, with_lease, Kind, Progress};
use cc_number_relay::registry::Tenant;
use cc_number_relay::runtime::reconcile::RECONCILE_LEASE;
use cc_number_relay::sink::aws::AwsSink;

/// The inventory and topics, read before anything is deleted: `None` when
/// the stack's inventory is not named at all (nothing to tell from).
pub fn config(id: &AccountId) -> Result<Option<Reconciliation>, String> {
    match Reconciliation::from_env() {
        Ok(config) => Ok(Some(config)),
        Err(ConfigError::Missing("INVENTORY_TABLE")) => Ok(None),
        Err(e) => Err(format!(
            "{e}: `accounts remove` tells subscribers account {id}'s numbers are Deleted (nothing was done)"
        )),
    }
}

/// Tells subscribers each of the account's Contact Center numbers is
/// `Deleted`, and records it; an error keeps the account registered.
pub async fn tell_deleted(id: &AccountId, config: &Reconciliation) -> Result<(), String> {
    let still = format!("account {id} is still registered: run `accounts remove` again");
    eprintln!("accounts remove: telling subscribers account {id}'s numbers are Deleted (those the inventory holds)");
    let sdk = aws().await;
    let inventory = DynamoInventory::new(sdk, config.inventory_table.clone(), SCAN_TIMEOUTS)
        .for_tenant(Tenant::Registered(id.clone()));
    let sink = AwsSink::topics_only(sdk, config.topics.clone());
    let lease = inventory.reconcile_lease(lease_holder("cc-number-relay-ctl accounts remove"));
    let now = time::OffsetDateTime::now_utc();
    let told = retire(&inventory, &sink, id, now, |progress| {
        if let Progress::Correction(c) = progress {
            println!(
                "{} {} {}",
                c.kind.as_str(),
                c.change.phone_number.id,
                c.change.phone_number.e164
            );
        }
    });
    let report = with_lease(&lease, now, RECONCILE_LEASE, told)
        .await
        .map_err(|e| format!("{e} ({still})"))?;
    if let Some(holder) = &report.deferred_to {
        return Err(format!(
            "{holder} is reconciling account {id}: nothing told ({still} once it is done)"
        ));
    }
    if let Some(failure) = report.failed.first() {
        return Err(format!(
            "{} of account {id}'s Deleted could not be published ({still}): {failure}",
            report.failed.len()
        ));
    }
    if report.unrecorded > 0 {
        return Err(format!(
            "{} of account {id}'s Deleted were published but not recorded in the inventory ({still})",
            report.unrecorded
        ));
    }
    let deleted = report.published.get(&Kind::Deleted).copied().unwrap_or(0);
    let mut line = format!("told subscribers account {id}'s {deleted} Contact Center numbers are Deleted");
    if report.superseded > 0 {
        line.push_str(&format!(", {} told otherwise since (left alone)", report.superseded));
    }
    println!("{line}");
    Ok(())
}
