//! The RingCentral stand-in serving many accounts behind one public app
//! (support/ringcentral_standin/accounts.rs): one client id and secret,
//! a JWT per customer account that the token grant maps to its account,
//! and per account its own numbers, subscriptions and subscription limit;
//! an event filter naming another account is SUB-406, and a notification
//! carries its subscription's account.

use crate::support::ringcentral_standin::*;
use crate::support::{base64, TOKEN};
use cc_number_relay::ringcentral::{Client, Credentials, PhoneNumbers, PhoneNumbersApi, ServerUrl, Wait};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const OTHER: &str = "51234567";

/// A caller of the stand-in's API signed in with one account's JWT.
struct Api {
    url: String,
    bearer: String,
    agent: ureq::Agent,
}

struct Reply {
    status: u16,
    body: Value,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    Reply { status, body }
}

/// The JWT grant, with the app's client id and secret.
fn grant(standin: &StandIn, jwt: &str) -> Reply {
    reply(
        agent()
            .post(format!("{}/restapi/oauth/token", standin.url))
            .header(
                "Authorization",
                format!("Basic {}", base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes())),
            )
            .send_form([
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", jwt),
            ])
            .unwrap(),
    )
}

impl Api {
    fn new(standin: &StandIn, credentials: &AccountCredentials) -> Api {
        let granted = grant(standin, &credentials.jwt);
        assert_eq!(granted.status, 200, "{}", granted.body);
        Api {
            url: standin.url.clone(),
            bearer: format!("Bearer {}", granted.body["access_token"].as_str().unwrap()),
            agent: agent(),
        }
    }

    fn get(&self, path: &str) -> Reply {
        reply(
            self.agent
                .get(format!("{}{path}", self.url))
                .header("Authorization", &self.bearer)
                .call()
                .unwrap(),
        )
    }

    fn delete(&self, path: &str) -> Reply {
        reply(
            self.agent
                .delete(format!("{}{path}", self.url))
                .header("Authorization", &self.bearer)
                .call()
                .unwrap(),
        )
    }

    fn send(&self, method: &str, path: &str, body: Value) -> Reply {
        let url = format!("{}{path}", self.url);
        let request = match method {
            "POST" => self.agent.post(url),
            _ => self.agent.put(url),
        };
        reply(
            request
                .header("Authorization", &self.bearer)
                .header("Content-Type", "application/json")
                .send(body.to_string())
                .unwrap(),
        )
    }

    /// Creates a subscription to `filter`, delivering to `address`.
    fn subscribe(&self, address: &str, filter: &str) -> Reply {
        self.send(
            "POST",
            "/restapi/v1.0/subscription",
            json!({
                "eventFilters": [filter],
                "deliveryMode": {"transportType": "WebHook", "address": address, "verificationToken": TOKEN},
                "expiresIn": 315_360_000
            }),
        )
    }

    fn subscription_ids(&self) -> BTreeSet<String> {
        let list = self.get("/restapi/v1.0/subscription");
        assert_eq!(list.status, 200, "{}", list.body);
        list.body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn filter_of(account: &str) -> String {
    format!("/restapi/v1.0/account/{account}/phone-number?usageType=ContactCenterNumber")
}

/// Never waits: no test here is rate limited.
struct NoWait;

impl Wait for NoWait {
    fn wait(&self, delay: Duration, operation: &str) {
        panic!("asked to wait {delay:?} for {operation}");
    }
}

/// The relay's own client, from RINGCENTRAL_* as `env` gives them.
fn relay_client(env: Vec<(&'static str, String)>) -> Client {
    let lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
    let credentials = Credentials::from_lookup(&lookup).unwrap();
    Client::new(credentials, Duration::from_secs(30), Box::new(NoWait)).unwrap()
}

fn contact_center_ids(client: &Client) -> BTreeSet<String> {
    let api = PhoneNumbers {
        client,
        page_interval: Duration::ZERO,
    };
    let listing = api.contact_center_numbers(&mut |_, _| {}).unwrap();
    listing
        .numbers
        .iter()
        .map(|n| n.phone_number.id.as_str().to_owned())
        .collect()
}

#[test]
fn a_jwt_maps_to_its_account_with_the_apps_one_client_id() {
    let standin = StandIn::start();
    let other = standin.add_account(OTHER);
    let default = standin.account(DEFAULT_ACCOUNT_ID).credentials();
    assert_eq!((default.jwt.as_str(), default.account_id.as_str()), (JWT, "37439510"));
    assert_eq!(
        (other.client_id.as_str(), other.client_secret.as_str()),
        (CLIENT_ID, CLIENT_SECRET)
    );
    assert_ne!(other.jwt, JWT);
    assert_eq!(standin.account_ids(), vec!["37439510".to_owned(), OTHER.to_owned()]);

    let granted = grant(&standin, &other.jwt);
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["owner_id"], json!(other.owner_id));
    assert_eq!(
        grant(&standin, JWT).body["owner_id"],
        "37439510",
        "the default account's, as always"
    );
    assert_eq!(standin.account(OTHER).token_grants(), 1);
    assert_eq!(standin.account(DEFAULT_ACCOUNT_ID).token_grants(), 1);
    assert_eq!(standin.token_grants(), 2);

    // A JWT of no account is refused, as a wrong one always was.
    let refused = grant(&standin, "eyJhbGciOiJSUzI1NiJ9.bm8tb25l.c2lnbmF0dXJl");
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The token carries its account: `~` is the JWT's account, and the
    // list's own uri names it.
    standin.account(OTHER).put_number(phone_numbers::record_in(
        OTHER,
        2001,
        "+12025550001",
        "ContactCenterNumber",
    ));
    let list = Api::new(&standin, &other).get("/restapi/v1.0/account/~/phone-number");
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["records"][0]["id"], 2001);
    assert!(
        list.body["uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/account/{OTHER}/phone-number")),
        "{}",
        list.body["uri"]
    );
}

