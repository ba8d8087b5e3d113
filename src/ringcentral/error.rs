//! What can go wrong talking to RingCentral, each as one line that says
//! what to do; RingCentral's error codes, each with its own explanation
//! ([`EXPLANATIONS`]); and reading RingCentral's two error body shapes (the
//! REST API's `errorCode`/`message`/`errors[]`, OAuth's
//! `error`/`error_description`).
//!
//! One variant per outcome, not per code: a variant is what the caller does
//! differently (wait, fix the credentials, fix the app's permissions, fix
//! the address, clean up subscriptions, retry later); the operator's next
//! step for each code is the table's `hint`, carried in the variant. Codes
//! whose outcome is the same for the program (stop and say why: SUB-406,
//! SUB-516, SUB-527, CMN-101, ...) share [`RingCentralError::Refused`].

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingCentralError {
    /// 401 (OAU-1xx/2xx, CMN-405) or a refused token request.
    #[error("RingCentral rejected the app's credentials ({detail}): {hint}")]
    BadCredentials { detail: String, hint: String },
    /// CMN-408, or a 403 without a code.
    #[error("the RingCentral app lacks the {permission} permission ({detail}): {hint}")]
    MissingPermission {
        permission: String,
        detail: String,
        hint: String,
    },
    /// 429 (CMN-301, CMN-302) beyond what this run may wait.
    #[error("RingCentral is rate limiting this app ({detail}): Retry-After asks for {retry_after} s, more than the {budget} s this run may still wait; {hint}")]
    RateLimited {
        retry_after: u64,
        budget: u64,
        detail: String,
        hint: String,
    },
    /// CMN-201: nothing is wrong on this side; later it works.
    #[error("RingCentral is unavailable for {operation} ({detail}): {hint}")]
    Unavailable {
        operation: &'static str,
        detail: String,
        hint: String,
    },
    /// SUB-520, SUB-521, SUB-523, SUB-525: the webhook address or what
    /// answers there is the cause.
    #[error("RingCentral refused the subscription ({code}: {message}): {hint}")]
    HandshakeFailed {
        code: String,
        message: String,
        hint: String,
    },
    /// SUB-505: the app has too many subscriptions; the CLI lists them.
    #[error("RingCentral refused the subscription ({code}: {message}): {hint}")]
    SubscriptionLimit {
        code: String,
        message: String,
        hint: String,
    },
    /// Any other code with an explanation: the request cannot succeed as it is.
    #[error("RingCentral refused {operation} with HTTP {status} ({code}: {message}): {hint}")]
    Refused {
        status: u16,
        operation: &'static str,
        code: String,
        message: String,
        hint: String,
    },
    #[error("RingCentral has no subscription {0}")]
    NotFound(String),
    #[error("{0:?} is not a subscription id")]
    InvalidSubscriptionId(String),
    /// An unknown code (or none): the code and RingCentral's message.
    #[error("RingCentral answered HTTP {status} to {operation} ({detail})")]
    Api {
        status: u16,
        operation: &'static str,
        detail: String,
    },
    #[error("could not reach RingCentral at {server} for {operation}: {detail}")]
    Transport {
        server: String,
        operation: &'static str,
        detail: String,
    },
    #[error("RingCentral's answer to {operation} could not be read: {detail}")]
    InvalidAnswer { operation: &'static str, detail: String },
    #[error("no trusted root certificates for HTTPS to RingCentral: {0}")]
    NoRootCertificates(String),
}

/// Which variant a code becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Credentials,
    Permission,
    RateLimit,
    Unavailable,
    Handshake,
    SubscriptionLimit,
    Refused,
}

/// What one RingCentral error code means and what the operator should do;
/// `{address}` in a hint stands for the webhook address.
#[derive(Debug)]
pub struct Explanation {
    pub code: &'static str,
    pub outcome: Outcome,
    pub hint: &'static str,
}

const fn explain(code: &'static str, outcome: Outcome, hint: &'static str) -> Explanation {
    Explanation { code, outcome, hint }
}

