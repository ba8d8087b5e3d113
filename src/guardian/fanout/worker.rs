//! The worker: one batch of jobs, one account at a time, each on its own.

use super::{Job, JobError};
use crate::alarm::{Alarm, AlarmError};
use crate::change::{AccountId, Timestamp};
use crate::finding::Finding;
use crate::guardian::Report;
use crate::registry::{Account, AccountRegistry, CheckRecord, RegistryError, SubscriptionRecord, Tenant};
use std::future::Future;
use std::time::Duration;
use time::OffsetDateTime;

/// Whose check to run.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The stack's own account: its credentials secret and token secret.
    Default,
    Registered(&'a Account),
}

/// One account's check, reconciliation included when asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The reconciliation's finding, if any, is among its findings.
    pub report: Report,
    /// The account reconciled, and it went through.
    pub reconciled: bool,
}

/// What keeps the check from starting at all for a reason of the stack's,
/// not the account's (the app's credentials unreadable): a retry can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// One account's check against RingCentral: the runtime's wiring of the
/// client, the tokens, the lease and the reconciliation.
pub trait AccountCheck: Sync {
    fn check(&self, target: Target<'_>, reconcile: bool) -> impl Future<Output = Result<Checked, Unavailable>> + Send;
}

/// One queue message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub message_id: String,
    pub body: String,
}

/// Why a job goes back to the queue (then, after a few receives, to its
/// dead-letter queue, whose alarm fires).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Not a job: retrying will not change it, but its dead-letter queue
    /// is where an operator sees it.
    #[error(transparent)]
    Malformed(#[from] JobError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot start the check: {0}")]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Alarm(#[from] AlarmError),
    /// Too little of the invocation is left to start it: the next receive does.
    #[error("not started: {0:?} of the invocation left")]
    OutOfTime(Duration),
}

#[derive(Debug)]
pub enum ItemOutcome {
    Checked {
        tenant: Tenant,
        checked: Box<Checked>,
    },
    /// Removed from the registry since the tick queued it: nothing to do.
    NotRegistered(AccountId),
    Failed(WorkerError),
}

/// What one batch did, item by item in the batch's order.
#[derive(Debug, Default)]
pub struct Worked {
    pub outcomes: Vec<(String, ItemOutcome)>,
}

impl Worked {
    /// The messages to deliver again (`batchItemFailures`).
    pub fn failed(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, ItemOutcome::Failed(_)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub fn checked(&self) -> impl Iterator<Item = (&Tenant, &Checked)> {
        self.outcomes.iter().filter_map(|(_, o)| match o {
            ItemOutcome::Checked { tenant, checked } => Some((tenant, &**checked)),
            _ => None,
        })
    }

    pub fn unhealthy(&self) -> usize {
        self.checked().filter(|(_, c)| !c.report.healthy).count()
    }

    pub fn healed(&self) -> usize {
        self.checked().filter(|(_, c)| c.report.healed > 0).count()
    }
}

/// The finding the registry keeps as an account's last: what still stands
/// at the end of the run. An unhealthy run's first failure (or, without
/// one, its first finding: `Blacklisted` with no heal tried, say); a
/// healthy run's first failure (a reconciliation or a deletion that did
/// not go through). Done things (healed, renewed, removed, reconciled) are
/// no trouble.
pub fn trouble(report: &Report) -> Option<&Finding> {
    let failure = report.findings.iter().find(|f| is_failure(f));
    match report.healthy {
        true => failure,
        false => failure.or(report.findings.first()),
    }
}

fn is_failure(finding: &Finding) -> bool {
    matches!(
        finding,
        Finding::CheckFailed { .. }
            | Finding::HealFailed { .. }
            | Finding::RenewFailed { .. }
            | Finding::RemoveFailed { .. }
            | Finding::RestoreFailed { .. }
            | Finding::ReconcileFailed { .. }
            | Finding::FilterDisabled { .. }
    )
}

/// What the registry records of one check.
pub fn check_record(checked: &Checked, now: OffsetDateTime) -> CheckRecord {
    let at = Timestamp::at(now);
    CheckRecord {
        checked_at: at.clone(),
        subscription: checked.report.subscription.as_ref().map(|s| SubscriptionRecord {
            id: s.id.clone(),
            status: s.status.to_string(),
            expires_at: s.expires_at().map(Timestamp::at),
        }),
        last_finding: trouble(&checked.report).map(|f| format!("{}: {}", f.kind(), f.summary())),
        reconciled_at: checked.reconciled.then_some(at),
    }
}

/// One batch of jobs over the registry, the check and the alarm topic.
pub struct Worker<'a, R, C, A> {
    pub registry: &'a R,
    pub check: &'a C,
    pub alarm: &'a A,
    /// What is left of the invocation, asked before each job.
    pub time_left: &'a (dyn Fn() -> Duration + Sync),
    /// Room one job needs to finish: a check, or a check and a reconciliation.
    pub room: fn(&Job) -> Duration,
}

impl<R: AccountRegistry, C: AccountCheck, A: Alarm> Worker<'_, R, C, A> {
    /// Every job of the batch, one after another (the RingCentral client
    /// blocks); one job's failure is its own.
    pub async fn run(&self, items: &[Item], now: impl Fn() -> OffsetDateTime) -> Worked {
        let mut worked = Worked::default();
        for item in items {
            let outcome = match self.one(item, &now).await {
                Ok(outcome) => outcome,
                Err(error) => ItemOutcome::Failed(error),
            };
            worked.outcomes.push((item.message_id.clone(), outcome));
        }
        worked
    }

    async fn one(&self, item: &Item, now: &impl Fn() -> OffsetDateTime) -> Result<ItemOutcome, WorkerError> {
        let job = Job::parse(&item.body)?;
        let left = (self.time_left)();
        if left < (self.room)(&job) {
            return Err(WorkerError::OutOfTime(left));
        }
        let checked = match &job.tenant {
            Tenant::Default => self.check.check(Target::Default, job.reconcile).await?,
            Tenant::Registered(id) => {
                let Some(account) = self.registry.get(id).await? else {
                    return Ok(ItemOutcome::NotRegistered(id.clone()));
                };
                let checked = self.check.check(Target::Registered(&account), job.reconcile).await?;
                self.registry.record_check(id, &check_record(&checked, now())).await?;
                checked
            }
        };
        for finding in &checked.report.findings {
            tracing::warn!(
                account = job.tenant.label(),
                finding = finding.kind(),
                "{}",
                finding.summary()
            );
        }
        self.alarm.publish(&job.tenant, &checked.report.findings).await?;
        Ok(ItemOutcome::Checked {
            tenant: job.tenant,
            checked: Box::new(checked),
        })
    }
}
