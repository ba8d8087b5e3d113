//! The scheduled guardian: every run (an EventBridge schedule, every 15
//! minutes by default) checks this app's RingCentral subscriptions to the
//! webhook address, recreates a blacklisted or missing one, renews one that
//! expires soon, publishes every finding to the alarm topic, and writes the
//! SubscriptionHealthy, SubscriptionHealed and SubscriptionExpiringSoon
//! metrics in Embedded Metric Format. This file only wires.

use aws_config::BehaviorVersion;
use cc_number_relay::runtime::guardian::{metrics, run, Guardian, GuardianConfig};
use lambda_runtime::Error;

fn cold_start_failed(e: impl std::fmt::Display) -> ! {
    tracing::error!("cold start failed: {e}");
    std::process::exit(1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = GuardianConfig::from_env().unwrap_or_else(|e| cold_start_failed(e));
    let collector = metrics::init(&config.metrics_namespace).unwrap_or_else(|e| cold_start_failed(e));
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let guardian = Guardian {
        config,
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
        sdk,
    };
    run(guardian, collector).await
}
