//! Operator commands for cc-number-relay. This file is the command line and
//! its dispatch; each command's wiring is in the module of its concern, and
//! the decisions are the library's.

mod accounts;
mod clients;
mod reconcile;
mod redrive;
mod rotate;
mod subscription;
mod subscriptions;

use cc_number_relay::{guardian, ringcentral};
use clap::{Parser, Subcommand};
use clients::{RingCentralArgs, TokenArgs};
use std::process::ExitCode;
use std::time::Duration;

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
    /// Reads CREATED/UPDATED/DELETED_TOPIC_ARN and DEAD_LETTER_QUEUE_URL, and
    /// INVENTORY_TABLE when set (duplicates dropped, what is published recorded).
    Redrive {
        /// Report what would happen; publish, delete and re-park nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create the RingCentral webhook subscription to ADDRESS (Contact Center
    /// number events and renewal reminders; expiresIn at the top level).
    /// RingCentral first sends its validation request to ADDRESS. Fails when
    /// RingCentral disables the Contact Center filter of the new subscription.
    /// With INVENTORY_TABLE and the topics set, it then reconciles: the
    /// baseline, so that any later gap is repaired.
    Subscribe {
        /// The webhook URL: the stack's WebhookUrl output.
        #[arg(long)]
        address: String,
        /// Lifetime in seconds (RingCentral's maximum, ten years, by default).
        #[arg(long, default_value_t = ringcentral::MAX_EXPIRES_IN, value_parser = clap::value_parser!(u32).range(1..=i64::from(ringcentral::MAX_EXPIRES_IN)))]
        expires_in: u32,
        #[command(flatten)]
        token: TokenArgs,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
    /// List this app's subscriptions to ADDRESS: status, expiry, blacklisting,
    /// the Contact Center filter. Exits 3 when one is not Active, is Active
    /// but deaf (its Contact Center filter disabled or missing), expires
    /// within the threshold, or none exists.
    Status {
        #[arg(long)]
        address: String,
        /// Threshold in seconds for "expires soon" (default: 3 days).
        #[arg(long, value_name = "SECONDS", default_value_t = guardian::DEFAULT_RENEW_WITHIN.as_secs())]
        expiring_within: u64,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
    /// Renew a subscription by id.
    Renew {
        /// The subscription id, as `status` shows it.
        id: String,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
    /// Compare RingCentral's Contact Center numbers with what subscribers
    /// were told (the inventory) and publish every difference as a change
    /// with origin `reconciliation`. The first run on a table records the
    /// baseline and publishes nothing. Reads CREATED/UPDATED/DELETED_TOPIC_ARN
    /// and INVENTORY_TABLE.
    Reconcile {
        /// Report what would be published; publish and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Publish every current number as Created with origin `snapshot`,
        /// for a consumer that joins late; the inventory is left alone.
        #[arg(long)]
        snapshot: bool,
        /// With --snapshot: publish only to this SNS topic ARN or SQS queue
        /// URL (the late consumer's own), so nobody else sees the replay.
        #[arg(long, value_name = "ARN_OR_URL", requires = "snapshot")]
        to: Option<String>,
        /// Seconds between list pages: RingCentral's Heavy rate group allows
        /// 10 requests a minute by default.
        #[arg(long, value_name = "SECONDS", default_value_t = ringcentral::HEAVY_PAGE_INTERVAL.as_secs_f64())]
        page_interval: f64,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
    /// Rotate the verification token in its secret with no refused delivery:
    /// a new token becomes current (the old one stays valid as previous), a
    /// subscription to ADDRESS is created with it, and once that one is
    /// Active the old subscriptions are deleted and the previous token
    /// dropped. A rerun finishes an interrupted rotation.
    RotateToken {
        /// The webhook URL: the stack's WebhookUrl output.
        #[arg(long)]
        address: String,
        /// The token secret: the stack's VerificationTokenSecretArn output.
        #[arg(long, value_name = "SECRET")]
        token_secret: String,
        /// Seconds to pause after making the new token current (counted from
        /// the instant the secret records, so a rerun waits only what is
        /// left) and before dropping the previous one; at least the relay's
        /// re-read interval (60 s) in a deployment.
        #[arg(long, value_name = "SECONDS", default_value_t = cc_number_relay::rotate::DEFAULT_SETTLE.as_secs_f64())]
        settle: f64,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
    /// Recreate a blacklisted, inactive or missing subscription to ADDRESS,
    /// then delete the dead one; put the Contact Center filter back on an
    /// Active subscription that lost it, or whose filter RingCentral
    /// disabled (once its cause is fixed). With INVENTORY_TABLE set (the
    /// stack's inventory table), it creates only under the table's lease, as
    /// the guardian does, and reconciles after mending (with the topics set).
    Heal {
        #[arg(long)]
        address: String,
        #[command(flatten)]
        token: TokenArgs,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
    /// List ALL of this app's subscriptions, every address: id, status,
    /// expiry, address and event filters, one line each, marking those to
    /// --address as ours and those that look orphaned. RingCentral allows
    /// about 20 per user and app (SUB-505 beyond); `subscriptions delete ID`
    /// deletes the orphans.
    #[command(args_conflicts_with_subcommands = true)]
    Subscriptions {
        #[command(subcommand)]
        delete: Option<SubscriptionsCommand>,
        /// The stack's WebhookUrl: subscriptions to it are marked ours, the
        /// others look orphaned.
        #[arg(long)]
        address: Option<String>,
        /// One JSON document instead of lines, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
    /// The RingCentral accounts this stack serves besides its own (the
    /// default account, whose credentials are the stack's credentials
    /// secret): add, list, remove. Reads ACCOUNTS_TABLE (the stack's
    /// AccountsTableName output), and ACCOUNTS_KEY_ID to add.
    Accounts {
        #[command(subcommand)]
        command: accounts::AccountsCommand,
    },
}

#[derive(Subcommand)]
enum SubscriptionsCommand {
    /// Delete subscriptions by id (as `subscriptions` lists them); one that
    /// is already gone is said so and counts as deleted.
    Delete {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        #[command(flatten)]
        ringcentral: RingCentralArgs,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Redrive { dry_run } => redrive::redrive(dry_run).await,
        Command::Subscribe {
            address,
            expires_in,
            token,
            ringcentral,
        } => finish(subscription::subscribe(&address, expires_in, &token, &ringcentral).await),
        Command::Status {
            address,
            expiring_within,
            ringcentral,
        } => finish(subscription::status(&address, Duration::from_secs(expiring_within), &ringcentral).await),
        Command::Renew { id, ringcentral } => finish(subscription::renew(&id, &ringcentral).await),
        Command::Reconcile {
            dry_run,
            snapshot,
            to,
            page_interval,
            ringcentral,
        } => finish(reconcile::reconcile(dry_run, snapshot, to.as_deref(), page_interval, &ringcentral).await),
        Command::Heal {
            address,
            token,
            ringcentral,
        } => finish(subscription::heal(&address, &token, &ringcentral).await),
        Command::RotateToken {
            address,
            token_secret,
            settle,
            ringcentral,
        } => finish(rotate::rotate_token(&address, token_secret, settle, &ringcentral).await),
        Command::Subscriptions {
            delete: Some(SubscriptionsCommand::Delete { ids, ringcentral }),
            ..
        } => finish(subscriptions::delete_subscriptions(&ids, &ringcentral).await),
        Command::Subscriptions {
            delete: None,
            address,
            json,
            ringcentral,
        } => finish(subscriptions::list_subscriptions(address.as_deref(), json, &ringcentral).await),
        Command::Accounts { command } => finish(accounts::run(command).await),
    }
}

/// Errors are one line on stderr.
fn finish(result: Result<ExitCode, String>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("cc-number-relay-ctl: {e}");
        ExitCode::FAILURE
    })
}