use Outcome::*;

/// Every code the spec lists for the operations the client calls
/// (`x-error-codes` in tests/fixtures/ringcentral/openapi-shapes.json; a
/// test keeps them in step), plus CMN-408, which RingCentral sends for a
/// missing app permission.
pub const EXPLANATIONS: &[Explanation] = &[
    explain("CMN-101", Refused, "RingCentral found a parameter of the request invalid (its message names it); cc-number-relay sends fixed parameters, so report this with the message as a bug"),
    explain("CMN-102", Refused, "what the request names does not exist (any more) in RingCentral's account; run the command again, and if it repeats check the id"),
    explain("CMN-120", Refused, "RingCentral does not know this URI: check RINGCENTRAL_SERVER_URL (https://platform.ringcentral.com, or https://platform.devtest.ringcentral.com for the sandbox) and the id"),
    explain("CMN-201", Unavailable, "RingCentral's service is temporarily unavailable (maintenance or an incident, see status.ringcentral.com); nothing is wrong on this side: try again in a few minutes"),
    explain("CMN-301", RateLimit, "the app went over its rate group's requests a minute (by default Heavy 10, Medium 40, Light 50, Auth 5 per user) and RingCentral refuses it for a penalty interval (60 s by default): try again later, with nothing else using the app's credentials meanwhile"),
    explain("CMN-302", RateLimit, "RingCentral's other request-rate limit (it documents CMN-302 with the same message as CMN-301, for creating and updating subscriptions): try again later, and do not create subscriptions in a loop"),
    explain("CMN-405", Credentials, "the access token is not a user's login: RINGCENTRAL_JWT must be a JWT credential a user of the account created (Developer Console, Credentials) for an app with the JWT auth flow"),
    explain("CMN-408", Permission, "add it to the app in the RingCentral Developer Console; the subscription needs SubscriptionWebhook and ReadAccounts"),
    explain("OAU-127", Credentials, "RingCentral does not know the app on this server: check RINGCENTRAL_CLIENT_ID, and RINGCENTRAL_SERVER_URL (a sandbox app works only against https://platform.devtest.ringcentral.com)"),
    explain("OAU-128", Credentials, "the access token expired, and the fresh one this run got was refused too: run the command again; if it repeats, check that the clock of this host is right and RINGCENTRAL_SERVER_URL is the server that issued the JWT"),
    explain("OAU-129", Credentials, "RingCentral could not read back the access token it issued: something between this host and RingCentral (a proxy) alters the Authorization header; run the command again without it"),
    explain("OAU-149", Credentials, "the access token is not valid on this server: check RINGCENTRAL_SERVER_URL (sandbox and production tokens are not interchangeable) and run the command again"),
    explain("OAU-151", Credentials, "this endpoint does not accept the app's kind of authorization: the app must use the JWT auth flow (Bearer access tokens); check its auth settings in the Developer Console"),
    explain("OAU-165", Credentials, "RingCentral refused the access token without saying why (OAU-165 has no documented message): run the command again; if it repeats, create a new JWT credential and put it in RINGCENTRAL_JWT"),
    explain("OAU-213", Credentials, "the access token was revoked while this run used it (a logout, a changed client secret or a revoked JWT): run the command again; if it repeats, put a current JWT credential in RINGCENTRAL_JWT"),
    explain("OAU-232", Credentials, "the user the JWT credential belongs to no longer exists in the account: create a JWT credential as an existing (admin) user and put it in RINGCENTRAL_JWT"),
    explain("OAU-236", Credentials, "the user the JWT credential belongs to is disabled or frozen: enable the user in RingCentral's admin portal, or put an enabled user's JWT credential in RINGCENTRAL_JWT"),
    explain("SUB-406", Refused, "the app's credentials belong to another RingCentral account than the one the event filter names: put the JWT credential of a user of the account whose Contact Center numbers are relayed in RINGCENTRAL_JWT (the filter's ~ is the credential's own account)"),
    explain("SUB-505", SubscriptionLimit, "the app has too many subscriptions (about 20 per user and app), usually orphans of earlier stacks or tests: list them with `cc-number-relay-ctl subscriptions` and delete the orphans with `cc-number-relay-ctl subscriptions delete ID`"),
    explain("SUB-516", Refused, "RingCentral refused the renewal-reminder filter's threshold or interval; cc-number-relay asks for threshold=86400&interval=3600, so report this with the message as a bug"),
    explain("SUB-520", Handshake, "RingCentral's validation request to {address} did not get HTTP 200 echoing its Validation-Token header within 3 s; usually the address is wrong or the stack is not deployed yet, or something in front of the relay answers instead of it or drops the header"),
    explain("SUB-521", Handshake, "RingCentral could not reach {address} at all: its host name does not resolve (DNS), TLS failed (an expired, untrusted or wrong-name certificate), a firewall or WAF blocks RingCentral, or the stack is not deployed; use the stack's WebhookUrl output and check it answers from outside your network"),
    explain("SUB-523", Handshake, "{address} is not an https:// address, and RingCentral delivers only over HTTPS: use the stack's WebhookUrl output (https://...)"),
    explain("SUB-525", Handshake, "the answer of {address} to RingCentral's validation request was invalid, usually because it was over 1,024 bytes (headers and body together) or not HTTP 200; that usually means something other than the relay answered (an error page, a proxy, a gateway adding large headers)"),
    explain("SUB-527", Refused, "RingCentral refused an event filter for another extension's missed calls; the relay asks only for Contact Center numbers and renewal reminders, so report this with the message as a bug"),
];

