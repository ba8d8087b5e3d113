//! A local STAND-IN for the few RingCentral endpoints that the CLI and the
//! guardian use. It is not RingCentral: it follows RingCentral's documented
//! behaviour closely enough to test against.
//!
//! - `POST /restapi/oauth/token`: the JWT grant with Basic client
//!   authentication; 401 `invalid_client` for a wrong client id or secret,
//!   400 `invalid_grant` for a wrong JWT; access tokens that expire (401
//!   `TokenInvalid` after their `expires_in`, or once revoked).
//! - `GET/POST /restapi/v1.0/subscription`, `GET/DELETE …/{id}`,
//!   `POST …/{id}/renew`; 403 `CMN-408` naming `SubscriptionWebhook` (any
//!   subscription call) or `ReadAccounts` (the phone-number event filter)
//!   when the app lacks it.
//! - Creating a subscription first performs the validation handshake: an
//!   empty-body POST to the address with a `Validation-Token` header. It
//!   refuses with `SUB-525` when the answer is over 1,024 bytes (status
//!   line, headers and body), and with `SUB-520` when the answer is not 200
//!   or does not echo the token, or none comes within 3,000 ms.
//!   `expiresIn` counts only at the top level (inside `deliveryMode` it is
//!   ignored and the 7-day default applies).
//! - `fail_create_with(code)`: every creation refused with one of the
//!   spec's codes for it (SUB-505, SUB-406, SUB-523, ...), with its status
//!   and message from tests/fixtures/ringcentral/openapi-shapes.json
//!   (`fail_creations(code, u32::MAX)`, below).
//! - Deliveries (`deliver`) POST a notification with the subscription's
//!   `Verification-Token`; a non-200 answer, an answer over 1,024 bytes or
//!   none within 3,000 ms blacklists the subscription, with RingCentral's
//!   reasons.
//!   (RingCentral blacklists after repeated failures; the stand-in after one.)
//! - Rate limiting (`rate_limit`): 429 `CMN-301` with `Retry-After`; a
//!   client that comes back before `Retry-After` has passed gets 429 again.
//! - Expired subscriptions disappear from the list.
//! - The phone-number resource (`phone_numbers`): the account's numbers,
//!   listed page by page with int64 ids and RingCentral's `paging` and
//!   `navigation`, filtered by `usageType`, the list in the Heavy rate group
//!   (its own 429 with `Retry-After`); one number by id, 404 `CMN-102` when
//!   it no longer exists.
//!
//! - `PUT /restapi/v1.0/subscription/{id}` (updateSubscription): new
//!   `eventFilters`, and `expiresIn`/`deliveryMode` when given; answers the
//!   subscription, its `disabledFilters` cleared (RingCentral re-validates).
//!
//! Held to RingCentral's published spec (`spec`, with the spec's shapes in
//! tests/fixtures/ringcentral/openapi-shapes.json): every request and every answer is checked; a
//! violation is answered 500 `STANDIN-SPEC-VIOLATION` naming it, and fails
//! the test when the stand-in is dropped (so every test that starts one is
//! checked). `take_violations()` hands them to a test that provokes them;
//! `assert_spec_held()` checks earlier than the drop.
//!
//! Knobs (all spec-valid unless said; `variants`):
//! - `set_shape(Shape { optional_absent, extra_properties, disabled_filter_code, subscription_ids })`:
//!   optional properties left out; unknown properties added;
//!   `DisabledFilterCode::{Reason, ErrorCode, Both}` (the spec's `reason`
//!   or other material's `errorCode`); `SubscriptionIds::{Uuid, Digits}`.
//! - `set_status(id, "Active" | "Suspended" | "Blacklisted" | "Blocked")`
//!   (`Blocked`: changelog 1.0.33, the spec check's one documented exception).
//! - `put_number(record)`: any `usageType`, `paymentType`, `type`, `status`
//!   (`spec::enum_values` gives the spec's enums); ids are int64.
//! - `disable_contact_center_filter(id, code)`: a `disabledFilters` entry
//!   for the Contact Center filter ("SUB-412", "CMN-408"…, a message naming
//!   [ReadAccounts]); status stays Active.
//! - `drop_contact_center_filter(id)`: the filter leaves `eventFilters`; Active, same address.
//! - `fail_creations(code, times)`: the next `times` creations refused with
//!   a createSubscription code (SUB-505/406/527 403, SUB-520/521/523/525 and
//!   OAU-232/236 400, CMN-301/302 429 with `Retry-After: 2`, CMN-201 503;
//!   status and message from the spec) or CMN-408 (403, `permissionName`).
//! - `limit_subscriptions(max)`: a creation past `max` gets 403 SUB-505
//!   (`max` in each account: the caller's account's subscriptions count).
//! - `malformed_record(Some(Malformed::WithoutId | Malformed::IdAsNumber))`:
//!   the subscription list ends with a record a reader must skip. Without
//!   `id` is spec-valid (the spec requires only `deliveryMode`); `id` as a
//!   number is not, and is the one violation tolerated (`tolerated()`).
//!
//! Accounts (`accounts`): one app (RingCentral's public app: one
//! [`CLIENT_ID`]/[`CLIENT_SECRET`]) installed by many customer accounts,
//! each with its own JWT. The token grant maps the JWT to its account (an
//! unknown JWT is 400 `invalid_grant`), and an access token carries it.
//! The default account, [`DEFAULT_ACCOUNT_ID`] (37439510) signed in by
//! [`JWT`], is there from the start; every method above and below without
//! an account is the default account's, answering as it always has.
//! - `add_account(account_id: &str) -> AccountCredentials { account_id,
//!   client_id, client_secret, jwt, owner_id }` (an id of digits; `.env(&standin)`
//!   and `.secret_json()` as [`StandIn::env`] and
//!   [`StandIn::credentials_secret_json`] give the default's);
//!   `account(account_id: &str) -> Account` (the default one's id too;
//!   panics for an unknown id); `account_ids() -> Vec<String>`.
//! - `Account`: `id()`, `credentials()`, `put_number(record)`,
//!   `remove_number(id)`, `contact_center_ids()`, `subscriptions()`,
//!   `seed(address, verification_token, lifetime)`, `token_grants()`;
//!   `phone_numbers::record_in(account_id, id, e164, usage_type)` makes a
//!   number whose `uri` names the account.
//! - `/restapi/v1.0/account/~/…` is the caller's account; its own id
//!   likewise; any other id is 403 `CMN-101` naming `accountId` (RingCentral
//!   documents no answer for it: the stand-in's choice, in `spec`'s
//!   `GENERIC_CODES`).
//! - The subscription list answers the caller's account's subscriptions
//!   only; another account's subscription id is 404 `CMN-102` to read,
//!   update, renew or delete. An event filter naming another account's id
//!   (`/restapi/v1.0/account/{other}/phone-number?…`) is 403 `SUB-406` on
//!   create and update. `limit_subscriptions(max)` counts each account's
//!   own. `notification(id, file)` for another account's subscription
//!   names that account in every account path (`event`, the number's `uri`)
//!   and its `owner_id` in `ownerId`.
//! - The app's, shared by all accounts: permissions, token lifetime,
//!   `revoke_tokens`, `rate_limit` and `heavy_rate_limit` (app-wide
//!   counters, never per token), `fail_creations`, the shape knobs;
//!   `token_grants()` counts every account's (`Account::token_grants` one's).
//!
//! Only plain http:// addresses, on loopback.
//!
//! It serves its API with `tiny_http`. Its own requests to webhook
//! addresses (the handshake, deliveries) go through `raw`, a client that
//! counts every byte of the answer, as RingCentral's 1,024-byte rule needs.

