//! What can go wrong talking to RingCentral, each as one line that says
//! what to do; and reading RingCentral's two error body shapes (the REST
//! API's `errorCode`/`message`/`errors[]`, OAuth's `error`/`error_description`).

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingCentralError {
    #[error("RingCentral rejected the app's credentials ({detail}): check RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT, and that the app uses the JWT auth flow")]
    BadCredentials { detail: String },
    #[error("the RingCentral app lacks the {permission} permission ({detail}): add it to the app in the RingCentral Developer Console; the subscription needs SubscriptionWebhook and ReadAccounts")]
    MissingPermission { permission: String, detail: String },
    #[error("RingCentral is rate limiting this app ({detail}): Retry-After asks for {retry_after} s, more than the {budget} s this run may still wait; try again later")]
    RateLimited {
        retry_after: u64,
        budget: u64,
        detail: String,
    },
    #[error("RingCentral refused the subscription ({code}: {message}): {hint}")]
    HandshakeFailed {
        code: String,
        message: String,
        hint: String,
    },
    #[error("RingCentral has no subscription {0}")]
    NotFound(String),
    #[error("{0:?} is not a subscription id")]
    InvalidSubscriptionId(String),
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

impl RingCentralError {
    /// SUB-520/SUB-525 (and the other SUB-52x codes): RingCentral's
    /// validation request to the webhook address did not get the answer it needs.
    pub(crate) fn handshake(code: &str, message: &str, address: &str) -> Self {
        let hint = match code {
            "SUB-525" => format!(
                "the answer of {address} to RingCentral's validation request was invalid, usually because it was over 1,024 bytes (headers and body together) or not HTTP 200; that usually means something other than the relay answered (an error page, a proxy, a gateway adding large headers)"
            ),
            _ => format!(
                "RingCentral's validation request to {address} did not get HTTP 200 echoing its Validation-Token header within 3 s; usually the address is wrong or the stack is not deployed yet, or something in front of the relay answers instead of it or drops the header"
            ),
        };
        Self::HandshakeFailed {
            code: code.to_owned(),
            message: one_line(message),
            hint,
        }
    }
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

    #[test]
    fn every_error_is_one_line() {
        let errors = [
            RingCentralError::BadCredentials { detail: "x".into() },
            RingCentralError::MissingPermission {
                permission: "SubscriptionWebhook".into(),
                detail: "x".into(),
            },
            RingCentralError::RateLimited {
                retry_after: 60,
                budget: 30,
                detail: "CMN-301".into(),
            },
            RingCentralError::handshake("SUB-520", "Validation Token is not returned\n", "https://a/b"),
            RingCentralError::handshake("SUB-525", "WebHook server response is invalid", "https://a/b"),
        ];
        for e in errors {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}
