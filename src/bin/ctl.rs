//! Operator commands for cc-number-relay.

use aws_config::BehaviorVersion;
use cc_number_relay::config::Destinations;
use cc_number_relay::publish::Sinks;
use cc_number_relay::redrive::{Redrive, Summary};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cc-number-relay-ctl", about = "Operator commands for cc-number-relay")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-decode every parked item in the dead-letter queue: publish what now
    /// passes and delete it; leave what still fails, with its new reason.
    /// Reads CREATED/UPDATED/DELETED_TOPIC_ARN and DEAD_LETTER_QUEUE_URL.
    Redrive {
        /// Report what would happen; publish, delete and re-park nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Exit status when the run finished but items are still failing.
const STILL_FAILING: u8 = 3;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Redrive { dry_run } => redrive(dry_run).await,
    }
}

async fn redrive(dry_run: bool) -> ExitCode {
    let destinations = match Destinations::from_env() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cc-number-relay-ctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = destinations.dead_letter_queue_url.clone();
    let sinks = Sinks::new(&sdk, destinations.topics, destinations.dead_letter_queue_url);
    eprintln!(
        "redrive: reading {}{}",
        queue.as_str(),
        if dry_run { " (dry run)" } else { "" }
    );
    let run = Redrive {
        sqs: &sqs,
        sinks: &sinks,
        queue: &queue,
        dry_run,
    };
    match run.run(|s| eprintln!("{}", s.progress_line())).await {
        Ok(summary) => {
            println!("{}", describe(&summary, dry_run));
            if summary.still_failing_total() > 0 {
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

fn describe(s: &Summary, dry_run: bool) -> String {
    let by_reason: Vec<String> = s.still_failing.iter().map(|(r, n)| format!("{r}: {n}")).collect();
    let published = if dry_run {
        format!("would publish {}", s.would_publish)
    } else {
        format!("published {}", s.published)
    };
    format!(
        "redrive summary{}: read {}, {published}, still failing {}{}, re-parked with a new reason {}, renewal reminders {}, unreadable {}",
        if dry_run { " (dry run)" } else { "" },
        s.read,
        s.still_failing_total(),
        if by_reason.is_empty() { String::new() } else { format!(" ({})", by_reason.join(", ")) },
        s.reparked,
        s.reminders_removed,
        s.unreadable
    )
}
