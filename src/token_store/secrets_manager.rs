//! The tokens in a Secrets Manager secret, as the stack creates it:
//! `{"current":"…","previous":"…"}`.

use super::{TokenStore, TokenStoreError};
use crate::sink::aws::{one_line, CallBudget};
use crate::token::TokenSet;
use aws_config::SdkConfig;
use std::time::Duration;

/// At cold start and on an unknown token the read is on the answer's path
/// (RingCentral waits 3 s in all): one short attempt, as for the inventory.
/// In-region, GetSecretValue takes tens of milliseconds.
pub const RELAY_TIMEOUTS: CallBudget = CallBudget {
    connect: Duration::from_millis(300),
    attempt: Duration::from_millis(400),
    operation: Duration::from_millis(400),
    max_attempts: 1,
};

/// The CLI and the guardian are not answering anyone: ordinary limits.
pub const OPERATOR_TIMEOUTS: CallBudget = CallBudget {
    connect: Duration::from_millis(1000),
    attempt: Duration::from_millis(5000),
    operation: Duration::from_millis(15_000),
    max_attempts: 3,
};

#[derive(Debug, Clone)]
pub struct SecretTokens {
    client: aws_sdk_secretsmanager::Client,
    secret: String,
}

impl SecretTokens {
    pub fn new(sdk: &SdkConfig, secret: String, budget: CallBudget) -> Self {
        let conf = aws_sdk_secretsmanager::config::Builder::from(sdk)
            .timeout_config(budget.timeouts())
            .retry_config(budget.retries())
            .stalled_stream_protection(budget.stalled_stream_protection())
            .build();
        Self {
            client: aws_sdk_secretsmanager::Client::from_conf(conf),
            secret,
        }
    }

    /// Over a client built elsewhere (the guardian's, shared with its credentials).
    pub fn from_client(client: aws_sdk_secretsmanager::Client, secret: String) -> Self {
        Self { client, secret }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl TokenStore for SecretTokens {
    async fn read(&self) -> Result<TokenSet, TokenStoreError> {
        let secret = || self.secret.clone();
        let answer = self
            .client
            .get_secret_value()
            .secret_id(&self.secret)
            .send()
            .await
            .map_err(|e| TokenStoreError::Read {
                secret: secret(),
                detail: one_line(&e),
            })?;
        let text = answer
            .secret_string()
            .ok_or_else(|| TokenStoreError::NoString { secret: secret() })?;
        TokenSet::parse(text).map_err(|problem| TokenStoreError::Malformed {
            secret: secret(),
            problem,
        })
    }

    async fn write(&self, tokens: &TokenSet) -> Result<(), TokenStoreError> {
        self.client
            .put_secret_value()
            .secret_id(&self.secret)
            .secret_string(tokens.to_secret_text())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| TokenStoreError::Write {
                secret: self.secret.clone(),
                detail: one_line(&e),
            })
    }
}
