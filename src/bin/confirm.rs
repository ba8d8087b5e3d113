//! The confirmer: the confirm queue (subscribed to the Updated topic, webhook
//! changes only) delivers batches of `Updated` changes; each number is read
//! from RingCentral by id and, where RingCentral's state differs from what
//! subscribers were told, a correction is published and recorded as
//! reconciliation would. Failed messages go back in `batchItemFailures`.
//! This file only wires.

use aws_config::BehaviorVersion;
use cc_number_relay::runtime::confirm::{metrics, run, Confirm, ConfirmConfig};
use lambda_runtime::Error;

fn cold_start_failed(e: impl std::fmt::Display) -> ! {
    tracing::error!("cold start failed: {e}");
    std::process::exit(1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = ConfirmConfig::from_env().unwrap_or_else(|e| cold_start_failed(e));
    let collector = metrics::init(&config.metrics_namespace).unwrap_or_else(|e| cold_start_failed(e));
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    run(Confirm::new(&sdk, config), collector).await
}
