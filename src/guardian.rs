//! Keeping the RingCentral subscription alive. A relay can be perfect and
//! still receive nothing: RingCentral blacklists a subscription after
//! failed deliveries, and a subscription expires. The checks here find
//! that; `heal` recreates a dead or missing subscription to the same
//! address (then deletes the dead one) and `renew_expiring` renews what
//! expires soon. The operator CLI runs them one by one; the scheduled
//! guardian Lambda runs them all and publishes every finding to the alarm
//! topic, with metrics.
//!
//! Everything here that talks to RingCentral is blocking; the guardian runs
//! it on tokio's blocking pool.

mod alarm;
mod finding;
pub mod metrics;

pub use alarm::{publish_findings, AlarmError};
pub use finding::{human_duration, Finding};

use crate::config::{ConfigError, TopicArn, VerificationToken};
use crate::ringcentral::{
    read_secret, Client, Credentials, RingCentralError, Secret, ServerUrl, Subscription, Wait, MAX_EXPIRES_IN,
};
use std::time::Duration;
use time::OffsetDateTime;

/// Renew what expires within three days: a subscription that someone
/// created with the 7-day default is then renewed every four days, not on
/// every run.
pub const DEFAULT_RENEW_WITHIN: Duration = Duration::from_secs(3 * 86_400);

/// What the guardian may wait on RingCentral's rate limits in one run; its
/// Lambda timeout (180 s) leaves room for this and the calls themselves.
pub const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(60);

/// Every variable the guardian function reads; the template test holds the
/// guardian's environment to exactly this list.
pub const ENV_VARS: [&str; 7] = [
    "WEBHOOK_ADDRESS",
    "ALARM_TOPIC_ARN",
    "RINGCENTRAL_CREDENTIALS_SECRET",
    "RINGCENTRAL_SERVER_URL",
    "VERIFICATION_TOKEN",
    "RENEW_WITHIN_SECONDS",
    "METRICS_NAMESPACE",
];

/// How a subscription to the address stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Healthy,
    /// Active, but expires within the threshold (or already did).
    ExpiringSoon {
        seconds_left: u64,
    },
    Blacklisted,
    /// Any other status, e.g. Suspended.
    Inactive,
}

#[derive(Debug, Clone)]
pub struct Assessed {
    pub subscription: Subscription,
    pub state: State,
}

impl Assessed {
    /// One line of `status` output.
    pub fn line(&self, now: OffsetDateTime) -> String {
        let s = &self.subscription;
        let expiry = match s.expires_at() {
            Some(at) if at > now => format!(
                "expires {} (in {})",
                s.expiration(),
                human_duration(seconds_between(now, at))
            ),
            Some(_) => format!("expired {}", s.expiration()),
            None => format!("expires {}", s.expiration()),
        };
        let blacklisted = s.blacklisted_data.as_ref().map_or_else(String::new, |b| {
            format!(
                "  blacklisted since {}: {}",
                b.blacklisted_at.as_deref().unwrap_or("unknown"),
                b.reason.as_deref().unwrap_or("no reason given")
            )
        });
        let note = match self.state {
            State::ExpiringSoon { .. } => "  EXPIRING SOON",
            _ => "",
        };
        format!("{}  {}  {expiry}{blacklisted}{note}", s.id, s.status())
    }
}

/// The subscriptions of this app to one address, assessed at one moment.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub address: String,
    pub subscriptions: Vec<Assessed>,
}

impl Inspection {
    /// An Active subscription that does not expire soon delivers to the address.
    pub fn healthy(&self) -> bool {
        self.subscriptions.iter().any(|a| a.state == State::Healthy)
    }

    /// Some Active subscription delivers to the address, expiring or not.
    pub fn alive(&self) -> bool {
        self.subscriptions
            .iter()
            .any(|a| matches!(a.state, State::Healthy | State::ExpiringSoon { .. }))
    }

    fn dead(&self) -> impl Iterator<Item = &Assessed> {
        self.subscriptions
            .iter()
            .filter(|a| matches!(a.state, State::Blacklisted | State::Inactive))
    }

    /// What is wrong, one finding each; none when all is well.
    pub fn findings(&self) -> Vec<Finding> {
        let address = self.address.clone();
        if self.subscriptions.is_empty() {
            return vec![Finding::Missing { address }];
        }
        self.subscriptions
            .iter()
            .filter_map(|a| {
                let s = &a.subscription;
                let subscription_id = s.id.clone();
                let address = address.clone();
                match a.state {
                    State::Healthy => None,
                    State::ExpiringSoon { seconds_left } => Some(Finding::ExpiringSoon {
                        subscription_id,
                        address,
                        expiration_time: s.expiration().to_owned(),
                        seconds_left,
                    }),
                    State::Blacklisted => Some(Finding::Blacklisted {
                        subscription_id,
                        address,
                        reason: s.blacklisted_data.as_ref().and_then(|b| b.reason.clone()),
                        blacklisted_at: s.blacklisted_data.as_ref().and_then(|b| b.blacklisted_at.clone()),
                    }),
                    State::Inactive => Some(Finding::Inactive {
                        subscription_id,
                        address,
                        status: s.status().to_owned(),
                    }),
                }
            })
            .collect()
    }
}