/// The explanation of `code`, when it has one.
pub fn explanation(code: &str) -> Option<&'static Explanation> {
    EXPLANATIONS.iter().find(|e| e.code == code)
}

/// For credentials refused without a code this table knows.
const CREDENTIALS_HINT: &str = "check RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT, and that the app uses the JWT auth flow";
/// For a 403 without a code: the permissions the relay's calls need.
const PERMISSIONS: &str = "SubscriptionWebhook or ReadAccounts";
/// For a 429 without a code this table knows.
const RATE_LIMIT_HINT: &str = "try again later";

impl RingCentralError {
    /// RingCentral's error code, where the outcome is decided by one
    /// (`SUB-505`, `SUB-520`, …): what a finding carries so that callers
    /// need not read it back from the text.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::HandshakeFailed { code, .. } | Self::SubscriptionLimit { code, .. } | Self::Refused { code, .. } => {
                Some(code)
            }
            _ => None,
        }
    }

    /// RingCentral's error answer (any status but 2xx) to `operation`, as
    /// the variant its code asks for, with its explanation. `address`: the
    /// webhook address, for creating a subscription.
    pub(crate) fn from_answer(status: u16, operation: &'static str, raw: &str, address: Option<&str>) -> Self {
        let body = ErrorBody::parse(raw);
        let detail = body.detail(raw);
        let code = body.code().map(str::to_owned);
        let message = one_line(body.message().unwrap_or_default());
        let Some(known) = code.as_deref().and_then(explanation) else {
            return match status {
                401 => Self::credentials(raw),
                403 if code.is_none() => Self::MissingPermission {
                    permission: PERMISSIONS.to_owned(),
                    detail,
                    hint: hint_of("CMN-408"),
                },
                _ => Self::Api {
                    status,
                    operation,
                    detail,
                },
            };
        };
        let code = known.code.to_owned();
        let hint = known
            .hint
            .replace("{address}", address.unwrap_or("the webhook address"));
        match known.outcome {
            Credentials => Self::BadCredentials { detail, hint },
            Permission => Self::MissingPermission {
                permission: body.permission().unwrap_or_else(|| PERMISSIONS.to_owned()),
                detail,
                hint,
            },
            Unavailable => Self::Unavailable {
                operation,
                detail,
                hint,
            },
            Handshake => Self::HandshakeFailed { code, message, hint },
            SubscriptionLimit => Self::SubscriptionLimit { code, message, hint },
            // A rate-limit code with another status than 429 (a 429 never
            // gets here: `Client::send` waits or gives up on it).
            RateLimit | Refused => Self::Refused {
                status,
                operation,
                code,
                message,
                hint,
            },
        }
    }

    /// A refused token request, or a 401 RingCentral sent again after a
    /// fresh token: the code's own explanation, else what to check.
    pub(crate) fn credentials(raw: &str) -> Self {
        let body = ErrorBody::parse(raw);
        let hint = body
            .code()
            .and_then(explanation)
            .filter(|e| e.outcome == Credentials)
            .map_or(CREDENTIALS_HINT, |e| e.hint);
        Self::BadCredentials {
            detail: body.detail(raw),
            hint: hint.to_owned(),
        }
    }

    /// A 429 this run cannot wait out.
    pub(crate) fn rate_limited(retry_after: u64, budget: u64, raw: &str) -> Self {
        let body = ErrorBody::parse(raw);
        let hint = body
            .code()
            .and_then(explanation)
            .filter(|e| e.outcome == RateLimit)
            .map_or(RATE_LIMIT_HINT, |e| e.hint);
        Self::RateLimited {
            retry_after,
            budget,
            detail: body.detail(raw),
            hint: hint.to_owned(),
        }
    }
}

