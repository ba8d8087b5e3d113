//! The confirmer in Lambda: the confirm queue's SQS batches (raw delivery
//! from the Updated topic, `origin` `webhook` only) through
//! [`crate::confirm::Confirmer`], answered with `batchItemFailures` so only
//! the messages that failed come back (then go to the queue's dead-letter
//! queue). Configuration and AWS clients are built once; the RingCentral
//! client is kept across invocations, so its access token is too
//! (RingCentral's Auth group allows 5 grants a minute), and built again
//! from the secret after the credentials were refused.

use crate::config::{ConfigError, Reconciliation};
use crate::confirm::{Confirmer, Item, Report};
use crate::inventory::dynamodb::{DynamoInventory, SCAN_TIMEOUTS};
use crate::observe;
use crate::reconcile::Kind;
use crate::ringcentral::{Client, PhoneNumbers, ServerUrl};
use crate::sink::aws::AwsSink;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Every variable the confirm function reads; the template test holds its
/// environment to exactly this list.
pub const ENV_VARS: [&str; 7] = [
    "INVENTORY_TABLE",
    "CREATED_TOPIC_ARN",
    "UPDATED_TOPIC_ARN",
    "DELETED_TOPIC_ARN",
    "RINGCENTRAL_CREDENTIALS_SECRET",
    "RINGCENTRAL_SERVER_URL",
    "METRICS_NAMESPACE",
];

/// The most one invocation waits on RingCentral's `Retry-After`s: its
/// Light-group penalty is 60 s. The function's timeout leaves room for it
/// and the calls (tests/it/confirm_template.rs holds the template to that).
pub const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct ConfirmConfig {
    /// The three topics and the inventory table.
    pub reconciliation: Reconciliation,
    pub credentials_secret: String,
    pub server: ServerUrl,
    pub metrics_namespace: String,
}

impl ConfirmConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            reconciliation: Reconciliation::from_lookup(lookup)?,
            credentials_secret: lookup("RINGCENTRAL_CREDENTIALS_SECRET")
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing("RINGCENTRAL_CREDENTIALS_SECRET"))?,
            server: ServerUrl::from_lookup(lookup).map_err(|_| ConfigError::Malformed {
                name: "RINGCENTRAL_SERVER_URL",
                problem: "expected http(s)://host[:port] without a path",
            })?,
            metrics_namespace: lookup("METRICS_NAMESPACE")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| observe::DEFAULT_NAMESPACE.to_owned()),
        })
    }
}

/// The SQS event, as much of it as the confirmer reads.
#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsRecord {
    pub message_id: String,
    #[serde(default)]
    pub body: String,
}

/// Lambda's partial batch response (the event source mapping's
/// `ReportBatchItemFailures`): the messages to deliver again.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    pub fn failing(message_ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            batch_item_failures: message_ids
                .into_iter()
                .map(|item_identifier| ItemFailure { item_identifier })
                .collect(),
        }
    }
}

/// The confirmer: AWS clients built once, one [`Confirm::handle`] per batch.
pub struct Confirm {
    pub config: ConfirmConfig,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub inventory: DynamoInventory,
    pub sink: AwsSink,
    client: tokio::sync::Mutex<Option<Client>>,
}

impl Confirm {
    pub fn new(sdk: &aws_config::SdkConfig, config: ConfirmConfig) -> Self {
        let r = &config.reconciliation;
        Self {
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            // Item reads and conditional writes, off the webhook path: ordinary limits with retries.
            inventory: DynamoInventory::new(sdk, r.inventory_table.clone(), SCAN_TIMEOUTS),
            sink: AwsSink::topics_only(sdk, r.topics.clone()),
            config,
            client: tokio::sync::Mutex::new(None),
        }
    }

    async fn new_client(&self) -> Result<Client, String> {
        let c = &self.config;
        super::ringcentral_client::from_secret(&self.secrets, &c.credentials_secret, &c.server, RATE_LIMIT_BUDGET).await
    }

    /// One batch: every message id whose number was not concluded comes
    /// back; all of them when RingCentral's client could not be built.
    pub async fn handle(&self, event: SqsEvent) -> (Option<Report>, BatchResponse) {
        let items: Vec<Item> = event
            .records
            .into_iter()
            .map(|r| Item {
                message_id: r.message_id,
                body: r.body,
            })
            .collect();
        let mut slot = self.client.lock().await;
        let client = match &mut *slot {
            Some(client) => client,
            None => match self.new_client().await {
                Ok(client) => slot.insert(client),
                Err(error) => {
                    tracing::error!("confirm: no RingCentral client, the whole batch is retried: {error}");
                    return (None, BatchResponse::failing(items.into_iter().map(|i| i.message_id)));
                }
            },
        };
        client.refill_wait_budget(RATE_LIMIT_BUDGET);
        let api = PhoneNumbers {
            client,
            // Only the list pages; confirmation reads numbers one by one.
            page_interval: Duration::ZERO,
        };
        let confirmer = Confirmer {
            api: &api,
            inventory: &self.inventory,
            sink: &self.sink,
        };
        let report = confirmer.run(&items, time::OffsetDateTime::now_utc()).await;
        if report.bad_credentials {
            // A rotated secret: read it again next time.
            *slot = None;
        }
        let response = BatchResponse::failing(report.failed.iter().cloned());
        (Some(report), response)
    }
}