pub mod accounts;
pub mod phone_numbers;
pub mod raw;
pub mod spec;
pub mod variants;
pub mod webhook;

use raw::exchange;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use accounts::{Account, AccountCredentials};
pub use spec::Violation;
pub use variants::{DisabledFilter, DisabledFilterCode, Malformed, Shape, SubscriptionIds, CONTACT_CENTER_FILTER};
pub use webhook::{Behavior, FakeWebhook};

pub const CLIENT_ID: &str = "standinClientId";
pub const CLIENT_SECRET: &str = "standinClientSecret";
pub const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.c3RhbmQtaW4.c2lnbmF0dXJl";
/// The account [`JWT`] signs in to: the one every method without an account works on.
pub const DEFAULT_ACCOUNT_ID: &str = "37439510";
pub const MAX_ANSWER_BYTES: usize = 1024;
const DEFAULT_EXPIRES_IN: i64 = 604_800;
const MAX_EXPIRES_IN: i64 = 315_360_000;
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RingCentral's time limit for an answer, to the handshake and to each delivery.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(3000);

#[derive(Debug, Clone)]
pub struct Sub {
    pub id: String,
    /// The account whose token created it: only that account's tokens list, read, change or delete it.
    pub account_id: String,
    pub address: String,
    pub verification_token: Option<String>,
    pub event_filters: Vec<String>,
    pub status: String,
    pub expires_in: i64,
    pub expiration: OffsetDateTime,
    pub created: OffsetDateTime,
    pub blacklisted: Option<(String, String)>,
    /// Filters RingCentral accepted but does not deliver (`disabledFilters`).
    pub disabled_filters: Vec<DisabledFilter>,
}

/// What the stand-in saw of one validation handshake.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub status: Option<u16>,
    pub answer_bytes: usize,
    pub echoed: bool,
    /// "accepted", "SUB-520" or "SUB-525".
    pub outcome: String,
}

/// What a delivery got back.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub status: Option<u16>,
    pub answer_bytes: usize,
    pub body: String,
    pub blacklisted: bool,
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: String,
    /// The account the request spoke as: its access token's, or for a token
    /// grant its JWT's; `None` when neither names one.
    pub account: Option<String>,
}

