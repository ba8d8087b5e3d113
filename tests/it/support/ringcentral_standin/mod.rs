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
//!   or does not echo the token, or none comes within the handshake timeout.
//!   `expiresIn` counts only at the top level (inside `deliveryMode` it is
//!   ignored and the 7-day default applies).
//! - Deliveries (`deliver`) POST a notification with the subscription's
//!   `Verification-Token`; a non-200 answer, an answer over 1,024 bytes or
//!   none at all blacklists the subscription, with RingCentral's reasons.
//!   (RingCentral blacklists after repeated failures; the stand-in after one.)
//! - Rate limiting (`rate_limit`): 429 `CMN-301` with `Retry-After`; a
//!   client that comes back before `Retry-After` has passed gets 429 again.
//! - Expired subscriptions disappear from the list.
//!
//! Only plain http:// addresses, on loopback.

pub mod webhook;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use webhook::{Behavior, FakeWebhook};

pub const CLIENT_ID: &str = "standinClientId";
pub const CLIENT_SECRET: &str = "standinClientSecret";
pub const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.c3RhbmQtaW4.c2lnbmF0dXJl";
pub const MAX_ANSWER_BYTES: usize = 1024;
const DEFAULT_EXPIRES_IN: i64 = 604_800;
const MAX_EXPIRES_IN: i64 = 315_360_000;
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RingCentral's limit for the handshake answer.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(3000);

#[derive(Debug, Clone)]
pub struct Sub {
    pub id: String,
    pub address: String,
    pub verification_token: Option<String>,
    pub event_filters: Vec<String>,
    pub status: String,
    pub expires_in: i64,
    pub expiration: OffsetDateTime,
    pub created: OffsetDateTime,
    pub blacklisted: Option<(String, String)>,
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
}

struct RateLimit {
    remaining: u32,
    retry_after: u64,
    penalty_until: Option<Instant>,
}

struct State {
    permissions: BTreeSet<String>,
    token_lifetime: u64,
    tokens: HashMap<String, Instant>,
    grants: usize,
    rate_limit: Option<RateLimit>,
    subscriptions: BTreeMap<String, Sub>,
    next_id: u32,
    log: Vec<Logged>,
    handshakes: Vec<Handshake>,
}

pub struct StandIn {
    pub url: String,
    state: Arc<Mutex<State>>,
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: body.to_string(),
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
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(State {
            permissions: ["SubscriptionWebhook", "ReadAccounts"].map(String::from).into(),
            token_lifetime: 3600,
            tokens: HashMap::new(),
            grants: 0,
            rate_limit: None,
            subscriptions: BTreeMap::new(),
            next_id: 1,
            log: vec![],
            handshakes: vec![],
        }));
        let shared = state.clone();
        let server = url.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                let server = server.clone();
                std::thread::spawn(move || serve(stream, &state, &server));
            }
        });
        StandIn { url, state }
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

    /// A subscription created earlier (its handshake long done).
    pub fn seed(&self, address: &str, verification_token: &str, lifetime: Duration) -> String {
        self.with(|s| {
            let now = OffsetDateTime::now_utc();
            let id = s.new_id();
            s.subscriptions.insert(
                id.clone(),
                Sub {
                    id: id.clone(),
                    address: address.to_owned(),
                    verification_token: Some(verification_token.to_owned()),
                    event_filters: vec![
                        "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber".to_owned(),
                    ],
                    status: "Active".to_owned(),
                    expires_in: MAX_EXPIRES_IN,
                    expiration: now + lifetime,
                    created: now,
                    blacklisted: None,
                },
            );
            id
        })
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
        let sub = self.subscription(id).unwrap();
        let mut headers = vec![
            ("Content-Type", "application/json; charset=UTF-8".to_owned()),
            ("Accept", "application/json".to_owned()),
            ("User-Agent", "RingCentral-Webhook/8.3 (stand-in)".to_owned()),
        ];
        if let Some(token) = &sub.verification_token {
            headers.push(("Verification-Token", token.clone()));
        }
        let result = exchange(&sub.address, &headers, body.as_bytes(), Duration::from_secs(30));
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
        Delivery {
            status,
            answer_bytes,
            body: text,
            blacklisted,
        }
    }

    pub fn blacklist(&self, id: &str, reason: &str) {
        self.with(|s| {
            let sub = s.subscriptions.get_mut(id).unwrap();
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

    /// The body of a notification as RingCentral sends it to this subscription.
    pub fn notification(&self, id: &str, body_file: &str) -> String {
        let path = format!("{}/events/bodies/{body_file}.json", env!("CARGO_MANIFEST_DIR"));
        let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        value["subscriptionId"] = json!(id);
        value.to_string()
    }
}

impl State {
    fn new_id(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("5a7e{n:04x}-0000-4000-8000-standin{n:05}")
    }
}

impl Sub {
    fn to_json(&self, server: &str) -> Value {
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
        value
    }
}

fn serve(mut stream: TcpStream, state: &Arc<Mutex<State>>, server: &str) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let answer = route(&request, state, server);
    {
        let mut s = state.lock().unwrap();
        s.log.push(Logged {
            method: request.method.clone(),
            path: request.path.clone(),
            status: answer.status,
            body: String::from_utf8_lossy(&request.body).into_owned(),
        });
    }
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        reason_phrase(answer.status),
        answer.body.len()
    );
    for (k, v) in &answer.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(answer.body.as_bytes());
    let _ = stream.flush();
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Unknown",
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
    let Some(rest) = request.path.strip_prefix("/restapi/v1.0/subscription") else {
        return api_error(404, "CMN-102", "Resource is not found");
    };
    {
        let s = state.lock().unwrap();
        let bearer = request.header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        match bearer.and_then(|t| s.tokens.get(t)) {
            Some(expires) if Instant::now() < *expires => {}
            Some(_) => return api_error(401, "TokenInvalid", "Token is expired"),
            None => return api_error(401, "TokenInvalid", "Invalid token"),
        }
        if !s.permissions.contains("SubscriptionWebhook") {
            return missing_permission("SubscriptionWebhook");
        }
    }
    let segments: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", []) => {
            let mut s = state.lock().unwrap();
            let now = OffsetDateTime::now_utc();
            s.subscriptions.retain(|_, sub| sub.expiration > now);
            let records: Vec<Value> = s.subscriptions.values().map(|sub| sub.to_json(server)).collect();
            answer(
                200,
                json!({"uri": format!("{server}/restapi/v1.0/subscription"), "records": records}),
            )
        }
        ("POST", []) => create(request, state, server),
        ("GET", [id]) => match live(state, id) {
            Some(sub) => answer(200, sub.to_json(server)),
            None => not_found(id),
        },
        ("POST", [id, "renew"]) => {
            let mut s = state.lock().unwrap();
            let now = OffsetDateTime::now_utc();
            match s.subscriptions.get_mut(*id).filter(|sub| sub.expiration > now) {
                Some(sub) if sub.status == "Blacklisted" => {
                    api_error(400, "SUB-528", "Subscription is blacklisted and cannot be renewed")
                }
                Some(sub) => {
                    sub.expiration = now + time::Duration::seconds(sub.expires_in);
                    sub.status = "Active".to_owned();
                    answer(200, sub.to_json(server))
                }
                None => not_found(id),
            }
        }
        ("DELETE", [id]) => {
            let mut s = state.lock().unwrap();
            match s.subscriptions.remove(*id) {
                Some(_) => Answer {
                    status: 204,
                    headers: vec![],
                    body: String::new(),
                },
                None => not_found(id),
            }
        }
        _ => api_error(404, "CMN-102", "Resource is not found"),
    }
}

