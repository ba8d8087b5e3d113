//! The webhook's core: method and size limits, the handshake,
//! authentication, decoding, publish-or-park, and mapping every outcome to
//! the small answer RingCentral expects, with one summary log line. Generic
//! over the [`Sink`] port: tested beside the code with a recording sink, run
//! in Lambda with the AWS one (see `runtime::relay`).

mod auth;
mod outcome;

pub use auth::{VALIDATION_TOKEN, VERIFICATION_TOKEN};
pub use outcome::{Outcome, Rejection};

use crate::change::Change;
use crate::notification::{self, DecodeError, Identity, Inbound};
use crate::parked::{ParkReason, ParkedItem};
use crate::sink::Sink;
use crate::token::VerificationToken;
use lambda_http::{http::Method, Body, Request};
use std::time::Instant;

/// RingCentral's notifications are a few hundred bytes; anything this large
/// is not from RingCentral and must not reach the decoder or the queue.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Internal header set by the Lambda edge when API Gateway flagged a body as
/// base64 that does not decode; any copy sent by a client is removed first.
pub const INVALID_BASE64_MARKER: &str = "x-cc-number-relay-invalid-base64";

/// One request in, its outcome out (the caller turns it into the answer),
/// metrics recorded and one summary line logged.
pub async fn handle(token: &VerificationToken, sink: &impl Sink, request: &Request) -> Outcome {
    let started = Instant::now();
    let outcome = process(token, sink, request).await;
    outcome.record_metrics();
    outcome.log_summary(request, started.elapsed());
    outcome
}

async fn process(token: &VerificationToken, sink: &impl Sink, request: &Request) -> Outcome {
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
    if !auth::authenticated(token, headers) {
        return Outcome::Rejected(Rejection::Unauthenticated);
    }
    let decoded = if headers.contains_key(INVALID_BASE64_MARKER) {
        Err(DecodeError::InvalidBase64)
    } else {
        notification::decode(body)
    };
    match decoded {
        Ok(Inbound::RenewalReminder { subscription_id }) => Outcome::RenewalReminder { subscription_id },
        Ok(Inbound::Change(change)) => match sink.publish(&change).await {
            Ok(topic) => Outcome::Published { topic, change },
            Err(e) => park(sink, e.into(), body, Some(change)).await,
        },
        Err(e) => park(sink, e.into(), body, None).await,
    }
}

async fn park(sink: &impl Sink, reason: ParkReason, body: &[u8], change: Option<Box<Change>>) -> Outcome {
    let item = ParkedItem::new(&reason, now_rfc3339(), body, change.as_deref());
    let identity = match &change {
        Some(_) => Identity::default(),
        None => Identity::read(body),
    };
    match sink.park(&item).await {
        Ok(_) => Outcome::Parked {
            reason,
            change,
            identity,
        },
        Err(error) => Outcome::Unrecoverable {
            reason,
            error,
            raw_body: body.to_vec(),
            change,
            identity,
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
