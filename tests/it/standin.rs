//! The RingCentral stand-in itself, where RingCentral's documented behaviour
//! is something the product's own requests never try, so the tests of the
//! client, the CLI and the guardian cannot show that the stand-in keeps it.

use crate::support::ringcentral_standin::*;
use crate::support::{base64, TOKEN};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn json_of(mut response: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

/// The JWT grant, its form sent with chunked transfer encoding (a reader of
/// unknown length) and percent-encoded, as any HTTP client may send it.
fn access_token(standin: &StandIn) -> String {
    let form = format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={JWT}");
    let response = agent()
        .post(format!("{}/restapi/oauth/token", standin.url))
        .header(
            "Authorization",
            format!("Basic {}", base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes())),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(ureq::SendBody::from_reader(&mut form.as_bytes()))
        .unwrap();
    let (status, answer) = json_of(response);
    assert_eq!(status, 200, "{answer}");
    answer["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn a_chunked_percent_encoded_token_request_is_granted() {
    let standin = StandIn::start();
    access_token(&standin);
    assert_eq!(standin.token_grants(), 1);
    let grant = &standin.log()[0];
    assert_eq!((grant.path.as_str(), grant.status), ("/restapi/oauth/token", 200));
    assert!(grant.body.starts_with("grant_type=urn%3Aietf%3A"), "{}", grant.body);
}

#[test]
fn expires_in_inside_delivery_mode_is_ignored_and_the_7_day_default_applies() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let request = json!({
        "eventFilters": ["/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber"],
        "deliveryMode": {
            "transportType": "WebHook", "address": webhook.address, "verificationToken": TOKEN,
            "expiresIn": 315_360_000
        }
    });
    let response = agent()
        .post(format!("{}/restapi/v1.0/subscription", standin.url))
        .header("Authorization", format!("Bearer {}", access_token(&standin)))
        .header("Content-Type", "application/json")
        .send(request.to_string())
        .unwrap();
    let (status, created) = json_of(response);
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "Active");
    let expires_in = created["expiresIn"].as_i64().unwrap();
    assert!(
        (604_700..=604_800).contains(&expires_in),
        "the 7-day default: {expires_in} s"
    );
}

#[test]
fn a_delivery_not_answered_within_3_seconds_blacklists_the_subscription() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Silent);
    let id = standin.seed(&webhook.address, TOKEN, Duration::from_secs(86_400));
    let started = Instant::now();
    let delivery = standin.deliver(&id, &standin.notification(&id, "created"));
    let waited = started.elapsed();
    assert!(delivery.blacklisted && delivery.status.is_none(), "{delivery:?}");
    assert!(
        (Duration::from_millis(3000)..Duration::from_secs(10)).contains(&waited),
        "gave up after {waited:?}"
    );
    assert_eq!(webhook.received().len(), 1, "the notification was sent");
    let sub = standin.subscription(&id).unwrap();
    assert_eq!(sub.status, "Blacklisted");
    assert_eq!(sub.blacklisted.unwrap().1, "Read timed out");
}
