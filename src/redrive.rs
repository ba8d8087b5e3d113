//! Emptying the dead-letter queue once the cause is fixed: every parked raw
//! body goes through today's decoder again. What passes is published and
//! deleted; what still fails stays, re-parked only when the failure changed
//! (another reason, or another error code from SNS).
//!
//! Safe to rerun: an item is deleted only after it was published (or
//! re-parked), so a crash leaves it in the queue; publishing it again keeps
//! the notification uuid as FIFO deduplication id, so FIFO subscribers get
//! it once.
//!
//! With an inventory, redrive publishes as the relay does (origin
//! `redrive`): what subscribers were already told is removed unpublished,
//! an older state goes out flagged `stale`, what was published is recorded.
//!
//! A dry run is this same code over a recording sink, deleting nothing and
//! writing nothing to the inventory.

use crate::change::Origin;
use crate::dead_letters::{DeadLetters, QueueError};
use crate::inventory::Inventory;
use crate::notification::{self, Inbound};
use crate::parked::{ParkReason, ParkedItem};
use crate::publish::{publish_recorded, Published};
use crate::sink::Sink;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub dry_run: bool,
    pub read: usize,
    /// Published (in a dry run: would be).
    pub published: usize,
    /// Already told to subscribers (the inventory says so): removed, not published.
    pub duplicates: usize,
    /// Items left in the queue because they still fail, by their reason.
    pub still_failing: BTreeMap<String, usize>,
    /// Items whose failure changed and were parked again with the new one.
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

    /// What this run leaves in the queue for a person to look at.
    pub fn left_in_queue(&self) -> usize {
        self.still_failing_total() + self.unreadable
    }

    pub fn progress_line(&self) -> String {
        let published = if self.dry_run {
            format!("{} would be published", self.published)
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

    /// The closing line; it says why anything stays in the queue.
    pub fn line(&self) -> String {
        let by_reason: Vec<String> = self.still_failing.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        let (published, reparked) = if self.dry_run {
            ("would publish", "would re-park with a new reason")
        } else {
            ("published", "re-parked with a new reason")
        };
        let mut line = format!(
            "redrive summary{}: read {}, {published} {}, duplicates {}, still failing {}{}, {reparked} {}, renewal reminders {}, unreadable {}",
            if self.dry_run { " (dry run)" } else { "" },
            self.read,
            self.published,
            self.duplicates,
            self.still_failing_total(),
            if by_reason.is_empty() { String::new() } else { format!(" ({})", by_reason.join(", ")) },
            self.reparked,
            self.reminders_removed,
            self.unreadable
        );
        if !self.dry_run && self.left_in_queue() > 0 {
            let mut why = Vec::new();
            if self.still_failing_total() > 0 {
                why.push(format!("{} still failing", self.still_failing_total()));
            }
            if self.unreadable > 0 {
                why.push(format!("{} not parked items of this relay", self.unreadable));
            }
            line.push_str(&format!(
                "; left in the queue: {} ({})",
                self.left_in_queue(),
                why.join(", ")
            ));
        }
        line
    }
}

pub struct Redrive<'a, Q, S, I> {
    pub queue: &'a Q,
    /// The AWS sink; for a dry run, a recording one.
    pub sink: &'a S,
    /// `None` without `INVENTORY_TABLE`; in a dry run, one that writes nothing.
    pub inventory: &'a I,
    pub dry_run: bool,
}

enum Step {
    Delete,
    Keep,
}

