//! Emptying the dead-letter queue once the cause is fixed: every parked raw
//! body goes through today's decoder again. What passes is published and
//! deleted; what still fails stays, re-parked when its reason changed.
//!
//! Safe to rerun: an item is deleted only after it was published (or
//! re-parked), so a crash leaves it in the queue; publishing it again keeps
//! the notification uuid as FIFO deduplication id, so FIFO subscribers get
//! it once.

use crate::config::QueueUrl;
use crate::notification::{self, Inbound};
use crate::publish::{ParkReason, Parked, ParkedRecord, Sinks};
use aws_sdk_sqs::error::DisplayErrorContext;
use std::collections::{BTreeMap, HashSet};

/// How long a received item stays hidden while this run handles it.
const VISIBILITY_SECONDS: i32 = 300;
const LONG_POLL_SECONDS: i32 = 2;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub dry_run: bool,
    pub read: usize,
    pub published: usize,
    /// Dry run: items that would be published.
    pub would_publish: usize,
    /// Items left in the queue, by their current reason.
    pub still_failing: BTreeMap<String, usize>,
    /// Items whose reason changed and were re-parked with the new one.
    pub reparked: usize,
    /// Renewal reminders: nothing to publish, removed.
    pub reminders_removed: usize,
    /// Queue messages that are not parked items of this relay; left alone.
    pub unreadable: usize,
}

impl Summary {
    pub fn still_failing_total(&self) -> usize {
        self.still_failing.values().sum()
    }

    pub fn progress_line(&self) -> String {
        let published = if self.dry_run {
            format!("{} would be published", self.would_publish)
        } else {
            format!("{} published", self.published)
        };
        format!(
            "redrive: {} read, {published}, {} still failing, {} unreadable",
            self.read,
            self.still_failing_total(),
            self.unreadable
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("reading the dead-letter queue failed: {0}")]
    Receive(String),
    #[error("removing a handled item from the dead-letter queue failed: {0}")]
    Delete(String),
}

pub struct Redrive<'a> {
    /// A client with ordinary time limits: long polls outlast the relay's.
    pub sqs: &'a aws_sdk_sqs::Client,
    pub sinks: &'a Sinks,
    pub queue: &'a QueueUrl,
    pub dry_run: bool,
}

enum Step {
    Delete,
    Keep,
}

impl Redrive<'_> {
    pub async fn run(&self, mut progress: impl FnMut(&Summary)) -> Result<Summary, RedriveError> {
        let mut summary = Summary {
            dry_run: self.dry_run,
            ..Summary::default()
        };
        let mut seen = HashSet::new();
        let mut kept = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(self.queue.as_str())
                .max_number_of_messages(10)
                .visibility_timeout(VISIBILITY_SECONDS)
                .wait_time_seconds(LONG_POLL_SECONDS)
                .send()
                .await
                .map_err(|e| RedriveError::Receive(DisplayErrorContext(&e).to_string()))?;
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let receipt = message.receipt_handle.unwrap_or_default();
                // Items this run re-parked come back with new ids: not read twice.
                if !message.message_id.is_some_and(|id| seen.insert(id)) {
                    kept.push(receipt);
                    continue;
                }
                summary.read += 1;
                let body = message.body.as_deref().unwrap_or_default();
                match self.handle(body, &mut summary, &mut seen).await {
                    Step::Delete => self.delete(&receipt).await?,
                    Step::Keep => kept.push(receipt),
                }
            }
            progress(&summary);
        }
        self.release(kept).await;
        Ok(summary)
    }

    async fn handle(&self, body: &str, summary: &mut Summary, seen: &mut HashSet<String>) -> Step {
        let Some((record, raw)) = serde_json::from_str::<ParkedRecord>(body)
            .ok()
            .and_then(|r| r.raw_bytes().ok().map(|raw| (r, raw)))
        else {
            summary.unreadable += 1;
            return Step::Keep;
        };
        let failure = match notification::decode(&raw) {
            Ok(Inbound::RenewalReminder { .. }) if !self.dry_run => {
                summary.reminders_removed += 1;
                return Step::Delete;
            }
            Ok(Inbound::RenewalReminder { .. }) => {
                summary.reminders_removed += 1;
                return Step::Keep;
            }
            Ok(Inbound::Change(_)) if self.dry_run => {
                summary.would_publish += 1;
                return Step::Keep;
            }
            Ok(Inbound::Change(change)) => match self.sinks.publish(&change).await {
                Ok(_) => {
                    summary.published += 1;
                    return Step::Delete;
                }
                Err(e) => (ParkReason::from(e), Some(change)),
            },
            Err(e) => (ParkReason::from(e), None),
        };
        let (reason, change) = failure;
        *summary.still_failing.entry(reason.code().to_owned()).or_default() += 1;
        let unchanged = reason.code() == record.reason && reason.to_string() == record.detail;
        if unchanged || self.dry_run {
            return Step::Keep;
        }
        let reparked = Parked {
            reason: &reason,
            received_at: record.received_at.clone(),
            raw_body: &raw,
            normalized: change.as_deref(),
        };
        match self.sinks.park(&reparked).await {
            Ok(new_id) => {
                seen.insert(new_id);
                summary.reparked += 1;
                Step::Delete
            }
            Err(_) => Step::Keep,
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), RedriveError> {
        self.sqs
            .delete_message()
            .queue_url(self.queue.as_str())
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| RedriveError::Delete(DisplayErrorContext(&e).to_string()))
    }

    /// Makes the items left in the queue visible again at once, for the next
    /// run or an operator; if this fails they reappear after the timeout.
    async fn release(&self, receipts: Vec<String>) {
        for receipt in receipts {
            let _ = self
                .sqs
                .change_message_visibility()
                .queue_url(self.queue.as_str())
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await;
        }
    }
}