#[test]
fn two_accounts_see_only_their_own_numbers_and_subscriptions() {
    let standin = StandIn::start();
    let other = standin.add_account(OTHER);
    let default = standin.account(DEFAULT_ACCOUNT_ID).credentials();
    standin.put_number(phone_numbers::record(1001, "+12025551001", "ContactCenterNumber"));
    standin.put_number(phone_numbers::record(1002, "+12025551002", "MainCompanyNumber"));
    let b: Account = standin.account(OTHER);
    assert_eq!(b.id(), OTHER);
    b.put_number(phone_numbers::record_in(
        OTHER,
        2001,
        "+12025552001",
        "ContactCenterNumber",
    ));
    b.put_number(phone_numbers::record_in(
        OTHER,
        2002,
        "+12025552002",
        "ContactCenterNumber",
    ));
    b.remove_number(2002);
    b.put_number(phone_numbers::record_in(
        OTHER,
        2003,
        "+12025552003",
        "ContactCenterNumber",
    ));
    assert_eq!(standin.contact_center_ids(), BTreeSet::from(["1001".to_owned()]));
    assert_eq!(
        b.contact_center_ids(),
        BTreeSet::from(["2001".to_owned(), "2003".to_owned()])
    );

    // The relay's own client, from each account's RINGCENTRAL_* (the
    // default's as `StandIn::env` has always given them).
    assert_eq!(default.env(&standin), standin.env());
    let ours = relay_client(standin.env());
    let theirs = relay_client(other.env(&standin));
    assert_eq!(contact_center_ids(&ours), standin.contact_center_ids());
    assert_eq!(contact_center_ids(&theirs), b.contact_center_ids());
    // The secret's JSON names the same credentials.
    let secret = Credentials::from_secret("s", &other.secret_json(), ServerUrl::parse(&standin.url).unwrap()).unwrap();
    assert_eq!(secret.jwt.expose(), other.jwt);
    assert_eq!(default.secret_json(), StandIn::credentials_secret_json());

    // By path: `~` and the caller's own id are its account; another's id is 403.
    let (a_api, b_api) = (Api::new(&standin, &default), Api::new(&standin, &other));
    assert_eq!(
        a_api.get("/restapi/v1.0/account/37439510/phone-number/1001").status,
        200
    );
    assert_eq!(
        b_api
            .get(&format!("/restapi/v1.0/account/{OTHER}/phone-number/2001"))
            .status,
        200
    );
    assert_eq!(
        b_api.get("/restapi/v1.0/account/~/phone-number/1001").status,
        404,
        "not B's number"
    );
    for (api, foreign) in [(&a_api, OTHER), (&b_api, "37439510"), (&b_api, "99999999")] {
        for path in ["phone-number", "phone-number/1001"] {
            let refused = api.get(&format!("/restapi/v1.0/account/{foreign}/{path}"));
            assert_eq!(refused.status, 403, "{foreign}/{path}: {}", refused.body);
            assert_eq!(refused.body["errors"][0]["errorCode"], "CMN-101");
            assert_eq!(refused.body["errors"][0]["parameterName"], "accountId");
        }
    }

    // Subscriptions: each lists only its own, and another's is not found.
    let webhook = FakeWebhook::start(Behavior::Echo);
    let mine = a_api.subscribe(&webhook.address, CONTACT_CENTER_FILTER);
    let yours = b_api.subscribe(&webhook.address, CONTACT_CENTER_FILTER);
    assert_eq!((mine.status, yours.status), (200, 200), "{} {}", mine.body, yours.body);
    let (mine, yours) = (
        mine.body["id"].as_str().unwrap().to_owned(),
        yours.body["id"].as_str().unwrap().to_owned(),
    );
    let seeded = b.seed(&webhook.address, TOKEN, Duration::from_secs(3600));
    assert_eq!(a_api.subscription_ids(), BTreeSet::from([mine.clone()]));
    assert_eq!(
        b_api.subscription_ids(),
        BTreeSet::from([yours.clone(), seeded.clone()])
    );
    assert_eq!(ours.list_subscriptions().unwrap().len(), 1);
    assert_eq!(theirs.list_subscriptions().unwrap().len(), 2);
    let owned: BTreeSet<String> = b.subscriptions().into_iter().map(|s| s.id).collect();
    assert_eq!(owned, BTreeSet::from([yours.clone(), seeded]));
    assert_eq!(standin.subscription(&yours).unwrap().account_id, OTHER);
    assert_eq!(standin.subscriptions().len(), 3, "the stand-in holds every account's");

    let path = format!("/restapi/v1.0/subscription/{yours}");
    assert_eq!(a_api.get(&path).status, 404);
    assert_eq!(a_api.send("POST", &format!("{path}/renew"), Value::Null).status, 404);
    let update = json!({"eventFilters": [CONTACT_CENTER_FILTER]});
    assert_eq!(a_api.send("PUT", &path, update.clone()).status, 404);
    assert_eq!(a_api.delete(&path).status, 404);
    assert!(
        standin.subscription(&yours).is_some(),
        "another account cannot delete it"
    );
    assert_eq!(b_api.send("PUT", &path, update).status, 200);
    assert_eq!(b_api.delete(&path).status, 204);
    assert!(standin.subscription(&yours).is_none());
    standin.assert_spec_held();
}

