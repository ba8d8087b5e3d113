//! Operator commands for cc-number-relay.

use aws_config::{BehaviorVersion, SdkConfig};
use cc_number_relay::config::Destinations;
use cc_number_relay::dead_letters::sqs::SqsDeadLetters;
use cc_number_relay::inventory::dynamodb::{lease_holder, DynamoInventory, SCAN_TIMEOUTS};
use cc_number_relay::inventory::{Inventory, ReadOnly};
use cc_number_relay::reconcile::{Mode, Progress};
use cc_number_relay::redrive::{Redrive, Summary};
use cc_number_relay::ringcentral::{SubscriptionApi, TokenError};
use cc_number_relay::sink::target::Target;
use cc_number_relay::sink::{aws::AwsSink, recording::RecordingSink, Sink};
use cc_number_relay::token::VerificationToken;
use cc_number_relay::token_store::secrets_manager::{SecretTokens, OPERATOR_TIMEOUTS};
use cc_number_relay::token_store::{generate_token, TokenStore};
use cc_number_relay::{config, guardian, ringcentral, rotate, runtime};
use clap::{Args, Parser, Subcommand};
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
        #[arg(long, value_name = "SECONDS", default_value_t = rotate::DEFAULT_SETTLE.as_secs_f64())]
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

/// RingCentral's API: RINGCENTRAL_SERVER_URL (default https://platform.ringcentral.com),
/// RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT.
#[derive(Args)]
struct RingCentralArgs {
    /// Read RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT
    /// from this Secrets Manager secret (a JSON object) instead of the environment.
    #[arg(long, value_name = "SECRET")]
    credentials_secret: Option<String>,
}

#[derive(Args)]
struct TokenArgs {
    /// Read the current verification token from this Secrets Manager secret
    /// (the stack's VerificationTokenSecretArn output) instead of VERIFICATION_TOKEN.
    #[arg(long, value_name = "SECRET")]
    verification_token_secret: Option<String>,
}

/// Exit status when the run finished but something stays in the queue.
const STILL_FAILING: u8 = 3;
/// Exit status of `status` when a subscription needs attention.
const NEEDS_ATTENTION: u8 = 3;
/// How long a rotation waits for the new subscription to be Active.
const ACTIVE_POLL: Duration = Duration::from_secs(5);
const ACTIVE_POLLS: u32 = 12;
/// How long a command waits on RingCentral's rate limits in all.
const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(180);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Redrive { dry_run } => redrive(dry_run).await,
        Command::Subscribe {
            address,
            expires_in,
            token,
            ringcentral,
        } => finish(subscribe(&address, expires_in, &token, &ringcentral).await),
        Command::Status {
            address,
            expiring_within,
            ringcentral,
        } => finish(status(&address, Duration::from_secs(expiring_within), &ringcentral).await),
        Command::Renew { id, ringcentral } => finish(renew(&id, &ringcentral).await),
        Command::Reconcile {
            dry_run,
            snapshot,
            to,
            page_interval,
            ringcentral,
        } => finish(reconcile(dry_run, snapshot, to.as_deref(), page_interval, &ringcentral).await),
        Command::Heal {
            address,
            token,
            ringcentral,
        } => finish(heal(&address, &token, &ringcentral).await),
        Command::RotateToken {
            address,
            token_secret,
            settle,
            ringcentral,
        } => finish(rotate_token(&address, token_secret, settle, &ringcentral).await),
        Command::Subscriptions {
            delete: Some(SubscriptionsCommand::Delete { ids, ringcentral }),
            ..
        } => finish(delete_subscriptions(&ids, &ringcentral).await),
        Command::Subscriptions {
            delete: None,
            address,
            json,
            ringcentral,
        } => finish(list_subscriptions(address.as_deref(), json, &ringcentral).await),
    }
}

/// Errors are one line on stderr.
fn finish(result: Result<ExitCode, String>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("cc-number-relay-ctl: {e}");
        ExitCode::FAILURE
    })
}

/// Tells the operator why nothing happens for a while.
struct StderrWait;

impl ringcentral::Wait for StderrWait {
    fn wait(&self, delay: Duration, operation: &str) {
        eprintln!(
            "cc-number-relay-ctl: RingCentral is rate limiting: waiting {} s as Retry-After asks, then retrying {operation}",
            delay.as_secs()
        );
        std::thread::sleep(delay);
    }
}

/// The operator's AWS configuration, loaded once, when a command first needs
/// it (`subscribe` with everything in the environment needs none).
static AWS: tokio::sync::OnceCell<SdkConfig> = tokio::sync::OnceCell::const_new();

async fn aws() -> &'static SdkConfig {
    AWS.get_or_init(|| aws_config::load_defaults(BehaviorVersion::latest()))
        .await
}