fn seconds_between(from: OffsetDateTime, to: OffsetDateTime) -> u64 {
    u64::try_from((to - from).whole_seconds()).unwrap_or(0)
}

pub fn assess(subscription: &Subscription, renew_within: Duration, now: OffsetDateTime) -> State {
    match subscription.status() {
        "Active" => {
            // No readable expiry: treat as expiring, so it gets renewed and a date.
            let left = subscription.expires_at().map_or(0, |at| seconds_between(now, at));
            if left <= renew_within.as_secs() {
                State::ExpiringSoon { seconds_left: left }
            } else {
                State::Healthy
            }
        }
        "Blacklisted" => State::Blacklisted,
        _ => State::Inactive,
    }
}

/// `status`: this app's subscriptions to `address`, assessed.
pub fn inspect(
    client: &Client,
    address: &str,
    renew_within: Duration,
    now: OffsetDateTime,
) -> Result<Inspection, RingCentralError> {
    let subscriptions = client
        .subscriptions_to(address)?
        .into_iter()
        .map(|subscription| Assessed {
            state: assess(&subscription, renew_within, now),
            subscription,
        })
        .collect();
    Ok(Inspection {
        address: address.to_owned(),
        subscriptions,
    })
}

/// `heal`: when nothing Active delivers to the address, creates a new
/// subscription to it, then deletes the dead ones. The new one comes first,
/// so a failed creation (the handshake, say) loses nothing. When an Active
/// one exists, only the dead ones are deleted.
pub fn heal(client: &Client, inspection: &Inspection, verification_token: &Secret) -> Vec<Finding> {
    let address = &inspection.address;
    let mut findings = Vec::new();
    let dead: Vec<&Assessed> = inspection.dead().collect();
    if !inspection.alive() {
        match client.create_subscription(address, verification_token, MAX_EXPIRES_IN) {
            Ok(new) => findings.push(Finding::Healed {
                subscription_id: new.id.clone(),
                address: address.clone(),
                expiration_time: new.expiration().to_owned(),
                replaced: dead.iter().map(|a| a.subscription.id.clone()).collect(),
            }),
            Err(error) => {
                findings.push(Finding::HealFailed {
                    address: address.clone(),
                    error: error.to_string(),
                });
                return findings;
            }
        }
    }
    for a in dead {
        let s = &a.subscription;
        match client.delete_subscription(&s.id) {
            // Already gone is as good as deleted.
            Ok(()) | Err(RingCentralError::NotFound(_)) => {
                if inspection.alive() {
                    findings.push(Finding::Removed {
                        subscription_id: s.id.clone(),
                        address: address.clone(),
                        status: s.status().to_owned(),
                    });
                }
            }
            Err(error) => findings.push(Finding::RemoveFailed {
                subscription_id: s.id.clone(),
                address: address.clone(),
                error: error.to_string(),
            }),
        }
    }
    findings
}

/// Renews every Active subscription that expires soon.
pub fn renew_expiring(client: &Client, inspection: &Inspection) -> Vec<Finding> {
    inspection
        .subscriptions
        .iter()
        .filter(|a| matches!(a.state, State::ExpiringSoon { .. }))
        .map(|a| {
            let id = &a.subscription.id;
            match client.renew_subscription(id) {
                Ok(renewed) => Finding::Renewed {
                    subscription_id: id.clone(),
                    address: inspection.address.clone(),
                    expiration_time: renewed.expiration().to_owned(),
                },
                Err(error) => Finding::RenewFailed {
                    subscription_id: id.clone(),
                    address: inspection.address.clone(),
                    error: error.to_string(),
                },
            }
        })
        .collect()
}

/// One guardian run's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// At the end of the run an Active, not soon expiring subscription delivers to the address.
    pub healthy: bool,
    /// Subscriptions created in place of dead or missing ones.
    pub healed: u64,
    /// Active subscriptions found expiring within the threshold.
    pub expiring_soon: u64,
}

impl Report {
    pub fn failed(address: &str, error: String) -> Self {
        Self {
            findings: vec![Finding::CheckFailed {
                address: address.to_owned(),
                error,
            }],
            healthy: false,
            healed: 0,
            expiring_soon: 0,
        }
    }
}