struct RateLimit {
    remaining: u32,
    retry_after: u64,
    penalty_until: Option<Instant>,
}

struct State {
    permissions: BTreeSet<String>,
    token_lifetime: u64,
    /// Access tokens: when each expires, and the account it was granted for.
    tokens: HashMap<String, (Instant, String)>,
    /// By account id: the JWT that signs in to each (the default account's is [`JWT`]).
    accounts: BTreeMap<String, accounts::Entry>,
    grants: usize,
    rate_limit: Option<RateLimit>,
    subscriptions: BTreeMap<String, Sub>,
    next_id: u32,
    log: Vec<Logged>,
    handshakes: Vec<Handshake>,
    numbers: phone_numbers::Numbers,
    /// How long a DELETE of a subscription takes before it is gone.
    delete_delay: Duration,
    knobs: variants::Knobs,
    /// Where requests or answers broke RingCentral's spec: fails the test (see `Drop`).
    violations: Vec<Violation>,
    /// Violations a knob asked for (`Malformed::IdAsNumber`): counted, not failed.
    tolerated: Vec<Violation>,
}

pub struct StandIn {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
}

/// A request to the stand-in's API, as read by `tiny_http`.
struct Request {
    method: String,
    /// Without the query.
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn read(request: &mut tiny_http::Request) -> std::io::Result<Request> {
        let mut body = Vec::new();
        request.as_reader().read_to_end(&mut body)?;
        Ok(Request {
            method: request.method().as_str().to_owned(),
            path: request.url().split('?').next().unwrap_or_default().to_owned(),
            query: request
                .url()
                .split_once('?')
                .map(|(_, q)| q.to_owned())
                .unwrap_or_default(),
            headers: request
                .headers()
                .iter()
                .map(|h| (h.field.as_str().as_str().to_owned(), h.value.as_str().to_owned()))
                .collect(),
            body,
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        raw::header(&self.headers, name)
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// JSON pointers under which a spec violation is deliberate (a knob's).
    tolerate: Vec<String>,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: body.to_string(),
        tolerate: vec![],
    }
}

fn api_error(status: u16, code: &str, message: &str) -> Answer {
    answer(
        status,
        json!({"errorCode": code, "message": message, "errors": [{"errorCode": code, "message": message}]}),
    )
}

fn missing_permission(permission: &str) -> Answer {
    let message = format!("In order to call this API endpoint, application needs to have [{permission}] permission");
    answer(
        403,
        json!({"errorCode": "CMN-408", "message": message,
               "errors": [{"errorCode": "CMN-408", "message": message, "permissionName": permission}],
               "permissionName": permission}),
    )
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

impl StandIn {
    /// Listens on a free loopback port; the app has both permissions and
    /// tokens live an hour, as RingCentral's do.
    pub fn start() -> StandIn {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            permissions: ["SubscriptionWebhook", "ReadAccounts"].map(String::from).into(),
            token_lifetime: 3600,
            tokens: HashMap::new(),
            accounts: accounts::Entry::default_account(),
            grants: 0,
            rate_limit: None,
            subscriptions: BTreeMap::new(),
            next_id: 1,
            log: vec![],
            handshakes: vec![],
            numbers: phone_numbers::Numbers::default(),
            delete_delay: Duration::ZERO,
            knobs: variants::Knobs::default(),
            violations: vec![],
            tolerated: vec![],
        }));
        let (listening, shared, base) = (server.clone(), state.clone(), url.clone());
        std::thread::spawn(move || {
            // Each request on its own thread: a subscription request waits
            // for its handshake while other requests go on.
            for request in listening.incoming_requests() {
                let (state, base) = (shared.clone(), base.clone());
                std::thread::spawn(move || serve(request, &state, &base));
            }
        });
        StandIn { url, state, server }
    }

