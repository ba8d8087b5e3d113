//! The guardian's metrics, in CloudWatch Embedded Metric Format through the
//! `metrics` facade and `metrics_cloudwatch_embedded`'s plain Builder/flush
//! API (its Lambda layer needs the crate's `lambda` feature, which would
//! turn on lambda_http's default event kinds in the relay too). Every run
//! writes all three, zeros included, so the alarms always have data.

use super::Report;
use metrics::Unit;
use metrics_cloudwatch_embedded::Collector;

pub const DEFAULT_NAMESPACE: &str = "CcNumberRelay";
/// 1 when, at the end of the run, an Active subscription that does not
/// expire soon delivers to the address; else 0.
pub const HEALTHY: &str = "SubscriptionHealthy";
/// Subscriptions recreated in place of blacklisted, inactive or missing ones.
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

/// Records one run; the caller flushes.
pub fn record(report: &Report) {
    metrics::gauge!(HEALTHY).set(if report.healthy { 1.0 } else { 0.0 });
    metrics::counter!(HEALED).increment(report.healed);
    metrics::gauge!(EXPIRING_SOON).set(report.expiring_soon as f64);
}
