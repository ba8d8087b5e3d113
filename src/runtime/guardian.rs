//! The scheduled guardian in Lambda: configuration read once, AWS clients
//! built once, and per tick the credentials read, the subscription checked,
//! healed and renewed, and every finding published to the alarm topic.
//! With an inventory it also reconciles: after every heal (the gap just
//! closed) and on the reconciliation schedule (event `{"reconcile": true}`);
//! and it creates a subscription only under the inventory table's lease,
//! so two runs at once (or a run and the CLI's `heal`) create one.
//!
//! With `ACCOUNTS_TABLE` and `GUARDIAN_QUEUE_URL` it serves many accounts
//! ([`fanout`]): a tick queues one job per account, and the guardian
//! queue's batches run each account's check.

use crate::alarm::{publish_findings, AlarmError};
use crate::change::AccountId;
use crate::config::{ConfigError, Reconciliation, TokenSource};
use crate::finding::Finding;
use crate::guardian::fanout::Checked;
use crate::guardian::{check_heal_renew, Report, DEFAULT_RENEW_WITHIN, RATE_LIMIT_BUDGET};
use crate::inventory::dynamodb::{lease_holder, DynamoInventory, DynamoLease, SCAN_TIMEOUTS};
use crate::observe;
use crate::reconcile::{Kind, Mode};
use crate::registry::Tenant;
use crate::ringcentral::HEAVY_PAGE_INTERVAL;
use crate::ringcentral::{Client, ServerUrl, SubscriptionApi, MAX_EXPIRES_IN};
use crate::sink::aws::{QueueUrl, TopicArn};
use crate::token::TokenSet;
use crate::token_store::{secrets_manager::SecretTokens, TokenStore};
use std::collections::BTreeSet;
use std::time::Duration;

/// Every variable the guardian function reads; the template test holds the
/// guardian's environment to exactly this list, less `VERIFICATION_TOKEN`
/// (local runs and tests only: a deployed function reads the secret).
pub const ENV_VARS: [&str; 14] = [
    "INVENTORY_TABLE",
    "CREATED_TOPIC_ARN",
    "UPDATED_TOPIC_ARN",
    "DELETED_TOPIC_ARN",
    "WEBHOOK_ADDRESS",
    "ALARM_TOPIC_ARN",
    "RINGCENTRAL_CREDENTIALS_SECRET",
    "RINGCENTRAL_SERVER_URL",
    "VERIFICATION_TOKEN",
    "VERIFICATION_TOKEN_SECRET_ARN",
    "RENEW_WITHIN_SECONDS",
    "METRICS_NAMESPACE",
    "ACCOUNTS_TABLE",
    "GUARDIAN_QUEUE_URL",
];

/// The guardian function's configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct GuardianConfig {
    pub address: String,
    pub alarm_topic: TopicArn,
    pub credentials_secret: String,
    pub server: ServerUrl,
    /// The token a recreated subscription must carry: the secret's current
    /// one, read each run (a rotation is picked up), or `VERIFICATION_TOKEN`.
    pub tokens: TokenSource,
    pub renew_within: Duration,
    pub metrics_namespace: String,
    /// With `INVENTORY_TABLE` set: the topics and table to reconcile with.
    pub reconciliation: Option<Reconciliation>,
    /// With `ACCOUNTS_TABLE` and `GUARDIAN_QUEUE_URL` set: many accounts.
    pub fanout: Option<FanoutConfig>,
}

/// Where the fan-out finds its accounts and queues their jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutConfig {
    pub accounts_table: String,
    pub queue: QueueUrl,
}

