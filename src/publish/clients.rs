//! SDK clients with time limits that fit RingCentral's 3-second answer.

use super::{park, sns, ParkError, Parked, PublishError};
use crate::change::Change;
use crate::config::{QueueUrl, TopicArn, Topics};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
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

/// Publish gets the larger share; together with parking the worst case stays
/// near 2.3 s, under RingCentral's 3 s including Lambda and API Gateway.
pub const SNS_TIMEOUTS: CallBudget = CallBudget {
    connect: Duration::from_millis(300),
    attempt: Duration::from_millis(600),
    operation: Duration::from_millis(1300),
    max_attempts: 2,
};

pub const SQS_TIMEOUTS: CallBudget = CallBudget {
    connect: Duration::from_millis(300),
    attempt: Duration::from_millis(450),
    operation: Duration::from_millis(1000),
    max_attempts: 2,
};

impl CallBudget {
    fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
    fn retries(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(Duration::from_millis(50))
    }
}

/// Where changes go: built once at cold start and shared by every request.
/// The SQS client, which only parking needs, is built on the first park.
#[derive(Debug, Clone)]
pub struct Sinks {
    sns: aws_sdk_sns::Client,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    sdk: SdkConfig,
    topics: Topics,
    dead_letter_queue: QueueUrl,
}

impl Sinks {
    pub fn new(sdk: &SdkConfig, topics: Topics, dead_letter_queue: QueueUrl) -> Self {
        let sns = aws_sdk_sns::config::Builder::from(sdk)
            .timeout_config(SNS_TIMEOUTS.timeouts())
            .retry_config(SNS_TIMEOUTS.retries())
            .build();
        Self {
            sns: aws_sdk_sns::Client::from_conf(sns),
            sqs: OnceLock::new(),
            sdk: sdk.clone(),
            topics,
            dead_letter_queue,
        }
    }

    /// The SQS client, built the first time it is needed (a fraction of a
    /// millisecond, once per instance, and never on the common path).
    fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| {
            let sqs = aws_sdk_sqs::config::Builder::from(&self.sdk)
                .timeout_config(SQS_TIMEOUTS.timeouts())
                .retry_config(SQS_TIMEOUTS.retries())
                .build();
            aws_sdk_sqs::Client::from_conf(sqs)
        })
    }

    /// Publishes to the change's topic and returns that topic.
    pub async fn publish(&self, change: &Change) -> Result<&TopicArn, PublishError> {
        let topic = self.topics.for_event(change.change_type);
        sns::publish(&self.sns, topic, change).await?;
        Ok(topic)
    }

    /// Returns the SQS message id of the parked item.
    pub async fn park(&self, parked: &Parked<'_>) -> Result<String, ParkError> {
        park::send(self.sqs(), &self.dead_letter_queue, parked).await
    }
}
