//! The consumer kit's entry: a batch in, each message on its own, the
//! subscriber's handler run once per applied change, failures reported per
//! message so one bad message never blocks the rest of its batch.

use crate::change::Change;
use crate::ledger::{Entry, Ledger, Recorded, Verdict};
use crate::metrics::{Counts, DEFAULT_NAMESPACE};
use crate::receive::{self, Message};
use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::fmt::Display;
use std::future::Future;

/// Why a message was not handled; logged with its message id, never its body.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("undecodable: {0}")]
    Undecodable(#[from] crate::DecodeError),
    #[error(transparent)]
    Ledger(#[from] crate::LedgerError),
    #[error("handler failed: {0}")]
    Handler(String),
    #[error("not handled: an earlier message of this FIFO batch failed")]
    AfterFifoFailure,
}

/// The SNS records that failed, for a Lambda subscribed to the topic: an
/// error makes Lambda retry the invocation.
#[derive(Debug, thiserror::Error)]
#[error("{} of {total} SNS records failed: {}", failed.len(), failed.join("; "))]
pub struct SnsFailures {
    pub total: usize,
    pub failed: Vec<String>,
}

/// A subscriber: its ledger and the namespace of its metrics.
#[derive(Debug)]
pub struct Subscriber<L> {
    ledger: L,
    namespace: String,
}

impl<L: Ledger> Subscriber<L> {
    pub fn new(ledger: L) -> Self {
        Self {
            ledger,
            namespace: DEFAULT_NAMESPACE.to_owned(),
        }
    }

    /// The CloudWatch namespace of the kit's metrics.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// One SQS batch (raw or enveloped). Messages whose change was applied,
    /// was a duplicate or stale succeed; the others are in
    /// `batchItemFailures`, so SQS retries only them. On a FIFO queue the
    /// messages after a failure are reported too, unhandled, to keep order.
    pub async fn sqs<F, Fut, E>(&self, event: SqsEvent, handler: F) -> SqsBatchResponse
    where
        F: Fn(Change) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let mut counts = Counts::default();
        let mut response = SqsBatchResponse::default();
        let mut fifo_failed = false;
        for message in &event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let fifo = message
                .event_source_arn
                .as_deref()
                .is_some_and(|arn| arn.ends_with(".fifo"));
            let result = if fifo_failed {
                Err((None, Failure::AfterFifoFailure))
            } else {
                match receive::from_sqs(message) {
                    Ok(m) => self.handle(m, &handler).await,
                    Err(e) => Err((None, e.into())),
                }
            };
            match result {
                Ok((change_type, verdict)) => counts.add(Some(change_type), Some(verdict)),
                Err((change_type, failure)) => {
                    log_failure(&id, &failure);
                    counts.add(change_type, None);
                    fifo_failed |= fifo;
                    let mut item = BatchItemFailure::default();
                    item.item_identifier = id;
                    response.batch_item_failures.push(item);
                }
            }
        }
        self.flush(&counts);
        response
    }

    /// One SNS event (a Lambda subscribed to the topic; one record in
    /// practice). Any failure is an error, so Lambda retries it.
    pub async fn sns<F, Fut, E>(&self, event: SnsEvent, handler: F) -> Result<(), SnsFailures>
    where
        F: Fn(Change) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let mut counts = Counts::default();
        let mut failed = Vec::new();
        for record in &event.records {
            let id = &record.sns.message_id;
            let result = match receive::from_sns(record) {
                Ok(m) => self.handle(m, &handler).await,
                Err(e) => Err((None, e.into())),
            };
            match result {
                Ok((change_type, verdict)) => counts.add(Some(change_type), Some(verdict)),
                Err((change_type, failure)) => {
                    log_failure(id, &failure);
                    counts.add(change_type, None);
                    failed.push(format!("{id}: {failure}"));
                }
            }
        }
        self.flush(&counts);
        if failed.is_empty() {
            Ok(())
        } else {
            Err(SnsFailures {
                total: event.records.len(),
                failed,
            })
        }
    }

    /// Stale-flagged changes are never applied; the others go through the
    /// ledger, and the handler runs only for an applied one. When the
    /// handler fails, the ledger entry is reverted, so the retry applies it.
    async fn handle<F, Fut, E>(
        &self,
        message: Message,
        handler: &F,
    ) -> Result<(&'static str, Verdict), (Option<&'static str>, Failure)>
    where
        F: Fn(Change) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let change_type = message.change.change_type.as_str();
        if message.received.stale {
            tracing::info!(phone_number_id = %message.change.phone_number.id, "flagged stale by the relay: not applied");
            return Ok((change_type, Verdict::Stale));
        }
        let fail = |failure: Failure| (Some(change_type), failure);
        let entry = Entry::of(&message.change);
        match self.ledger.record(&entry).await.map_err(|e| fail(e.into()))? {
            Recorded::Duplicate => Ok((change_type, Verdict::Duplicate)),
            Recorded::Stale => Ok((change_type, Verdict::Stale)),
            Recorded::Applied(undo) => match handler(message.change).await {
                Ok(()) => Ok((change_type, Verdict::Applied)),
                Err(e) => {
                    if let Err(revert) = self.ledger.revert(&entry, undo).await {
                        tracing::error!(phone_number_id = %entry.phone_number_id, error = %revert, "could not revert the ledger after the handler failed: the retry will read Duplicate");
                    }
                    Err(fail(Failure::Handler(e.to_string())))
                }
            },
        }
    }

    /// One write for the batch's documents (one line each).
    fn flush(&self, counts: &Counts) {
        let docs = counts.emf(&self.namespace);
        if !docs.is_empty() {
            println!("{}", docs.join("\n"));
        }
    }
}

