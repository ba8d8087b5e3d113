//! The parked item: what authenticated but could not be published, kept in
//! the dead-letter queue with the exact bytes RingCentral sent. One type is
//! written by the relay and read back by redrive, so the round trip is
//! checked by the compiler.

use crate::change::{escape_non_characters, Change};
use crate::notification::DecodeError;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;

/// SQS's message size limit.
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// Why something was parked; each maps to one `reason` code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParkReason {
    #[error(transparent)]
    Undecodable(#[from] DecodeError),
    #[error(transparent)]
    PublishFailed(#[from] PublishFailure),
}

impl ParkReason {
    pub const PUBLISH_FAILED: &'static str = "publish_failed";

    pub fn code(&self) -> &'static str {
        match self {
            Self::Undecodable(e) => e.reason(),
            Self::PublishFailed(_) => Self::PUBLISH_FAILED,
        }
    }

    /// What identifies the failure across runs: the service's error code for
    /// a failed publish (its message and request id differ on every call),
    /// and for a refused body the detail, which names only a path and a rule.
    fn identity(&self) -> (&'static str, String) {
        match self {
            Self::Undecodable(e) => (self.code(), e.to_string()),
            Self::PublishFailed(f) => (self.code(), f.code.clone()),
        }
    }
}

/// A publish that SNS did not confirm, in one line: the operation, the
/// service's error code and message, and the request id to quote to AWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PublishFailure {
    /// The topic's name.
    pub topic: String,
    /// The service's error code, or the SDK's kind of failure when no answer
    /// came (`Timeout`, `DispatchFailure`, ...).
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl fmt::Display for PublishFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "publish to {} failed: SNS Publish: {}", self.topic, self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parking in the dead-letter queue failed: {0}")]
pub struct ParkError(pub String);

/// The raw body as RingCentral sent it: as text when it is UTF-8, else base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rawBodyEncoding", content = "rawBody", rename_all = "lowercase")]
pub enum RawBody {
    Text(String),
    Base64(String),
}

impl RawBody {
    pub fn new(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::Text(text.to_owned()),
            Err(_) => Self::base64(bytes),
        }
    }

    fn base64(bytes: &[u8]) -> Self {
        Self::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// The bytes RingCentral sent, exactly.
    pub fn bytes(&self) -> Result<Vec<u8>, &'static str> {
        match self {
            Self::Text(text) => Ok(text.clone().into_bytes()),
            Self::Base64(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| "rawBody is not valid base64"),
        }
    }
}

/// One dead-letter item, as the queue holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkedItem {
    pub reason: String,
    /// For `publish_failed`: the service's error code, which redrive compares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub detail: String,
    pub received_at: String,
    #[serde(flatten)]
    pub raw_body: RawBody,
    #[serde(default)]
    pub normalized: Option<Change>,
}

impl ParkedItem {
    pub fn new(reason: &ParkReason, received_at: String, raw_body: &[u8], normalized: Option<&Change>) -> Self {
        Self {
            reason: reason.code().to_owned(),
            error_code: match reason {
                ParkReason::PublishFailed(f) => Some(f.code.clone()),
                ParkReason::Undecodable(_) => None,
            },
            detail: reason.to_string(),
            received_at,
            raw_body: RawBody::new(raw_body),
            normalized: normalized.cloned(),
        }
    }

    /// True when `reason` is the failure this item was parked with, so
    /// parking it again would change nothing but its message id.
    pub fn parked_for(&self, reason: &ParkReason) -> bool {
        let (code, key) = reason.identity();
        let recorded = match reason {
            ParkReason::PublishFailed(_) => self.error_code.as_deref(),
            ParkReason::Undecodable(_) => Some(self.detail.as_str()),
        };
        self.reason == code && recorded == Some(key.as_str())
    }

    /// The SQS body. The raw body is kept as text when it is UTF-8 and fits;
    /// otherwise base64 (JSON escaping can make text six times larger), and
    /// as a last resort without `normalized`, which redrive can rebuild from
    /// the raw body.
    pub fn to_json(&self) -> String {
        let json = |item: &ParkedItem| escape_non_characters(serde_json::to_string(item).unwrap_or_default());
        let first = json(self);
        if first.len() <= MAX_MESSAGE_BYTES {
            return first;
        }
        let mut smaller = self.clone();
        if let RawBody::Text(text) = &self.raw_body {
            smaller.raw_body = RawBody::base64(text.as_bytes());
            let second = json(&smaller);
            if second.len() <= MAX_MESSAGE_BYTES {
                return second;
            }
        }
        smaller.normalized = None;
        json(&smaller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish_failure(request_id: &str) -> ParkReason {
        ParkReason::PublishFailed(PublishFailure {
            topic: "created".into(),
            code: "NotFound".into(),
            message: "Topic does not exist".into(),
            request_id: Some(request_id.into()),
        })
    }

    #[test]
    fn an_item_reads_back_as_written() {
        for raw in [&b"{\"uuid\":\"x\"}"[..], &[0xff, 0xfe, 0x00][..]] {
            let item = ParkedItem::new(&publish_failure("r1"), "2026-01-01T00:00:00Z".into(), raw, None);
            let back: ParkedItem = serde_json::from_str(&item.to_json()).unwrap();
            assert_eq!(back, item);
            assert_eq!(back.raw_body.bytes().unwrap(), raw);
        }
    }

    #[test]
    fn the_wire_shape_is_the_documented_one() {
        let item = ParkedItem::new(&publish_failure("r1"), "t".into(), b"body", None);
        let value: serde_json::Value = serde_json::from_str(&item.to_json()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "reason": "publish_failed",
                "errorCode": "NotFound",
                "detail": "publish to created failed: SNS Publish: NotFound: Topic does not exist (request id r1)",
                "receivedAt": "t",
                "rawBodyEncoding": "text",
                "rawBody": "body",
                "normalized": null
            })
        );
        let undecodable = ParkedItem::new(&DecodeError::AccountMismatch.into(), "t".into(), b"body", None);
        let value: serde_json::Value = serde_json::from_str(&undecodable.to_json()).unwrap();
        assert!(value.get("errorCode").is_none());
    }

    #[test]
    fn the_same_failure_is_recognised_across_request_ids() {
        let item = ParkedItem::new(&publish_failure("r1"), "t".into(), b"b", None);
        assert!(item.parked_for(&publish_failure("r2")));
        let other = ParkReason::PublishFailed(PublishFailure {
            code: "AuthorizationError".into(),
            ..match publish_failure("r3") {
                ParkReason::PublishFailed(f) => f,
                ParkReason::Undecodable(_) => unreachable!(),
            }
        });
        assert!(!item.parked_for(&other));
        assert!(!item.parked_for(&DecodeError::AccountMismatch.into()));
    }

    #[test]
    fn an_oversized_text_body_falls_back_to_base64() {
        let raw = vec![0x01u8; 60_000]; // each escapes to six characters as JSON text
        let item = ParkedItem::new(&DecodeError::AccountMismatch.into(), "t".into(), &raw, None);
        let json = item.to_json();
        assert!(json.len() <= MAX_MESSAGE_BYTES);
        let back: ParkedItem = serde_json::from_str(&json).unwrap();
        assert!(matches!(back.raw_body, RawBody::Base64(_)));
        assert_eq!(back.raw_body.bytes().unwrap(), raw);
    }
}
