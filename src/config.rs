//! Environment → typed configuration, read once at cold start.

use crate::sink::aws::{QueueUrl, TopicArn, Topics};
use crate::token::{TokenSet, VerificationToken};

/// Every variable the function reads; the template test holds the SAM
/// template's environment to exactly this list, less `VERIFICATION_TOKEN`
/// (local runs and tests only: a deployed function reads the secret).
pub const ENV_VARS: [&str; 9] = [
    "CREATED_TOPIC_ARN",
    "UPDATED_TOPIC_ARN",
    "DELETED_TOPIC_ARN",
    "DEAD_LETTER_QUEUE_URL",
    "VERIFICATION_TOKEN",
    "VERIFICATION_TOKEN_SECRET_ARN",
    "METRICS_NAMESPACE",
    "INVENTORY_TABLE",
    "ACCOUNTS_TABLE",
];

#[derive(Debug, Clone)]
pub struct Config {
    pub topics: Topics,
    pub dead_letter_queue_url: QueueUrl,
    pub tokens: TokenSource,
    pub metrics_namespace: String,
    /// The inventory's DynamoDB table; unset, the relay keeps no inventory.
    pub inventory_table: Option<String>,
    /// The account registry's DynamoDB table; unset, the relay serves the
    /// default account alone, as before there were many accounts.
    pub accounts_table: Option<String>,
}

/// Where the verification tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `VERIFICATION_TOKEN`: one token, for local runs and tests.
    Fixed(TokenSet),
    /// `VERIFICATION_TOKEN_SECRET_ARN`: the deployed secret, read at cold start.
    Secret(String),
}

impl TokenSource {
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let fixed = lookup("VERIFICATION_TOKEN").filter(|v| !v.is_empty());
        let secret = lookup("VERIFICATION_TOKEN_SECRET_ARN").filter(|v| !v.is_empty());
        match (fixed, secret) {
            (Some(_), Some(_)) => Err(ConfigError::Ambiguous(
                "VERIFICATION_TOKEN",
                "VERIFICATION_TOKEN_SECRET_ARN",
            )),
            (None, None) => Err(ConfigError::NoToken),
            (None, Some(secret)) => Ok(Self::Secret(secret)),
            (Some(token), None) => VerificationToken::parse(token)
                .map(|t| Self::Fixed(TokenSet::single(t)))
                .map_err(malformed("VERIFICATION_TOKEN")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable VERIFICATION_TOKEN_SECRET_ARN (or, for local runs, VERIFICATION_TOKEN) is not set")]
    NoToken,
    #[error("set only one of {0} and {1}")]
    Ambiguous(&'static str, &'static str),
    #[error("environment variable {name} is malformed: {problem}")]
    Malformed { name: &'static str, problem: &'static str },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let destinations = Destinations::from_lookup(&lookup)?;
        Ok(Self {
            topics: destinations.topics,
            dead_letter_queue_url: destinations.dead_letter_queue_url,
            tokens: TokenSource::from_lookup(&lookup)?,
            metrics_namespace: lookup("METRICS_NAMESPACE")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| crate::observe::DEFAULT_NAMESPACE.to_owned()),
            inventory_table: lookup("INVENTORY_TABLE").filter(|v| !v.is_empty()),
            accounts_table: lookup("ACCOUNTS_TABLE").filter(|v| !v.is_empty()),
        })
    }
}

/// Where changes go: what the relay and the redrive command share.
#[derive(Debug, Clone)]
pub struct Destinations {
    pub topics: Topics,
    pub dead_letter_queue_url: QueueUrl,
}

impl Destinations {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            topics: topics(lookup)?,
            dead_letter_queue_url: QueueUrl::parse(required(lookup, "DEAD_LETTER_QUEUE_URL")?)
                .map_err(malformed("DEAD_LETTER_QUEUE_URL"))?,
        })
    }
}

fn topics(lookup: &impl Fn(&str) -> Option<String>) -> Result<Topics, ConfigError> {
    let topic = |name| TopicArn::parse(required(lookup, name)?).map_err(malformed(name));
    Ok(Topics {
        created: topic("CREATED_TOPIC_ARN")?,
        updated: topic("UPDATED_TOPIC_ARN")?,
        deleted: topic("DELETED_TOPIC_ARN")?,
    })
}