async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(aws().await)
}

async fn client(args: &RingCentralArgs) -> Result<ringcentral::Client, String> {
    let credentials = match &args.credentials_secret {
        None => ringcentral::Credentials::from_env().map_err(|e| e.to_string())?,
        Some(id) => {
            let server =
                ringcentral::ServerUrl::from_lookup(&|n: &str| std::env::var(n).ok()).map_err(|e| e.to_string())?;
            let secret = ringcentral::read_secret(&secrets_client().await, id)
                .await
                .map_err(|e| e.to_string())?;
            ringcentral::Credentials::from_secret(id, secret.expose(), server).map_err(|e| e.to_string())?
        }
    };
    ringcentral::Client::new(credentials, RATE_LIMIT_BUDGET, Box::new(StderrWait)).map_err(|e| e.to_string())
}

async fn verification_token(args: &TokenArgs) -> Result<VerificationToken, String> {
    match &args.verification_token_secret {
        None => ringcentral::verification_token(std::env::var("VERIFICATION_TOKEN").ok(), "VERIFICATION_TOKEN")
            .map_err(|e| match e {
                TokenError::Missing => {
                    "environment variable VERIFICATION_TOKEN is not set (or use --verification-token-secret)".to_owned()
                }
                other => other.to_string(),
            }),
        Some(id) => token_store(id.clone())
            .await
            .read()
            .await
            .map(|tokens| tokens.current)
            .map_err(|e| e.to_string()),
    }
}

async fn token_store(secret: String) -> SecretTokens {
    SecretTokens::new(aws().await, secret, OPERATOR_TIMEOUTS)
}

/// The system clock; pauses say why and for how long.
struct StderrPause;

impl rotate::Clock for StderrPause {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    fn wait(&self, delay: Duration, operation: &str) {
        if !delay.is_zero() {
            eprintln!("rotate-token: waiting {} s before {operation}", delay.as_secs_f64());
            std::thread::sleep(delay);
        }
    }
}