/// Runs one [`Confirm::handle`] per SQS batch until the runtime stops.
pub async fn run(
    confirm: Confirm,
    collector: &'static metrics_cloudwatch_embedded::Collector,
) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{service_fn, LambdaEvent};
    let confirm = &confirm;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let (report, response) = confirm.handle(event.payload).await;
        if let Some(report) = &report {
            for (message_id, error) in &report.undecodable {
                tracing::warn!(message_id, "confirm: not a change, retried then dead-lettered: {error}");
            }
            for (id, verdict) in &report.verdicts {
                if let crate::confirm::Verdict::Failed(error) = verdict {
                    tracing::warn!(phone_number_id = id, "confirm: not concluded, retried: {error}");
                }
            }
            tracing::info!("{}", report.line());
            metrics::record(report);
        }
        let _ = collector.flush(std::io::stdout());
        Ok::<_, lambda_runtime::Error>(response)
    }))
    .await
}

pub mod metrics {
    //! The confirmer's metrics, in Embedded Metric Format (as the guardian's).

    use super::{Kind, Report};
    use crate::confirm::Verdict;
    use metrics::Unit;
    use metrics_cloudwatch_embedded::Collector;

    /// Corrections published after a webhook `Updated` disagreed with
    /// RingCentral, in all and by kind.
    pub const CORRECTIONS: &str = "ConfirmCorrections";
    /// Numbers RingCentral had as subscribers were told.
    pub const CONFIRMED: &str = "ConfirmConfirmed";
    /// Messages handed back to the queue (retried, then dead-lettered).
    pub const FAILED: &str = "ConfirmFailedMessages";

    pub use crate::observe::MetricsError;

    /// Installs the process-wide recorder; call once, at cold start.
    pub fn init(namespace: &str) -> Result<&'static Collector, MetricsError> {
        let collector = crate::observe::collector(namespace, true)?;
        metrics::describe_counter!(CORRECTIONS, Unit::Count, "corrections published");
        metrics::describe_counter!(CONFIRMED, Unit::Count, "numbers as subscribers were told");
        metrics::describe_counter!(FAILED, Unit::Count, "messages handed back to the queue");
        Ok(collector)
    }

    /// Records one batch; the caller flushes.
    pub fn record(report: &Report) {
        let corrected: usize = [Kind::Created, Kind::Updated, Kind::ReassignedAway, Kind::Deleted]
            .into_iter()
            .map(|kind| {
                let n = report.corrected(kind);
                if n > 0 {
                    metrics::counter!(CORRECTIONS, "changeType" => kind.as_str()).increment(n as u64);
                }
                n
            })
            .sum();
        metrics::counter!(CORRECTIONS).increment(corrected as u64);
        let confirmed = report.verdicts.values().filter(|v| **v == Verdict::Confirmed).count();
        metrics::counter!(CONFIRMED).increment(confirmed as u64);
        metrics::counter!(FAILED).increment(report.failed.len() as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_needs_the_topics_the_table_and_the_credentials_secret() {
        let env = [
            ("INVENTORY_TABLE", "inventory"),
            ("CREATED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:c"),
            ("UPDATED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:u"),
            ("DELETED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:d"),
            ("RINGCENTRAL_CREDENTIALS_SECRET", "stack/ringcentral-credentials"),
        ];
        let lookup = |without: &'static str| {
            move |name: &str| {
                env.iter()
                    .find(|(k, _)| *k == name && *k != without)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let config = ConfirmConfig::from_lookup(&lookup("")).unwrap();
        assert_eq!(config.reconciliation.inventory_table, "inventory");
        assert_eq!(config.server.as_str(), crate::ringcentral::DEFAULT_SERVER_URL);
        assert_eq!(config.metrics_namespace, observe::DEFAULT_NAMESPACE);
        for (name, _) in env {
            assert_eq!(
                ConfirmConfig::from_lookup(&lookup(name)).unwrap_err(),
                ConfigError::Missing(name)
            );
        }
    }

    #[test]
    fn the_event_and_the_answer_are_lambdas_sqs_shapes() {
        let event: SqsEvent = serde_json::from_str(
            r#"{"Records":[{"messageId":"m1","receiptHandle":"r","body":"{}","attributes":{},
                "messageAttributes":{},"eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:1:q"}]}"#,
        )
        .unwrap();
        assert_eq!(
            (event.records[0].message_id.as_str(), event.records[0].body.as_str()),
            ("m1", "{}")
        );
        assert_eq!(
            serde_json::to_string(&BatchResponse::failing(["m1".to_owned()])).unwrap(),
            r#"{"batchItemFailures":[{"itemIdentifier":"m1"}]}"#
        );
        assert_eq!(
            serde_json::to_string(&BatchResponse::default()).unwrap(),
            r#"{"batchItemFailures":[]}"#
        );
    }
}