fn hint_of(code: &str) -> String {
    explanation(code).map_or_else(String::new, |e| e.hint.to_owned())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorBody {
    #[serde(rename = "errorCode")]
    pub error_code: Option<String>,
    pub message: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    #[serde(rename = "permissionName")]
    pub permission_name: Option<String>,
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorItem {
    #[serde(rename = "errorCode")]
    pub error_code: Option<String>,
    pub message: Option<String>,
    #[serde(rename = "permissionName")]
    pub permission_name: Option<String>,
}

impl ErrorBody {
    pub fn parse(body: &str) -> Self {
        serde_json::from_str(body).unwrap_or_default()
    }

    /// The most specific error code: the first of `errors[]`, else the top one.
    pub fn code(&self) -> Option<&str> {
        self.errors
            .iter()
            .find_map(|e| e.error_code.as_deref())
            .or(self.error_code.as_deref())
            .or(self.error.as_deref())
    }

    pub fn message(&self) -> Option<&str> {
        self.errors
            .iter()
            .find_map(|e| e.message.as_deref())
            .or(self.message.as_deref())
            .or(self.error_description.as_deref())
    }

    /// `CODE: message`, or whatever part of it is there; OAuth's
    /// `error: description (CODE)`.
    pub fn detail(&self, raw: &str) -> String {
        if let Some(error) = &self.error {
            let description = self.error_description.as_deref().or(self.message());
            let code = self.errors.iter().find_map(|e| e.error_code.as_deref());
            return one_line(&format!(
                "{error}{}{}",
                description.map_or_else(String::new, |d| format!(": {d}")),
                code.map_or_else(String::new, |c| format!(" ({c})"))
            ));
        }
        match (self.code(), self.message()) {
            (Some(c), Some(m)) => one_line(&format!("{c}: {m}")),
            (Some(c), None) => one_line(c),
            (None, Some(m)) => one_line(m),
            (None, None) if raw.trim().is_empty() => "no details".to_owned(),
            (None, None) => one_line(raw),
        }
    }

    /// The permission RingCentral names, in `permissionName` or in a message
    /// such as "... needs to have [ReadAccounts] permission".
    pub fn permission(&self) -> Option<String> {
        let named = self
            .errors
            .iter()
            .find_map(|e| e.permission_name.clone())
            .or_else(|| self.permission_name.clone());
        named.or_else(|| {
            let message = self.message()?;
            let start = message.find('[')? + 1;
            let end = start + message[start..].find(']')?;
            let name = &message[start..end];
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())).then(|| name.to_owned())
        })
    }
}

