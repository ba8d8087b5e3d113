//! Why a body that authenticated is not a notification we can publish.
//! Details name the JSON path and the rule, never the value, so a secret
//! pasted into a field cannot leak into logs or answers.

use serde_json::error::Category;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("body: isBase64Encoded is true but the body is not valid base64")]
    InvalidBase64,
    #[error("{detail}")]
    InvalidJson { detail: String },
    #[error("{path}: {problem}")]
    InvalidField { path: String, problem: String },
    #[error("{path}: {problem}")]
    UnknownEventType { path: &'static str, problem: &'static str },
    #[error("{path}: {problem}")]
    InvalidPhoneNumber { path: &'static str, problem: &'static str },
    #[error("{path}: {problem}")]
    InvalidTimestamp { path: &'static str, problem: &'static str },
    #[error("$.event: {0}")]
    UnexpectedEventFilter(&'static str),
    #[error("$.event and $.body.phoneNumberInfo.uri name different accounts")]
    AccountMismatch,
}

impl DecodeError {
    /// The park reason code subscribers of the dead-letter queue filter on.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidBase64 => "invalid_base64",
            Self::InvalidJson { .. } => "invalid_json",
            Self::InvalidField { .. } => "invalid_field",
            Self::UnknownEventType { .. } => "unknown_event_type",
            Self::InvalidPhoneNumber { .. } => "invalid_e164",
            Self::InvalidTimestamp { .. } => "invalid_timestamp",
            Self::UnexpectedEventFilter(_) => "unexpected_event_filter",
            Self::AccountMismatch => "account_mismatch",
        }
    }
}

pub(super) fn from_serde(root: &str, path: &str, err: &serde_json::Error) -> DecodeError {
    let message = err.to_string();
    if err.classify() != Category::Data {
        return DecodeError::InvalidJson {
            detail: format!("not valid JSON: {message}"),
        };
    }
    let message = strip_position(&message);
    let mut full_path = if path == "." {
        root.to_owned()
    } else {
        format!("{root}.{path}")
    };
    let problem = if let Some(name) = quoted_name(message, "missing field `") {
        full_path = format!("{full_path}.{name}");
        "is required".to_owned()
    } else if let Some(name) = quoted_name(message, "duplicate field `") {
        full_path = format!("{full_path}.{name}");
        "appears more than once".to_owned()
    } else {
        redact_values(message)
    };
    DecodeError::InvalidField {
        path: full_path,
        problem,
    }
}

fn strip_position(message: &str) -> &str {
    message.rfind(" at line ").map_or(message, |i| &message[..i])
}

fn quoted_name<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// Rewrites serde's "invalid type: string \"…\", expected struct X" into
/// "invalid type: string, expected an object", dropping the received value.
fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[start];
        out.push_str(rest[..start].trim_end());
        rest = skip_literal(&rest[start + 1..], quote);
    }
    out.push_str(rest);
    match out.find("expected struct ") {
        Some(i) => format!("{}expected an object", &out[..i]),
        None => out,
    }
}

fn skip_literal(s: &str, quote: u8) -> &str {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return &s[i + 1..],
            _ => i += 1,
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_drops_string_and_number_values() {
        assert_eq!(
            redact_values(r#"invalid type: string "s3cr\"et", expected struct WireBody"#),
            "invalid type: string, expected an object"
        );
        assert_eq!(
            redact_values("invalid type: integer `42`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            redact_values("invalid type: null, expected a string"),
            "invalid type: null, expected a string"
        );
    }
}
