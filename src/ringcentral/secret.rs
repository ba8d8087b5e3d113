//! Secrets Manager: the guardian's and the CLI's RingCentral credentials;
//! the verification token as the CLI takes it from the environment.

use super::credentials::Secret;
use crate::token::VerificationToken;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret {id}: {detail}")]
    Read { id: String, detail: String },
    #[error("secret {0} has no SecretString")]
    NoString(String),
}

pub async fn read_secret(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<Secret, SecretError> {
    let answer = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretError::Read {
            id: id.to_owned(),
            detail: super::error::one_line(&DisplayErrorContext(&e).to_string()),
        })?;
    answer
        .secret_string
        .map(Secret::new)
        .ok_or_else(|| SecretError::NoString(id.to_owned()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no verification token given")]
    Missing,
    #[error("{origin} must be 1 to 256 visible ASCII characters, the same value the relay has")]
    Malformed { origin: String },
}

/// The verification token as the relay checks it (1–256 visible ASCII).
pub fn verification_token(value: Option<String>, origin: &str) -> Result<VerificationToken, TokenError> {
    let value = value.filter(|v| !v.is_empty()).ok_or(TokenError::Missing)?;
    VerificationToken::parse(value).map_err(|_| TokenError::Malformed {
        origin: origin.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_from_the_environment_is_checked_as_the_relay_checks_it() {
        assert_eq!(
            verification_token(Some("abc123".into()), "VERIFICATION_TOKEN")
                .unwrap()
                .expose(),
            "abc123"
        );
        assert_eq!(
            verification_token(Some(String::new()), "VERIFICATION_TOKEN"),
            Err(TokenError::Missing)
        );
        assert!(verification_token(Some("has space".into()), "VERIFICATION_TOKEN").is_err());
    }
}
