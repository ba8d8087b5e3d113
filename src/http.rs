//! The webhook's core: method and size limits, the handshake,
//! authentication, decoding, publish-or-park, and mapping every outcome to
//! the small answer RingCentral expects, with one summary log line. Generic
//! over the [`Authenticate`], [`Sink`] and [`Inventory`] ports: tested
//! beside the code with fixed tokens, a recording sink and an inventory in
//! memory, run in Lambda with the AWS ones (see `runtime::relay`).
//!
//! Authentication says which account sent a notification: the default
//! account alone ([`Verifier`]), or one of many ([`AccountVerifier`]); a
//! decoded notification that is not that account's is refused (401),
//! neither published nor parked.
//!
//! With an inventory, a redelivery of what subscribers were already told is
//! answered `duplicate` and not published again; a notification older than
//! the state recorded for its number is still published, flagged `stale`,
//! and not recorded. The inventory never costs a notification: when it
//! fails, the notification is published as if there were none.

mod accounts;
mod auth;
mod authenticate;
mod outcome;
mod verifier;

pub use accounts::{AccountVerifier, Limits};
pub use auth::{VALIDATION_TOKEN, VERIFICATION_TOKEN};
pub use authenticate::{Authenticate, Authenticated, Mismatch, RegisteredAccount};
pub use outcome::{Outcome, Rejection};
pub use verifier::{Verifier, MAX_TOKEN_AGE, REREAD_INTERVAL};

use crate::change::{Change, Origin};
use crate::inventory::Inventory;
use crate::notification::{self, DecodeError, Identity, Inbound};
use crate::parked::{ParkReason, ParkedItem};
use crate::publish::{publish_recorded, Published};
use crate::sink::Sink;
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
pub async fn handle(
    verifier: &impl Authenticate,
    sink: &impl Sink,
    inventory: &impl Inventory,
    request: &Request,
) -> Outcome {
    let started = Instant::now();
    let outcome = process(verifier, sink, inventory, request).await;
    outcome.record_metrics();
    outcome.log_summary(request, started.elapsed());
    outcome
}

async fn process(
    verifier: &impl Authenticate,
    sink: &impl Sink,
    inventory: &impl Inventory,
    request: &Request,
) -> Outcome {
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
    let who = match verifier.authenticate(headers, body).await {
        Ok(who) => who,
        Err(rejection) => return Outcome::Rejected(rejection),
    };
    let decoded = if headers.contains_key(INVALID_BASE64_MARKER) {
        Err(DecodeError::InvalidBase64)
    } else {
        notification::decode(body)
    };
    let inbound = match decoded {
        Ok(inbound) => inbound,
        // Authenticated by the account it claims, so kept: what does not
        // decode names no account to hold it against.
        Err(e) => return park(sink, e.into(), body, None).await,
    };
    if let Err(mismatch) = verifier.admit(&who, &inbound).await {
        let change = match inbound {
            Inbound::Change(change) => Some(change),
            Inbound::RenewalReminder { .. } => None,
        };
        return Outcome::Mismatched { mismatch, change };
    }
    match inbound {
        Inbound::RenewalReminder { subscription_id } => Outcome::RenewalReminder { subscription_id },
        Inbound::Change(change) => publish(sink, inventory, change, body).await,
    }
}