impl FanoutConfig {
    /// Both variables, or neither (one account, as before there were many).
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let both = "set with the other of ACCOUNTS_TABLE and GUARDIAN_QUEUE_URL (many accounts), or unset both (one)";
        match (set("ACCOUNTS_TABLE"), set("GUARDIAN_QUEUE_URL")) {
            (None, None) => Ok(None),
            (Some(accounts_table), Some(queue)) => Ok(Some(Self {
                accounts_table,
                queue: QueueUrl::parse(queue).map_err(|problem| ConfigError::Malformed {
                    name: "GUARDIAN_QUEUE_URL",
                    problem,
                })?,
            })),
            (Some(_), None) => Err(ConfigError::Malformed {
                name: "ACCOUNTS_TABLE",
                problem: both,
            }),
            (None, Some(_)) => Err(ConfigError::Malformed {
                name: "GUARDIAN_QUEUE_URL",
                problem: both,
            }),
        }
    }
}

impl GuardianConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| lookup(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name));
        let malformed = |name: &'static str| move |problem: &'static str| ConfigError::Malformed { name, problem };
        let address = required("WEBHOOK_ADDRESS")?;
        if !(address.starts_with("https://") || address.starts_with("http://")) {
            return Err(malformed("WEBHOOK_ADDRESS")("expected the webhook's http(s):// URL"));
        }
        let tokens = TokenSource::from_lookup(lookup)?;
        let renew_within = match lookup("RENEW_WITHIN_SECONDS").filter(|v| !v.is_empty()) {
            None => DEFAULT_RENEW_WITHIN,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| (60..=u64::from(MAX_EXPIRES_IN)).contains(s))
                .map(Duration::from_secs)
                .ok_or(ConfigError::Malformed {
                    name: "RENEW_WITHIN_SECONDS",
                    problem: "expected whole seconds, at least 60",
                })?,
        };
        Ok(Self {
            address,
            alarm_topic: TopicArn::parse(required("ALARM_TOPIC_ARN")?).map_err(malformed("ALARM_TOPIC_ARN"))?,
            credentials_secret: required("RINGCENTRAL_CREDENTIALS_SECRET")?,
            server: ServerUrl::from_lookup(lookup)
                .map_err(|_| malformed("RINGCENTRAL_SERVER_URL")("expected http(s)://host[:port] without a path"))?,
            tokens,
            renew_within,
            metrics_namespace: lookup("METRICS_NAMESPACE")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| observe::DEFAULT_NAMESPACE.to_owned()),
            reconciliation: match lookup("INVENTORY_TABLE").filter(|v| !v.is_empty()) {
                None => None,
                Some(_) => Some(Reconciliation::from_lookup(lookup)?),
            },
            fanout: FanoutConfig::from_lookup(lookup)?,
        })
    }
}

/// The guardian: AWS clients built once, one [`Guardian::run`] per schedule tick.
pub struct Guardian {
    pub config: GuardianConfig,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sns: aws_sdk_sns::Client,
    /// For the reconciliation's clients.
    pub sdk: aws_config::SdkConfig,
}

