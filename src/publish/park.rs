//! Parking: what authenticated but could not be published is kept in SQS.

use crate::change::Change;
use crate::config::QueueUrl;
use crate::notification::DecodeError;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// SQS's message size limit.
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// Why something was parked; each maps to one `reason` code.
#[derive(Debug, thiserror::Error)]
pub enum ParkReason {
    #[error(transparent)]
    Undecodable(#[from] DecodeError),
    #[error(transparent)]
    PublishFailed(#[from] super::PublishError),
}

impl ParkReason {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Undecodable(e) => e.reason(),
            Self::PublishFailed(_) => "publish_failed",
        }
    }
}

/// One dead-letter item, as it will be serialized.
#[derive(Debug)]
pub struct Parked<'a> {
    pub reason: &'a ParkReason,
    pub received_at: String,
    pub raw_body: &'a [u8],
    pub normalized: Option<&'a Change>,
}

#[derive(Debug, thiserror::Error)]
#[error("parking in the dead-letter queue failed: {0}")]
pub struct ParkError(pub String);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ParkedMessage<'a> {
    reason: &'static str,
    detail: String,
    received_at: &'a str,
    raw_body: std::borrow::Cow<'a, str>,
    raw_body_encoding: &'static str,
    normalized: Option<&'a Change>,
}

impl Parked<'_> {
    /// The SQS body. The raw body is kept as text when it is UTF-8 and fits;
    /// otherwise base64, and as a last resort without `normalized`, which
    /// redrive can rebuild from the raw body.
    pub fn to_json(&self) -> String {
        let text = std::str::from_utf8(self.raw_body).ok();
        let base64 = || base64::engine::general_purpose::STANDARD.encode(self.raw_body);
        let message = |raw_body, raw_body_encoding, normalized| {
            let json = serde_json::to_string(&ParkedMessage {
                reason: self.reason.code(),
                detail: self.reason.to_string(),
                received_at: &self.received_at,
                raw_body,
                raw_body_encoding,
                normalized,
            });
            crate::publish::xml_safe(json.unwrap_or_default())
        };
        if let Some(text) = text {
            let json = message(text.into(), "text", self.normalized);
            if json.len() <= MAX_MESSAGE_BYTES {
                return json;
            }
        }
        let json = message(base64().into(), "base64", self.normalized);
        if json.len() <= MAX_MESSAGE_BYTES {
            return json;
        }
        message(base64().into(), "base64", None)
    }
}

/// Returns the SQS message id of the parked item.
pub(super) async fn send(
    client: &aws_sdk_sqs::Client,
    queue: &QueueUrl,
    parked: &Parked<'_>,
) -> Result<String, ParkError> {
    let reason = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(parked.reason.code())
        .build()
        .map_err(|e| ParkError(e.to_string()))?;
    client
        .send_message()
        .queue_url(queue.as_str())
        .message_body(parked.to_json())
        .message_attributes("reason", reason)
        .send()
        .await
        .map(|sent| sent.message_id.unwrap_or_default())
        .map_err(|e| ParkError(DisplayErrorContext(&e).to_string()))
}

/// A parked item read back from the queue (by the redrive command).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkedRecord {
    pub reason: String,
    pub detail: String,
    pub received_at: String,
    pub raw_body: String,
    pub raw_body_encoding: String,
}

impl ParkedRecord {
    /// The bytes RingCentral sent, exactly.
    pub fn raw_bytes(&self) -> Result<Vec<u8>, &'static str> {
        match self.raw_body_encoding.as_str() {
            "text" => Ok(self.raw_body.clone().into_bytes()),
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(&self.raw_body)
                .map_err(|_| "rawBody is not valid base64"),
            _ => Err("unknown rawBodyEncoding"),
        }
    }
}
