//! The HTTP client: the JWT grant with a cached, expiring access token,
//! `Retry-After` on 429, and RingCentral's answers turned into errors.

use super::credentials::{Credentials, Secret, ServerUrl};
use super::error::{one_line, RingCentralError as Error};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use ureq::http::Response;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

pub(crate) const TOKEN_PATH: &str = "/restapi/oauth/token";
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// One HTTP exchange; subscription creation includes RingCentral's own
/// validation request to the webhook (up to 3 s).
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts of one request, 429s included.
const MAX_ATTEMPTS: u32 = 5;
/// RingCentral's penalty interval, for a 429 without a usable Retry-After.
const DEFAULT_RETRY_AFTER: u64 = 60;
/// A token is replaced this long before RingCentral says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// How the client waits out a `Retry-After`, and tells what it skipped: the
/// CLI says so on stderr, the guardian logs it, tests record it.
pub trait Wait: Send + Sync {
    fn wait(&self, delay: Duration, operation: &str);

    /// Something the client worked around (a record it could not read).
    fn warn(&self, message: &str) {
        tracing::warn!("{message}");
    }
}

/// Just sleeps.
pub struct Sleep;

impl Wait for Sleep {
    fn wait(&self, delay: Duration, _operation: &str) {
        std::thread::sleep(delay);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

struct AccessToken {
    value: Secret,
    replace_at: Instant,
}

/// One client per run: it holds the access token and what is left of the
/// time this run may spend waiting on rate limits.
pub struct Client {
    agent: ureq::Agent,
    credentials: Credentials,
    token: Mutex<Option<AccessToken>>,
    wait_budget: Mutex<Duration>,
    waiter: Box<dyn Wait>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Client {
    /// `wait_budget`: the most this client waits on `Retry-After`s in total;
    /// a longer wait fails at once with [`Error::RateLimited`].
    pub fn new(credentials: Credentials, wait_budget: Duration, waiter: Box<dyn Wait>) -> Result<Self, Error> {
        Ok(Self {
            agent: agent(&credentials.server)?,
            credentials,
            token: Mutex::new(None),
            wait_budget: Mutex::new(wait_budget),
            waiter,
        })
    }

    /// Sets what this client may still wait on `Retry-After`s: a client
    /// kept across invocations (the confirmer's, which keeps its access
    /// token) gets each invocation's budget anew.
    pub fn refill_wait_budget(&self, wait_budget: Duration) {
        *lock(&self.wait_budget) = wait_budget;
    }

    pub fn server(&self) -> &ServerUrl {
        &self.credentials.server
    }

    /// An authorized call. A 401 (the token expired or was revoked early)
    /// gets one fresh token and one more try; 403 is a missing permission or
    /// a refusal with its own code.
    pub(crate) fn api(
        &self,
        method: Method,
        path: &str,
        json: Option<&str>,
        operation: &'static str,
    ) -> Result<Answer, Error> {
        let url = format!("{}{path}", self.credentials.server.as_str());
        let mut renewed = false;
        loop {
            let token = self.access_token()?;
            let bearer = format!("Bearer {}", token.expose());
            let answer = self.send(operation, || {
                let accept = "application/json";
                match method {
                    Method::Get => self
                        .agent
                        .get(&url)
                        .header("Authorization", &bearer)
                        .header("Accept", accept)
                        .call(),
                    Method::Delete => self
                        .agent
                        .delete(&url)
                        .header("Authorization", &bearer)
                        .header("Accept", accept)
                        .call(),
                    Method::Post | Method::Put => {
                        let request = if method == Method::Put {
                            self.agent.put(&url)
                        } else {
                            self.agent.post(&url)
                        };
                        let request = request.header("Authorization", &bearer).header("Accept", accept);
                        match json {
                            Some(body) => request.header("Content-Type", "application/json").send(body),
                            None => request.send_empty(),
                        }
                    }
                }
            })?;
            match answer.status {
                401 if !renewed => {
                    *lock(&self.token) = None;
                    renewed = true;
                }
                401 => return Err(Error::credentials(&answer.body)),
                // A missing permission (CMN-408), or a refusal with its own
                // code (SUB-505, SUB-406, ...).
                403 => return Err(Error::from_answer(403, operation, &answer.body, None)),
                _ => return Ok(answer),
            }
        }
    }

    pub(crate) fn warn(&self, message: &str) {
        self.waiter.warn(message);
    }

    /// The cached token, or a new one from the JWT grant when it is about to expire.
    fn access_token(&self) -> Result<Secret, Error> {
        let mut slot = lock(&self.token);
        if let Some(token) = slot.as_ref() {
            if Instant::now() < token.replace_at {
                return Ok(token.value.clone());
            }
        }
        let fresh = self.grant()?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    fn grant(&self) -> Result<AccessToken, Error> {
        use base64::Engine;
        let operation = "the token request";
        let c = &self.credentials;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.client_id, c.client_secret.expose()));
        let url = format!("{}{TOKEN_PATH}", c.server.as_str());
        let requested = Instant::now();
        let answer = self.send(operation, || {
            self.agent
                .post(&url)
                .header("Authorization", &format!("Basic {basic}"))
                .header("Accept", "application/json")
                .send_form([("grant_type", JWT_GRANT), ("assertion", c.jwt.expose())])
        })?;
        match answer.status {
            200 => {}
            400 | 401 => return Err(Error::credentials(&answer.body)),
            status => return Err(Error::from_answer(status, operation, &answer.body, None)),
        }
        #[derive(serde::Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: u64,
        }
        let granted: Granted = serde_json::from_str(&answer.body).map_err(|e| Error::InvalidAnswer {
            operation,
            detail: e.to_string(),
        })?;
        let lifetime = Duration::from_secs(granted.expires_in);
        let margin = TOKEN_MARGIN.min(lifetime / 10);
        Ok(AccessToken {
            value: Secret::new(granted.access_token),
            replace_at: requested + lifetime - margin,
        })
    }

    /// Sends, and on 429 waits what `Retry-After` asks (within the budget) and sends again.
    fn send(
        &self,
        operation: &'static str,
        request: impl Fn() -> Result<Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, Error> {
        let mut attempt = 1;
        loop {
            let response = request().map_err(|e| Error::Transport {
                server: self.credentials.server.as_str().to_owned(),
                operation,
                detail: one_line(&e.to_string()),
            })?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(retry_after_seconds);
            let body = response
                .into_body()
                .read_to_string()
                .map_err(|e| Error::InvalidAnswer {
                    operation,
                    detail: one_line(&e.to_string()),
                })?;
            if status != 429 {
                return Ok(Answer { status, body });
            }
            let delay = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
            {
                let mut budget = lock(&self.wait_budget);
                if attempt >= MAX_ATTEMPTS || Duration::from_secs(delay) > *budget {
                    return Err(Error::rate_limited(delay, budget.as_secs(), &body));
                }
                *budget -= Duration::from_secs(delay);
            }
            self.waiter.wait(Duration::from_secs(delay), operation);
            attempt += 1;
        }
    }
}

/// Seconds, or an HTTP date; anything else gets RingCentral's 60 s penalty.
fn retry_after_seconds(value: &str) -> u64 {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return seconds;
    }
    use time::format_description::well_known::Rfc2822;
    match time::OffsetDateTime::parse(value, &Rfc2822) {
        Ok(at) => {
            let left = at - time::OffsetDateTime::now_utc();
            u64::try_from(left.whole_seconds()).unwrap_or(0)
        }
        Err(_) => DEFAULT_RETRY_AFTER,
    }
}

fn agent(server: &ServerUrl) -> Result<ureq::Agent, Error> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(HTTP_TIMEOUT))
        .user_agent(concat!("cc-number-relay/", env!("CARGO_PKG_VERSION")));
    if server.is_https() {
        config = config.tls_config(tls_config()?);
    }
    Ok(config.build().into())
}