/// `status` + `heal` + `renew`, then a second look to tell whether it worked.
pub fn check_heal_renew(client: &Client, address: &str, renew_within: Duration, verification_token: &Secret) -> Report {
    let inspection = match inspect(client, address, renew_within, OffsetDateTime::now_utc()) {
        Ok(inspection) => inspection,
        Err(error) => return Report::failed(address, error.to_string()),
    };
    let mut findings = inspection.findings();
    if findings.is_empty() {
        return Report {
            findings,
            healthy: true,
            healed: 0,
            expiring_soon: 0,
        };
    }
    let expiring_soon = findings
        .iter()
        .filter(|f| matches!(f, Finding::ExpiringSoon { .. }))
        .count() as u64;
    let actions: Vec<Finding> = heal(client, &inspection, verification_token)
        .into_iter()
        .chain(renew_expiring(client, &inspection))
        .collect();
    let healed = actions.iter().filter(|f| matches!(f, Finding::Healed { .. })).count() as u64;
    findings.extend(actions);
    let healthy = match inspect(client, address, renew_within, OffsetDateTime::now_utc()) {
        Ok(after) => after.healthy(),
        Err(error) => {
            findings.push(Finding::CheckFailed {
                address: address.to_owned(),
                error: error.to_string(),
            });
            false
        }
    };
    Report {
        findings,
        healthy,
        healed,
        expiring_soon,
    }
}

/// The guardian function's configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct GuardianConfig {
    pub address: String,
    pub alarm_topic: TopicArn,
    pub credentials_secret: String,
    pub server: ServerUrl,
    pub verification_token: Secret,
    pub renew_within: Duration,
    pub metrics_namespace: String,
}

impl GuardianConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| lookup(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name));
        let malformed = |name: &'static str| move |problem: &'static str| ConfigError::Malformed { name, problem };
        let address = required("WEBHOOK_ADDRESS")?;
        if !(address.starts_with("https://") || address.starts_with("http://")) {
            return Err(malformed("WEBHOOK_ADDRESS")("expected the webhook's http(s):// URL"));
        }
        let token = required("VERIFICATION_TOKEN")?;
        VerificationToken::parse(token.clone()).map_err(malformed("VERIFICATION_TOKEN"))?;
        let renew_within = match lookup("RENEW_WITHIN_SECONDS").filter(|v| !v.is_empty()) {
            None => DEFAULT_RENEW_WITHIN,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| (60..=u64::from(MAX_EXPIRES_IN)).contains(s))
                .map(Duration::from_secs)
                .ok_or(ConfigError::Malformed {
                    name: "RENEW_WITHIN_SECONDS",
                    problem: "expected whole seconds, at least 60",
                })?,
        };
        Ok(Self {
            address,
            alarm_topic: TopicArn::parse(required("ALARM_TOPIC_ARN")?).map_err(malformed("ALARM_TOPIC_ARN"))?,
            credentials_secret: required("RINGCENTRAL_CREDENTIALS_SECRET")?,
            server: ServerUrl::from_lookup(lookup)
                .map_err(|_| malformed("RINGCENTRAL_SERVER_URL")("expected http(s)://host[:port] without a path"))?,
            verification_token: Secret::new(token),
            renew_within,
            metrics_namespace: lookup("METRICS_NAMESPACE")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| metrics::DEFAULT_NAMESPACE.to_owned()),
        })
    }
}

/// Logs the wait, then sleeps.
struct LogWait;

impl Wait for LogWait {
    fn wait(&self, delay: Duration, operation: &str) {
        tracing::warn!(
            "RingCentral is rate limiting: waiting {} s as Retry-After asks, then retrying {operation}",
            delay.as_secs()
        );
        std::thread::sleep(delay);
    }
}

/// The guardian: AWS clients built once, one [`Guardian::run`] per schedule tick.
pub struct Guardian {
    pub config: GuardianConfig,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sns: aws_sdk_sns::Client,
}

impl Guardian {
    /// Reads the credentials (each run, so a rotated secret is picked up),
    /// then checks, heals and renews.
    pub async fn check(&self) -> Report {
        let c = &self.config;
        let secret = match read_secret(&self.secrets, &c.credentials_secret).await {
            Ok(secret) => secret,
            Err(e) => return Report::failed(&c.address, e.to_string()),
        };
        let credentials = match Credentials::from_secret(&c.credentials_secret, secret.expose(), c.server.clone()) {
            Ok(credentials) => credentials,
            Err(e) => return Report::failed(&c.address, e.to_string()),
        };
        let (address, renew_within, token) = (c.address.clone(), c.renew_within, c.verification_token.clone());
        let run = tokio::task::spawn_blocking(move || {
            let client = Client::new(credentials, RATE_LIMIT_BUDGET, Box::new(LogWait))
                .map_err(|e| Report::failed(&address, e.to_string()))?;
            Ok::<_, Report>(check_heal_renew(&client, &address, renew_within, &token))
        })
        .await;
        match run {
            Ok(Ok(report) | Err(report)) => report,
            Err(e) => Report::failed(&c.address, format!("the check stopped: {e}")),
        }
    }

    /// [`Guardian::check`], then every finding to the alarm topic. The
    /// report comes back even when publishing failed, for the metrics.
    pub async fn run(&self) -> (Report, Result<(), AlarmError>) {
        let report = self.check().await;
        for finding in &report.findings {
            tracing::warn!(finding = finding.kind(), "{}", finding.summary());
        }
        let published = publish_findings(&self.sns, &self.config.alarm_topic, &report.findings).await;
        (report, published)
    }
}