#[test]
fn an_event_filter_naming_another_account_is_sub_406() {
    let standin = StandIn::start();
    let other = standin.add_account(OTHER);
    let webhook = FakeWebhook::start(Behavior::Echo);
    let b_api = Api::new(&standin, &other);

    let refused = b_api.subscribe(&webhook.address, &filter_of(DEFAULT_ACCOUNT_ID));
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["errorCode"], "SUB-406");
    assert_eq!(
        refused.body["message"],
        "Not allowed subscribe for events to extensions of other account"
    );
    assert!(standin.handshakes().is_empty(), "refused before any handshake");
    assert!(standin.subscriptions().is_empty());
    // An unknown account is another account too.
    assert_eq!(b_api.subscribe(&webhook.address, &filter_of("99999999")).status, 403);

    // Its own id, and `~`, are its own account.
    let own = b_api.subscribe(&webhook.address, &filter_of(OTHER));
    assert_eq!(own.status, 200, "{}", own.body);
    let id = own.body["id"].as_str().unwrap();
    // An update to another account's filter is refused the same way, and changes nothing.
    let path = format!("/restapi/v1.0/subscription/{id}");
    let update = b_api.send("PUT", &path, json!({"eventFilters": [filter_of(DEFAULT_ACCOUNT_ID)]}));
    assert_eq!(update.status, 403, "{}", update.body);
    assert_eq!(update.body["errors"][0]["errorCode"], "SUB-406");
    assert_eq!(standin.subscription(id).unwrap().event_filters, vec![filter_of(OTHER)]);
    assert_eq!(
        b_api
            .send("PUT", &path, json!({"eventFilters": [CONTACT_CENTER_FILTER]}))
            .status,
        200
    );

    // The default account: its own id is fine, OTHER's is not.
    let a_api = Api::new(&standin, &standin.account(DEFAULT_ACCOUNT_ID).credentials());
    assert_eq!(
        a_api.subscribe(&webhook.address, &filter_of(DEFAULT_ACCOUNT_ID)).status,
        200
    );
    let refused = a_api.subscribe(&webhook.address, &filter_of(OTHER));
    assert_eq!((refused.status, &refused.body["errorCode"]), (403, &json!("SUB-406")));
    standin.assert_spec_held();
}

