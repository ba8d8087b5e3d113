//! The relay Lambda: configuration, clients built once, run.

use cc_number_relay::config::Config;
use cc_number_relay::http::{AccountVerifier, Limits, Verifier};
use cc_number_relay::inventory::dynamodb::{DynamoInventory, RELAY_TIMEOUTS};
use cc_number_relay::observe;
use cc_number_relay::registry::dynamodb::DynamoRegistry;
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
    let default = Verifier::load(tokens).await.unwrap_or_else(|e| cold_start_failed(e));
    let sink = AwsSink::new(&sdk, config.topics, config.dead_letter_queue_url);
    let inventory = config
        .inventory_table
        .map(|table| DynamoInventory::new(&sdk, table, RELAY_TIMEOUTS));
    let xray = XRay::from_env();
    match config.accounts_table {
        // One account: the default account's tokens alone, as before there were many.
        None => {
            let relay = Relay {
                verifier: default,
                sink,
                inventory,
                xray,
            };
            runtime::relay::run(relay, metrics).await
        }
        // Many: a registered account's tokens read from the registry (no key
        // id: the relay opens, never seals), on the webhook path's short budget.
        Some(table) => {
            let registry = DynamoRegistry::new(&sdk, table, None, RELAY_TIMEOUTS);
            let relay = Relay {
                verifier: AccountVerifier::new(default, registry, Limits::DEFAULT),
                sink,
                inventory,
                xray,
            };
            runtime::relay::run(relay, metrics).await
        }
    }
}

/// One clear line, then exit: Lambda reports the init error and retries.
fn cold_start_failed(error: impl std::fmt::Display) -> ! {
    tracing::error!("cold start failed: {error}");
    std::process::exit(1)
}
