//! Secrets Manager: the guardian's RingCentral credentials, and optionally
//! the CLI's credentials and verification token.

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

/// A secret holding the token itself, or a JSON object with `VERIFICATION_TOKEN`.
pub fn verification_token_from_secret(id: &str, secret: &Secret) -> Result<VerificationToken, TokenError> {
    let text = secret.expose();
    let value = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(object)) => object
            .get("VERIFICATION_TOKEN")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        _ => Some(text.trim().to_owned()),
    };
    verification_token(value, &format!("the verification token in secret {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_secret_is_the_token_or_an_object_holding_it() {
        let plain = Secret::new("abc123\n".into());
        assert_eq!(verification_token_from_secret("s", &plain).unwrap().expose(), "abc123");
        let object = Secret::new(r#"{"VERIFICATION_TOKEN":"xyz"}"#.into());
        assert_eq!(verification_token_from_secret("s", &object).unwrap().expose(), "xyz");
        let bad = Secret::new(r#"{"other":"xyz"}"#.into());
        assert_eq!(verification_token_from_secret("s", &bad), Err(TokenError::Missing));
        assert!(verification_token(Some("has space".into()), "VERIFICATION_TOKEN").is_err());
    }
}
