//! Confirmation: every `Updated` a webhook delivered is checked against
//! RingCentral's get-by-id within a minute, off the webhook path.
//!
//! RingCentral's documents leave open whether an `Updated` for a number
//! reassigned *away* from Contact Center names its new usage type or still
//! says `ContactCenterNumber` (the event's payload table gives `usageType`
//! the one value `'ContactCenterNumber'`). In the
//! second case subscribers would keep a number that left Contact Center
//! until the next hourly reconciliation. The confirm queue (subscribed to
//! the Updated topic, `origin` `webhook` only) hands batches of those
//! changes here; each number is read once from RingCentral and compared
//! with what subscribers were last told (the inventory, or the change
//! itself when the inventory has no record), by reconciliation's own rules
//! ([`reconcile::diff`]), so a correction is the one reconciliation would
//! publish, with the same deterministic `notificationId`:
//!
//! - no longer a Contact Center number → `Updated` carrying its current
//!   `usageType` (reassigned away);
//! - gone (404 `CMN-102`) → `Deleted`, carrying the last known fields;
//! - still Contact Center with different fields → `Updated`;
//! - as subscribers know it → nothing.
//!
//! A correction's `occurredAt` is when the batch was read, so a webhook
//! recorded at or after it wins (nothing is published). What fails (a body
//! that does not decode, RingCentral, the inventory, the publish) is
//! reported by message id: the queue delivers it again, then dead-letters it.

use crate::change::{Change, Delivery, NumberState, Origin, PhoneNumberId, Timestamp};
use crate::inventory::{Inventory, Told, CONTACT_CENTER_NUMBER};
use crate::reconcile::{diff, Correction, Kind};
use crate::ringcentral::{Listing, PhoneNumbersApi, RingCentralError};
use crate::sink::Sink;
use std::collections::BTreeMap;

/// One message of the confirm queue: its id (for a partial batch failure)
/// and its body (a v1 change, raw delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub message_id: String,
    pub body: String,
}

/// What became of one number of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// RingCentral has it as subscribers were told.
    Confirmed,
    /// RingCentral differed: this correction was published and recorded.
    Corrected(Kind),
    /// The inventory held a change at or after the observation: it wins.
    Superseded,
    /// Not concluded; its messages are retried.
    Failed(String),
}

/// One batch: a verdict per number, and the messages to deliver again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub received: usize,
    /// RingCentral lookups made (one per distinct number at most).
    pub looked_up: usize,
    /// By phone number id.
    pub verdicts: BTreeMap<String, Verdict>,
    /// Bodies that are no change, with why (the rule, never the value).
    pub undecodable: Vec<(String, String)>,
    /// Message ids for `batchItemFailures`, in the order received.
    pub failed: Vec<String>,
    /// A RingCentral error that says the credentials are wrong: the caller
    /// reads the secret again before the next batch.
    pub bad_credentials: bool,
}

impl Report {
    pub fn corrected(&self, kind: Kind) -> usize {
        self.verdicts
            .values()
            .filter(|v| **v == Verdict::Corrected(kind))
            .count()
    }

    /// The summary log line.
    pub fn line(&self) -> String {
        let count = |f: fn(&Verdict) -> bool| self.verdicts.values().filter(|v| f(v)).count();
        let corrections: Vec<String> = [Kind::Created, Kind::Updated, Kind::ReassignedAway, Kind::Deleted]
            .into_iter()
            .filter(|k| self.corrected(*k) > 0)
            .map(|k| format!("{}: {}", k.as_str(), self.corrected(k)))
            .collect();
        let corrections = if corrections.is_empty() {
            String::new()
        } else {
            format!(" ({})", corrections.join(", "))
        };
        format!(
            "confirm summary: {} messages, {} numbers, {} looked up, confirmed {}, corrected {}{corrections}, \
             superseded by newer notifications {}, undecodable {}, failed messages {}",
            self.received,
            self.verdicts.len(),
            self.looked_up,
            count(|v| *v == Verdict::Confirmed),
            count(|v| matches!(v, Verdict::Corrected(_))),
            count(|v| *v == Verdict::Superseded),
            self.undecodable.len(),
            self.failed.len()
        )
    }
}

pub struct Confirmer<'a, A, I, S> {
    pub api: &'a A,
    pub inventory: &'a I,
    pub sink: &'a S,
}

/// The messages of one number, and the newest change among them (what the
/// webhook told subscribers, when the inventory has no record).
struct Number {
    messages: Vec<String>,
    newest: Change,
}