/// At most 300 characters, on one line.
pub(crate) fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    flat.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rest_and_oauth_errors() {
        let rest = ErrorBody::parse(
            r#"{"errorCode":"CMN-408","message":"In order to call this API endpoint, application needs to have [ReadAccounts] permission","errors":[{"errorCode":"CMN-408","message":"In order to call this API endpoint, application needs to have [ReadAccounts] permission"}]}"#,
        );
        assert_eq!(rest.code(), Some("CMN-408"));
        assert_eq!(rest.permission().as_deref(), Some("ReadAccounts"));
        let oauth = ErrorBody::parse(r#"{"error":"invalid_client","error_description":"Invalid client: abc"}"#);
        assert_eq!(oauth.detail(""), "invalid_client: Invalid client: abc");
        assert_eq!(
            ErrorBody::parse("<html>\n</html>").detail("<html>\n</html>"),
            "<html> </html>"
        );
    }

    const ADDRESS: &str = "https://relay.example/ringcentral/contact-center-numbers";

    /// RingCentral's error answer with `code`, as `from_answer` makes it.
    fn refusal(status: u16, code: &str, message: &str) -> RingCentralError {
        let body = serde_json::json!({"errorCode": code, "message": message,
                                      "errors": [{"errorCode": code, "message": message}]});
        RingCentralError::from_answer(status, "creating the subscription", &body.to_string(), Some(ADDRESS))
    }

    /// One test per code: its variant, and the phrases that say what it
    /// means and what to do, in the one line the operator reads.
    macro_rules! explains {
        ($($test:ident: $status:literal $code:literal $message:literal => $variant:ident, [$($phrase:literal),+ $(,)?];)+) => {$(
            #[test]
            fn $test() {
                let error = refusal($status, $code, $message);
                assert!(matches!(error, RingCentralError::$variant { .. }), "{error:?}");
                let line = error.to_string();
                assert!(!line.contains('\n'), "{line}");
                assert!(line.contains(&format!("{}: {}", $code, $message)), "{line}");
                $(assert!(line.contains($phrase), "{:?} not in {line}", $phrase);)+
            }
        )+};
    }

    explains! {
        cmn_101: 400 "CMN-101" "Parameter [perPage] value is invalid." => Refused,
            ["RingCentral refused creating the subscription with HTTP 400 (", "a parameter of the request invalid", "report this with the message as a bug"];
        cmn_102: 400 "CMN-102" "Resource for parameter [phoneNumberId] is not found" => Refused,
            ["does not exist (any more)", "run the command again"];
        cmn_120: 404 "CMN-120" "Invalid URI" => Refused,
            ["does not know this URI", "check RINGCENTRAL_SERVER_URL"];
        cmn_201: 503 "CMN-201" "Service Temporary Unavailable" => Unavailable,
            ["RingCentral is unavailable for creating the subscription (", "status.ringcentral.com", "try again in a few minutes"];
        cmn_408: 403 "CMN-408" "In order to call this API endpoint, application needs to have [ReadAccounts] permission" => MissingPermission,
            ["the RingCentral app lacks the ReadAccounts permission (", "add it to the app in the RingCentral Developer Console"];
        cmn_405: 401 "CMN-405" "Login to extension required" => BadCredentials,
            ["RingCentral rejected the app's credentials (", "not a user's login", "RINGCENTRAL_JWT must be a JWT credential"];
        oau_127: 401 "OAU-127" "Invalid application" => BadCredentials,
            ["does not know the app on this server", "check RINGCENTRAL_CLIENT_ID"];
        oau_128: 401 "OAU-128" "Access token expired" => BadCredentials,
            ["the access token expired", "run the command again"];
        oau_129: 401 "OAU-129" "Access token corrupted" => BadCredentials,
            ["could not read back the access token", "alters the Authorization header"];
        oau_149: 401 "OAU-149" "Invalid token" => BadCredentials,
            ["not valid on this server", "sandbox and production tokens are not interchangeable"];
        oau_151: 401 "OAU-151" "Authorization method not supported" => BadCredentials,
            ["does not accept the app's kind of authorization", "JWT auth flow"];
        oau_165: 401 "OAU-165" "null" => BadCredentials,
            ["without saying why", "create a new JWT credential"];
        oau_213: 401 "OAU-213" "Token not found" => BadCredentials,
            ["was revoked while this run used it", "put a current JWT credential in RINGCENTRAL_JWT"];
        oau_232: 400 "OAU-232" "Extension not found" => BadCredentials,
            ["no longer exists in the account", "as an existing (admin) user"];
        oau_236: 400 "OAU-236" "Extension is disabled or frozen" => BadCredentials,
            ["is disabled or frozen", "enable the user"];
        sub_406: 403 "SUB-406" "Not allowed subscribe for events to extensions of other account" => Refused,
            ["with HTTP 403", "belong to another RingCentral account than the one the event filter names"];
        sub_505: 403 "SUB-505" "Subscriptions limit exceeded" => SubscriptionLimit,
            ["RingCentral refused the subscription (SUB-505: Subscriptions limit exceeded): the app has too many subscriptions (about 20 per user and app)",
             "list them with `cc-number-relay-ctl subscriptions`",
             "delete the orphans with `cc-number-relay-ctl subscriptions delete ID`"];
        sub_516: 400 "SUB-516" "Invalid reminder parameters" => Refused,
            ["renewal-reminder filter's threshold or interval", "threshold=86400&interval=3600"];
        sub_520: 400 "SUB-520" "Validation Token is not returned" => HandshakeFailed,
            ["RingCentral refused the subscription (SUB-520: ", "validation request to https://relay.example/ringcentral/contact-center-numbers did not get HTTP 200 echoing its Validation-Token header within 3 s"];
        sub_521: 400 "SUB-521" "WebHook is not reachable" => HandshakeFailed,
            ["could not reach https://relay.example/", "(DNS)", "TLS failed", "firewall", "the stack is not deployed"];
        sub_523: 400 "SUB-523" "HTTPS is required" => HandshakeFailed,
            ["https://relay.example/ringcentral/contact-center-numbers is not an https:// address", "only over HTTPS", "WebhookUrl output"];
        sub_525: 400 "SUB-525" "WebHook server response is invalid" => HandshakeFailed,
            ["over 1,024 bytes", "or not HTTP 200"];
        sub_527: 403 "SUB-527" "Not allowed subscribe for missed calls of another extension" => Refused,
            ["another extension's missed calls", "report this with the message as a bug"];
    }

    #[test]
    fn rate_limits_say_which_limit() {
        let body = |code: &str| format!(r#"{{"errorCode":"{code}","message":"Request rate exceeded"}}"#);
        for (code, phrase) in [
            ("CMN-301", "its rate group's requests a minute"),
            ("CMN-302", "other request-rate limit"),
        ] {
            let line = RingCentralError::rate_limited(3600, 180, &body(code)).to_string();
            assert!(
                line.starts_with(&format!(
                    "RingCentral is rate limiting this app ({code}: Request rate exceeded): Retry-After asks for 3600 s, more than the 180 s this run may still wait; "
                )),
                "{line}"
            );
            assert!(line.contains(phrase) && line.contains("try again later"), "{line}");
        }
        assert!(RingCentralError::rate_limited(60, 0, "")
            .to_string()
            .ends_with("; try again later"));
    }

    #[test]
    fn an_unknown_code_says_the_code_and_the_message() {
        let error = refusal(400, "SUB-999", "Something new\nhappened");
        assert_eq!(
            error.to_string(),
            "RingCentral answered HTTP 400 to creating the subscription (SUB-999: Something new happened)"
        );
        // A 403 with an unknown code is not taken for a missing permission.
        assert!(matches!(
            refusal(403, "SUB-999", "x"),
            RingCentralError::Api { status: 403, .. }
        ));
    }

    #[test]
    fn without_a_known_code_401_is_the_credentials_and_403_a_permission() {
        let invalid = RingCentralError::from_answer(
            401,
            "listing subscriptions",
            r#"{"errorCode":"TokenInvalid","message":"Invalid token"}"#,
            None,
        );
        assert_eq!(
            invalid.to_string(),
            "RingCentral rejected the app's credentials (TokenInvalid: Invalid token): check RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT, and that the app uses the JWT auth flow"
        );
        let forbidden = RingCentralError::from_answer(403, "listing subscriptions", "", None);
        assert_eq!(
            forbidden.to_string(),
            "the RingCentral app lacks the SubscriptionWebhook or ReadAccounts permission (no details): add it to the app in the RingCentral Developer Console; the subscription needs SubscriptionWebhook and ReadAccounts"
        );
        // The token request's OAuth answer, with an OAU code of the table.
        let grant = RingCentralError::credentials(
            r#"{"error":"invalid_grant","error_description":"Extension is disabled or frozen","errors":[{"errorCode":"OAU-236","message":"Extension is disabled or frozen"}]}"#,
        );
        assert!(grant
            .to_string()
            .starts_with("RingCentral rejected the app's credentials (invalid_grant: Extension is disabled or frozen (OAU-236)): the user the JWT credential belongs to is disabled or frozen"));
    }

    /// The operations `Client` calls, as the shapes file names them.
    const CALLED: &[(&str, &str)] = &[
        ("/restapi/v1.0/subscription", "get"),
        ("/restapi/v1.0/subscription", "post"),
        ("/restapi/v1.0/subscription/{subscriptionId}", "get"),
        ("/restapi/v1.0/subscription/{subscriptionId}", "delete"),
        ("/restapi/v1.0/subscription/{subscriptionId}/renew", "post"),
        ("/restapi/v1.0/account/{accountId}/phone-number", "get"),
        ("/restapi/v1.0/account/{accountId}/phone-number/{phoneNumberId}", "get"),
        ("/restapi/oauth/token", "post"),
    ];

    #[test]
    fn every_code_the_spec_lists_for_our_calls_has_its_own_explanation() {
        let shapes: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/ringcentral/openapi-shapes.json")).unwrap();
        let mut listed = std::collections::BTreeSet::new();
        for (path, method) in CALLED {
            let operation = &shapes["paths"][path][method];
            assert!(operation.is_object(), "{method} {path} is not in the shapes file");
            for entry in operation["x-error-codes"].as_array().into_iter().flatten() {
                let code = entry["errorCode"].as_str().unwrap();
                let explained =
                    explanation(code).unwrap_or_else(|| panic!("{code} ({method} {path}) has no explanation"));
                let status: u16 = entry["httpCode"].as_str().unwrap().parse().unwrap();
                // Each code's answer says its own explanation.
                let line = refusal(status, code, entry["message"].as_str().unwrap()).to_string();
                let hint = explained.hint.replace("{address}", ADDRESS);
                assert!(line.contains(&hint), "{code}: {line}");
                listed.insert(code);
            }
        }
        assert!(listed.len() >= 24, "{listed:?}");
        // Nothing in the table that the spec (or CMN-408) does not give, and
        // no two codes explained alike.
        let mut hints = std::collections::BTreeSet::new();
        for e in EXPLANATIONS {
            assert!(
                listed.contains(e.code) || e.code == "CMN-408",
                "{} is not in the spec",
                e.code
            );
            assert!(hints.insert(e.hint), "{} shares its explanation", e.code);
        }
        assert_eq!(EXPLANATIONS.len(), listed.len() + 1);
    }

    #[test]
    fn every_error_is_one_line() {
        let errors = [
            RingCentralError::credentials(r#"{"error":"invalid_client","error_description":"x\ny"}"#),
            RingCentralError::from_answer(403, "x", "{}", None),
            RingCentralError::rate_limited(60, 30, r#"{"errorCode":"CMN-301"}"#),
            refusal(400, "SUB-520", "Validation Token is not returned\n"),
            refusal(400, "SUB-525", "WebHook server response is invalid"),
        ];
        for e in errors {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}
