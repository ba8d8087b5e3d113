//! The SNS message subscribers receive: body, attributes, FIFO ids.

use super::aws::{failure_of, TopicArn};
use crate::change::{Change, Delivery};
use crate::parked::PublishFailure;
use aws_sdk_sns::types::MessageAttributeValue;
pub use cc_number_change::attributes::message_attributes;

pub(super) async fn publish(
    client: &aws_sdk_sns::Client,
    topic: &TopicArn,
    change: &Change,
    delivery: Delivery,
) -> Result<(), PublishFailure> {
    let mut request = client.publish().topic_arn(topic.as_str()).message(change.to_json());
    for (name, value) in message_attributes(change, delivery) {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| PublishFailure {
                topic: topic.name().to_owned(),
                code: "InvalidAttribute".into(),
                message: e.to_string(),
                request_id: None,
            })?;
        request = request.message_attributes(name, attribute);
    }
    if topic.is_fifo() {
        request = request
            .message_group_id(change.phone_number.id.as_str())
            .message_deduplication_id(change.notification_id.as_str());
    }
    request.send().await.map(|_| ()).map_err(|e| {
        let (code, message, request_id) = failure_of(&e);
        PublishFailure {
            topic: topic.name().to_owned(),
            code,
            message,
            request_id,
        }
    })
}