fn log_failure(message_id: &str, failure: &Failure) {
    tracing::warn!(message_id, reason = %failure, "message not handled; reported for retry");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::MemoryLedger;
    use crate::testing::{change, enveloped_sqs, raw_sqs, sns_record, sqs_event, CHANGE};
    use crate::types::EventType::*;
    use std::sync::Mutex;

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn failures(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[test]
    fn one_bad_message_fails_alone_and_the_handler_runs_once_per_applied_change() {
        let subscriber = Subscriber::new(MemoryLedger::default());
        let newer = change("1001", Updated, "2026-11-30T11:00:00Z", "b").to_json();
        let event = sqs_event(vec![
            raw_sqs("good", CHANGE, &[]),
            raw_sqs("poison", "{\"schemaVersion\":1}", &[]),
            enveloped_sqs("again", CHANGE, &[]),
            raw_sqs("newer", &newer, &[]),
            raw_sqs(
                "flagged",
                &change("1002", Created, "2026-11-30T11:00:00Z", "c").to_json(),
                &[("stale", "true")],
            ),
        ]);
        let handled = Mutex::new(Vec::new());
        let response = run(subscriber.sqs(event, |c: Change| {
            handled.lock().unwrap().push(c.notification_id.to_string());
            async { Ok::<_, String>(()) }
        }));
        assert_eq!(failures(&response), ["poison"]);
        assert_eq!(*handled.lock().unwrap(), ["ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0", "b"]);
        // The flagged change never reached the ledger.
        assert_eq!(subscriber.ledger().entries().len(), 1);
    }

    #[test]
    fn a_failing_handler_fails_its_message_and_the_retry_applies_it() {
        let subscriber = Subscriber::new(MemoryLedger::default());
        let first = run(subscriber.sqs(sqs_event(vec![raw_sqs("m1", CHANGE, &[])]), |_| async {
            Err::<(), _>("downstream CRM unavailable")
        }));
        assert_eq!(failures(&first), ["m1"]);
        assert!(subscriber.ledger().entries().is_empty());
        let handled = Mutex::new(0);
        let retry = run(subscriber.sqs(sqs_event(vec![raw_sqs("m1", CHANGE, &[])]), |_| {
            *handled.lock().unwrap() += 1;
            async { Ok::<_, String>(()) }
        }));
        assert!(failures(&retry).is_empty());
        assert_eq!(*handled.lock().unwrap(), 1);
    }

    #[test]
    fn on_a_fifo_queue_what_follows_a_failure_is_reported_unhandled() {
        let subscriber = Subscriber::new(MemoryLedger::default());
        let mut messages = vec![raw_sqs("bad", "not json", &[]), raw_sqs("after", CHANGE, &[])];
        for m in &mut messages {
            m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:directory.fifo".into());
        }
        let response = run(subscriber.sqs(sqs_event(messages), |_| async { Ok::<_, String>(()) }));
        assert_eq!(failures(&response), ["bad", "after"]);
        assert!(subscriber.ledger().entries().is_empty());
    }

    #[test]
    fn an_sns_event_fails_as_a_whole_naming_the_bad_record() {
        let subscriber = Subscriber::new(MemoryLedger::default());
        let mut event = SnsEvent::default();
        event.records = vec![sns_record(CHANGE, &[]), sns_record("{}", &[])];
        let err = run(subscriber.sns(event, |_| async { Ok::<_, String>(()) })).unwrap_err();
        assert_eq!(err.failed.len(), 1);
        assert!(
            err.failed[0].ends_with("undecodable: $.schemaVersion: is required"),
            "{err}"
        );
        assert_eq!(subscriber.ledger().entries().len(), 1);
    }
}
