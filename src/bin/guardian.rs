//! The scheduled guardian: every run (an EventBridge schedule, every 15
//! minutes by default) checks this app's RingCentral subscriptions to the
//! webhook address, recreates a blacklisted or missing one, renews one that
//! expires soon, publishes every finding to the alarm topic, and writes the
//! SubscriptionHealthy, SubscriptionHealed and SubscriptionExpiringSoon
//! metrics in Embedded Metric Format.

use aws_config::BehaviorVersion;
use cc_number_relay::guardian::{metrics, Guardian, GuardianConfig};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = match GuardianConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("cold start failed: {e}");
            std::process::exit(1);
        }
    };
    let collector = match metrics::init(&config.metrics_namespace) {
        Ok(collector) => collector,
        Err(e) => {
            tracing::error!("cold start failed: {e}");
            std::process::exit(1);
        }
    };
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let guardian = Guardian {
        config,
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
    };
    let guardian = &guardian;
    lambda_runtime::run(service_fn(move |_tick: LambdaEvent<Value>| async move {
        let (report, published) = guardian.run().await;
        metrics::record(&report);
        let _ = collector.flush(std::io::stdout());
        // A finding that reached nobody fails the run: the function's Errors alarm fires.
        published?;
        let findings: Vec<&str> = report.findings.iter().map(|f| f.kind()).collect();
        tracing::info!(
            healthy = report.healthy,
            healed = report.healed,
            expiring_soon = report.expiring_soon,
            "guardian run: {}",
            if findings.is_empty() {
                "healthy, nothing to do".to_owned()
            } else {
                findings.join(", ")
            }
        );
        Ok::<_, Error>(json!({
            "healthy": report.healthy,
            "healed": report.healed,
            "expiringSoon": report.expiring_soon,
            "findings": findings,
        }))
    }))
    .await
}
