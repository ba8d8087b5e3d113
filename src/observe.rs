//! CloudWatch metrics in Embedded Metric Format, through the `metrics`
//! facade and `metrics_cloudwatch_embedded`: counters are recorded where
//! outcomes are decided and written to stdout once per invocation.

use metrics::Unit;
use metrics_cloudwatch_embedded::Collector;

/// The CloudWatch namespace unless METRICS_NAMESPACE says otherwise.
pub const DEFAULT_NAMESPACE: &str = "CcNumberRelay";

pub const PUBLISHED: &str = "NotificationsPublished";
pub const PARKED: &str = "NotificationsParked";
pub const UNRECOVERABLE: &str = "NotificationsUnrecoverable";
pub const UNAUTHENTICATED: &str = "Unauthenticated";
/// A notification authenticated by one account's token but naming another
/// account, or from a subscription not the account's. No account dimension:
/// up to 10,000 accounts would be as many metrics.
pub const ACCOUNT_MISMATCH: &str = "AccountMismatch";
/// A claimed account could not be looked up in the registry (answered 503).
pub const REGISTRY_UNAVAILABLE: &str = "RegistryUnavailable";
pub const HANDSHAKES: &str = "Handshakes";
pub const RENEWAL_REMINDERS: &str = "RenewalReminders";
pub const PUBLISH_LATENCY: &str = "PublishLatency";
pub const DUPLICATES: &str = "NotificationsDuplicate";
pub const STALE: &str = "NotificationsStale";
pub const INVENTORY_ERRORS: &str = "InventoryErrors";
pub const COLD_START: &str = "ColdStart";

#[derive(Debug, thiserror::Error)]
#[error("metrics could not be set up: {0}")]
pub struct MetricsError(String);

/// Installs the process-wide recorder; call once, at cold start. Zeros are
/// emitted when an alarm must always see data.
pub fn collector(namespace: &str, emit_zeros: bool) -> Result<&'static Collector, MetricsError> {
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace.to_owned())
        .emit_zeros(emit_zeros)
        .init()
        .map_err(|e| MetricsError(e.to_string()))
}

/// The relay's recorder.
pub fn init(namespace: &str) -> Result<&'static Collector, MetricsError> {
    let collector = collector(namespace, false)?;
    metrics::describe_histogram!(PUBLISH_LATENCY, Unit::Milliseconds, "time of the SNS publish call");
    Ok(collector)
}

/// Writes this invocation's metrics (and, the first time, `ColdStart`).
/// A failed write to stdout loses metrics, never the notification.
///
/// The collector writes one document per dimension set (two on a published
/// notification); buffered here, they reach stdout in one write instead of
/// one each (a system call, and Lambda's log pipe, per document).
pub fn flush(collector: &Collector, cold_start: bool, out: impl std::io::Write) {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(2048, out);
    if cold_start {
        let _ = collector.write_single(COLD_START, Some(Unit::Count), 1, &mut out);
    }
    let _ = collector.flush(&mut out);
    let _ = out.flush();
}
