//! Publishing a notification with the inventory beside it, the same for the
//! relay and for redrive: a redelivery of what subscribers were already told
//! is not published again; an older state is published flagged `stale` and
//! not recorded; what reached its topic is recorded. The inventory never
//! costs the notification: when it fails, this publishes as without one.

use crate::change::{Change, Delivery, Origin};
use crate::inventory::{Inventory, InventoryError, Told};
use crate::parked::PublishFailure;
use crate::sink::Sink;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// On its topic (named), flagged stale or not.
    Sent { topic: String, stale: bool },
    /// Subscribers were already told this: not sent again.
    Duplicate,
}

pub async fn publish_recorded(
    sink: &impl Sink,
    inventory: &impl Inventory,
    change: &Change,
    origin: Origin,
) -> Result<Published, PublishFailure> {
    let told = inventory
        .last_told(&change.phone_number.id)
        .await
        .unwrap_or_else(|e| inventory_failed(&e));
    if told.as_ref().is_some_and(|t| t.already_told(change)) {
        return Ok(Published::Duplicate);
    }
    let stale = told.as_ref().is_some_and(|t| t.newer_than(change));
    let topic = sink.publish(change, Delivery { origin, stale }).await?;
    if !stale {
        let told = Told {
            change: change.clone(),
            origin,
        };
        if let Err(e) = inventory.record(&told).await {
            inventory_failed::<()>(&e);
        }
    }
    Ok(Published::Sent { topic, stale })
}

/// Logged and counted; the next reconciliation repairs what was not written.
fn inventory_failed<T>(error: &InventoryError) -> Option<T> {
    tracing::warn!(
        operation = error.operation,
        "{error}; publishing as if there were no inventory"
    );
    metrics::counter!(crate::observe::INVENTORY_ERRORS, "operation" => error.operation).increment(1);
    None
}