async fn publish(sink: &impl Sink, inventory: &impl Inventory, change: Box<Change>, body: &[u8]) -> Outcome {
    match publish_recorded(sink, inventory, &change, Origin::Webhook).await {
        Ok(Published::Sent { topic, stale }) => Outcome::Published { topic, change, stale },
        Ok(Published::Duplicate) => Outcome::Duplicate { change },
        Err(e) => park(sink, e.into(), body, Some(change)).await,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Delivery;
    use crate::inventory::memory::MemoryInventory;
    use crate::parked::{ParkError, PublishFailure};
    use crate::sink::recording::RecordingSink;
    use lambda_http::http::{self as h, StatusCode};
    use lambda_http::Response;

    const TOKEN: &str = "s3cretTokenValue0123456789abcdef";
    const CREATED: &str = include_str!("../events/bodies/created.json");
    const NOT_E164: &str = include_str!("../events/bodies/parked.json");
    const REMINDER: &str = include_str!("../events/bodies/renewal-reminder.json");

    fn token() -> Verifier<crate::token_store::Fixed> {
        Verifier::fixed(crate::token::VerificationToken::parse(TOKEN.into()).unwrap())
    }

    fn post(body: &str, headers: &[(&str, &str)]) -> Request {
        let mut request = h::Request::builder()
            .method("POST")
            .uri("/ringcentral/contact-center-numbers");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(Body::Text(body.to_owned())).unwrap()
    }

    fn notification(body: &str) -> Request {
        post(body, &[("verification-token", TOKEN)])
    }

    /// Without an inventory, as the minimal deployment runs.
    async fn answer(sink: &RecordingSink, request: Request) -> (Outcome, Response<Body>) {
        answer_with(sink, &None::<MemoryInventory>, request).await
    }

    async fn answer_with(
        sink: &RecordingSink,
        inventory: &impl Inventory,
        request: Request,
    ) -> (Outcome, Response<Body>) {
        let outcome = handle(&token(), sink, inventory, &request).await;
        let response = outcome.answer();
        (outcome, response)
    }

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(text) => text,
            Body::Empty => "",
            _ => panic!("binary answer"),
        }
    }

    fn failure() -> PublishFailure {
        PublishFailure {
            topic: "created".into(),
            code: "NotFound".into(),
            message: "Topic does not exist".into(),
            request_id: Some("r-1".into()),
        }
    }

    #[tokio::test]
    async fn a_notification_is_published_to_its_topic() {
        let sink = RecordingSink::default();
        let (outcome, response) = answer(&sink, notification(CREATED)).await;
        assert!(matches!(&outcome, Outcome::Published { topic, .. } if topic == "created"));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(text(&response), r#"{"status":"published"}"#);
        assert_eq!(response.headers()["content-type"], "application/json");
        let published = sink.published();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].phone_number.e164.as_str(), "+12024999741");
        assert!(sink.parked().is_empty());
    }

    #[tokio::test]
    async fn the_handshake_echoes_the_validation_token_and_touches_nothing() {
        let sink = RecordingSink::default();
        let (_, response) = answer(&sink, post("", &[("validation-token", "abc-123")])).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["validation-token"], "abc-123");
        assert_eq!(text(&response), "");
        let (_, refused) = answer(&sink, post("", &[("validation-token", "has space")])).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let (_, empty) = answer(&sink, post("", &[])).await;
        assert_eq!(text(&empty), r#"{"error":"empty body and no Validation-Token header"}"#);
        assert!(sink.published().is_empty() && sink.parked().is_empty());
    }

    #[tokio::test]
    async fn a_wrong_or_missing_token_is_401_and_nothing_is_kept() {
        let sink = RecordingSink::default();
        for request in [
            post(CREATED, &[("verification-token", "wrong")]),
            post(CREATED, &[]),
            post(CREATED, &[("verification-token", &TOKEN[1..])]),
        ] {
            let (outcome, response) = answer(&sink, request).await;
            assert_eq!(outcome.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(text(&response), r#"{"error":"missing or wrong Verification-Token"}"#);
        }
        assert!(sink.published().is_empty() && sink.parked().is_empty());
        // One version of RingCentral's guide sends it as Validation-Token.
        let (outcome, _) = answer(&sink, post(CREATED, &[("validation-token", TOKEN)])).await;
        assert!(matches!(outcome, Outcome::Published { .. }));
    }

    #[tokio::test]
    async fn limits_come_before_authentication() {
        let sink = RecordingSink::default();
        let get = h::Request::builder().method("GET").body(Body::Empty).unwrap();
        let (_, response) = answer(&sink, get).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "POST");
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let (_, response) = answer(&sink, post(&big, &[])).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(sink.parked().is_empty());
    }

    #[tokio::test]
    async fn what_does_not_decode_is_parked_with_its_reason_and_identity() {
        let sink = RecordingSink::default();
        let (outcome, response) = answer(&sink, notification(NOT_E164)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            text(&response),
            r#"{"status":"parked","reason":"invalid_e164","detail":"$.body.phoneNumberInfo.phoneNumber: must be E.164: '+' then 1 to 15 digits, the first not 0"}"#
        );
        let Outcome::Parked {
            identity, change: None, ..
        } = outcome
        else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            identity.notification_id.as_deref(),
            Some("badbad00-0000-4000-8000-000000000001")
        );
        assert_eq!(identity.event_type.as_deref(), Some("Created"));
        assert_eq!(identity.phone_number_id.as_deref(), Some("987654321"));
        let parked = sink.parked();
        assert_eq!(parked.len(), 1);
        assert_eq!(parked[0].reason, "invalid_e164");
        assert_eq!(parked[0].raw_body.bytes().unwrap(), NOT_E164.as_bytes());
        assert!(parked[0].normalized.is_none());
    }

    #[tokio::test]
    async fn a_failed_publish_is_parked_with_the_normalized_change() {
        let sink = RecordingSink::default().failing_publish(failure());
        let (outcome, response) = answer(&sink, notification(CREATED)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(text(&response).starts_with(
            r#"{"status":"parked","reason":"publish_failed","detail":"publish to created failed: SNS Publish: NotFound"#
        ));
        assert!(matches!(outcome, Outcome::Parked { change: Some(_), .. }));
        let parked = sink.parked();
        assert_eq!(parked[0].error_code.as_deref(), Some("NotFound"));
        assert_eq!(
            parked[0].normalized.as_ref().map(|c| c.notification_id.as_str()),
            Some("ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0")
        );
    }

    #[tokio::test]
    async fn neither_publish_nor_park_is_a_short_503() {
        let sink = RecordingSink::default()
            .failing_publish(failure())
            .failing_park(ParkError("QueueDoesNotExist".into()));
        let outcome = handle(&token(), &sink, &None::<MemoryInventory>, &notification(CREATED)).await;
        assert!(matches!(&outcome, Outcome::Unrecoverable { raw_body, .. } if raw_body == CREATED.as_bytes()));
        let response = outcome.answer();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            text(&response),
            r#"{"error":"temporarily unable to accept notifications"}"#
        );
    }

    #[tokio::test]
    async fn renewal_reminders_and_bad_base64_are_told_apart() {
        let sink = RecordingSink::default();
        let (outcome, response) = answer(&sink, notification(REMINDER)).await;
        assert!(matches!(outcome, Outcome::RenewalReminder { .. }));
        assert_eq!(text(&response), r#"{"status":"renewal_reminder_received"}"#);
        let marked = post("%%%", &[("verification-token", TOKEN), (INVALID_BASE64_MARKER, "1")]);
        let (outcome, _) = answer(&sink, marked).await;
        assert!(matches!(&outcome, Outcome::Parked { reason, .. } if reason.code() == "invalid_base64"));
        assert!(sink.published().is_empty());
        assert_eq!(sink.parked().len(), 1);
    }

    /// CREATED with another uuid and timestamp: a later (or earlier) notification of the same number.
    fn created_at(uuid: &str, timestamp: &str) -> String {
        CREATED
            .replace("ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0", uuid)
            .replace("2013-06-14T12:00:00.000Z", timestamp)
    }

    #[tokio::test]
    async fn with_an_inventory_what_was_published_is_recorded_and_a_redelivery_is_a_duplicate() {
        let (sink, inventory) = (RecordingSink::default(), MemoryInventory::default());
        let (outcome, _) = answer_with(&sink, &inventory, notification(CREATED)).await;
        assert!(matches!(outcome, Outcome::Published { stale: false, .. }));
        let told = inventory.get("987654321").unwrap();
        assert_eq!(told.origin, Origin::Webhook);
        assert_eq!(
            told.change.notification_id.as_str(),
            "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0"
        );

        let (outcome, response) = answer_with(&sink, &inventory, notification(CREATED)).await;
        assert!(matches!(outcome, Outcome::Duplicate { .. }));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(text(&response), r#"{"status":"duplicate"}"#);
        // The same state at the same instant from a second subscription (another uuid).
        let twin = created_at("0f0f0f0f-0000-4000-8000-00000000000a", "2013-06-14T12:00:00.000Z");
        let (outcome, _) = answer_with(&sink, &inventory, notification(&twin)).await;
        assert!(matches!(outcome, Outcome::Duplicate { .. }));
        assert_eq!(sink.published().len(), 1);
        let deliveries = sink.deliveries();
        assert_eq!(deliveries[0].1, Delivery::fresh(Origin::Webhook));
    }

    #[tokio::test]
    async fn an_older_notification_is_published_as_stale_and_the_inventory_keeps_the_newer_state() {
        let (sink, inventory) = (RecordingSink::default(), MemoryInventory::default());
        let newer = created_at("00000000-0000-4000-8000-000000000002", "2013-06-14T13:00:00.000Z");
        answer_with(&sink, &inventory, notification(&newer)).await;
        let older = created_at("00000000-0000-4000-8000-000000000001", "2013-06-14T12:30:00.000Z");
        let (outcome, response) = answer_with(&sink, &inventory, notification(&older)).await;
        assert!(matches!(outcome, Outcome::Published { stale: true, .. }), "{outcome:?}");
        assert_eq!(text(&response), r#"{"status":"published"}"#);
        let deliveries = sink.deliveries();
        assert_eq!(deliveries.len(), 2);
        assert!(deliveries[1].1.stale);
        let told = inventory.get("987654321").unwrap();
        assert_eq!(
            told.change.notification_id.as_str(),
            "00000000-0000-4000-8000-000000000002"
        );
    }

    #[tokio::test]
    async fn a_failing_inventory_costs_nothing_but_the_duplicate_check() {
        let (sink, inventory) = (RecordingSink::default(), MemoryInventory::failing());
        for _ in 0..2 {
            let (outcome, response) = answer_with(&sink, &inventory, notification(CREATED)).await;
            assert!(matches!(outcome, Outcome::Published { stale: false, .. }));
            assert_eq!(response.status(), StatusCode::OK);
        }
        assert_eq!(
            sink.published().len(),
            2,
            "published both times: nothing provably published before"
        );
    }

    #[tokio::test]
    async fn what_could_not_be_published_is_not_recorded() {
        let sink = RecordingSink::default().failing_publish(failure());
        let inventory = MemoryInventory::default();
        let (outcome, _) = answer_with(&sink, &inventory, notification(CREATED)).await;
        assert!(matches!(outcome, Outcome::Parked { .. }));
        assert!(inventory.get("987654321").is_none());
    }
}