/// rustls with aws-lc-rs, the provider the AWS SDK uses, handed to ureq
/// explicitly (ureq's own default would be ring), and the system's roots.
fn tls_config() -> Result<TlsConfig, Error> {
    let found = rustls_native_certs::load_native_certs();
    let roots: Vec<Certificate<'static>> = found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if roots.is_empty() {
        let why = found.errors.first().map_or_else(
            || "the system has none (install ca-certificates, or set SSL_CERT_FILE)".to_owned(),
            |e| one_line(&e.to_string()),
        );
        return Err(Error::NoRootCertificates(why));
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(retry_after_seconds("7"), 7);
        assert_eq!(retry_after_seconds(" 0 "), 0);
        assert_eq!(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT"), 0);
        let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(120);
        let date = later.format(&time::format_description::well_known::Rfc2822).unwrap();
        assert!((100..=120).contains(&retry_after_seconds(&date)), "{date}");
        assert_eq!(retry_after_seconds("soon"), DEFAULT_RETRY_AFTER);
    }

    #[test]
    fn https_uses_the_system_roots_and_aws_lc_rs() {
        let config = tls_config().unwrap();
        assert!(matches!(config.root_certs(), RootCerts::Specific(roots) if !roots.is_empty()));
        assert_eq!(config.provider(), TlsProvider::Rustls);
    }
}
