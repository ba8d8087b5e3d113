//! The fan-out in Lambda: a schedule tick is the scheduler (the registry
//! listed, one job per account on the guardian queue), an SQS batch from
//! the guardian queue's event source mapping is the worker (each account's
//! check, answered with `batchItemFailures`). The core's decisions are in
//! [`crate::guardian::fanout`]; this wires them to SQS, SNS, the registry
//! and RingCentral.

use super::{metrics, Guardian, GuardianError};
use crate::alarm::SnsAlarm;
use crate::guardian::fanout::{
    schedule, AccountCheck, Checked, Entry, Item, ItemOutcome, Job, JobQueue, QueueError, Rejected, ScheduleError,
    Scheduled, Target, Unavailable, Worked, Worker,
};
use crate::registry::{AccountRegistry, Tenant};
use crate::ringcentral::{read_secret, Credentials, Secret};
use crate::runtime::confirm::{BatchResponse, SqsEvent};
use crate::sink::aws::{one_line, QueueUrl};
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a registered account's check may wait on its RingCentral rate
/// limits. Less than the default account's minute: ten accounts share one
/// invocation, and an account that is rate limited (its own limits: they
/// are per user and app) is better checked again next tick, as a finding,
/// than holding up nine others.
pub const ACCOUNT_RATE_LIMIT_BUDGET: Duration = Duration::from_secs(10);
/// Room a job needs before it starts: a check (the wait budget, a handshake,
/// a few calls), and with a reconciliation a minute of list pages 6 s apart
/// (10,000 numbers) and the corrections.
pub const CHECK_ROOM: Duration = Duration::from_secs(45);
pub const RECONCILE_ROOM: Duration = Duration::from_secs(150);

fn room(job: &Job) -> Duration {
    if job.reconcile {
        RECONCILE_ROOM
    } else {
        CHECK_ROOM
    }
}

/// The guardian queue in SQS.
pub struct SqsJobQueue {
    pub client: aws_sdk_sqs::Client,
    pub queue: QueueUrl,
}

impl JobQueue for SqsJobQueue {
    async fn send_batch(&self, entries: &[Entry]) -> Result<Vec<Rejected>, QueueError> {
        let failed = |detail: String| QueueError {
            operation: "SendMessageBatch",
            detail,
        };
        let entries = entries
            .iter()
            .map(|e| {
                SendMessageBatchRequestEntry::builder()
                    .id(&e.id)
                    .message_body(&e.body)
                    .build()
                    .map_err(|e| failed(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sent = self
            .client
            .send_message_batch()
            .queue_url(self.queue.as_str())
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| failed(one_line(&e)))?;
        Ok(sent
            .failed
            .into_iter()
            .map(|f| Rejected {
                reason: format!("{}: {}", f.code, f.message.unwrap_or_default()),
                id: f.id,
            })
            .collect())
    }

    async fn backlog(&self) -> Result<u64, QueueError> {
        let answer = self
            .client
            .get_queue_attributes()
            .queue_url(self.queue.as_str())
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| QueueError {
                operation: "GetQueueAttributes",
                detail: one_line(&e),
            })?;
        Ok(answer
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages).cloned())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }
}

/// The guardian serving many accounts: the single-account guardian's
/// configuration and clients, the registry, the queue and the alarm topic.
pub struct Fanout<R> {
    pub guardian: Guardian,
    pub registry: R,
    pub queue: SqsJobQueue,
    pub alarm: SnsAlarm,
}

impl<R: AccountRegistry> Fanout<R> {
    pub fn new(guardian: Guardian, registry: R, queue: QueueUrl) -> Self {
        let alarm = SnsAlarm {
            sns: guardian.sns.clone(),
            topic: guardian.config.alarm_topic.clone(),
        };
        let queue = SqsJobQueue {
            client: aws_sdk_sqs::Client::new(&guardian.sdk),
            queue,
        };
        Self {
            guardian,
            registry,
            queue,
            alarm,
        }
    }

