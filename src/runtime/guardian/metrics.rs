//! The guardian's metrics, in CloudWatch Embedded Metric Format through the
//! `metrics` facade and `metrics_cloudwatch_embedded`'s plain Builder/flush
//! API (its Lambda layer needs the crate's `lambda` feature, which would
//! turn on lambda_http's default event kinds in the relay too). Every run
//! writes all three, zeros included, so the alarms always have data.

use crate::guardian::Report;
use metrics::Unit;
use metrics_cloudwatch_embedded::Collector;

/// 1 when, at the end of the run, an Active subscription that does not
/// expire soon delivers to the address; else 0.
pub const HEALTHY: &str = "SubscriptionHealthy";
/// Subscriptions recreated in place of blacklisted, inactive or missing
/// ones, or whose lost Contact Center filter was put back.
pub const HEALED: &str = "SubscriptionHealed";
/// Active subscriptions found expiring within the renewal threshold.
pub const EXPIRING_SOON: &str = "SubscriptionExpiringSoon";

pub use crate::observe::MetricsError;

/// Installs the process-wide recorder; call once, at cold start.
pub fn init(namespace: &str) -> Result<&'static Collector, MetricsError> {
    let collector = crate::observe::collector(namespace, true)?;
    metrics::describe_gauge!(
        HEALTHY,
        Unit::Count,
        "an Active, not soon expiring subscription delivers"
    );
    metrics::describe_counter!(HEALED, Unit::Count, "subscriptions recreated");
    metrics::describe_gauge!(
        EXPIRING_SOON,
        Unit::Count,
        "subscriptions expiring within the threshold"
    );
    Ok(collector)
}

/// Corrections published by one reconciliation, in all and by change type.
pub const RECONCILE_CORRECTIONS: &str = "ReconcileCorrections";

/// Records one reconciliation; the alarm watches the total.
pub fn record_reconciliation(report: &crate::reconcile::Report) {
    let total = report.published_total() as u64;
    metrics::counter!(RECONCILE_CORRECTIONS).increment(total);
    for (kind, n) in &report.published {
        metrics::counter!(RECONCILE_CORRECTIONS, "changeType" => kind.as_str()).increment(*n as u64);
    }
}

/// Records one run; the caller flushes.
pub fn record(report: &Report) {
    metrics::gauge!(HEALTHY).set(if report.healthy { 1.0 } else { 0.0 });
    metrics::counter!(HEALED).increment(report.healed);
    metrics::gauge!(EXPIRING_SOON).set(report.expiring_soon as f64);
}

/// Fan-out, per worker invocation: accounts whose check ran.
pub const ACCOUNTS_CHECKED: &str = "AccountsChecked";
/// Of those, the ones whose subscription was not healthy at the end.
pub const ACCOUNTS_UNHEALTHY: &str = "AccountsUnhealthy";
/// Of those, the ones whose subscription was recreated or mended.
pub const ACCOUNTS_HEALED: &str = "AccountsHealed";
/// Jobs that go back to the queue (registry, app credentials or alarm
/// topic unreachable, or no time left).
pub const JOBS_RETRIED: &str = "GuardianJobsRetried";
/// Fan-out, per scheduler tick: registered accounts whose last check left
/// a finding (the alarm on it names no account: the reconciliation tick's
/// digest on the alarm topic does).
pub const ACCOUNTS_IN_TROUBLE: &str = "AccountsInTrouble";
/// Jobs queued by a tick, and those that could not be.
pub const JOBS_QUEUED: &str = "GuardianJobsQueued";
pub const JOBS_NOT_QUEUED: &str = "GuardianJobsNotQueued";

/// One worker batch. No account dimension: 10,000 accounts would be 10,000
/// metrics. `SubscriptionHealthy` is 0 when any account checked is not
/// healthy, so the existing alarm keeps its meaning in a fan-out stack.
pub fn record_batch(worked: &crate::guardian::fanout::Worked) {
    let checked = worked.checked().count();
    metrics::counter!(ACCOUNTS_CHECKED).increment(checked as u64);
    metrics::counter!(ACCOUNTS_UNHEALTHY).increment(worked.unhealthy() as u64);
    metrics::counter!(ACCOUNTS_HEALED).increment(worked.healed() as u64);
    metrics::counter!(JOBS_RETRIED).increment(worked.failed().len() as u64);
    if checked > 0 {
        metrics::gauge!(HEALTHY).set(if worked.unhealthy() == 0 { 1.0 } else { 0.0 });
        let healed: u64 = worked.checked().map(|(_, c)| c.report.healed).sum();
        metrics::counter!(HEALED).increment(healed);
        let expiring: u64 = worked.checked().map(|(_, c)| c.report.expiring_soon).sum();
        metrics::gauge!(EXPIRING_SOON).set(expiring as f64);
    }
}

/// One scheduler tick.
pub fn record_tick(scheduled: &crate::guardian::fanout::Scheduled) {
    metrics::gauge!(ACCOUNTS_IN_TROUBLE).set(scheduled.in_trouble.len() as f64);
    metrics::counter!(JOBS_QUEUED).increment(scheduled.enqueued.sent as u64);
    metrics::counter!(JOBS_NOT_QUEUED).increment(scheduled.enqueued.failed.len() as u64);
}
