//! Who the CLI and the guardian are to RingCentral: the server, the app's
//! client id and secret, and the JWT credential, from the environment or
//! from a Secrets Manager secret.

use std::fmt;

pub const DEFAULT_SERVER_URL: &str = "https://platform.ringcentral.com";
pub const SERVER_URL_VAR: &str = "RINGCENTRAL_SERVER_URL";
pub const CLIENT_ID_VAR: &str = "RINGCENTRAL_CLIENT_ID";
pub const CLIENT_SECRET_VAR: &str = "RINGCENTRAL_CLIENT_SECRET";
pub const JWT_VAR: &str = "RINGCENTRAL_JWT";

/// A value that Debug never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }
    /// Only for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `http(s)://host[:port]`, no path, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(String);

impl ServerUrl {
    pub fn parse(value: &str) -> Result<Self, CredentialsError> {
        let trimmed = value.trim().trim_end_matches('/');
        let host = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"));
        match host {
            Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', '@']) && host.is_ascii() => {
                Ok(Self(trimmed.to_owned()))
            }
            _ => Err(CredentialsError::BadServerUrl),
        }
    }
    pub fn production() -> Self {
        Self(DEFAULT_SERVER_URL.to_owned())
    }
    /// The server from `RINGCENTRAL_SERVER_URL`, or RingCentral's production server.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        match lookup(SERVER_URL_VAR).filter(|v| !v.trim().is_empty()) {
            Some(value) => Self::parse(&value),
            None => Ok(Self::production()),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub server: ServerUrl,
    pub client_id: String,
    pub client_secret: Secret,
    pub jwt: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("environment variable {0} is not set")]
    MissingVariable(&'static str),
    #[error("secret {secret} has no {key}: it must be a JSON object with RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT (set them with `aws secretsmanager put-secret-value`)")]
    MissingKey { secret: String, key: &'static str },
    #[error(
        "secret {0} is not a JSON object with RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT"
    )]
    NotAnObject(String),
    #[error(
        "RINGCENTRAL_SERVER_URL must be http(s)://host[:port] without a path, e.g. https://platform.ringcentral.com"
    )]
    BadServerUrl,
}

impl Credentials {
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let server = ServerUrl::from_lookup(lookup)?;
        let get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(CredentialsError::MissingVariable(name))
        };
        Ok(Self {
            server,
            client_id: get(CLIENT_ID_VAR)?,
            client_secret: Secret(get(CLIENT_SECRET_VAR)?),
            jwt: Secret(get(JWT_VAR)?),
        })
    }

    /// A Secrets Manager secret holding a JSON object with the three keys;
    /// the server comes from elsewhere (the environment).
    pub fn from_secret(secret_id: &str, secret_string: &str, server: ServerUrl) -> Result<Self, CredentialsError> {
        let get = Self::secret_keys(secret_id, secret_string)?;
        Ok(Self {
            server,
            client_id: get(CLIENT_ID_VAR)?,
            client_secret: Secret(get(CLIENT_SECRET_VAR)?),
            jwt: Secret(get(JWT_VAR)?),
        })
    }

    /// The app's client id and secret from the secret, signing in with a
    /// registered account's `jwt` (a RINGCENTRAL_JWT in the secret, the
    /// default account's, is neither needed nor used).
    pub fn for_account(
        secret_id: &str,
        secret_string: &str,
        server: ServerUrl,
        jwt: Secret,
    ) -> Result<Self, CredentialsError> {
        let get = Self::secret_keys(secret_id, secret_string)?;
        Ok(Self {
            server,
            client_id: get(CLIENT_ID_VAR)?,
            client_secret: Secret(get(CLIENT_SECRET_VAR)?),
            jwt,
        })
    }

    /// A reader of the secret's non-empty string values by key.
    fn secret_keys(
        secret_id: &str,
        secret_string: &str,
    ) -> Result<impl Fn(&'static str) -> Result<String, CredentialsError>, CredentialsError> {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(secret_string).map_err(|_| CredentialsError::NotAnObject(secret_id.to_owned()))?;
        let secret_id = secret_id.to_owned();
        let get = move |key: &'static str| {
            object
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| CredentialsError::MissingKey {
                    secret: secret_id.clone(),
                    key,
                })
        };
        Ok(get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_the_environment_with_the_production_server_by_default() {
        let c = Credentials::from_lookup(&lookup(&[
            (CLIENT_ID_VAR, "id"),
            (CLIENT_SECRET_VAR, "s3cret"),
            (JWT_VAR, " eyJ.jwt.sig\n"),
        ]))
        .unwrap();
        assert_eq!(c.server.as_str(), "https://platform.ringcentral.com");
        assert_eq!(c.jwt.expose(), "eyJ.jwt.sig");
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn names_what_is_missing() {
        let e = Credentials::from_lookup(&lookup(&[(CLIENT_ID_VAR, "id"), (JWT_VAR, "j")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable RINGCENTRAL_CLIENT_SECRET is not set"
        );
        let e = Credentials::from_secret(
            "rc",
            r#"{"RINGCENTRAL_CLIENT_ID":"i","RINGCENTRAL_CLIENT_SECRET":""}"#,
            ServerUrl::production(),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("secret rc has no RINGCENTRAL_CLIENT_SECRET"),
            "{e}"
        );
        let e = Credentials::from_secret("rc", "not json", ServerUrl::production()).unwrap_err();
        assert!(e.to_string().starts_with("secret rc is not a JSON object"), "{e}");
    }

    #[test]
    fn a_registered_account_signs_in_with_the_apps_id_and_secret_and_its_own_jwt() {
        let app = r#"{"RINGCENTRAL_CLIENT_ID":"id","RINGCENTRAL_CLIENT_SECRET":"s3cret"}"#;
        let c = Credentials::for_account("rc", app, ServerUrl::production(), Secret::new("account-jwt".into())).unwrap();
        assert_eq!((c.client_id.as_str(), c.client_secret.expose()), ("id", "s3cret"));
        assert_eq!(c.jwt.expose(), "account-jwt");
        let e = Credentials::for_account("rc", "{}", ServerUrl::production(), Secret::new("j".into())).unwrap_err();
        assert!(e.to_string().starts_with("secret rc has no RINGCENTRAL_CLIENT_ID"), "{e}");
    }

    #[test]
    fn server_urls_are_origins() {
        assert_eq!(
            ServerUrl::parse("http://127.0.0.1:9/").unwrap().as_str(),
            "http://127.0.0.1:9"
        );
        assert!(ServerUrl::parse("https://platform.ringcentral.com").unwrap().is_https());
        for bad in ["platform.ringcentral.com", "https://", "https://x/restapi", "ftp://x"] {
            assert_eq!(ServerUrl::parse(bad), Err(CredentialsError::BadServerUrl), "{bad}");
        }
    }
}
