//! The scheduler: one tick lists the registry and queues a job per account.

use super::Job;
use crate::alarm::{Alarm, AlarmError};
use crate::registry::{AccountRegistry, AccountSummary, RegistryError, Tenant};
use std::future::Future;

/// SQS's `SendMessageBatch` takes at most 10 entries.
pub const BATCH_SIZE: usize = 10;
/// Tries per entry: a throttled or failed entry is sent again with the
/// others of its call that failed; what fails every time is reported.
pub const SEND_ATTEMPTS: u32 = 3;

/// One message of a batch; `id` is unique within the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub body: String,
}

/// An entry the queue refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the guardian queue's {operation} failed: {detail}")]
pub struct QueueError {
    pub operation: &'static str,
    pub detail: String,
}

/// The guardian queue as the scheduler uses it.
pub trait JobQueue: Sync {
    /// Sends up to [`BATCH_SIZE`] entries in one call: the entries refused,
    /// or an error when the call itself failed (then none was sent).
    fn send_batch(&self, entries: &[Entry]) -> impl Future<Output = Result<Vec<Rejected>, QueueError>> + Send;

    /// Messages waiting to be received: jobs of an earlier tick still queued.
    fn backlog(&self) -> impl Future<Output = Result<u64, QueueError>> + Send;
}

/// What one tick queued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enqueued {
    pub sent: usize,
    /// `SendMessageBatch` calls, retries included.
    pub calls: usize,
    /// Jobs not queued after [`SEND_ATTEMPTS`], with the last reason.
    pub failed: Vec<(Job, String)>,
}

/// The jobs of one tick: the default account first (when the stack has its
/// own credential), then every registered account in the registry's order.
pub fn plan(accounts: &[AccountSummary], default_account: bool, reconcile: bool) -> Vec<Job> {
    let default = default_account.then_some(Tenant::Default);
    default
        .into_iter()
        .chain(accounts.iter().map(|a| Tenant::Registered(a.account_id.clone())))
        .map(|tenant| Job { tenant, reconcile })
        .collect()
}

/// Registered accounts whose last check left a finding.
pub fn in_trouble(accounts: &[AccountSummary]) -> Vec<AccountSummary> {
    accounts.iter().filter(|a| a.last_finding.is_some()).cloned().collect()
}

/// Queues every job, [`BATCH_SIZE`] to a call, sending again what a call
/// refused; `progress(sent, total)` after each call.
pub async fn enqueue(queue: &impl JobQueue, jobs: &[Job], mut progress: impl FnMut(usize, usize)) -> Enqueued {
    let mut enqueued = Enqueued::default();
    for (chunk_at, chunk) in jobs.chunks(BATCH_SIZE).enumerate() {
        let first = chunk_at * BATCH_SIZE;
        let mut pending: Vec<(Entry, String)> = chunk
            .iter()
            .enumerate()
            .map(|(i, job)| {
                let entry = Entry {
                    id: format!("job-{}", first + i),
                    body: job.body(),
                };
                (entry, String::new())
            })
            .collect();
        for _ in 0..SEND_ATTEMPTS {
            let entries: Vec<Entry> = pending.iter().map(|(e, _)| e.clone()).collect();
            enqueued.calls += 1;
            match queue.send_batch(&entries).await {
                Ok(rejected) => {
                    enqueued.sent += entries.len() - rejected.len();
                    pending.retain_mut(|(entry, reason)| match rejected.iter().find(|r| r.id == entry.id) {
                        Some(r) => {
                            reason.clone_from(&r.reason);
                            true
                        }
                        None => false,
                    });
                }
                Err(error) => pending.iter_mut().for_each(|(_, reason)| *reason = error.to_string()),
            }
            if pending.is_empty() {
                break;
            }
        }
        for (entry, reason) in pending {
            let at = entry.id.trim_start_matches("job-").parse::<usize>().unwrap_or(first);
            if let Some(job) = jobs.get(at) {
                enqueued.failed.push((job.clone(), reason));
            }
        }
        progress(enqueued.sent, jobs.len());
    }
    enqueued
}

/// What one scheduler tick did.
#[derive(Debug, Default)]
pub struct Scheduled {
    /// Registered accounts listed.
    pub listed: usize,
    /// Of those, the ones whose last check left a finding.
    pub in_trouble: Vec<AccountSummary>,
    /// Set when the tick queued nothing because jobs of an earlier tick
    /// were still waiting: their number.
    pub skipped_for_backlog: Option<u64>,
    pub enqueued: Enqueued,
    /// The digest of accounts in trouble that reached nobody.
    pub digest_failed: Option<AlarmError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("cannot list the registered accounts: {0}")]
    Registry(#[from] RegistryError),
}

/// One tick: lists the registry, queues a job per account (none while an
/// earlier tick's jobs wait, but on the reconciliation tick: the worker
/// falls behind rather than the queue growing without end), and on the
/// reconciliation tick publishes one message naming the accounts in
/// trouble (hourly by default, not every 3 minutes: each account's
/// findings went out when its check made them).
pub async fn schedule(
    registry: &impl AccountRegistry,
    queue: &impl JobQueue,
    alarm: &impl Alarm,
    default_account: bool,
    reconcile: bool,
    progress: impl FnMut(usize, usize),
) -> Result<Scheduled, ScheduleError> {
    let accounts = registry.list().await?;
    let mut scheduled = Scheduled {
        listed: accounts.len(),
        in_trouble: in_trouble(&accounts),
        ..Scheduled::default()
    };
    if reconcile && !scheduled.in_trouble.is_empty() {
        scheduled.digest_failed = alarm.accounts_in_trouble(&scheduled.in_trouble).await.err();
    }
    if !reconcile {
        match queue.backlog().await {
            Ok(0) => {}
            Ok(waiting) => {
                scheduled.skipped_for_backlog = Some(waiting);
                return Ok(scheduled);
            }
            // Only a pacing aid: queue the tick anyway.
            Err(error) => tracing::warn!("{error}; queuing the tick's jobs anyway"),
        }
    }
    let jobs = plan(&accounts, default_account, reconcile);
    scheduled.enqueued = enqueue(queue, &jobs, progress).await;
    Ok(scheduled)
}