impl<A: PhoneNumbersApi, I: Inventory, S: Sink> Confirmer<'_, A, I, S> {
    /// `now` is read once, before the first lookup: the corrections' `occurredAt`.
    pub async fn run(&self, items: &[Item], now: time::OffsetDateTime) -> Report {
        let observed_at = Timestamp::at(now);
        let mut report = Report {
            received: items.len(),
            ..Report::default()
        };
        // Duplicates (the same number twice, or a redelivery) cost one lookup.
        let mut numbers: BTreeMap<String, Number> = BTreeMap::new();
        for item in items {
            match cc_number_change::decode(item.body.as_bytes()) {
                Ok(change) => {
                    let id = change.phone_number.id.as_str().to_owned();
                    let number = numbers.entry(id).or_insert_with(|| Number {
                        messages: Vec::new(),
                        newest: change.clone(),
                    });
                    number.messages.push(item.message_id.clone());
                    if change.occurred_at.instant() > number.newest.occurred_at.instant() {
                        number.newest = change;
                    }
                }
                Err(e) => {
                    // Retried, then dead-lettered, where someone can read it.
                    report.undecodable.push((item.message_id.clone(), e.to_string()));
                }
            }
        }
        let mut rate_limited = None;
        let mut failed_ids: Vec<String> = report.undecodable.iter().map(|(m, _)| m.clone()).collect();
        for (id, number) in &numbers {
            let verdict = match &rate_limited {
                // A request during RingCentral's penalty restarts it: the rest wait for their retry.
                Some(error) => Verdict::Failed(format!("not looked up: {error}")),
                None => match self.look_up(&number.newest.phone_number.id, &mut report) {
                    Ok(now) => self.confirm(now, &number.newest, &observed_at).await,
                    Err(e) => {
                        let error = match e {
                            RingCentralError::RateLimited { .. } => {
                                let error = format!("rate limited: {e}");
                                rate_limited = Some(error.clone());
                                error
                            }
                            other => other.to_string(),
                        };
                        Verdict::Failed(error)
                    }
                },
            };
            if matches!(verdict, Verdict::Failed(_)) {
                failed_ids.extend(number.messages.iter().cloned());
            }
            report.verdicts.insert(id.clone(), verdict);
        }
        report.failed = items
            .iter()
            .filter(|i| failed_ids.contains(&i.message_id))
            .map(|i| i.message_id.clone())
            .collect();
        report
    }

    /// RingCentral's number as it is now, counted; wrong credentials noted
    /// for the caller, who reads the secret again before the next batch.
    fn look_up(&self, id: &PhoneNumberId, report: &mut Report) -> Result<Option<NumberState>, RingCentralError> {
        report.looked_up += 1;
        self.api.number(id).inspect_err(|e| {
            report.bad_credentials |= matches!(e, RingCentralError::BadCredentials { .. });
        })
    }

    /// `now` (what RingCentral has) against what subscribers were told.
    async fn confirm(&self, now: Option<NumberState>, webhook: &Change, observed_at: &Timestamp) -> Verdict {
        let id = &webhook.phone_number.id;
        // Read after the lookup: a notification recorded meanwhile is seen.
        let held = match self.inventory.last_told(id).await {
            Ok(held) => held,
            Err(e) => return Verdict::Failed(e.to_string()),
        };
        if held
            .as_ref()
            .is_some_and(|h| h.change.occurred_at.instant() >= observed_at.instant())
        {
            return Verdict::Superseded;
        }
        let told = held.unwrap_or_else(|| Told {
            change: webhook.clone(),
            origin: Origin::Webhook,
        });
        let Some(correction) = correction(&told, now, observed_at) else {
            return Verdict::Confirmed;
        };
        if let Err(failure) = self
            .sink
            .publish(&correction.change, Delivery::fresh(Origin::Reconciliation))
            .await
        {
            return Verdict::Failed(failure.to_string());
        }
        let recorded = Told {
            change: correction.change,
            origin: Origin::Reconciliation,
        };
        // Retried when unrecorded: the same state gets the same notificationId again.
        match self.inventory.record(&recorded).await {
            Ok(_) => Verdict::Corrected(correction.kind),
            Err(e) => Verdict::Failed(format!("published, not recorded: {e}")),
        }
    }
}

/// Reconciliation's rules for one number: RingCentral's list holds it when
/// its usage type is Contact Center (or absent, as the inventory counts it);
/// otherwise it "left the list", and `now` is what the get by id found.
pub fn correction(told: &Told, now: Option<NumberState>, observed_at: &Timestamp) -> Option<Correction> {
    let id = told.id().as_str().to_owned();
    let in_list = now
        .as_ref()
        .is_some_and(|n| matches!(n.phone_number.usage_type.as_deref(), None | Some(CONTACT_CENTER_NUMBER)));
    let (listing, looked_up) = if in_list {
        let numbers = now.into_iter().collect();
        (
            Listing {
                numbers,
                ..Listing::default()
            },
            BTreeMap::new(),
        )
    } else {
        (Listing::default(), BTreeMap::from([(id, now)]))
    };
    diff(&listing, std::slice::from_ref(told), &looked_up, observed_at)
        .into_iter()
        .next()
}

#[cfg(test)]
mod tests;
