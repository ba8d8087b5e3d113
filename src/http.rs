//! The HTTP edge: method and size limits, the handshake, authentication,
//! and mapping every outcome to the small answer RingCentral expects.

mod auth;
mod event;
mod outcome;

pub use event::{parse_event, unreadable_event_answer, INVALID_BASE64_MARKER};
pub use outcome::{Outcome, Rejection};

use crate::change::Change;
use crate::config::VerificationToken;
use crate::notification::{self, DecodeError, Inbound};
use crate::publish::{ParkReason, Parked, Sinks};
use crate::xray::{Trace, XRay};
use lambda_http::RequestExt;
use lambda_http::{http::Method, Body, Request, Response};
use std::time::{Instant, SystemTime};

/// RingCentral's notifications are a few hundred bytes; anything this large
/// is not from RingCentral and must not reach the decoder or the queue.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a request needs, built once at cold start.
#[derive(Debug)]
pub struct Relay {
    pub token: VerificationToken,
    pub sinks: Sinks,
    pub xray: XRay,
}

/// The Lambda handler: one request in, one answer out, one summary log line.
pub async fn handle(relay: &Relay, request: Request) -> Response<Body> {
    let (started, wall) = (Instant::now(), SystemTime::now());
    let trace = request
        .lambda_context_ref()
        .and_then(|c| c.xray_trace_id.as_deref())
        .and_then(Trace::from_header);
    let outcome = process(relay, &request, trace.as_ref()).await;
    outcome.record_metrics();
    outcome.log_summary(&request, started.elapsed());
    relay.xray.handler(
        trace.as_ref(),
        wall,
        started.elapsed(),
        outcome.status().is_server_error(),
    );
    outcome.into_response()
}

async fn process(relay: &Relay, request: &Request, trace: Option<&Trace>) -> Outcome {
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
        Ok(Inbound::Change(change)) => {
            let (started, wall) = (Instant::now(), SystemTime::now());
            let published = relay.sinks.publish(&change).await;
            let took = started.elapsed();
            metrics::histogram!(crate::observe::PUBLISH_LATENCY).record(took.as_secs_f64() * 1000.0);
            relay
                .xray
                .aws_call(trace, "SNS", "Publish", wall, took, published.is_err());
            match published {
                Ok(topic) => Outcome::Published {
                    topic: topic.name().to_owned(),
                    change,
                },
                Err(e) => park(relay, trace, e.into(), body, Some(change)).await,
            }
        }
        Err(e) => park(relay, trace, e.into(), body, None).await,
    }
}

async fn park(
    relay: &Relay,
    trace: Option<&Trace>,
    reason: ParkReason,
    body: &[u8],
    change: Option<Box<Change>>,
) -> Outcome {
    let parked = Parked {
        reason: &reason,
        received_at: now_rfc3339(),
        raw_body: body,
        normalized: change.as_deref(),
    };
    let (started, wall) = (Instant::now(), SystemTime::now());
    let result = relay.sinks.park(&parked).await;
    relay
        .xray
        .aws_call(trace, "SQS", "SendMessage", wall, started.elapsed(), result.is_err());
    match result {
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