    /// The stack's own account is checked when its credentials secret holds
    /// a whole credential (`RINGCENTRAL_JWT` too); a stack that serves only
    /// registered accounts keeps the app's id and secret there alone. An
    /// unreadable secret queues it: its check says what is wrong, as it
    /// always did.
    async fn default_account(&self) -> bool {
        let c = &self.guardian.config;
        match read_secret(&self.guardian.secrets, &c.credentials_secret).await {
            Ok(secret) => Credentials::from_secret(&c.credentials_secret, secret.expose(), c.server.clone()).is_ok(),
            Err(error) => {
                tracing::warn!("cannot read the credentials secret, queuing the default account's check: {error}");
                true
            }
        }
    }

    /// One schedule tick: the scheduler.
    pub async fn tick(&self, reconcile: bool) -> Result<Scheduled, ScheduleError> {
        let default_account = self.default_account().await;
        let mut reported = 0;
        let progress = |sent: usize, total: usize| {
            // A line per thousand jobs, and the last.
            if sent / 1000 > reported || sent == total {
                reported = sent / 1000;
                tracing::info!("guardian scheduler: {sent} of {total} jobs queued");
            }
        };
        schedule(
            &self.registry,
            &self.queue,
            &self.alarm,
            default_account,
            reconcile,
            progress,
        )
        .await
    }

    /// One batch from the guardian queue: the worker.
    pub async fn batch(&self, event: SqsEvent, time_left: &(dyn Fn() -> Duration + Sync)) -> (Worked, BatchResponse) {
        let items: Vec<Item> = event
            .records
            .into_iter()
            .map(|r| Item {
                message_id: r.message_id,
                body: r.body,
            })
            .collect();
        let checks = Checks {
            fanout: self,
            app_secret: tokio::sync::OnceCell::new(),
        };
        let worker = Worker {
            registry: &self.registry,
            check: &checks,
            alarm: &self.alarm,
            time_left,
            room,
        };
        let worked = worker.run(&items, time::OffsetDateTime::now_utc).await;
        let response = BatchResponse::failing(worked.failed());
        (worked, response)
    }
}

/// One batch's checks: the credentials secret read once for all its
/// registered accounts.
struct Checks<'a, R> {
    fanout: &'a Fanout<R>,
    app_secret: tokio::sync::OnceCell<Result<Secret, String>>,
}

impl<R: AccountRegistry> AccountCheck for Checks<'_, R> {
    async fn check(&self, target: Target<'_>, reconcile: bool) -> Result<Checked, Unavailable> {
        let guardian = &self.fanout.guardian;
        let c = &guardian.config;
        match target {
            Target::Default => {
                // The default account's reconciliation leaves the registered accounts' numbers out.
                let registered = match reconcile && c.reconciliation.is_some() {
                    true => self
                        .fanout
                        .registry
                        .list()
                        .await
                        .map_err(|e| Unavailable(e.to_string()))?
                        .into_iter()
                        .map(|a| a.account_id)
                        .collect(),
                    false => BTreeSet::new(),
                };
                Ok(guardian.check_default(reconcile, registered).await)
            }
            Target::Registered(account) => {
                let app = self
                    .app_secret
                    .get_or_init(|| async {
                        read_secret(&guardian.secrets, &c.credentials_secret)
                            .await
                            .map_err(|e| format!("cannot read the app's credentials: {e}"))
                    })
                    .await
                    .clone()
                    .map_err(Unavailable)?;
                // The app's id and secret missing from its secret is the stack's to fix, not the account's.
                let client = super::super::ringcentral_client::for_account(
                    &c.credentials_secret,
                    &app,
                    &c.server,
                    account.jwt.clone(),
                    ACCOUNT_RATE_LIMIT_BUDGET,
                )
                .map_err(Unavailable)?;
                let id = &account.summary.account_id;
                let tenant = Tenant::Registered(id.clone());
                let address = &account.summary.address;
                let tokens = &account.tokens;
                let subscriptions = client.as_account(id);
                Ok(guardian
                    .check_one(
                        &tenant,
                        address,
                        &subscriptions,
                        &client,
                        tokens,
                        reconcile,
                        BTreeSet::new(),
                    )
                    .await)
            }
        }
    }
}

