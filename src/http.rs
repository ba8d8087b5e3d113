//! The HTTP edge: method and size limits, the handshake, authentication,
//! and mapping every outcome to the small answer RingCentral expects.

mod auth;
mod event;
mod outcome;

pub use event::{guard_base64, parse_event, unreadable_event_answer, INVALID_BASE64_MARKER};
pub use outcome::{Outcome, Rejection};

use crate::change::Change;
use crate::config::VerificationToken;
use crate::notification::{self, DecodeError, Inbound};
use crate::publish::{ParkReason, Parked, Sinks};
use lambda_http::{http::Method, Body, Request, Response};
use std::time::Instant;

/// RingCentral's notifications are a few hundred bytes; anything this large
/// is not from RingCentral and must not reach the decoder or the queue.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a request needs, built once at cold start.
#[derive(Debug, Clone)]
pub struct Relay {
    pub token: VerificationToken,
    pub sinks: Sinks,
}

/// The Lambda handler: one request in, one answer out, one summary log line.
pub async fn handle(relay: &Relay, request: Request) -> Response<Body> {
    let started = Instant::now();
    let outcome = process(relay, &request).await;
    outcome.log_summary(&request, started.elapsed());
    outcome.into_response()
}

async fn process(relay: &Relay, request: &Request) -> Outcome {
    if request.method() != Method::POST {
        return Outcome::Rejected(Rejection::MethodNotAllowed);
    }
    let body = body_bytes(request.body());
    if body.len() > MAX_BODY_BYTES {
        return Outcome::Rejected(Rejection::PayloadTooLarge);
    }
    let headers = request.headers();
    if body.is_empty() {
        return auth::handshake(headers);
    }
    if !auth::authenticated(&relay.token, headers) {
        return Outcome::Rejected(Rejection::Unauthenticated);
    }
    let decoded = if headers.contains_key(INVALID_BASE64_MARKER) {
        Err(DecodeError::InvalidBase64)
    } else {
        notification::decode(body)
    };
    match decoded {
        Ok(Inbound::RenewalReminder { subscription_id }) => Outcome::RenewalReminder { subscription_id },
        Ok(Inbound::Change(change)) => match relay.sinks.publish(&change).await {
            Ok(topic) => Outcome::Published {
                topic: topic.name().to_owned(),
                change,
            },
            Err(e) => park(relay, e.into(), body, Some(change)).await,
        },
        Err(e) => park(relay, e.into(), body, None).await,
    }
}

async fn park(relay: &Relay, reason: ParkReason, body: &[u8], change: Option<Box<Change>>) -> Outcome {
    let parked = Parked {
        reason: &reason,
        received_at: now_rfc3339(),
        raw_body: body,
        normalized: change.as_deref(),
    };
    match relay.sinks.park(&parked).await {
        Ok(_) => Outcome::Parked { reason, change },
        Err(error) => Outcome::Unrecoverable {
            reason,
            error,
            raw_body: body.to_vec(),
            change,
        },
    }
}

fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

fn now_rfc3339() -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}