#[test]
fn the_subscription_limit_is_each_accounts_own() {
    let standin = StandIn::start();
    let other = standin.add_account(OTHER);
    let webhook = FakeWebhook::start(Behavior::Echo);
    standin.limit_subscriptions(2);
    let a_api = Api::new(&standin, &standin.account(DEFAULT_ACCOUNT_ID).credentials());
    let b_api = Api::new(&standin, &other);

    standin.seed(&webhook.address, TOKEN, Duration::from_secs(3600));
    assert_eq!(a_api.subscribe(&webhook.address, CONTACT_CENTER_FILTER).status, 200);
    let full = a_api.subscribe(&webhook.address, CONTACT_CENTER_FILTER);
    assert_eq!(full.status, 403, "{}", full.body);
    assert_eq!(full.body["errors"][0]["errorCode"], "SUB-505");
    assert_eq!(full.body["message"], "Subscriptions limit exceeded");

    // The other account has its own two.
    for _ in 0..2 {
        let created = b_api.subscribe(&webhook.address, CONTACT_CENTER_FILTER);
        assert_eq!(created.status, 200, "{}", created.body);
    }
    let full = b_api.subscribe(&webhook.address, CONTACT_CENTER_FILTER);
    assert_eq!((full.status, &full.body["errorCode"]), (403, &json!("SUB-505")));
    assert_eq!(standin.account(OTHER).subscriptions().len(), 2);
    assert_eq!(standin.account(DEFAULT_ACCOUNT_ID).subscriptions().len(), 2);

    // A deletion in one account frees a place there only.
    let gone = standin.account(OTHER).subscriptions()[0].id.clone();
    assert_eq!(b_api.delete(&format!("/restapi/v1.0/subscription/{gone}")).status, 204);
    assert_eq!(a_api.subscribe(&webhook.address, CONTACT_CENTER_FILTER).status, 403);
    assert_eq!(b_api.subscribe(&webhook.address, CONTACT_CENTER_FILTER).status, 200);
    standin.assert_spec_held();
}

#[test]
fn a_notification_carries_its_subscriptions_account() {
    let standin = StandIn::start();
    let other = standin.add_account(OTHER);
    let webhook = FakeWebhook::start(Behavior::Echo);
    let theirs = standin
        .account(OTHER)
        .seed(&webhook.address, TOKEN, Duration::from_secs(3600));
    let ours = standin.seed(&webhook.address, TOKEN, Duration::from_secs(3600));

    let file = format!("{}/events/bodies/created.json", env!("CARGO_MANIFEST_DIR"));
    let mut expected: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    expected["subscriptionId"] = json!(ours);
    assert_eq!(
        standin.notification(&ours, "created"),
        expected.to_string(),
        "the default account's, byte for byte as before"
    );

    let body = standin.notification(&theirs, "created");
    let delivery = standin.deliver(&theirs, &body);
    assert_eq!(delivery.status, Some(200), "{delivery:?}");
    let received: Value = serde_json::from_slice(&webhook.received().last().unwrap().body).unwrap();
    assert_eq!(received["subscriptionId"], json!(theirs));
    assert_eq!(received["ownerId"], json!(other.owner_id));
    assert_eq!(received["event"], json!(filter_of(OTHER)));
    let uri = received["body"]["phoneNumberInfo"]["uri"].as_str().unwrap();
    assert_eq!(
        uri,
        format!("https://platform.ringcentral.com/restapi/v1.0/account/{OTHER}/phone-number/987654321")
    );
    assert_eq!(received["body"]["eventType"], "Created", "the rest as the file has it");

    // Whatever the file's account path holds (`~`, `{accountId}`, the
    // default id), the other account's names its id; a reminder has none to name.
    for file in ["deleted", "parked", "updated-location", "updated-reassigned-away"] {
        let value: Value = serde_json::from_str(&standin.notification(&theirs, file)).unwrap();
        assert_eq!(value["event"], json!(filter_of(OTHER)), "{file}");
        assert!(!value.to_string().contains("37439510"), "{file}: {value}");
    }
    let reminder: Value = serde_json::from_str(&standin.notification(&theirs, "renewal-reminder")).unwrap();
    assert_eq!(
        reminder["event"],
        "/restapi/v1.0/subscription/~?threshold=86400&interval=3600"
    );
    assert_eq!(reminder["ownerId"], json!(other.owner_id));
}
