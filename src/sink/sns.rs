//! The SNS message subscribers receive: body, attributes, FIFO ids.

use super::aws::{failure_of, TopicArn};
use crate::change::{Change, Delivery};
use crate::parked::PublishFailure;
use aws_sdk_sns::types::MessageAttributeValue;

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

/// The attributes subscribers filter on. SNS refuses empty values, so an
/// absent or empty optional is left out rather than sent blank. `origin` and
/// `stale` are always there, so a filter policy can match `stale: ["false"]`.
pub fn message_attributes(change: &Change, delivery: Delivery) -> Vec<(&'static str, &str)> {
    let optional = [
        ("usageType", change.phone_number.usage_type.as_deref()),
        ("accountId", change.account_id.as_ref().map(|a| a.as_str())),
        (
            "contactCenterProviderId",
            change.contact_center_provider.as_ref().and_then(|p| p.id.as_deref()),
        ),
    ];
    let mut attributes = vec![
        ("eventType", change.change_type.as_str()),
        ("phoneNumberId", change.phone_number.id.as_str()),
        ("origin", delivery.origin.as_str()),
        ("stale", if delivery.stale { "true" } else { "false" }),
    ];
    attributes.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v))),
    );
    attributes
}