    /// RINGCENTRAL_* for the CLI.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("RINGCENTRAL_SERVER_URL", self.url.clone()),
            ("RINGCENTRAL_CLIENT_ID", CLIENT_ID.to_owned()),
            ("RINGCENTRAL_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("RINGCENTRAL_JWT", JWT.to_owned()),
        ]
    }

    /// The app's credentials as a Secrets Manager secret holds them.
    pub fn credentials_secret_json() -> String {
        json!({"RINGCENTRAL_CLIENT_ID": CLIENT_ID, "RINGCENTRAL_CLIENT_SECRET": CLIENT_SECRET, "RINGCENTRAL_JWT": JWT})
            .to_string()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// A slow DELETE: the subscription keeps delivering until it answers.
    pub fn delay_deletes(&self, delay: Duration) {
        self.with(|s| s.delete_delay = delay);
    }

    /// Every creation from now on is refused with `code`, with the HTTP
    /// status and message the spec gives it for `POST /subscription`
    /// (tests/fixtures/ringcentral/openapi-shapes.json): SUB-505, SUB-406,
    /// SUB-523, ... [`StandIn::fail_creations`] without an end.
    pub fn fail_create_with(&self, code: &str) {
        self.fail_creations(code, u32::MAX);
    }

    pub fn set_token_lifetime(&self, seconds: u64) {
        self.with(|s| s.token_lifetime = seconds);
    }

    /// Every access token issued so far stops working, as after a revocation.
    pub fn revoke_tokens(&self) {
        self.with(|s| s.tokens.clear());
    }

    pub fn set_permissions(&self, permissions: &[&str]) {
        self.with(|s| s.permissions = permissions.iter().map(|p| p.to_string()).collect());
    }

    /// The next `requests` requests get 429 with this Retry-After.
    pub fn rate_limit(&self, requests: u32, retry_after: u64) {
        self.with(|s| {
            s.rate_limit = Some(RateLimit {
                remaining: requests,
                retry_after,
                penalty_until: None,
            })
        });
    }

    pub fn token_grants(&self) -> usize {
        self.with(|s| s.grants)
    }

    pub fn log(&self) -> Vec<Logged> {
        self.with(|s| s.log.clone())
    }

    pub fn handshakes(&self) -> Vec<Handshake> {
        self.with(|s| s.handshakes.clone())
    }

    /// Subscriptions as stored, expired ones included.
    pub fn subscriptions(&self) -> Vec<Sub> {
        self.with(|s| s.subscriptions.values().cloned().collect())
    }

    pub fn subscription(&self, id: &str) -> Option<Sub> {
        self.with(|s| s.subscriptions.get(id).cloned())
    }

    /// A subscription of the default account created earlier (its handshake long done).
    pub fn seed(&self, address: &str, verification_token: &str, lifetime: Duration) -> String {
        self.account(DEFAULT_ACCOUNT_ID)
            .seed(address, verification_token, lifetime)
    }

    pub fn set_expiration(&self, id: &str, at: OffsetDateTime) {
        self.with(|s| s.subscriptions.get_mut(id).unwrap().expiration = at);
    }

    pub fn set_status(&self, id: &str, status: &str) {
        self.with(|s| s.subscriptions.get_mut(id).unwrap().status = status.to_owned());
    }

    /// Sends a notification to the subscription's address, as RingCentral
    /// would; a failed delivery blacklists the subscription.
    pub fn deliver(&self, id: &str, body: &str) -> Delivery {
        self.deliver_if_subscribed(id, body).expect("no such subscription")
    }

    /// As [`StandIn::deliver`], or `None` when the subscription is gone
    /// (deleted meanwhile: RingCentral delivers nothing for it).
    pub fn deliver_if_subscribed(&self, id: &str, body: &str) -> Option<Delivery> {
        let sub = self.subscription(id)?;
        let mut headers = vec![
            ("Content-Type", "application/json; charset=UTF-8".to_owned()),
            ("Accept", "application/json".to_owned()),
            ("User-Agent", "RingCentral-Webhook/8.3 (stand-in)".to_owned()),
        ];
        if let Some(token) = &sub.verification_token {
            headers.push(("Verification-Token", token.clone()));
        }
        let result = exchange(&sub.address, &headers, body.as_bytes(), ANSWER_TIMEOUT);
        let (status, answer_bytes, text, reason) = match &result {
            Ok(a) if a.total_bytes > MAX_ANSWER_BYTES => (
                Some(a.status),
                a.total_bytes,
                a.body_text(),
                Some(format!(
                    "Webhook response exceeds max size. Read bytes count: [{MAX_ANSWER_BYTES}]"
                )),
            ),
            Ok(a) if a.status != 200 => (
                Some(a.status),
                a.total_bytes,
                a.body_text(),
                Some(format!("Webhook responses with code: [{}]", a.status)),
            ),
            Ok(a) => (Some(a.status), a.total_bytes, a.body_text(), None),
            Err(_) => (None, 0, String::new(), Some("Read timed out".to_owned())),
        };
        let blacklisted = reason.is_some();
        if let Some(reason) = reason {
            self.blacklist(id, &reason);
        }
        Some(Delivery {
            status,
            answer_bytes,
            body: text,
            blacklisted,
        })
    }

    pub fn blacklist(&self, id: &str, reason: &str) {
        self.with(|s| {
            let Some(sub) = s.subscriptions.get_mut(id) else { return };
            sub.status = "Blacklisted".to_owned();
            sub.blacklisted = Some((rfc3339(OffsetDateTime::now_utc()), reason.to_owned()));
        });
    }

    /// The body of the last subscription request, as received.
    pub fn last_subscription_request(&self) -> Option<Value> {
        self.with(|s| {
            s.log
                .iter()
                .rev()
                .find(|l| l.method == "POST" && l.path == "/restapi/v1.0/subscription")
                .map(|l| serde_json::from_str(&l.body).unwrap())
        })
    }

    /// The body of a notification as RingCentral sends it to this
    /// subscription: events/bodies/{body_file}.json with the subscription's
    /// `subscriptionId`. For a subscription of an account other than the
    /// default one, the notification carries that account too: every
    /// `/restapi/v1.0/account/{x}/` path in it (`event`, the number's `uri`)
    /// names the account's id, and `ownerId` is the account's owner
    /// ([`AccountCredentials::owner_id`]). The default account's (and an
    /// unknown id's) is the file as it is, but for `subscriptionId`.
    pub fn notification(&self, id: &str, body_file: &str) -> String {
        let path = format!("{}/events/bodies/{body_file}.json", env!("CARGO_MANIFEST_DIR"));
        let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        value["subscriptionId"] = json!(id);
        let account = self.subscription(id).map(|sub| sub.account_id);
        if let Some(account) = account.filter(|a| a != DEFAULT_ACCOUNT_ID) {
            accounts::carry_account(&mut value, &account, &self.account(&account).credentials().owner_id);
        }
        value.to_string()
    }
}

