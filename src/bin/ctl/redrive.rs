//! `redrive`: the dead-letter queue and the sink wired from the environment;
//! what passes and what stays is the library's (`cc_number_relay::redrive`).

use crate::clients::aws;
use cc_number_relay::config::Destinations;
use cc_number_relay::dead_letters::sqs::SqsDeadLetters;
use cc_number_relay::inventory::dynamodb::{DynamoInventory, SCAN_TIMEOUTS};
use cc_number_relay::inventory::{Inventory, ReadOnly};
use cc_number_relay::redrive::{Redrive, Summary};
use cc_number_relay::sink::{aws::AwsSink, recording::RecordingSink, Sink};
use std::process::ExitCode;

/// Exit status when the run finished but something stays in the queue.
const STILL_FAILING: u8 = 3;

pub async fn redrive(dry_run: bool) -> ExitCode {
    let destinations = match Destinations::from_env() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cc-number-relay-ctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sdk = aws().await;
    eprintln!(
        "redrive: reading {}{}",
        destinations.dead_letter_queue_url.as_str(),
        if dry_run { " (dry run)" } else { "" }
    );
    // A client with ordinary time limits: long polls outlast the relay's.
    let queue = SqsDeadLetters {
        client: aws_sdk_sqs::Client::new(sdk),
        queue: destinations.dead_letter_queue_url.clone(),
    };
    // Optional: without it, redrive publishes as the relay did before it had one.
    let inventory = std::env::var("INVENTORY_TABLE")
        .ok()
        .filter(|t| !t.is_empty())
        .map(|table| DynamoInventory::new(sdk, table, SCAN_TIMEOUTS));
    let result = if dry_run {
        run_redrive(&queue, &RecordingSink::default(), &ReadOnly(inventory), true).await
    } else {
        let sink = AwsSink::new(sdk, destinations.topics, destinations.dead_letter_queue_url);
        run_redrive(&queue, &sink, &inventory, false).await
    };
    match result {
        Ok(summary) => {
            println!("{}", summary.line());
            if summary.left_in_queue() > 0 {
                ExitCode::from(STILL_FAILING)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("cc-number-relay-ctl: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_redrive(
    queue: &SqsDeadLetters,
    sink: &impl Sink,
    inventory: &impl Inventory,
    dry_run: bool,
) -> Result<Summary, cc_number_relay::dead_letters::QueueError> {
    let redrive = Redrive {
        queue,
        sink,
        inventory,
        dry_run,
    };
    redrive.run(|s| eprintln!("{}", s.progress_line())).await
}
