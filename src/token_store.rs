//! The token store port: where the verification tokens live. The relay
//! reads it at cold start and again on an unknown token; `rotate-token`
//! writes it.
//!
//! - [`secrets_manager`]: the deployed secret (`VERIFICATION_TOKEN_SECRET_ARN`).
//! - [`Fixed`]: one token from the environment (`VERIFICATION_TOKEN`), for
//!   local runs and tests; nothing to re-read, nothing to write.
//! - [`memory`]: in memory, counting reads, for the core's tests.

pub mod memory;
pub mod secrets_manager;

use crate::token::{TokenSet, TokenSetError, VerificationToken};
use std::future::Future;

pub trait TokenStore: Sync {
    fn read(&self) -> impl Future<Output = Result<TokenSet, TokenStoreError>> + Send;
    fn write(&self, tokens: &TokenSet) -> impl Future<Output = Result<(), TokenStoreError>> + Send;

    /// Whether a re-read can find other tokens than the last one did.
    fn can_change(&self) -> bool {
        true
    }
}

/// Why the tokens could not be read or written. Never carries a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenStoreError {
    #[error("cannot read the token secret {secret}: {detail}")]
    Read { secret: String, detail: String },
    #[error("the token secret {secret} has no SecretString")]
    NoString { secret: String },
    #[error("the token secret {secret} is malformed: {problem}")]
    Malformed { secret: String, problem: TokenSetError },
    #[error("cannot write the token secret {secret}: {detail}")]
    Write { secret: String, detail: String },
    #[error("a token from VERIFICATION_TOKEN cannot be rotated: name the secret instead")]
    Fixed,
    #[error("the system's random source failed: no new token")]
    NoRandomness,
}

/// One token set that never changes: `VERIFICATION_TOKEN`.
#[derive(Debug, Clone)]
pub struct Fixed(pub TokenSet);

impl TokenStore for Fixed {
    async fn read(&self) -> Result<TokenSet, TokenStoreError> {
        Ok(self.0.clone())
    }

    async fn write(&self, _: &TokenSet) -> Result<(), TokenStoreError> {
        Err(TokenStoreError::Fixed)
    }

    fn can_change(&self) -> bool {
        false
    }
}

/// The store the configuration names: the relay's and the guardian's wiring
/// picks one at cold start without making everything generic twice.
#[derive(Debug, Clone)]
pub enum Configured {
    Fixed(Fixed),
    Secret(secrets_manager::SecretTokens),
}

impl TokenStore for Configured {
    async fn read(&self) -> Result<TokenSet, TokenStoreError> {
        match self {
            Configured::Fixed(store) => store.read().await,
            Configured::Secret(store) => store.read().await,
        }
    }

    async fn write(&self, tokens: &TokenSet) -> Result<(), TokenStoreError> {
        match self {
            Configured::Fixed(store) => store.write(tokens).await,
            Configured::Secret(store) => store.write(tokens).await,
        }
    }

    fn can_change(&self) -> bool {
        matches!(self, Configured::Secret(_))
    }
}

/// A new token: 32 characters from `[A-Za-z0-9]` (190 bits), as the stack
/// generates its first one, from the TLS stack's system random source.
pub fn generate_token() -> Result<VerificationToken, TokenStoreError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let random = rustls::crypto::aws_lc_rs::default_provider().secure_random;
    let mut token = String::with_capacity(32);
    while token.len() < 32 {
        let mut bytes = [0u8; 64];
        random.fill(&mut bytes).map_err(|_| TokenStoreError::NoRandomness)?;
        // 248 = 4 × 62: bytes at or above it are dropped, so every character is equally likely.
        let usable = bytes
            .iter()
            .filter(|b| **b < 248)
            .map(|b| ALPHABET[usize::from(*b) % 62] as char);
        token.extend(usable.take(32 - token.len()));
    }
    VerificationToken::parse(token).map_err(|_| TokenStoreError::NoRandomness)
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_tokens_are_32_alphanumerics_and_differ() {
        let a = super::generate_token().unwrap();
        let b = super::generate_token().unwrap();
        assert_eq!(a.expose().len(), 32);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
