//! Every way a subscriber receives a change, as `aws_lambda_events` types:
//! an SQS message with raw message delivery (attributes in the SQS message
//! attributes), an SQS message without it (the SNS JSON envelope in the body,
//! attributes in its `MessageAttributes`), and an SNS record (a Lambda
//! subscribed to the topic directly).

use crate::attributes::{self, Received};
use crate::change::Change;
use crate::decode::{decode, DecodeError};
use aws_lambda_events::sns::{SnsMessage, SnsRecord};
use aws_lambda_events::sqs::SqsMessage;

/// One change as it arrived, with what its attributes say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub change: Change,
    pub received: Received,
}

/// From an SQS message, raw or enveloped: an SNS envelope is recognised by
/// its shape (`Type` `Notification` with a `Message`), so one queue may
/// receive both while a subscription's setting changes.
pub fn from_sqs(message: &SqsMessage) -> Result<Message, DecodeError> {
    let body = message.body.as_deref().unwrap_or_default();
    if let Some(envelope) = sns_envelope(message, body) {
        return from_sns_message(&envelope);
    }
    let change = decode(body.as_bytes())?;
    let received = Received::from_lookup(|name| {
        message
            .message_attributes
            .get(name)
            .and_then(|a| a.string_value.as_deref())
    });
    Ok(Message { change, received })
}

/// From an SNS record (Lambda subscribed to the topic).
pub fn from_sns(record: &SnsRecord) -> Result<Message, DecodeError> {
    from_sns_message(&record.sns)
}

fn from_sns_message(sns: &SnsMessage) -> Result<Message, DecodeError> {
    let change = decode(sns.message.as_bytes())?;
    let received = Received::from_lookup(|name| sns.message_attributes.get(name).map(|a| a.value.as_str()));
    Ok(Message { change, received })
}

/// The SNS envelope, when the body is one. Raw delivery carries the relay's
/// attributes on the SQS message itself, so no envelope is looked for then.
fn sns_envelope(message: &SqsMessage, body: &str) -> Option<SnsMessage> {
    if message.message_attributes.contains_key(attributes::EVENT_TYPE) || !body.contains("\"TopicArn\"") {
        return None;
    }
    serde_json::from_str::<SnsMessage>(body)
        .ok()
        .filter(|m| m.sns_message_type == "Notification")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::{enveloped_sqs, raw_sqs, sns_record, CHANGE};
    use crate::types::EventType;

    #[test]
    fn a_raw_sqs_message_reads_its_attributes_from_sqs() {
        let m = from_sqs(&raw_sqs("m1", CHANGE, &[("origin", "snapshot"), ("stale", "true")])).unwrap();
        assert_eq!(m.change.change_type, EventType::Created);
        assert_eq!(m.received.origin, Some(crate::Origin::Snapshot));
        assert!(m.received.stale);
    }

    #[test]
    fn an_enveloped_sqs_message_reads_the_envelope() {
        let m = from_sqs(&enveloped_sqs(
            "m1",
            CHANGE,
            &[("origin", "reconciliation"), ("stale", "false")],
        ))
        .unwrap();
        assert_eq!(m.change.phone_number.id.as_str(), "1001");
        assert_eq!(m.received.origin, Some(crate::Origin::Reconciliation));
        assert!(!m.received.stale);
    }

    #[test]
    fn an_sns_record_reads_its_message_attributes() {
        let m = from_sns(&sns_record(CHANGE, &[("origin", "webhook"), ("stale", "true")])).unwrap();
        assert_eq!(m.received.origin, Some(crate::Origin::Webhook));
        assert!(m.received.stale);
    }

    #[test]
    fn a_bad_body_in_any_envelope_names_the_path() {
        let bad = CHANGE.replace("+12025550101", "12025550101");
        let expected = "$.phoneNumber.e164: must be E.164: '+' then 1 to 15 digits, the first not 0";
        assert_eq!(from_sqs(&raw_sqs("m", &bad, &[])).unwrap_err().to_string(), expected);
        assert_eq!(
            from_sqs(&enveloped_sqs("m", &bad, &[])).unwrap_err().to_string(),
            expected
        );
        assert_eq!(from_sns(&sns_record(&bad, &[])).unwrap_err().to_string(), expected);
        assert!(matches!(
            from_sqs(&raw_sqs("m", "", &[])),
            Err(DecodeError::InvalidJson(_))
        ));
    }

    #[test]
    fn missing_or_unknown_attributes_read_as_fresh_and_unknown_origin() {
        let m = from_sqs(&raw_sqs("m1", CHANGE, &[("origin", "backfill")])).unwrap();
        assert_eq!(m.received, Received::default());
    }
}