impl Guardian {
    /// The verification tokens, read each run from the token secret: a new
    /// subscription carries `current`, and a rotation under way is told
    /// from duplicates.
    async fn tokens(&self) -> Result<TokenSet, String> {
        match &self.config.tokens {
            TokenSource::Fixed(tokens) => Ok(tokens.clone()),
            TokenSource::Secret(arn) => SecretTokens::from_client(self.secrets.clone(), arn.clone())
                .read()
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// The RingCentral client of one run: the credentials read from the
    /// secret each run (so a rotated secret is picked up), one access token
    /// for the check and the reconciliation alike.
    async fn client(&self) -> Result<Client, String> {
        let c = &self.config;
        super::ringcentral_client::from_secret(&self.secrets, &c.credentials_secret, &c.server, RATE_LIMIT_BUDGET).await
    }

    /// This run's handle on `tenant`'s subscription lease in the inventory
    /// table; none without `INVENTORY_TABLE` (then nothing keeps two runs at
    /// once from creating a subscription each; the next run deletes the extra).
    fn lease(&self, tenant: &Tenant) -> Option<DynamoLease> {
        self.config.reconciliation.as_ref().map(|r| {
            DynamoInventory::new(&self.sdk, r.inventory_table.clone(), SCAN_TIMEOUTS)
                .for_tenant(tenant.clone())
                .lease(lease_holder("guardian"))
        })
    }

    /// Publishes what RingCentral failed to deliver to `tenant`; a finding
    /// when it did. `registered`: the accounts a default-account run leaves out.
    async fn reconcile(
        &self,
        config: &Reconciliation,
        client: &Client,
        tenant: &Tenant,
        registered: BTreeSet<AccountId>,
    ) -> Option<Finding> {
        let failed = |error: String| Some(Finding::ReconcileFailed { error });
        let options = crate::runtime::reconcile::Options {
            mode: Mode::Correct,
            dry_run: false,
            to: None,
            page_interval: HEAVY_PAGE_INTERVAL,
            who: "guardian",
            tenant: tenant.clone(),
            registered,
        };
        let report = match crate::runtime::reconcile::run(&self.sdk, config, client, options, |_| {}).await {
            Ok(report) => report,
            Err(e) => return failed(e.to_string()),
        };
        tracing::info!(account = tenant.label(), "{}", report.line());
        metrics::record_reconciliation(&report);
        let count = |kind| report.published.get(&kind).copied().unwrap_or(0);
        if let Some(failure) = report.failed.first() {
            return failed(format!("{} corrections not published: {failure}", report.failed.len()));
        }
        // Numbers recorded as the baseline are not counted: only missed changes alarm.
        (report.published_total() > 0).then(|| Finding::Reconciled {
            created: count(Kind::Created),
            updated: count(Kind::Updated),
            reassigned_away: count(Kind::ReassignedAway),
            deleted: count(Kind::Deleted),
            numbers: report.numbers,
        })
    }

    /// One account's check, heal and renewal at `address` under its lease,
    /// then its reconciliation when asked or after a heal. `subscriptions`
    /// is `client` as the account's subscriptions are worked: a registered
    /// account's are created and mended with the filter naming it. The
    /// RingCentral client blocks, as in the reconciliation: a run does
    /// nothing else meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn check_one(
        &self,
        tenant: &Tenant,
        address: &str,
        subscriptions: &impl SubscriptionApi,
        client: &Client,
        tokens: &TokenSet,
        reconcile: bool,
        registered: BTreeSet<AccountId>,
    ) -> Checked {
        let c = &self.config;
        let mut report = check_heal_renew(subscriptions, &self.lease(tenant), address, c.renew_within, tokens).await;
        // A run that left the creation to another run's lease leaves it the
        // reconciliation too: that run reconciles once it healed.
        let deferred = report
            .findings
            .iter()
            .any(|f| matches!(f, Finding::HealDeferred { .. }));
        let mut reconciled = false;
        if let Some(config) = &c.reconciliation {
            if (reconcile || report.healed > 0) && !deferred {
                let finding = self.reconcile(config, client, tenant, registered).await;
                reconciled = !matches!(finding, Some(Finding::ReconcileFailed { .. }));
                report.findings.extend(finding);
            }
        }
        Checked { report, reconciled }
    }

    /// The default account's check: its client from the credentials secret,
    /// its tokens from the token secret. What keeps them from being read is
    /// a finding, as it always was.
    pub(crate) async fn check_default(&self, reconcile: bool, registered: BTreeSet<AccountId>) -> Checked {
        let client_and_tokens = match self.client().await {
            Ok(client) => self.tokens().await.map(|tokens| (client, tokens)),
            Err(error) => Err(error),
        };
        match client_and_tokens {
            Err(error) => {
                let mut report = Report::failed(&self.config.address, error.clone());
                // A reconciliation that was due could not run either, for the same reason.
                if reconcile && self.config.reconciliation.is_some() {
                    report.findings.push(Finding::ReconcileFailed { error });
                }
                Checked {
                    report,
                    reconciled: false,
                }
            }
            Ok((client, tokens)) => {
                let address = &self.config.address;
                self.check_one(
                    &Tenant::Default,
                    address,
                    &client,
                    &client,
                    &tokens,
                    reconcile,
                    registered,
                )
                .await
            }
        }
    }

    /// The default account's [`Guardian::check_default`], then every finding
    /// to the alarm topic. The report comes back even when publishing
    /// failed, for the metrics.
    pub async fn run(&self, reconcile: bool) -> (Report, Result<(), AlarmError>) {
        let report = self.check_default(reconcile, BTreeSet::new()).await.report;
        for finding in &report.findings {
            tracing::warn!(finding = finding.kind(), "{}", finding.summary());
        }
        let published = publish_findings(&self.sns, &self.config.alarm_topic, &report.findings).await;
        (report, published)
    }
}

/// Why a guardian invocation failed. Lambda reports the variant as the
/// invocation's `errorType` (`GuardianError::Alarm`), the message as its
/// `errorMessage`, so the function's errors name what failed.
#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
pub enum GuardianError {
    /// Findings that reached nobody: the function's Errors alarm fires.
    #[error(transparent)]
    Alarm(#[from] AlarmError),
    /// The scheduler could not list the registered accounts: no job queued.
    #[error(transparent)]
    Schedule(#[from] crate::guardian::fanout::ScheduleError),
    /// Jobs the scheduler could not queue after every try: those accounts
    /// go unchecked until the next tick.
    #[error("{failed} of {total} accounts' jobs could not be queued: {detail}")]
    NotQueued {
        failed: usize,
        total: usize,
        detail: String,
    },
    /// An event that is neither a schedule tick nor an SQS batch.
    #[error("unreadable event: {0}")]
    Event(String),
}

impl GuardianError {
    /// `GuardianError::<variant>`.
    pub fn error_type(&self) -> String {
        let variant: &'static str = self.into();
        format!("GuardianError::{variant}")
    }
}

impl From<GuardianError> for lambda_runtime::Diagnostic {
    fn from(error: GuardianError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type(),
            error_message: error.to_string(),
        }
    }
}

/// Runs one [`Guardian::run`] per schedule tick until the runtime stops.
pub async fn run(
    guardian: Guardian,
    collector: &'static metrics_cloudwatch_embedded::Collector,
) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{service_fn, LambdaEvent};
    use serde_json::{json, Value};
    let guardian = &guardian;
    lambda_runtime::run(service_fn(move |tick: LambdaEvent<Value>| async move {
        // The reconciliation schedule's input; the health schedule sends none.
        let reconcile = tick.payload.get("reconcile").and_then(Value::as_bool) == Some(true);
        let (report, published) = guardian.run(reconcile).await;
        metrics::record(&report);
        let _ = collector.flush(std::io::stdout());
        // A finding that reached nobody fails the run: the function's Errors alarm fires.
        published?;
        let findings: Vec<&str> = report.findings.iter().map(|f| f.kind()).collect();
        tracing::info!(
            healthy = report.healthy,
            healed = report.healed,
            expiring_soon = report.expiring_soon,
            "guardian run: {}",
            if findings.is_empty() {
                "healthy, nothing to do".to_owned()
            } else {
                findings.join(", ")
            }
        );
        Ok::<_, GuardianError>(json!({
            "healthy": report.healthy,
            "healed": report.healed,
            "expiringSoon": report.expiring_soon,
            "findings": findings,
        }))
    }))
    .await
}

pub mod fanout;
pub mod metrics;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_invocation_names_its_error_by_variant() {
        let error = GuardianError::from(AlarmError {
            failed: 2,
            total: 2,
            detail: "NotFound: Topic does not exist".into(),
        });
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "GuardianError::Alarm");
        assert_eq!(
            diagnostic.error_message,
            "publishing 2 of 2 findings to the alarm topic failed: NotFound: Topic does not exist"
        );
    }
}
