//! Test fixtures: changes, and messages shaped as Lambda delivers them.

use crate::change::Change;
use crate::types::EventType;

/// A Created change of number 1001 as the relay publishes it.
pub const CHANGE: &str = r#"{"schemaVersion":1,"changeType":"Created","notificationId":"ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0","occurredAt":"2026-11-30T10:00:00.000Z","accountId":"37439510","subscriptionId":"sub-1","ownerId":null,"phoneNumber":{"id":"1001","e164":"+12025550101","uri":null,"paymentType":"Local","location":null,"type":"VoiceFax","usageType":"ContactCenterNumber","status":"Normal"},"contactCenterProvider":{"id":"1","name":"RingCX"}}"#;

/// A change of `number` with this type, instant and notification id.
pub fn change(number: &str, change_type: EventType, at: &str, notification: &str) -> Change {
    let mut value: serde_json::Value = serde_json::from_str(CHANGE).unwrap();
    value["phoneNumber"]["id"] = number.into();
    value["changeType"] = change_type.as_str().into();
    value["occurredAt"] = at.into();
    value["notificationId"] = notification.into();
    serde_json::from_value(value).unwrap()
}

#[cfg(feature = "lambda")]
pub use lambda::*;

#[cfg(feature = "lambda")]
mod lambda {
    use aws_lambda_events::sns::SnsRecord;
    use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
    use serde_json::{json, Map, Value};

    const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:directory";

    /// Raw message delivery: the body is the change, attributes on the SQS message.
    pub fn raw_sqs(id: &str, body: &str, attributes: &[(&str, &str)]) -> SqsMessage {
        let attributes: Map<String, Value> = attributes
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    json!({"stringValue": v, "dataType": "String", "stringListValues": [], "binaryListValues": []}),
                )
            })
            .collect();
        serde_json::from_value(json!({
            "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": attributes,
            "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": QUEUE_ARN, "awsRegion": "us-east-1"
        }))
        .unwrap()
    }

    fn envelope(body: &str, attributes: &[(&str, &str)]) -> Value {
        let attributes: Map<String, Value> = attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!({"Type": "String", "Value": v})))
            .collect();
        json!({
            "Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:relay-created", "Subject": null,
            "Message": body, "Timestamp": "2026-11-30T10:00:01.000Z", "SignatureVersion": "1",
            "Signature": "EXAMPLE", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": attributes
        })
    }

    /// No raw delivery: the SNS envelope is the SQS body.
    pub fn enveloped_sqs(id: &str, body: &str, attributes: &[(&str, &str)]) -> SqsMessage {
        raw_sqs(id, &envelope(body, attributes).to_string(), &[])
    }

    /// A Lambda subscribed to the topic.
    pub fn sns_record(body: &str, attributes: &[(&str, &str)]) -> SnsRecord {
        serde_json::from_value(json!({
            "EventSource": "aws:sns", "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:relay-created:sub",
            "Sns": envelope(body, attributes)
        }))
        .unwrap()
    }

    pub fn sqs_event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = records;
        event
    }
}
