//! The AWS sink: one SNS topic per eventType, the SQS dead-letter queue for
//! what could not be published. Clients carry time limits that fit
//! RingCentral's 3-second answer.

use super::{sns, Sink};
use crate::change::{Change, Delivery, EventType};
use crate::parked::{ParkError, ParkedItem, PublishFailure};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::operation::RequestId;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_smithy_runtime_api::client::stalled_stream_protection::StalledStreamProtectionConfig;
use std::sync::OnceLock;
use std::time::Duration;

/// Limits for one AWS service call, retries included.
#[derive(Debug, Clone, Copy)]
pub struct CallBudget {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
    pub max_attempts: u32,
}

/// The worst case of one request, every call at its limit: inventory read
/// 250 ms (`inventory::dynamodb::RELAY_TIMEOUTS`, one attempt) + publish
/// 1.15 s + park 0.9 s = 2.3 s, or + inventory write 250 ms = 1.65 s when
/// the publish went through; under RingCentral's 3 s including Lambda and
/// API Gateway. Publish gets the larger share: it is what subscribers need.
pub const SNS_TIMEOUTS: CallBudget = CallBudget {
    connect: Duration::from_millis(300),
    attempt: Duration::from_millis(550),
    operation: Duration::from_millis(1150),
    max_attempts: 2,
};

pub const SQS_TIMEOUTS: CallBudget = CallBudget {
    connect: Duration::from_millis(300),
    attempt: Duration::from_millis(400),
    operation: Duration::from_millis(900),
    max_attempts: 2,
};

/// The SDK's stalled-stream protection: a call whose body moves at under
/// 1 B/s for this long fails (its default grace period, `BehaviorVersion`
/// 2024-03-28 and later).
const STALLED_STREAM_GRACE: Duration = Duration::from_secs(5);

impl CallBudget {
    /// Off when every attempt is cut short before the protection could fire
    /// (all the relay's budgets: 250-550 ms against its 5 s grace period), so
    /// nothing changes but its cost: two interceptors and a throughput check
    /// wrapped around every request and response body (a warm profile of the
    /// relay with the inventory showed it on each of the three calls).
    pub fn stalled_stream_protection(&self) -> StalledStreamProtectionConfig {
        if self.attempt < STALLED_STREAM_GRACE {
            StalledStreamProtectionConfig::disabled()
        } else {
            StalledStreamProtectionConfig::enabled()
                .grace_period(STALLED_STREAM_GRACE)
                .build()
        }
    }

    pub fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
    pub fn retries(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(Duration::from_millis(50))
    }
}

/// The three topics, one per eventType: routing lives with publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub created: TopicArn,
    pub updated: TopicArn,
    pub deleted: TopicArn,
}