/// Milliseconds since the epoch to what is left of them.
fn left_until(deadline_ms: u64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_millis(deadline_ms).saturating_sub(now)
}

/// One tick's answer and log line; its failures fail the invocation.
fn answer_tick(scheduled: Scheduled, reconcile: bool) -> Result<serde_json::Value, GuardianError> {
    let enqueued = &scheduled.enqueued;
    let trouble: Vec<&str> = scheduled.in_trouble.iter().map(|a| a.account_id.as_str()).collect();
    match scheduled.skipped_for_backlog {
        Some(waiting) => tracing::info!(
            "guardian scheduler: {} accounts listed, {} in trouble; nothing queued: {waiting} jobs of an earlier tick still wait",
            scheduled.listed,
            trouble.len()
        ),
        None => tracing::info!(
            "guardian scheduler: {} accounts listed, {} in trouble; {} jobs queued in {} calls, {} not queued{}",
            scheduled.listed,
            trouble.len(),
            enqueued.sent,
            enqueued.calls,
            enqueued.failed.len(),
            if reconcile { " (reconciliation tick)" } else { "" }
        ),
    }
    for (job, reason) in &enqueued.failed {
        tracing::error!(
            account = job.tenant.label(),
            "guardian scheduler: job not queued: {reason}"
        );
    }
    if let Some(error) = scheduled.digest_failed {
        return Err(GuardianError::Alarm(error));
    }
    if let Some((_, detail)) = enqueued.failed.last() {
        return Err(GuardianError::NotQueued {
            failed: enqueued.failed.len(),
            total: enqueued.failed.len() + enqueued.sent,
            detail: detail.clone(),
        });
    }
    Ok(serde_json::json!({
        "accounts": scheduled.listed,
        "inTrouble": trouble,
        "queued": enqueued.sent,
        "skippedForBacklog": scheduled.skipped_for_backlog,
    }))
}

/// One batch's log lines.
fn log_batch(worked: &Worked) {
    for (message_id, outcome) in &worked.outcomes {
        match outcome {
            ItemOutcome::Failed(error) => tracing::warn!(message_id, "guardian worker: job back to the queue: {error}"),
            ItemOutcome::NotRegistered(account) => {
                tracing::info!(
                    account = account.as_str(),
                    "guardian worker: no longer registered, nothing to do"
                )
            }
            ItemOutcome::Checked { .. } => {}
        }
    }
    tracing::info!(
        "guardian worker: {} jobs: {} accounts checked, {} unhealthy, {} healed; {} back to the queue",
        worked.outcomes.len(),
        worked.checked().count(),
        worked.unhealthy(),
        worked.healed(),
        worked.failed().len()
    );
}

/// Runs the scheduler per schedule tick and the worker per SQS batch until
/// the runtime stops.
pub async fn run<R: AccountRegistry>(
    fanout: Fanout<R>,
    collector: &'static metrics_cloudwatch_embedded::Collector,
) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{service_fn, LambdaEvent};
    use serde_json::Value;
    let fanout = &fanout;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        if event.payload.get("Records").is_some() {
            let sqs: SqsEvent =
                serde_json::from_value(event.payload).map_err(|e| GuardianError::Event(e.to_string()))?;
            let deadline = event.context.deadline;
            let time_left = move || left_until(deadline);
            let (worked, response) = fanout.batch(sqs, &time_left).await;
            log_batch(&worked);
            metrics::record_batch(&worked);
            let _ = collector.flush(std::io::stdout());
            return serde_json::to_value(response).map_err(|e| GuardianError::Event(e.to_string()));
        }
        // The reconciliation schedule's input; the health schedule sends none.
        let reconcile = event.payload.get("reconcile").and_then(Value::as_bool) == Some(true);
        let scheduled = fanout.tick(reconcile).await?;
        metrics::record_tick(&scheduled);
        let _ = collector.flush(std::io::stdout());
        answer_tick(scheduled, reconcile)
    }))
    .await
}
