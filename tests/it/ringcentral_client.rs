//! The RingCentral client against the local RingCentral stand-in
//! (support/ringcentral_standin): the JWT grant, token expiry and refresh,
//! Retry-After, the errors for bad credentials and missing permissions, and
//! the validation handshake's SUB-520/SUB-525 refusals.

use crate::support::ringcentral_standin::*;
use crate::support::TOKEN;
use cc_number_relay::ringcentral::{Client, Credentials, RingCentralError, Secret, ServerUrl, SubscriptionApi, Wait};
use cc_number_relay::token::VerificationToken;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Waits for real, and remembers how long it was asked to.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<Duration>>>);

impl Wait for Recorded {
    fn wait(&self, delay: Duration, _operation: &str) {
        self.0.lock().unwrap().push(delay);
        std::thread::sleep(delay);
    }
}

impl Recorded {
    fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

fn credentials(standin: &StandIn, client_secret: &str, jwt: &str) -> Credentials {
    Credentials {
        server: ServerUrl::parse(&standin.url).unwrap(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(client_secret.to_owned()),
        jwt: Secret::new(jwt.to_owned()),
    }
}

fn client(standin: &StandIn) -> (Client, Recorded) {
    let waits = Recorded::default();
    let client = Client::new(
        credentials(standin, CLIENT_SECRET, JWT),
        Duration::from_secs(30),
        Box::new(waits.clone()),
    )
    .unwrap();
    (client, waits)
}

fn token() -> VerificationToken {
    VerificationToken::parse(TOKEN.to_owned()).unwrap()
}

#[test]
fn one_token_serves_many_calls_while_it_lives() {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    for _ in 0..3 {
        assert!(client.list_subscriptions().unwrap().is_empty());
    }
    assert_eq!(standin.token_grants(), 1);
    let grant = standin
        .log()
        .into_iter()
        .find(|l| l.path == "/restapi/oauth/token")
        .unwrap();
    assert!(grant
        .body
        .contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"));
}

#[test]
fn an_expired_token_is_replaced_before_it_is_used() {
    let standin = StandIn::start();
    standin.set_token_lifetime(2);
    let (client, _) = client(&standin);
    client.list_subscriptions().unwrap();
    // Let the token run out on the stand-in's clock too.
    std::thread::sleep(Duration::from_millis(2100));
    client.list_subscriptions().unwrap();
    assert_eq!(standin.token_grants(), 2, "a new token for the second call");
    let refused: Vec<_> = standin.log().into_iter().filter(|l| l.status == 401).collect();
    assert!(refused.is_empty(), "the expired token was never sent: {refused:?}");
}

#[test]
fn a_token_refused_early_is_replaced_once_and_the_call_repeated() {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    client.list_subscriptions().unwrap();
    standin.revoke_tokens();
    let id = standin.seed("http://127.0.0.1:9/hook", TOKEN, Duration::from_secs(86_400 * 30));
    let listed = client.list_subscriptions().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(standin.token_grants(), 2);
    let statuses: Vec<u16> = standin.log().iter().map(|l| l.status).collect();
    assert_eq!(statuses, [200, 200, 401, 200, 200]);
}

#[test]
fn bad_client_credentials_are_one_clear_line_without_the_secret() {
    let standin = StandIn::start();
    let client = Client::new(
        credentials(&standin, "wrongSecretValue", JWT),
        Duration::from_secs(5),
        Box::new(Recorded::default()),
    )
    .unwrap();
    let error = client.list_subscriptions().unwrap_err();
    assert!(matches!(error, RingCentralError::BadCredentials { .. }), "{error:?}");
    let line = error.to_string();
    assert!(line.contains("invalid_client"), "{line}");
    assert!(line.contains("RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT"));
    assert!(!line.contains("wrongSecretValue") && !line.contains('\n'), "{line}");
}

#[test]
fn a_wrong_jwt_is_bad_credentials_too() {
    let standin = StandIn::start();
    let client = Client::new(
        credentials(&standin, CLIENT_SECRET, "eyJ.not.it"),
        Duration::from_secs(5),
        Box::new(Recorded::default()),
    )
    .unwrap();
    let error = client.list_subscriptions().unwrap_err();
    assert!(matches!(error, RingCentralError::BadCredentials { .. }), "{error:?}");
    assert!(error.to_string().contains("invalid_grant"), "{error}");
}

#[test]
fn a_missing_permission_is_named() {
    let standin = StandIn::start();
    standin.set_permissions(&["ReadAccounts"]);
    let (client, _) = client(&standin);
    match client.list_subscriptions().unwrap_err() {
        RingCentralError::MissingPermission { permission, .. } => assert_eq!(permission, "SubscriptionWebhook"),
        other => panic!("{other:?}"),
    }

    standin.set_permissions(&["SubscriptionWebhook"]);
    let webhook = FakeWebhook::start(Behavior::Echo);
    let error = client
        .create_subscription(&webhook.address, &token(), 315_360_000)
        .unwrap_err();
    let line = error.to_string();
    assert!(
        line.starts_with("the RingCentral app lacks the ReadAccounts permission"),
        "{line}"
    );
    assert!(line.contains("needs SubscriptionWebhook and ReadAccounts"), "{line}");
    assert!(webhook.received().is_empty(), "refused before any handshake");
}

#[test]
fn a_429_is_retried_after_what_retry_after_asks() {
    let standin = StandIn::start();
    standin.rate_limit(2, 1);
    let (client, waits) = client(&standin);
    client.list_subscriptions().unwrap();
    assert_eq!(waits.waits(), [Duration::from_secs(1), Duration::from_secs(1)]);
    let statuses: Vec<u16> = standin.log().iter().map(|l| l.status).collect();
    // The stand-in answers 429 again to a client that comes back early: none here.
    assert_eq!(statuses, [429, 429, 200, 200]);
}

#[test]
fn a_retry_after_beyond_the_budget_fails_at_once_and_says_so() {
    let standin = StandIn::start();
    standin.rate_limit(1, 3600);
    let (client, waits) = client(&standin);
    let error = client.list_subscriptions().unwrap_err();
    assert!(
        matches!(error, RingCentralError::RateLimited { retry_after: 3600, .. }),
        "{error:?}"
    );
    let line = error.to_string();
    assert!(line.contains("Retry-After asks for 3600 s"), "{line}");
    assert!(line.contains("CMN-301"), "{line}");
    assert!(waits.waits().is_empty(), "no waiting when it cannot help");
}

#[test]
fn the_subscription_request_is_the_relays_with_expires_in_at_the_top_level() {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    let webhook = FakeWebhook::start(Behavior::Echo);
    let created = client
        .create_subscription(&webhook.address, &token(), 315_360_000)
        .unwrap();
    assert_eq!(created.status, cc_number_relay::ringcentral::SubscriptionStatus::Active);
    assert_eq!(created.address(), Some(webhook.address.as_str()));
    let days = (created.expires_at().unwrap() - time::OffsetDateTime::now_utc()).whole_days();
    assert!(
        days >= 3649,
        "ten years, because expiresIn was at the top level: {days} days"
    );

    let request = standin.last_subscription_request().unwrap();
    assert_eq!(request["expiresIn"], 315_360_000);
    assert_eq!(request["deliveryMode"]["verificationToken"], TOKEN);
    assert_eq!(
        request["eventFilters"],
        serde_json::json!([
            "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber",
            "/restapi/v1.0/subscription/~?threshold=86400&interval=3600"
        ])
    );
    // The handshake: an empty-body POST carrying Validation-Token, echoed.
    let received = webhook.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].body.is_empty());
    assert!(received[0].header("validation-token").is_some());
    assert_eq!(standin.handshakes()[0].outcome, "accepted");
}

#[test]
fn the_stand_in_honours_expires_in_only_at_the_top_level() {
    // The stand-in is faithful to the mistake the relay's request avoids.
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    let webhook = FakeWebhook::start(Behavior::Echo);
    let created = client.create_subscription(&webhook.address, &token(), 3600).unwrap();
    let left = (created.expires_at().unwrap() - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((3500..=3600).contains(&left), "{left}");
}

fn refusal(behavior: Behavior) -> (RingCentralError, StandIn) {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    let webhook = FakeWebhook::start(behavior);
    let error = client
        .create_subscription(&webhook.address, &token(), 315_360_000)
        .unwrap_err();
    assert!(standin.subscriptions().is_empty(), "nothing created");
    (error, standin)
}

#[test]
fn sub_520_when_the_echo_is_missing_says_what_it_usually_means() {
    let (error, _) = refusal(Behavior::NoEcho);
    match &error {
        RingCentralError::HandshakeFailed { code, .. } => assert_eq!(code, "SUB-520"),
        other => panic!("{other:?}"),
    }
    let line = error.to_string();
    assert!(line.contains("SUB-520: Validation Token is not returned"), "{line}");
    assert!(
        line.contains("usually the address is wrong or the stack is not deployed yet"),
        "{line}"
    );
}

#[test]
fn sub_520_when_the_echo_is_wrong() {
    let (error, standin) = refusal(Behavior::WrongEcho);
    assert!(matches!(error, RingCentralError::HandshakeFailed { ref code, .. } if code == "SUB-520"));
    assert!(!standin.handshakes()[0].echoed);
}

#[test]
fn sub_520_when_nothing_listens() {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let error = client.create_subscription(&address, &token(), 315_360_000).unwrap_err();
    assert!(
        matches!(error, RingCentralError::HandshakeFailed { ref code, .. } if code == "SUB-520"),
        "{error:?}"
    );
}

#[test]
fn sub_525_when_the_answer_is_over_1024_bytes() {
    let (error, standin) = refusal(Behavior::Sized(1025));
    match &error {
        RingCentralError::HandshakeFailed { code, .. } => assert_eq!(code, "SUB-525"),
        other => panic!("{other:?}"),
    }
    assert_eq!(standin.handshakes()[0].answer_bytes, 1025);
    let line = error.to_string();
    assert!(line.contains("over 1,024 bytes (headers and body together)"), "{line}");
}

#[test]
fn an_answer_of_exactly_1024_bytes_passes() {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    let webhook = FakeWebhook::start(Behavior::Sized(1024));
    client
        .create_subscription(&webhook.address, &token(), 315_360_000)
        .unwrap();
    assert_eq!(standin.handshakes()[0].answer_bytes, 1024);
}

#[test]
fn renew_and_delete_by_id_and_a_clear_not_found() {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    let id = standin.seed("http://127.0.0.1:9/hook", TOKEN, Duration::from_secs(3600));
    let renewed = client.renew_subscription(&id).unwrap();
    let left = (renewed.expires_at().unwrap() - time::OffsetDateTime::now_utc()).whole_days();
    assert!(left > 3600, "renewed for its ten-year expiresIn: {left} days");
    client.delete_subscription(&id).unwrap();
    let error = client.renew_subscription(&id).unwrap_err();
    assert_eq!(error, RingCentralError::NotFound(id.clone()));
    assert_eq!(error.to_string(), format!("RingCentral has no subscription {id}"));
}