impl Topics {
    pub fn for_event(&self, event_type: EventType) -> &TopicArn {
        match event_type {
            EventType::Created => &self.created,
            EventType::Updated => &self.updated,
            EventType::Deleted => &self.deleted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicArn(String);

impl TopicArn {
    pub fn parse(value: String) -> Result<Self, &'static str> {
        let parts: Vec<&str> = value.split(':').collect();
        let ok = parts.len() == 6 && parts[0] == "arn" && parts[2] == "sns" && !parts[5].is_empty();
        ok.then_some(Self(value))
            .ok_or("expected arn:<partition>:sns:<region>:<account>:<topic>")
    }
    /// SNS requires ordering and deduplication ids exactly on `.fifo` topics.
    pub fn is_fifo(&self) -> bool {
        self.0.ends_with(".fifo")
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The topic name: shorter than the ARN in logs and answers.
    pub fn name(&self) -> &str {
        self.0.rsplit(':').next().unwrap_or(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl(String);

impl QueueUrl {
    pub fn parse(value: String) -> Result<Self, &'static str> {
        let ok = (value.starts_with("https://") || value.starts_with("http://")) && value.len() > "https://".len();
        ok.then_some(Self(value)).ok_or("expected an http(s):// SQS queue URL")
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Built once at cold start and shared by every request. The SQS client is
/// built on the first park: the common path never needs it.
#[derive(Debug)]
pub struct AwsSink {
    sns: aws_sdk_sns::Client,
    sdk: SdkConfig,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    topics: Topics,
    /// `None` for a publisher that never parks (reconciliation: a failed
    /// correction is found again by the next run).
    dead_letter_queue: Option<QueueUrl>,
}

impl AwsSink {
    pub fn new(sdk: &SdkConfig, topics: Topics, dead_letter_queue: QueueUrl) -> Self {
        Self::build(sdk, topics, Some(dead_letter_queue))
    }

    /// Publishes to the topics; parking fails.
    pub fn topics_only(sdk: &SdkConfig, topics: Topics) -> Self {
        Self::build(sdk, topics, None)
    }

    fn build(sdk: &SdkConfig, topics: Topics, dead_letter_queue: Option<QueueUrl>) -> Self {
        let sns = aws_sdk_sns::config::Builder::from(sdk)
            .timeout_config(SNS_TIMEOUTS.timeouts())
            .retry_config(SNS_TIMEOUTS.retries())
            .stalled_stream_protection(SNS_TIMEOUTS.stalled_stream_protection())
            .build();
        Self {
            sns: aws_sdk_sns::Client::from_conf(sns),
            sdk: sdk.clone(),
            sqs: OnceLock::new(),
            topics,
            dead_letter_queue,
        }
    }

    fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| {
            let conf = aws_sdk_sqs::config::Builder::from(&self.sdk)
                .timeout_config(SQS_TIMEOUTS.timeouts())
                .retry_config(SQS_TIMEOUTS.retries())
                .stalled_stream_protection(SQS_TIMEOUTS.stalled_stream_protection())
                .build();
            aws_sdk_sqs::Client::from_conf(conf)
        })
    }
}

impl Sink for AwsSink {
    async fn publish(&self, change: &Change, delivery: Delivery) -> Result<String, PublishFailure> {
        let topic = self.topics.for_event(change.change_type);
        sns::publish(&self.sns, topic, change, delivery).await?;
        Ok(topic.name().to_owned())
    }

    async fn park(&self, item: &ParkedItem) -> Result<String, ParkError> {
        let queue = self
            .dead_letter_queue
            .as_ref()
            .ok_or_else(|| ParkError("no dead-letter queue configured".into()))?;
        let reason = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(&item.reason)
            .build()
            .map_err(|e| ParkError(e.to_string()))?;
        self.sqs()
            .send_message()
            .queue_url(queue.as_str())
            .message_body(item.to_json())
            .message_attributes("reason", reason)
            .send()
            .await
            .map(|sent| sent.message_id.unwrap_or_default())
            .map_err(|e| ParkError(one_line(&e)))
    }
}

/// An SDK failure as (error code, message, request id). Without an answer
/// from the service the code names the SDK's kind of failure.
pub(crate) fn failure_of<E, R>(error: &SdkError<E, R>) -> (String, String, Option<String>)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    SdkError<E, R>: RequestId,
{
    let code = match error {
        SdkError::ServiceError(_) => error.code().unwrap_or("Unknown"),
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        _ => "Unknown",
    };
    let message = match error.message() {
        Some(message) => message.to_owned(),
        None => source_chain(error),
    };
    (
        code.to_owned(),
        flatten(&message),
        error.request_id().map(str::to_owned),
    )
}

/// One line: `Code: message (request id …)`.
pub(crate) fn one_line<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    SdkError<E, R>: RequestId,
{
    let (code, message, request_id) = failure_of(error);
    let mut line = code;
    if !message.is_empty() {
        line = format!("{line}: {message}");
    }
    if let Some(id) = request_id {
        line = format!("{line} (request id {id})");
    }
    line
}

/// The causes below the SDK's own wrapper ("dispatch failure", ...), joined.
fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        parts.push(cause.to_string());
        next = cause.source();
    }
    parts.join(": ")
}

fn flatten(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalled_stream_protection_is_off_only_where_every_attempt_ends_before_it_could_fire() {
        for budget in [SNS_TIMEOUTS, SQS_TIMEOUTS] {
            assert!(!budget.stalled_stream_protection().is_enabled(), "{budget:?}");
        }
        let long = CallBudget {
            attempt: STALLED_STREAM_GRACE,
            ..SNS_TIMEOUTS
        };
        let kept = long.stalled_stream_protection();
        assert!(kept.is_enabled() && kept.upload_enabled() && kept.download_enabled());
        assert_eq!(kept.grace_period(), STALLED_STREAM_GRACE);
    }
}