impl<Q: DeadLetters, S: Sink, I: Inventory> Redrive<'_, Q, S, I> {
    pub async fn run(&self, mut progress: impl FnMut(&Summary)) -> Result<Summary, QueueError> {
        let mut summary = Summary {
            dry_run: self.dry_run,
            ..Summary::default()
        };
        let mut seen = HashSet::new();
        let mut kept = Vec::new();
        loop {
            let messages = self.queue.receive().await?;
            if messages.is_empty() {
                break;
            }
            for message in messages {
                // Items this run re-parked come back with new ids: not read twice.
                if !seen.insert(message.message_id) {
                    kept.push(message.receipt);
                    continue;
                }
                summary.read += 1;
                match self.handle(&message.body, &mut summary, &mut seen).await {
                    Step::Delete if !self.dry_run => self.queue.delete(&message.receipt).await?,
                    Step::Delete | Step::Keep => kept.push(message.receipt),
                }
            }
            progress(&summary);
        }
        self.queue.release(kept).await;
        Ok(summary)
    }

    async fn handle(&self, body: &str, summary: &mut Summary, seen: &mut HashSet<String>) -> Step {
        let Some((item, raw)) = serde_json::from_str::<ParkedItem>(body)
            .ok()
            .and_then(|item| item.raw_body.bytes().ok().map(|raw| (item, raw)))
        else {
            summary.unreadable += 1;
            return Step::Keep;
        };
        let (reason, change) = match notification::decode(&raw) {
            Ok(Inbound::RenewalReminder { .. }) => {
                summary.reminders_removed += 1;
                return Step::Delete;
            }
            Ok(Inbound::Change(change)) => {
                match publish_recorded(self.sink, self.inventory, &change, Origin::Redrive).await {
                    Ok(Published::Sent { .. }) => {
                        summary.published += 1;
                        return Step::Delete;
                    }
                    Ok(Published::Duplicate) => {
                        summary.duplicates += 1;
                        return Step::Delete;
                    }
                    Err(e) => (ParkReason::from(e), Some(change)),
                }
            }
            Err(e) => (ParkReason::from(e), None),
        };
        *summary.still_failing.entry(reason.code().to_owned()).or_default() += 1;
        if item.parked_for(&reason) {
            return Step::Keep;
        }
        let reparked = ParkedItem::new(&reason, item.received_at.clone(), &raw, change.as_deref());
        match self.sink.park(&reparked).await {
            Ok(new_id) => {
                seen.insert(new_id);
                summary.reparked += 1;
                Step::Delete
            }
            Err(_) => Step::Keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Delivery;
    use crate::dead_letters::Received;
    use crate::inventory::memory::MemoryInventory;
    use crate::parked::{ParkError, PublishFailure};
    use crate::sink::recording::RecordingSink;
    use std::sync::Mutex;

    const CREATED: &str = include_str!("../events/bodies/created.json");
    const NOT_E164: &str = include_str!("../events/bodies/parked.json");
    const REMINDER: &str = include_str!("../events/bodies/renewal-reminder.json");

    /// A queue in memory: received messages are hidden until deleted or released.
    #[derive(Default)]
    struct FakeQueue {
        messages: Mutex<Vec<(String, String, bool)>>, // id, body, visible
        next_id: Mutex<u32>,
    }

    impl FakeQueue {
        fn push(&self, body: &str) -> String {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            let id = format!("m{next}");
            self.messages.lock().unwrap().push((id.clone(), body.to_owned(), true));
            id
        }
        fn bodies(&self) -> Vec<String> {
            self.messages.lock().unwrap().iter().map(|m| m.1.clone()).collect()
        }
        fn items(&self) -> Vec<ParkedItem> {
            self.bodies()
                .iter()
                .filter_map(|b| serde_json::from_str(b).ok())
                .collect()
        }
        fn all_visible(&self) -> bool {
            self.messages.lock().unwrap().iter().all(|m| m.2)
        }
    }

    impl DeadLetters for FakeQueue {
        async fn receive(&self) -> Result<Vec<Received>, QueueError> {
            let mut messages = self.messages.lock().unwrap();
            Ok(messages
                .iter_mut()
                .filter(|m| m.2)
                .take(10)
                .map(|m| {
                    m.2 = false;
                    Received {
                        message_id: m.0.clone(),
                        receipt: m.0.clone(),
                        body: m.1.clone(),
                    }
                })
                .collect())
        }
        async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
            self.messages.lock().unwrap().retain(|m| m.0 != receipt);
            Ok(())
        }
        async fn release(&self, receipts: Vec<String>) {
            for m in self.messages.lock().unwrap().iter_mut() {
                m.2 |= receipts.contains(&m.0);
            }
        }
    }

    /// Publishes as told; parks into the fake queue, as the AWS sink parks into SQS.
    struct QueueSink<'a> {
        queue: &'a FakeQueue,
        published: Mutex<usize>,
        fails_with: Option<&'static str>,
    }

    impl<'a> QueueSink<'a> {
        fn new(queue: &'a FakeQueue, fails_with: Option<&'static str>) -> Self {
            Self {
                queue,
                published: Mutex::new(0),
                fails_with,
            }
        }
    }

    fn failure(code: &str, request_id: &str) -> PublishFailure {
        PublishFailure {
            topic: "created".into(),
            code: code.into(),
            message: "Topic does not exist".into(),
            request_id: Some(request_id.into()),
        }
    }

    impl Sink for QueueSink<'_> {
        async fn publish(&self, _change: &crate::change::Change, _: Delivery) -> Result<String, PublishFailure> {
            let mut published = self.published.lock().unwrap();
            match self.fails_with {
                // A new request id on every call, as SNS gives.
                Some(code) => Err(failure(code, &format!("req-{published}"))),
                None => {
                    *published += 1;
                    Ok("created".into())
                }
            }
        }
        async fn park(&self, item: &ParkedItem) -> Result<String, ParkError> {
            Ok(self.queue.push(&item.to_json()))
        }
    }

    fn parked(reason: ParkReason, raw: &str) -> String {
        ParkedItem::new(&reason, "2026-01-01T00:00:00Z".into(), raw.as_bytes(), None).to_json()
    }

    async fn run<S: Sink>(queue: &FakeQueue, sink: &S, dry_run: bool) -> Summary {
        run_with(queue, sink, &None::<MemoryInventory>, dry_run).await
    }

    async fn run_with<S: Sink>(queue: &FakeQueue, sink: &S, inventory: &impl Inventory, dry_run: bool) -> Summary {
        let redrive = Redrive {
            queue,
            sink,
            inventory,
            dry_run,
        };
        redrive.run(|_| {}).await.unwrap()
    }

    #[tokio::test]
    async fn publishes_what_now_passes_and_keeps_what_still_fails() {
        let queue = FakeQueue::default();
        queue.push(&parked(failure("NotFound", "req-a").into(), CREATED));
        queue.push(&parked(
            crate::notification::decode(NOT_E164.as_bytes()).unwrap_err().into(),
            NOT_E164,
        ));
        queue.push(&parked(failure("NotFound", "req-b").into(), REMINDER));
        queue.push("not a parked item");
        let sink = QueueSink::new(&queue, None);
        let summary = run(&queue, &sink, false).await;
        assert_eq!(*sink.published.lock().unwrap(), 1);
        assert_eq!(
            summary.line(),
            "redrive summary: read 4, published 1, duplicates 0, still failing 1 (invalid_e164: 1), re-parked with a new reason 0, \
             renewal reminders 1, unreadable 1; left in the queue: 2 (1 still failing, 1 not parked items of this relay)"
        );
        assert_eq!(queue.bodies().len(), 2);
        assert!(queue.all_visible(), "what stays is released for the next run");
    }

    #[tokio::test]
    async fn the_same_publish_failure_stays_put_across_runs() {
        let queue = FakeQueue::default();
        let id = queue.push(&parked(failure("NotFound", "req-first").into(), CREATED));
        let sink = QueueSink::new(&queue, Some("NotFound"));
        for _ in 0..2 {
            let summary = run(&queue, &sink, false).await;
            assert_eq!((summary.read, summary.reparked), (1, 0));
            assert_eq!(summary.left_in_queue(), 1);
        }
        let ids: Vec<String> = queue.messages.lock().unwrap().iter().map(|m| m.0.clone()).collect();
        assert_eq!(ids, [id], "the item keeps its message id");
    }

    #[tokio::test]
    async fn a_changed_failure_is_parked_again_once_with_the_new_code() {
        let queue = FakeQueue::default();
        queue.push(&parked(failure("NotFound", "req-first").into(), CREATED));
        let sink = QueueSink::new(&queue, Some("AuthorizationError"));
        let summary = run(&queue, &sink, false).await;
        assert_eq!((summary.read, summary.reparked), (1, 1), "{summary:?}");
        let items = queue.items();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].error_code.as_deref(), Some("AuthorizationError"));
        assert_eq!(items[0].received_at, "2026-01-01T00:00:00Z", "receivedAt is kept");
    }

    #[tokio::test]
    async fn a_dry_run_publishes_into_the_recording_sink_and_deletes_nothing() {
        let queue = FakeQueue::default();
        queue.push(&parked(failure("NotFound", "r").into(), CREATED));
        queue.push(&parked(
            crate::notification::DecodeError::InvalidJson { detail: "older".into() }.into(),
            NOT_E164,
        ));
        let before = queue.bodies();
        let sink = RecordingSink::default();
        let summary = run(&queue, &sink, true).await;
        assert_eq!(
            summary.line(),
            "redrive summary (dry run): read 2, would publish 1, duplicates 0, still failing 1 (invalid_e164: 1), \
             would re-park with a new reason 1, renewal reminders 0, unreadable 0"
        );
        assert_eq!(sink.published().len(), 1);
        assert_eq!(queue.bodies(), before);
        assert!(queue.all_visible());
    }

    #[tokio::test]
    async fn a_failing_queue_stops_the_run_with_its_error() {
        struct Broken;
        impl DeadLetters for Broken {
            async fn receive(&self) -> Result<Vec<Received>, QueueError> {
                Err(QueueError::Receive("AccessDenied".into()))
            }
            async fn delete(&self, _: &str) -> Result<(), QueueError> {
                unreachable!()
            }
            async fn release(&self, _: Vec<String>) {}
        }
        let sink = RecordingSink::default();
        let redrive = Redrive {
            queue: &Broken,
            sink: &sink,
            inventory: &None::<MemoryInventory>,
            dry_run: false,
        };
        let error = redrive.run(|_| {}).await.unwrap_err();
        assert_eq!(error.to_string(), "reading the dead-letter queue failed: AccessDenied");
    }

    #[tokio::test]
    async fn with_an_inventory_redrive_records_and_drops_what_was_already_told() {
        let queue = FakeQueue::default();
        queue.push(&parked(failure("NotFound", "r").into(), CREATED));
        queue.push(&parked(failure("NotFound", "r").into(), CREATED));
        let (sink, inventory) = (RecordingSink::default(), MemoryInventory::default());
        let summary = run_with(&queue, &sink, &inventory, false).await;
        assert_eq!((summary.published, summary.duplicates), (1, 1));
        assert_eq!(sink.deliveries()[0].1, Delivery::fresh(Origin::Redrive));
        assert_eq!(inventory.get("987654321").unwrap().origin, Origin::Redrive);
        assert!(queue.bodies().is_empty());
    }
}