fn live(state: &Arc<Mutex<State>>, id: &str) -> Option<Sub> {
    let s = state.lock().unwrap();
    s.subscriptions
        .get(id)
        .filter(|sub| sub.expiration > OffsetDateTime::now_utc())
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
    let form = parse_form(&String::from_utf8_lossy(&request.body));
    if form.get("grant_type").map(String::as_str) != Some(JWT_GRANT) {
        return answer(
            400,
            json!({"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}),
        );
    }
    if form.get("assertion").map(String::as_str) != Some(JWT) {
        return answer(
            400,
            json!({"error": "invalid_grant", "error_description": "Invalid JWT token",
                   "errors": [{"errorCode": "OAU-251", "message": "Invalid JWT token"}]}),
        );
    }
    let mut s = state.lock().unwrap();
    s.grants += 1;
    let access = format!("standin-access-token-{}", s.grants);
    let lifetime = s.token_lifetime;
    s.tokens
        .insert(access.clone(), Instant::now() + Duration::from_secs(lifetime));
    answer(
        200,
        json!({"access_token": access, "token_type": "bearer", "expires_in": lifetime,
               "refresh_token": format!("standin-refresh-{}", s.grants), "refresh_token_expires_in": 604800,
               "scope": s.permissions.iter().cloned().collect::<Vec<_>>().join(" "), "owner_id": "37439510"}),
    )
}

fn create(request: &Request, state: &Arc<Mutex<State>>, server: &str) -> Answer {
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
    let result = exchange(address, &headers, b"", HANDSHAKE_TIMEOUT);
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
        address: address.to_owned(),
        verification_token: token,
        event_filters: filters,
        status: "Active".to_owned(),
        expires_in,
        expiration: now + time::Duration::seconds(expires_in),
        created: now,
        blacklisted: None,
    };
    let json = sub.to_json(server);
    s.subscriptions.insert(id, sub);
    answer(200, json)
}

fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let (head, mut body) = read_head(stream)?;
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = read_chunked(stream, body)?;
    } else {
        let length: usize = find("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        while body.len() < length {
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&buf[..n]);
        }
        body.truncate(length);
    }
    Some(Request {
        method,
        path: path.split('?').next().unwrap_or_default().to_owned(),
        headers,
        body,
    })
}

/// Reads up to the blank line; returns the head and what came after it.
fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            return Some((head, data[end + 4..].to_vec()));
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
}

fn read_chunked(stream: &mut TcpStream, mut data: Vec<u8>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        while !data.windows(2).any(|w| w == b"\r\n") {
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&buf[..n]);
        }
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?.trim(), 16).ok()?;
        data.drain(..line_end + 2);
        if size == 0 {
            return Some(out);
        }
        while data.len() < size + 2 {
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&buf[..n]);
        }
        out.extend_from_slice(&data[..size]);
        data.drain(..size + 2);
    }
}

/// The raw answer of an address: every byte counted, headers included.
pub struct RawAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub total_bytes: usize,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One POST over a fresh connection, as RingCentral's webhook client does.
pub fn exchange(
    address: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<RawAnswer, String> {
    let rest = address
        .strip_prefix("http://")
        .ok_or("the stand-in delivers to http:// only")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    stream.write_all(body).map_err(|e| e.to_string())?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let mut expected_total: Option<usize> = None;
    loop {
        if expected_total.is_some_and(|t| data.len() >= t) || data.len() > 64 * 1024 {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("Read timed out".to_owned());
        }
        stream.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(_) => return Err("Read timed out".to_owned()),
        }
        if expected_total.is_none() {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if let Some(length) = length {
                    expected_total = Some(end + 4 + length);
                }
            }
        }
    }
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no complete answer")?;
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(RawAnswer {
        status,
        headers,
        body: data[end + 4..].to_vec(),
        total_bytes: data.len(),
    })
}
