//! The scheduled guardian: every run (an EventBridge schedule, every 3
//! minutes by default) checks this app's RingCentral subscriptions to the
//! webhook address, recreates a blacklisted or missing one, renews one that
//! expires soon, publishes every finding to the alarm topic, and writes the
//! SubscriptionHealthy, SubscriptionHealed and SubscriptionExpiringSoon
//! metrics in Embedded Metric Format. With ACCOUNTS_TABLE and
//! GUARDIAN_QUEUE_URL it does so for every registered account, through its
//! queue. This file only wires.

// The fan-out's future (the AWS SDK's futures inside the registry, the
// queue and the topic, inside the worker, inside the Lambda loop) nests past
// the compiler's default layout depth of 128.
#![recursion_limit = "256"]

use aws_config::BehaviorVersion;
use cc_number_relay::inventory::dynamodb::SCAN_TIMEOUTS;
use cc_number_relay::registry::dynamodb::DynamoRegistry;
use cc_number_relay::runtime::guardian::fanout::{self, Fanout};
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
    let fanout_config = config.fanout.clone();
    let guardian = Guardian {
        config,
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
        sdk,
    };
    match fanout_config {
        None => run(guardian, collector).await,
        Some(f) => {
            // Reads, decrypts and records checks only: no key id, nothing sealed here.
            let registry = DynamoRegistry::new(&guardian.sdk, f.accounts_table, None, SCAN_TIMEOUTS);
            fanout::run(Fanout::new(guardian, registry, f.queue), collector).await
        }
    }
}