/// What reconciliation needs: the three topics and the inventory's table
/// (the CLI's `reconcile` and the guardian share it).
#[derive(Debug, Clone)]
pub struct Reconciliation {
    pub topics: Topics,
    pub inventory_table: String,
}

impl Reconciliation {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // The table first: without it there is nothing to reconcile, and
        // that is what a caller missing everything should hear.
        let inventory_table = required(lookup, "INVENTORY_TABLE")?;
        Ok(Self {
            topics: topics(lookup)?,
            inventory_table,
        })
    }
}

fn required(lookup: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<String, ConfigError> {
    lookup(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name))
}

fn malformed(name: &'static str) -> impl Fn(&'static str) -> ConfigError {
    move |problem| ConfigError::Malformed { name, problem }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::EventType;
    use std::collections::HashMap;

    fn env() -> HashMap<&'static str, String> {
        HashMap::from([
            (
                "CREATED_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:created".to_owned(),
            ),
            (
                "UPDATED_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:updated.fifo".to_owned(),
            ),
            (
                "DELETED_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:deleted".to_owned(),
            ),
            (
                "DEAD_LETTER_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/dlq".to_owned(),
            ),
            ("VERIFICATION_TOKEN", "s3cretTokenValue0123456789abcdef".to_owned()),
        ])
    }

    fn load(env: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn reads_a_complete_environment() {
        let config = load(&env()).unwrap();
        assert!(config.topics.updated.is_fifo());
        assert!(!config.topics.created.is_fifo());
        assert_eq!(config.topics.for_event(EventType::Deleted).name(), "deleted");
        assert_eq!(config.metrics_namespace, "CcNumberRelay");
        assert_eq!(config.accounts_table, None, "one account, as before");
    }

    #[test]
    fn the_accounts_table_is_optional_and_empty_is_unset() {
        let mut e = env();
        e.insert("ACCOUNTS_TABLE", "cc-accounts".into());
        assert_eq!(load(&e).unwrap().accounts_table.as_deref(), Some("cc-accounts"));
        e.insert("ACCOUNTS_TABLE", String::new());
        assert_eq!(load(&e).unwrap().accounts_table, None);
    }

    #[test]
    fn names_the_missing_variable() {
        for name in &ENV_VARS[..4] {
            let mut e = env();
            e.remove(name);
            assert_eq!(
                load(&e).unwrap_err().to_string(),
                format!("environment variable {name} is not set")
            );
        }
    }

    #[test]
    fn names_the_malformed_variable() {
        let mut e = env();
        e.insert("DELETED_TOPIC_ARN", "deleted".into());
        assert_eq!(
            load(&e).unwrap_err().to_string(),
            "environment variable DELETED_TOPIC_ARN is malformed: expected arn:<partition>:sns:<region>:<account>:<topic>"
        );
        let mut e = env();
        e.insert("VERIFICATION_TOKEN", "has space".into());
        let message = load(&e).unwrap_err().to_string();
        assert_eq!(
            message,
            "environment variable VERIFICATION_TOKEN is malformed: must be 1 to 256 visible ASCII characters"
        );
    }

    #[test]
    fn the_token_comes_from_the_environment_or_a_secret_never_both() {
        let mut e = env();
        e.remove("VERIFICATION_TOKEN");
        assert_eq!(
            load(&e).unwrap_err().to_string(),
            "environment variable VERIFICATION_TOKEN_SECRET_ARN (or, for local runs, VERIFICATION_TOKEN) is not set"
        );
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf";
        e.insert("VERIFICATION_TOKEN_SECRET_ARN", arn.into());
        assert_eq!(load(&e).unwrap().tokens, TokenSource::Secret(arn.into()));
        let mut both = env();
        both.insert("VERIFICATION_TOKEN_SECRET_ARN", arn.into());
        assert_eq!(
            load(&both).unwrap_err().to_string(),
            "set only one of VERIFICATION_TOKEN and VERIFICATION_TOKEN_SECRET_ARN"
        );
    }

    #[test]
    fn token_never_shows_in_debug() {
        let config = load(&env()).unwrap();
        assert!(!format!("{config:?}").contains("s3cretTokenValue"));
    }
}
