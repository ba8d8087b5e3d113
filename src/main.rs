//! The relay Lambda: configuration, clients built once, run.

use cc_number_relay::config::Config;
use cc_number_relay::inventory::dynamodb::{DynamoInventory, RELAY_TIMEOUTS};
use cc_number_relay::observe;
use cc_number_relay::runtime::{self, relay::Relay};
use cc_number_relay::sink::aws::AwsSink;
use cc_number_relay::xray::XRay;
use lambda_http::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env().unwrap_or_else(|e| {
        tracing::error!("cold start failed: {e}");
        std::process::exit(1)
    });
    let metrics = observe::init(&config.metrics_namespace)?;
    let sdk = runtime::aws::sdk_config().await;
    let relay = Relay {
        token: config.verification_token,
        sink: AwsSink::new(&sdk, config.topics, config.dead_letter_queue_url),
        inventory: config
            .inventory_table
            .map(|table| DynamoInventory::new(&sdk, table, RELAY_TIMEOUTS)),
        xray: XRay::from_env(),
    };
    runtime::relay::run(relay, metrics).await
}