impl StandIn {
    /// The spec violations so far, cleared: for a test that provokes them.
    pub fn take_violations(&self) -> Vec<Violation> {
        self.with(|s| std::mem::take(&mut s.violations))
    }

    /// Violations a knob asked for, so far.
    pub fn tolerated(&self) -> Vec<Violation> {
        self.with(|s| s.tolerated.clone())
    }

    /// Fails, naming each one, when a request or an answer broke the spec.
    /// `Drop` does it for every test; call it to check earlier.
    pub fn assert_spec_held(&self) {
        let violations = self.take_violations();
        assert!(
            violations.is_empty(),
            "the RingCentral stand-in saw {} violation(s) of RingCentral's spec:\n{}",
            violations.len(),
            violations
                .iter()
                .map(|v| format!("  {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

impl Drop for StandIn {
    /// Stops serving (the listening thread ends and the port is released),
    /// then fails the test if the spec was broken. Not while the test is
    /// already failing: a panic in a panic would abort the whole binary.
    fn drop(&mut self) {
        self.server.unblock();
        if !std::thread::panicking() {
            self.assert_spec_held();
        }
    }
}

impl State {
    fn new_id(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        match self.knobs.shape.subscription_ids {
            SubscriptionIds::Uuid => format!("5a7e{n:04x}-0000-4000-8000-standin{n:05}"),
            SubscriptionIds::Digits => format!("{}", 100_000_000 + n),
        }
    }
}

impl Sub {
    fn to_json(&self, server: &str, shape: &Shape) -> Value {
        let now = OffsetDateTime::now_utc();
        let mut value = json!({
            "uri": format!("{server}/restapi/v1.0/subscription/{}", self.id),
            "id": self.id,
            "creationTime": rfc3339(self.created),
            "status": self.status,
            "eventFilters": self.event_filters,
            "expirationTime": rfc3339(self.expiration),
            "expiresIn": (self.expiration - now).whole_seconds().max(0),
            "deliveryMode": {"transportType": "WebHook", "address": self.address, "encryption": false},
        });
        if let Some((at, reason)) = &self.blacklisted {
            value["blacklistedData"] = json!({"blacklistedAt": at, "reason": reason});
        }
        shape.subscription(self, value)
    }
}

fn serve(mut request: tiny_http::Request, state: &Arc<Mutex<State>>, server: &str) {
    let Ok(incoming) = Request::read(&mut request) else {
        return;
    };
    let answer = checked(&incoming, state, server);
    let mut s = state.lock().unwrap();
    let account = caller(&incoming, &s);
    s.log.push(Logged {
        method: incoming.method,
        path: incoming.path,
        status: answer.status,
        body: String::from_utf8_lossy(&incoming.body).into_owned(),
        account,
    });
    drop(s);
    let mut response = tiny_http::Response::from_data(answer.body.into_bytes()).with_status_code(answer.status);
    for (name, value) in [("Content-Type", "application/json")]
        .into_iter()
        .chain(answer.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        response.add_header(tiny_http::Header::from_bytes(name, value).unwrap());
    }
    let _ = request.respond(response);
}

/// The answer to a request, both checked against RingCentral's spec. A
/// violation is recorded (failing the test when the stand-in is dropped)
/// and answered with a 500 `STANDIN-SPEC-VIOLATION` that names it, so the
/// client's own error says what went wrong too.
fn checked(request: &Request, state: &Arc<Mutex<State>>, server: &str) -> Answer {
    let received = spec::Received {
        method: &request.method,
        path: &request.path,
        query: &request.query,
        headers: &request.headers,
        body: &request.body,
    };
    let (operation, mut violations) = spec::check_request(&received);
    let mut served = None;
    if let (Some(op), true) = (operation, violations.is_empty()) {
        let a = route(request, state, server);
        violations = spec::check_answer(op, a.status, &a.headers, &a.body);
        served = Some(a);
    }
    let tolerate = served.as_ref().map(|a| a.tolerate.clone()).unwrap_or_default();
    let (tolerated, violations): (Vec<_>, Vec<_>) = violations
        .into_iter()
        .partition(|v| tolerate.iter().any(|t| v.pointer.starts_with(t.as_str())));
    let mut s = state.lock().unwrap();
    s.tolerated.extend(tolerated);
    match served {
        Some(a) if violations.is_empty() => a,
        _ => {
            let message = violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            s.violations.extend(violations);
            api_error(500, "STANDIN-SPEC-VIOLATION", &message)
        }
    }
}

fn route(request: &Request, state: &Arc<Mutex<State>>, server: &str) -> Answer {
    // Rate limiting comes first, for every endpoint.
    {
        let mut s = state.lock().unwrap();
        if let Some(limit) = s.rate_limit.as_mut() {
            let now = Instant::now();
            if let Some(until) = limit.penalty_until.filter(|u| now < *u) {
                let left = (until - now).as_secs_f64().ceil() as u64;
                return rate_limited(left.max(1));
            }
            if limit.remaining > 0 {
                limit.remaining -= 1;
                limit.penalty_until = Some(now + Duration::from_secs(limit.retry_after));
                return rate_limited(limit.retry_after);
            }
        }
    }
    if request.path == "/restapi/oauth/token" && request.method == "POST" {
        return token(request, state);
    }
    if request.path.starts_with(phone_numbers::PATH) {
        return match authorized(request, state, "ReadAccounts") {
            Ok(account) => phone_numbers::route(request, state, server, &account),
            Err(refused) => refused,
        };
    }
    let Some(rest) = request.path.strip_prefix("/restapi/v1.0/subscription") else {
        return api_error(404, "CMN-102", "Resource is not found");
    };
    let account = match authorized(request, state, "SubscriptionWebhook") {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let segments: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", []) => {
            let mut s = state.lock().unwrap();
            let now = OffsetDateTime::now_utc();
            s.subscriptions.retain(|_, sub| sub.expiration > now);
            let shape = &s.knobs.shape;
            // RingCentral lists the caller's own subscriptions: its account's.
            let mut records: Vec<Value> = s
                .subscriptions
                .values()
                .filter(|sub| sub.account_id == account)
                .map(|sub| sub.to_json(server, shape))
                .collect();
            let mut tolerate = vec![];
            if let Some(kind) = s.knobs.malformed {
                let template = Sub {
                    id: "5a7e-malformed".to_owned(),
                    account_id: account.clone(),
                    address: "http://127.0.0.1:9/malformed".to_owned(),
                    verification_token: None,
                    event_filters: vec![CONTACT_CENTER_FILTER.to_owned()],
                    status: "Active".to_owned(),
                    expires_in: DEFAULT_EXPIRES_IN,
                    expiration: now + time::Duration::seconds(DEFAULT_EXPIRES_IN),
                    created: now,
                    blacklisted: None,
                    disabled_filters: vec![],
                };
                tolerate.push(format!("/records/{}/id", records.len()));
                records.push(variants::malformed(kind, template.to_json(server, shape)));
            }
            let list = json!({"uri": format!("{server}/restapi/v1.0/subscription"), "records": records});
            let mut a = answer(200, shape.list(list));
            // Only `IdAsNumber` breaks the spec, and only at that record's id.
            if s.knobs.malformed == Some(Malformed::IdAsNumber) {
                a.tolerate = tolerate;
            }
            a
        }
        ("POST", []) => create(request, state, server, &account),
        ("GET", [id]) => match live(state, id, &account) {
            Some(sub) => answer(200, sub.to_json(server, &state.lock().unwrap().knobs.shape)),
            None => not_found(id),
        },
        ("PUT", [id]) => update(request, state, server, id, &account),
        ("POST", [id, "renew"]) => {
            let mut s = state.lock().unwrap();
            let now = OffsetDateTime::now_utc();
            let ours = s
                .subscriptions
                .get_mut(*id)
                .filter(|sub| sub.expiration > now && sub.account_id == account);
            match ours {
                Some(sub) if sub.status == "Blacklisted" => {
                    api_error(400, "SUB-528", "Subscription is blacklisted and cannot be renewed")
                }
                Some(sub) => {
                    sub.expiration = now + time::Duration::seconds(sub.expires_in);
                    sub.status = "Active".to_owned();
                    let sub = sub.clone();
                    answer(200, sub.to_json(server, &s.knobs.shape))
                }
                None => not_found(id),
            }
        }
        ("DELETE", [id]) => {
            let delay = state.lock().unwrap().delete_delay;
            std::thread::sleep(delay);
            let mut s = state.lock().unwrap();
            let ours = s.subscriptions.get(*id).is_some_and(|sub| sub.account_id == account);
            match ours.then(|| s.subscriptions.remove(*id)).flatten() {
                Some(_) => Answer {
                    body: String::new(),
                    ..answer(204, Value::Null)
                },
                None => not_found(id),
            }
        }
        _ => api_error(404, "CMN-102", "Resource is not found"),
    }
}

/// A live access token, and the app permission the endpoint needs: the
/// account the token was granted for.
fn authorized(request: &Request, state: &Arc<Mutex<State>>, permission: &str) -> Result<String, Answer> {
    let s = state.lock().unwrap();
    let bearer = request.header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    let account = match bearer.and_then(|t| s.tokens.get(t)) {
        Some((expires, account)) if Instant::now() < *expires => account.clone(),
        Some(_) => return Err(token_invalid("OAU-128", "Access token expired")),
        None => return Err(token_invalid("OAU-213", "Token not found")),
    };
    if !s.permissions.contains(permission) {
        return Err(missing_permission(permission));
    }
    Ok(account)
}

/// The account a request speaks as, for the log: its access token's
/// (expired or not), or the account of the JWT a token grant asserts.
fn caller(request: &Request, s: &State) -> Option<String> {
    let bearer = request.header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    if let Some((_, account)) = bearer.and_then(|t| s.tokens.get(t)) {
        return Some(account.clone());
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&request.body).into_owned().collect();
    let assertion = form.get("assertion")?;
    s.accounts
        .iter()
        .find(|(_, a)| &a.jwt == assertion)
        .map(|(id, _)| id.clone())
}

/// RingCentral's 401: `TokenInvalid` at the top, the specific OAU code in `errors`.
fn token_invalid(code: &str, message: &str) -> Answer {
    answer(
        401,
        json!({"errorCode": "TokenInvalid", "message": message, "errors": [{"errorCode": code, "message": message}]}),
    )
}

/// The account's subscription, unexpired: another account's is not found, as RingCentral's.
fn live(state: &Arc<Mutex<State>>, id: &str, account: &str) -> Option<Sub> {
    let s = state.lock().unwrap();
    s.subscriptions
        .get(id)
        .filter(|sub| sub.expiration > OffsetDateTime::now_utc() && sub.account_id == account)
        .cloned()
}

fn not_found(id: &str) -> Answer {
    api_error(
        404,
        "CMN-102",
        &format!("Resource for parameter [subscriptionId] is not found: {id}"),
    )
}

fn rate_limited(retry_after: u64) -> Answer {
    let mut a = api_error(429, "CMN-301", "Request rate exceeded");
    a.headers.push(("Retry-After".to_owned(), retry_after.to_string()));
    a
}

fn token(request: &Request, state: &Arc<Mutex<State>>) -> Answer {
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    if request.header("authorization") != Some(&format!("Basic {expected}")) {
        return answer(
            401,
            json!({"error": "invalid_client", "error_description": "Invalid client",
                   "errors": [{"errorCode": "OAU-123", "message": "Client authentication is required"}]}),
        );
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&request.body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some(JWT_GRANT) {
        return answer(
            400,
            json!({"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}),
        );
    }
    let mut s = state.lock().unwrap();
    // The JWT names its account: each customer's own credential for the one app.
    let assertion = form.get("assertion").map(String::as_str);
    let Some((account, owner_id)) = s
        .accounts
        .iter()
        .find(|(_, a)| Some(a.jwt.as_str()) == assertion)
        .map(|(id, a)| (id.clone(), a.owner_id.clone()))
    else {
        return answer(
            400,
            json!({"error": "invalid_grant", "error_description": "Invalid JWT token",
                   "errors": [{"errorCode": "OAU-251", "message": "Invalid JWT token"}]}),
        );
    };
    s.grants += 1;
    if let Some(entry) = s.accounts.get_mut(&account) {
        entry.grants += 1;
    }
    let access = format!("standin-access-token-{}", s.grants);
    let lifetime = s.token_lifetime;
    s.tokens.insert(
        access.clone(),
        (Instant::now() + Duration::from_secs(lifetime), account),
    );
    answer(
        200,
        json!({"access_token": access, "token_type": "bearer", "expires_in": lifetime,
               "refresh_token": format!("standin-refresh-{}", s.grants), "refresh_token_expires_in": 604800,
               "scope": s.permissions.iter().cloned().collect::<Vec<_>>().join(" "), "owner_id": owner_id}),
    )
}

fn create(request: &Request, state: &Arc<Mutex<State>>, server: &str, account: &str) -> Answer {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return api_error(400, "CMN-101", "Parameter [body] value is invalid");
    };
    let filters: Vec<String> = body["eventFilters"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if filters.is_empty() {
        return api_error(400, "CMN-101", "Parameter [eventFilters] value is invalid");
    }
    let mode = &body["deliveryMode"];
    let Some(address) = mode["address"].as_str().filter(|_| mode["transportType"] == "WebHook") else {
        return api_error(400, "CMN-101", "Parameter [deliveryMode] value is invalid");
    };
    let token = mode["verificationToken"].as_str().map(str::to_owned);
    if let Some(refused) = accounts::other_accounts_filter(&filters, account) {
        return refused;
    }
    {
        let mut s = state.lock().unwrap();
        // The limit is each account's own.
        let existing = s.subscriptions.values().filter(|sub| sub.account_id == account).count();
        if let Some(refused) = s.knobs.refusal(existing) {
            return refused;
        }
    }
    let needs_accounts = filters.iter().any(|f| f.contains("/phone-number"))
        && !state.lock().unwrap().permissions.contains("ReadAccounts");
    if needs_accounts {
        return missing_permission("ReadAccounts");
    }
    // The validation handshake, with the state unlocked.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let validation_token = format!("standin-validation-{}-{n}", std::process::id());
    let mut headers = vec![
        ("Validation-Token", validation_token.clone()),
        ("User-Agent", "RingCentral-Webhook/8.3 (stand-in)".to_owned()),
    ];
    if let Some(t) = &token {
        headers.push(("Verification-Token", t.clone()));
    }
    let result = exchange(address, &headers, b"", ANSWER_TIMEOUT);
    let handshake = match &result {
        Ok(a) => Handshake {
            status: Some(a.status),
            answer_bytes: a.total_bytes,
            echoed: a.header("validation-token") == Some(validation_token.as_str()),
            outcome: String::new(),
        },
        Err(_) => Handshake {
            status: None,
            answer_bytes: 0,
            echoed: false,
            outcome: String::new(),
        },
    };
    let outcome = if handshake.answer_bytes > MAX_ANSWER_BYTES {
        "SUB-525"
    } else if handshake.status != Some(200) || !handshake.echoed {
        "SUB-520"
    } else {
        "accepted"
    };
    state.lock().unwrap().handshakes.push(Handshake {
        outcome: outcome.to_owned(),
        ..handshake
    });
    match outcome {
        "SUB-525" => return api_error(400, "SUB-525", "WebHook server response is invalid"),
        "SUB-520" => return api_error(400, "SUB-520", "Validation Token is not returned"),
        _ => {}
    }
    // Only the top-level expiresIn counts.
    let expires_in = body["expiresIn"]
        .as_i64()
        .unwrap_or(DEFAULT_EXPIRES_IN)
        .clamp(1, MAX_EXPIRES_IN);
    let mut s = state.lock().unwrap();
    let now = OffsetDateTime::now_utc();
    let id = s.new_id();
    let sub = Sub {
        id: id.clone(),
        account_id: account.to_owned(),
        address: address.to_owned(),
        verification_token: token,
        event_filters: filters,
        status: "Active".to_owned(),
        expires_in,
        expiration: now + time::Duration::seconds(expires_in),
        created: now,
        blacklisted: None,
        disabled_filters: vec![],
    };
    let mut sub = sub;
    if let Some(code) = s.knobs.disable_on_create.clone() {
        sub.disabled_filters
            .push(variants::disabled_contact_center_filter(&sub.event_filters, &code));
    }
    let json = sub.to_json(server, &s.knobs.shape);
    s.subscriptions.insert(id, sub);
    answer(200, json)
}

/// `PUT /restapi/v1.0/subscription/{id}` (updateSubscription): new
/// `eventFilters`, and `expiresIn` (restarting the lifetime) and
/// `deliveryMode` when given; no new handshake. RingCentral re-validates
/// the filters, so `disabledFilters` clears.
fn update(request: &Request, state: &Arc<Mutex<State>>, server: &str, id: &str, account: &str) -> Answer {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return api_error(400, "CMN-101", "Parameter [body] value is invalid");
    };
    let Some(filters) = body["eventFilters"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .filter(|f| !f.is_empty())
    else {
        return api_error(400, "CMN-101", "Parameter [eventFilters] value is invalid");
    };
    if let Some(refused) = accounts::other_accounts_filter(&filters, account) {
        return refused;
    }
    let mut s = state.lock().unwrap();
    let now = OffsetDateTime::now_utc();
    let ours = s
        .subscriptions
        .get_mut(id)
        .filter(|sub| sub.expiration > now && sub.account_id == account);
    let Some(sub) = ours else {
        return not_found(id);
    };
    sub.event_filters = filters;
    sub.disabled_filters.clear();
    if let Some(expires_in) = body["expiresIn"].as_i64() {
        sub.expires_in = expires_in.clamp(1, MAX_EXPIRES_IN);
        sub.expiration = now + time::Duration::seconds(sub.expires_in);
    }
    if let Some(address) = body["deliveryMode"]["address"].as_str() {
        sub.address = address.to_owned();
    }
    if let Some(token) = body["deliveryMode"]["verificationToken"].as_str() {
        sub.verification_token = Some(token.to_owned());
    }
    let sub = sub.clone();
    answer(200, sub.to_json(server, &s.knobs.shape))
}
