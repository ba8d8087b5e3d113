//! The relay Lambda: configuration, clients built once, run.

use cc_number_relay::config::Config;
use cc_number_relay::http::Verifier;
use cc_number_relay::inventory::dynamodb::{DynamoInventory, RELAY_TIMEOUTS};
use cc_number_relay::observe;
use cc_number_relay::runtime::{self, relay::Relay};
use cc_number_relay::sink::aws::AwsSink;
use cc_number_relay::xray::XRay;
use lambda_http::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env().unwrap_or_else(|e| cold_start_failed(e));
    let metrics = observe::init(&config.metrics_namespace)?;
    let sdk = runtime::aws::sdk_config().await;
    let tokens = runtime::relay::token_store(&sdk, config.tokens);
    let relay = Relay {
        verifier: Verifier::load(tokens).await.unwrap_or_else(|e| cold_start_failed(e)),
        sink: AwsSink::new(&sdk, config.topics, config.dead_letter_queue_url),
        inventory: config
            .inventory_table
            .map(|table| DynamoInventory::new(&sdk, table, RELAY_TIMEOUTS)),
        xray: XRay::from_env(),
    };
    runtime::relay::run(relay, metrics).await
}

/// One clear line, then exit: Lambda reports the init error and retries.
fn cold_start_failed(error: impl std::fmt::Display) -> ! {
    tracing::error!("cold start failed: {error}");
    std::process::exit(1)
}
