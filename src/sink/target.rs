//! One consumer's own destination, for a snapshot that nobody else should
//! see (`reconcile --snapshot --to ARN_OR_URL`): every change goes to that
//! SNS topic or SQS queue, with the attributes the usual topics carry.

use super::aws::{one_line, QueueUrl, TopicArn};
use super::{message_attributes, sns, Sink};
use crate::change::{Change, Delivery};
use crate::parked::{ParkError, ParkedItem, PublishFailure};
use aws_config::SdkConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Topic(TopicArn),
    Queue(QueueUrl),
}

impl Target {
    /// An SNS topic ARN or an SQS queue URL.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        if value.starts_with("arn:") {
            return TopicArn::parse(value.to_owned()).map(Self::Topic);
        }
        QueueUrl::parse(value.to_owned())
            .map(Self::Queue)
            .map_err(|_| "expected an SNS topic ARN (arn:…:sns:…) or an SQS queue URL (https://…)")
    }
}

pub struct TargetSink {
    target: Target,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
}

impl TargetSink {
    pub fn new(sdk: &SdkConfig, target: Target) -> Self {
        Self {
            target,
            sns: aws_sdk_sns::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
        }
    }
}

impl Sink for TargetSink {
    async fn publish(&self, change: &Change, delivery: Delivery) -> Result<String, PublishFailure> {
        match &self.target {
            Target::Topic(topic) => {
                sns::publish(&self.sns, topic, change, delivery).await?;
                Ok(topic.name().to_owned())
            }
            Target::Queue(queue) => {
                use aws_sdk_sqs::types::MessageAttributeValue;
                let mut request = self
                    .sqs
                    .send_message()
                    .queue_url(queue.as_str())
                    .message_body(change.to_json());
                for (name, value) in message_attributes(change, delivery) {
                    if let Ok(attribute) = MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(value)
                        .build()
                    {
                        request = request.message_attributes(name, attribute);
                    }
                }
                if queue.as_str().ends_with(".fifo") {
                    request = request
                        .message_group_id(change.phone_number.id.as_str())
                        .message_deduplication_id(change.notification_id.as_str());
                }
                request
                    .send()
                    .await
                    .map(|_| queue.as_str().to_owned())
                    .map_err(|e| PublishFailure {
                        topic: queue.as_str().to_owned(),
                        code: "SendMessage".into(),
                        message: one_line(&e),
                        request_id: None,
                    })
            }
        }
    }

    async fn park(&self, _item: &ParkedItem) -> Result<String, ParkError> {
        Err(ParkError("a consumer's own target parks nothing".into()))
    }
}
