//! What happened to a request, the answer it gets, and its one summary line.

use super::authenticate::Mismatch;
use crate::change::Change;
use crate::notification::Identity;
use crate::parked::{ParkError, ParkReason};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::time::Duration;

/// Requests refused before anything is published or parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("method not allowed: only POST is accepted")]
    MethodNotAllowed,
    #[error("body is larger than 65536 bytes")]
    PayloadTooLarge,
    #[error("Validation-Token must be 1 to 256 visible ASCII characters")]
    InvalidHandshakeToken,
    #[error("empty body and no Validation-Token header")]
    EmptyBody,
    #[error("missing or wrong Verification-Token")]
    Unauthenticated,
    /// The account a notification claims could not be looked up.
    #[error("temporarily unable to authenticate notifications")]
    RegistryUnavailable,
}

impl Rejection {
    pub fn status(self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidHandshakeToken | Self::EmptyBody => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::RegistryUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[derive(Debug)]
pub enum Outcome {
    Handshake {
        echo: HeaderValue,
    },
    Rejected(Rejection),
    /// Authenticated, but not the authenticating account's notification
    /// (or not from its subscription): refused, nothing published or parked.
    Mismatched {
        mismatch: Mismatch,
        change: Option<Box<Change>>,
    },
    Published {
        topic: String,
        change: Box<Change>,
        /// Subscribers were already told a newer state of the number.
        stale: bool,
    },
    /// Subscribers were already told this (the same uuid, or the same state
    /// at the same instant): answered, not published again.
    Duplicate {
        change: Box<Change>,
    },
    Parked {
        reason: ParkReason,
        change: Option<Box<Change>>,
        /// What a body that did not decode still said about itself.
        identity: Identity,
    },
    RenewalReminder {
        subscription_id: Option<String>,
    },
    /// Neither SNS nor SQS took it; the raw body goes to the error log.
    Unrecoverable {
        reason: ParkReason,
        error: ParkError,
        raw_body: Vec<u8>,
        change: Option<Box<Change>>,
        identity: Identity,
    },
}

/// Short, and the same for every mismatch: which accounts are named goes
/// to the summary line, not to the sender.
const MISMATCH_ANSWER: &str = "Verification-Token is not for this notification's account or subscription";

/// Answers stay far under RingCentral's 1,024-byte limit.
const MAX_DETAIL_CHARS: usize = 200;

#[derive(Serialize)]
struct Answer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

impl Answer<'_> {
    const EMPTY: Answer<'static> = Answer {
        status: None,
        reason: None,
        detail: None,
        error: None,
    };
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Handshake { .. } => "handshake",
            Self::Rejected(_) | Self::Mismatched { .. } => "rejected",
            Self::Published { .. } => "published",
            Self::Duplicate { .. } => "duplicate",
            Self::Parked { .. } => "parked",
            Self::RenewalReminder { .. } => "renewal_reminder",
            Self::Unrecoverable { .. } => "unrecoverable",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Rejected(r) => r.status(),
            Self::Mismatched { .. } => StatusCode::UNAUTHORIZED,
            Self::Unrecoverable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::OK,
        }
    }

    /// The answer RingCentral gets.
    pub fn answer(&self) -> Response<Body> {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let detail;
        let answer = match self {
            Self::Handshake { echo } => {
                headers.insert("validation-token", echo.clone());
                return response;
            }
            Self::Rejected(r) => {
                if *r == Rejection::MethodNotAllowed {
                    headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
                }
                detail = r.to_string();
                Answer {
                    error: Some(&detail),
                    ..Answer::EMPTY
                }
            }
            Self::Mismatched { .. } => Answer {
                error: Some(MISMATCH_ANSWER),
                ..Answer::EMPTY
            },
            Self::Published { .. } => Answer {
                status: Some("published"),
                ..Answer::EMPTY
            },
            Self::Duplicate { .. } => Answer {
                status: Some("duplicate"),
                ..Answer::EMPTY
            },
            Self::RenewalReminder { .. } => Answer {
                status: Some("renewal_reminder_received"),
                ..Answer::EMPTY
            },
            Self::Parked { reason, .. } => {
                detail = truncate(reason.to_string(), MAX_DETAIL_CHARS);
                Answer {
                    status: Some("parked"),
                    reason: Some(reason.code()),
                    detail: Some(&detail),
                    ..Answer::EMPTY
                }
            }
            Self::Unrecoverable { .. } => Answer {
                error: Some("temporarily unable to accept notifications"),
                ..Answer::EMPTY
            },
        };
        *response.body_mut() = Body::Text(serde_json::to_string(&answer).unwrap_or_default());
        response
    }

    pub fn record_metrics(&self) {
        use crate::observe::*;
        match self {
            Self::Handshake { .. } => metrics::counter!(HANDSHAKES).increment(1),
            Self::Rejected(Rejection::Unauthenticated) => metrics::counter!(UNAUTHENTICATED).increment(1),
            Self::Rejected(Rejection::RegistryUnavailable) => metrics::counter!(REGISTRY_UNAVAILABLE).increment(1),
            Self::Rejected(_) => {}
            Self::Mismatched { .. } => metrics::counter!(ACCOUNT_MISMATCH).increment(1),
            Self::Published { change, stale, .. } => {
                metrics::counter!(PUBLISHED, "eventType" => change.change_type.as_str()).increment(1);
                if *stale {
                    metrics::counter!(STALE).increment(1);
                }
            }
            Self::Duplicate { .. } => metrics::counter!(DUPLICATES).increment(1),
            Self::Parked { reason, .. } => metrics::counter!(PARKED, "reason" => reason.code()).increment(1),
            Self::Unrecoverable { reason, .. } => {
                metrics::counter!(UNRECOVERABLE, "reason" => reason.code()).increment(1)
            }
            Self::RenewalReminder { .. } => metrics::counter!(RENEWAL_REMINDERS).increment(1),
        }
    }

    /// The one line per request an operator searches for. Values are ids and
    /// codes only: never the token, and the raw body only when it would
    /// otherwise be lost.
    pub fn log_summary(&self, request: &Request, elapsed: Duration) {
        let lambda_request_id = request.lambda_context_ref().map(|c| c.request_id.as_str());
        let api_request_id = api_request_id(request);
        let (change, identity) = match self {
            Self::Published { change, .. } | Self::Duplicate { change } => (Some(change.as_ref()), None),
            Self::Mismatched { change, .. } => (change.as_deref(), None),
            Self::Parked { change, identity, .. } | Self::Unrecoverable { change, identity, .. } => {
                (change.as_deref(), Some(identity))
            }
            _ => (None, None),
        };
        // A change that decoded names itself; otherwise whatever could be read.
        let notification_id = change
            .map(|c| c.notification_id.as_str())
            .or_else(|| identity.and_then(|i| i.notification_id.as_deref()));
        let event_type = change
            .map(|c| c.change_type.as_str())
            .or_else(|| identity.and_then(|i| i.event_type.as_deref()));
        let phone_number_id = change
            .map(|c| c.phone_number.id.as_str())
            .or_else(|| identity.and_then(|i| i.phone_number_id.as_deref()));
        let (topic, stale) = match self {
            Self::Published { topic, stale, .. } => (Some(topic.as_str()), Some(*stale)),
            _ => (None, None),
        };
        let reason = match self {
            Self::Parked { reason, .. } | Self::Unrecoverable { reason, .. } => Some(reason.code()),
            _ => None,
        };
        let detail = match self {
            Self::Parked { reason, .. } | Self::Unrecoverable { reason, .. } => Some(reason.to_string()),
            Self::Rejected(r) => Some(r.to_string()),
            Self::Mismatched { mismatch, .. } => Some(mismatch.describe()),
            Self::RenewalReminder { subscription_id } => subscription_id
                .as_ref()
                .map(|s| format!("renewal reminder for subscription {s}")),
            _ => None,
        };
        // Whose token a refused notification carried; ids only.
        let authenticated_account = match self {
            Self::Mismatched { mismatch, .. } => Some(mismatch.authenticated.label()),
            _ => None,
        };
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        tracing::info!(
            outcome = self.name(),
            status = self.status().as_u16(),
            lambda_request_id,
            api_request_id,
            notification_id,
            event_type,
            phone_number_id,
            account_id = change.and_then(|c| c.account_id.as_ref()).map(|a| a.as_str()),
            authenticated_account,
            topic,
            stale,
            reason,
            detail,
            duration_ms,
            "request summary"
        );
        if let Self::Unrecoverable { error, raw_body, .. } = self {
            log_unrecoverable(error, raw_body);
        }
    }
}

fn log_unrecoverable(error: &ParkError, raw_body: &[u8]) {
    match std::str::from_utf8(raw_body) {
        Ok(text) => {
            tracing::error!(error = %error, raw_body = text, "notification neither published nor parked; recover it from raw_body")
        }
        Err(_) => {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw_body);
            tracing::error!(error = %error, raw_body_base64 = encoded, "notification neither published nor parked; recover it from raw_body_base64");
        }
    }
}

fn api_request_id(request: &Request) -> Option<&str> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => c.request_id.as_deref(),
        RequestContext::ApiGatewayV1(c) => c.request_id.as_deref(),
        _ => None,
    }
}

fn truncate(mut text: String, max_chars: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max_chars) {
        text.truncate(at);
        text.push('…');
    }
    text
}
