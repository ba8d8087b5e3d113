//! One guardian, many accounts. A schedule tick is the **scheduler**
//! ([`schedule`]): it lists the registry and queues one [`Job`] per account
//! (the default account first, when the stack has its own credential),
//! 10 to a call. Each queued job is one account's check in a **worker**
//! ([`Worker`]), a batch of them per invocation: the account's RingCentral
//! trouble (a revoked credential, a missing permission, SUB-505, a
//! blacklisting) is a finding, recorded in the registry and published with
//! the account named, and never holds up another account; only what a
//! retry can fix (the registry, the app's credentials or the alarm topic
//! unreachable) sends a job back to the queue.
//!
//! The queue ([`JobQueue`]) and the one-account check ([`AccountCheck`])
//! are ports: SQS and the runtime's RingCentral wiring in Lambda, fakes in
//! the tests beside this code.

mod schedule;
mod worker;

pub use schedule::{
    enqueue, in_trouble, plan, schedule, Enqueued, Entry, JobQueue, QueueError, Rejected, ScheduleError, Scheduled,
    BATCH_SIZE, SEND_ATTEMPTS,
};
pub use worker::{
    check_record, trouble, AccountCheck, Checked, Item, ItemOutcome, Target, Unavailable, Worked, Worker, WorkerError,
};

use crate::change::AccountId;
use crate::registry::Tenant;
use serde::{Deserialize, Serialize};

/// The account field's value for the stack's own account.
const DEFAULT_ACCOUNT: &str = "default";

/// One account's check, as the guardian queue carries it:
/// `{"account":"<digits>"|"default","reconcile":bool}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub tenant: Tenant,
    /// The tick was the reconciliation schedule's: the account reconciles too.
    pub reconcile: bool,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    account: String,
    #[serde(default)]
    reconcile: bool,
}

/// A message on the guardian queue that is no job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a guardian job ({0}): expected {{\"account\": \"<account id, digits>\" or \"default\", \"reconcile\": true or false}}"
)]
pub struct JobError(String);

impl Job {
    pub fn body(&self) -> String {
        let wire = Wire {
            account: self.tenant.label().to_owned(),
            reconcile: self.reconcile,
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    pub fn parse(body: &str) -> Result<Self, JobError> {
        let wire: Wire = serde_json::from_str(body).map_err(|e| JobError(e.to_string()))?;
        let tenant = match wire.account.as_str() {
            DEFAULT_ACCOUNT => Tenant::Default,
            other => {
                Tenant::Registered(AccountId::parse(other).map_err(|e| JobError(format!("account {other:?} {e}")))?)
            }
        };
        Ok(Self {
            tenant,
            reconcile: wire.reconcile,
        })
    }
}

#[cfg(test)]
mod tests;