async fn rotate_token(
    address: &str,
    token_secret: String,
    settle: f64,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let settle =
        Duration::try_from_secs_f64(settle).map_err(|_| format!("--settle {settle}: expected seconds, 0 or more"))?;
    let store = token_store(token_secret).await;
    let client = client(args).await?;
    let new = generate_token().map_err(|e| e.to_string())?;
    let pace = rotate::Pace {
        settle,
        poll: ACTIVE_POLL,
        polls: ACTIVE_POLLS,
    };
    rotate::rotate(
        &store,
        &client,
        address,
        || new,
        pace,
        &StderrPause,
        |step| println!("rotate-token: {}", step.line()),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

async fn subscribe(
    address: &str,
    expires_in: u32,
    token: &TokenArgs,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let token = verification_token(token).await?;
    let client = client(args).await?;
    let created = client
        .create_subscription(address, &token, expires_in)
        .map_err(|e| create_failed(&client, address, &e))?;
    println!(
        "created subscription {}: status {}, expires {}, address {}",
        created.id,
        created.status,
        created.expiration(),
        created.address().unwrap_or(address)
    );
    // Deaf from the start (a permission missing, say)? RingCentral says so
    // in its answer, or in its list right after.
    let now = time::OffsetDateTime::now_utc();
    let listed = guardian::inspect(&client, address, guardian::DEFAULT_RENEW_WITHIN, now).map_err(|e| e.to_string())?;
    let assessed = listed
        .subscriptions
        .into_iter()
        .find(|a| a.subscription.id == created.id)
        .unwrap_or_else(|| guardian::Assessed {
            state: guardian::assess(&created, guardian::DEFAULT_RENEW_WITHIN, now),
            subscription: created,
        });
    let inspection = guardian::Inspection {
        address: address.to_owned(),
        subscriptions: vec![assessed],
    };
    if let Some(deaf) = inspection.findings().into_iter().find(|f| {
        matches!(
            f,
            guardian::Finding::FilterDisabled { .. } | guardian::Finding::FilterMissing { .. }
        )
    }) {
        return Err(deaf.summary());
    }
    // The relay is responsible for the account from now on: the baseline
    // is taken now, so a gap from this moment on is repaired like any other.
    reconcile_now("cc-number-relay-ctl subscribe", &client).await?;
    Ok(ExitCode::SUCCESS)
}

/// With the stack's inventory (INVENTORY_TABLE and the topics in the
/// environment), reconciles: after `subscribe` (the baseline) and after
/// `heal` mended a subscription (the gap just closed), as the guardian does.
async fn reconcile_now(who: &'static str, client: &ringcentral::Client) -> Result<(), String> {
    let config = match config::Reconciliation::from_env() {
        Ok(config) => config,
        Err(missing) => {
            println!(
                "reconcile: not run ({missing}); the guardian's next reconciliation does it, or run `cc-number-relay-ctl reconcile` with the stack's INVENTORY_TABLE and topic ARNs"
            );
            return Ok(());
        }
    };
    let options = runtime::reconcile::Options {
        mode: Mode::Correct,
        dry_run: false,
        to: None,
        page_interval: ringcentral::HEAVY_PAGE_INTERVAL,
        who,
    };
    let report = runtime::reconcile::run(aws().await, &config, client, options, |progress| {
        if let Progress::Page { page, numbers } = progress {
            eprintln!("reconcile: page {page} read, {numbers} Contact Center numbers so far")
        }
    })
    .await
    .map_err(|e| {
        format!("the subscription is in place, but reconciling failed (run `cc-number-relay-ctl reconcile`): {e}")
    })?;
    println!("{}", report.line());
    match report.failed.first() {
        Some(failure) => Err(format!(
            "{} corrections could not be published (the next reconciliation tries again): {failure}",
            report.failed.len()
        )),
        None => Ok(()),
    }
}

async fn status(address: &str, expiring_within: Duration, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let client = client(args).await?;
    let now = time::OffsetDateTime::now_utc();
    let inspection = guardian::inspect(&client, address, expiring_within, now).map_err(|e| e.to_string())?;
    println!("subscriptions of this app to {address}:");
    for assessed in &inspection.subscriptions {
        println!("  {}", assessed.line(now));
    }
    let findings = inspection.findings();
    if findings.is_empty() {
        println!("healthy");
        return Ok(ExitCode::SUCCESS);
    }
    for finding in &findings {
        println!("needs attention: {}", finding.summary());
    }
    Ok(ExitCode::from(NEEDS_ATTENTION))
}

async fn renew(id: &str, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let client = client(args).await?;
    let renewed = client.renew_subscription(id).map_err(|e| e.to_string())?;
    println!(
        "renewed subscription {}: status {}, expires {}",
        renewed.id,
        renewed.status,
        renewed.expiration()
    );
    Ok(ExitCode::SUCCESS)
}

async fn heal(address: &str, token: &TokenArgs, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let token = verification_token(token).await?;
    let client = client(args).await?;
    // Without the table, nothing keeps a guardian run at the same moment
    // from creating one too; its next run deletes the extra one.
    let lease = match std::env::var("INVENTORY_TABLE").ok().filter(|t| !t.is_empty()) {
        Some(table) => Some(
            DynamoInventory::new(aws().await, table, SCAN_TIMEOUTS).lease(lease_holder("cc-number-relay-ctl heal")),
        ),
        None => None,
    };
    let now = time::OffsetDateTime::now_utc();
    let inspection =
        guardian::inspect(&client, address, guardian::DEFAULT_RENEW_WITHIN, now).map_err(|e| e.to_string())?;
    // The operator runs `heal` once the cause of a disabled filter is fixed:
    // the filters are put again (the guardian never does this by itself).
    let mut findings = guardian::retry_disabled(&client, &inspection);
    if findings.is_empty() {
        findings = guardian::heal(&client, &lease, &inspection, &token).await;
    }
    if findings.is_empty() {
        // Active already, or created by another run since this one looked.
        let now = time::OffsetDateTime::now_utc();
        let after = if inspection.alive() {
            inspection
        } else {
            guardian::inspect(&client, address, guardian::DEFAULT_RENEW_WITHIN, now).map_err(|e| e.to_string())?
        };
        let live: Vec<&str> = after
            .subscriptions
            .iter()
            .filter(|a| a.subscription.is_active())
            .map(|a| a.subscription.id.as_str())
            .collect();
        println!(
            "nothing to heal: Active subscription {} delivers to {address}",
            live.join(", ")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = false;
    for finding in &findings {
        let failure = matches!(
            finding,
            guardian::Finding::HealFailed { .. }
                | guardian::Finding::HealDeferred { .. }
                | guardian::Finding::RemoveFailed { .. }
                | guardian::Finding::RestoreFailed { .. }
        );
        failed |= failure;
        if limit_reached(finding) {
            print_app_subscriptions(&client, address);
        }
        if failure {
            eprintln!("cc-number-relay-ctl: {}", finding.summary());
        } else {
            println!("{}", finding.summary());
        }
    }
    let mended = findings.iter().any(|f| {
        matches!(
            f,
            guardian::Finding::Healed { .. } | guardian::Finding::FiltersRestored { .. }
        )
    });
    if mended {
        // The gap just closed: what RingCentral did not deliver meanwhile is published now.
        reconcile_now("cc-number-relay-ctl heal", &client).await?;
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn reconcile(
    dry_run: bool,
    snapshot: bool,
    to: Option<&str>,
    page_interval: f64,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let config = config::Reconciliation::from_env().map_err(|e| e.to_string())?;
    let to = to
        .map(|t| Target::parse(t).map_err(|e| format!("--to {t}: {e}")))
        .transpose()?;
    let page_interval = Duration::try_from_secs_f64(page_interval)
        .map_err(|_| format!("--page-interval {page_interval}: expected seconds, 0 or more"))?;
    let client = client(args).await?;
    let sdk = aws().await;
    let options = runtime::reconcile::Options {
        mode: if snapshot { Mode::Snapshot } else { Mode::Correct },
        dry_run,
        to,
        page_interval,
        who: "cc-number-relay-ctl reconcile",
    };
    let report = runtime::reconcile::run(sdk, &config, &client, options, |progress| match progress {
        Progress::Page { page, numbers } => {
            eprintln!("reconcile: page {page} read, {numbers} Contact Center numbers so far")
        }
        Progress::Correction(c) => println!(
            "{} {} {}",
            c.kind.as_str(),
            c.change.phone_number.id,
            c.change.phone_number.e164
        ),
    })
    .await
    .map_err(|e| e.to_string())?;
    println!("{}", report.line());
    if let Some(failure) = report.failed.first() {
        return Err(format!(
            "{} of the changes could not be published (the next run tries again): {failure}",
            report.failed.len()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

async fn redrive(dry_run: bool) -> ExitCode {
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

async fn list_subscriptions(ours: Option<&str>, json: bool, args: &RingCentralArgs) -> Result<ExitCode, String> {
    let client = client(args).await?;
    let all = client.list_subscriptions().map_err(|e| e.to_string())?;
    let listed = ringcentral::listing(&all, ours);
    if json {
        let records: Vec<serde_json::Value> = listed.iter().map(ringcentral::Listed::json).collect();
        println!(
            "{}",
            serde_json::json!({"count": records.len(), "subscriptions": records})
        );
    } else {
        print_listing(&listed);
    }
    Ok(ExitCode::SUCCESS)
}

/// The count, one line each, and how to delete what looks orphaned.
fn print_listing(listed: &[ringcentral::Listed<'_>]) {
    match listed.len() {
        0 => println!("this app has no subscriptions"),
        1 => println!("this app has 1 subscription (RingCentral allows about 20 per user and app):"),
        n => println!("this app has {n} subscriptions (RingCentral allows about 20 per user and app):"),
    }
    for one in listed {
        println!("  {}", one.line());
    }
    let orphaned = listed.iter().filter(|l| l.orphaned.is_some()).count();
    if orphaned > 0 {
        println!("{orphaned} look orphaned: delete those nothing else uses with `cc-number-relay-ctl subscriptions delete ID [ID...]`");
    }
}

/// The line for a failed creation; on SUB-505 the app's subscriptions go to
/// stdout first, so the operator can pick the orphans. For `subscribe` and
/// `heal`.
fn create_failed(client: &ringcentral::Client, address: &str, error: &ringcentral::RingCentralError) -> String {
    if matches!(error, ringcentral::RingCentralError::SubscriptionLimit { .. }) {
        print_app_subscriptions(client, address);
    }
    error.to_string()
}

/// The app's subscriptions marked against `address`, on stdout; a failure
/// to list them is said there too (the error being explained comes first).
fn print_app_subscriptions(client: &ringcentral::Client, address: &str) {
    match client.list_subscriptions() {
        Ok(all) => print_listing(&ringcentral::listing(&all, Some(address))),
        Err(e) => println!("could not list this app's subscriptions: {e}"),
    }
}

/// `heal` could not create for SUB-505. Findings carry the error as text
/// (they go to the alarm topic as JSON), so the code is read from there.
fn limit_reached(finding: &guardian::Finding) -> bool {
    matches!(finding, guardian::Finding::HealFailed { error, .. } if error.contains("(SUB-505: "))
}

/// Each id deleted, or said to be gone already; exits 1 when one could not be.
async fn delete_subscriptions(ids: &[String], args: &RingCentralArgs) -> Result<ExitCode, String> {
    let client = client(args).await?;
    let mut failed = false;
    for id in ids {
        match client.delete_subscription(id) {
            Ok(()) => println!("deleted subscription {id}"),
            Err(ringcentral::RingCentralError::NotFound(_)) => {
                println!("subscription {id} is already gone")
            }
            Err(e) => {
                failed = true;
                eprintln!("cc-number-relay-ctl: could not delete subscription {id}: {e}");
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
