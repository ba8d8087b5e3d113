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

/// Who signs in to one RingCentral account: the app, and that account's JWT.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub server: ServerUrl,
    pub client_id: String,
    pub client_secret: Secret,
    pub jwt: Secret,
}

/// The app alone: the server, its client id and secret, the same for every
/// account that installed it. A registered account's JWT comes from the
/// account registry ([`AppCredentials::with_jwt`]); the credentials
/// secret's `RINGCENTRAL_JWT`, the default account's, may then be absent.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub server: ServerUrl,
    pub client_id: String,
    pub client_secret: Secret,
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

impl AppCredentials {
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    /// `RINGCENTRAL_SERVER_URL`, `RINGCENTRAL_CLIENT_ID` and `RINGCENTRAL_CLIENT_SECRET`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        Ok(Self {
            server: ServerUrl::from_lookup(lookup)?,
            client_id: variable(lookup, CLIENT_ID_VAR)?,
            client_secret: Secret(variable(lookup, CLIENT_SECRET_VAR)?),
        })
    }

    /// The client id and secret from the credentials secret's JSON object;
    /// its `RINGCENTRAL_JWT` is not needed.
    pub fn from_secret(secret_id: &str, secret_string: &str, server: ServerUrl) -> Result<Self, CredentialsError> {
        Self::from_object(&SecretObject::parse(secret_id, secret_string)?, server)
    }

    fn from_object(object: &SecretObject<'_>, server: ServerUrl) -> Result<Self, CredentialsError> {
        Ok(Self {
            server,
            client_id: object.get(CLIENT_ID_VAR)?,
            client_secret: Secret(object.get(CLIENT_SECRET_VAR)?),
        })
    }

    /// The app signing in to the account `jwt` belongs to.
    pub fn with_jwt(&self, jwt: Secret) -> Credentials {
        Credentials {
            server: self.server.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            jwt,
        }
    }
}

impl Credentials {
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let app = AppCredentials::from_lookup(lookup)?;
        Ok(app.with_jwt(Secret(variable(lookup, JWT_VAR)?)))
    }

    /// A Secrets Manager secret holding a JSON object with the three keys;
    /// the server comes from elsewhere (the environment).
    pub fn from_secret(secret_id: &str, secret_string: &str, server: ServerUrl) -> Result<Self, CredentialsError> {
        let object = SecretObject::parse(secret_id, secret_string)?;
        let app = AppCredentials::from_object(&object, server)?;
        Ok(app.with_jwt(Secret(object.get(JWT_VAR)?)))
    }

    /// The app without this account's JWT.
    pub fn app(&self) -> AppCredentials {
        AppCredentials {
            server: self.server.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        }
    }
}

/// A variable's trimmed value, or which one is missing.
fn variable(lookup: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<String, CredentialsError> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(CredentialsError::MissingVariable(name))
}

/// The credentials secret's JSON object.
struct SecretObject<'a> {
    id: &'a str,
    object: serde_json::Map<String, serde_json::Value>,
}

impl<'a> SecretObject<'a> {
    fn parse(id: &'a str, text: &str) -> Result<Self, CredentialsError> {
        let object = serde_json::from_str(text).map_err(|_| CredentialsError::NotAnObject(id.to_owned()))?;
        Ok(Self { id, object })
    }

    /// A key's trimmed value, or which one is missing.
    fn get(&self, key: &'static str) -> Result<String, CredentialsError> {
        self.object
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| CredentialsError::MissingKey {
                secret: self.id.to_owned(),
                key,
            })
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

    #[test]
    fn the_app_alone_needs_no_jwt_and_takes_an_accounts() {
        let app = AppCredentials::from_secret(
            "rc",
            r#"{"RINGCENTRAL_CLIENT_ID":" id ","RINGCENTRAL_CLIENT_SECRET":"s3cret"}"#,
            ServerUrl::production(),
        )
        .unwrap();
        assert_eq!(app.client_id, "id");
        assert!(!format!("{app:?}").contains("s3cret"));
        let account = app.with_jwt(Secret::new("eyJ.account.sig".into()));
        assert_eq!(
            (
                account.client_id.as_str(),
                account.client_secret.expose(),
                account.jwt.expose()
            ),
            ("id", "s3cret", "eyJ.account.sig")
        );
        // The default account's reading still requires its JWT.
        let e = Credentials::from_secret(
            "rc",
            r#"{"RINGCENTRAL_CLIENT_ID":"id","RINGCENTRAL_CLIENT_SECRET":"s3cret"}"#,
            ServerUrl::production(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("secret rc has no RINGCENTRAL_JWT"), "{e}");
        let from_env =
            AppCredentials::from_lookup(&lookup(&[(CLIENT_ID_VAR, "id"), (CLIENT_SECRET_VAR, "s")])).unwrap();
        assert_eq!(from_env.server.as_str(), DEFAULT_SERVER_URL);
        let e = Credentials::from_lookup(&lookup(&[(CLIENT_ID_VAR, "id"), (CLIENT_SECRET_VAR, "s")])).unwrap_err();
        assert_eq!(e, CredentialsError::MissingVariable(JWT_VAR));
    }

    #[test]
    fn the_default_accounts_credentials_are_the_app_and_its_jwt() {
        let c = Credentials::from_secret(
            "rc",
            r#"{"RINGCENTRAL_CLIENT_ID":"id","RINGCENTRAL_CLIENT_SECRET":"s3cret","RINGCENTRAL_JWT":"eyJ.default.sig"}"#,
            ServerUrl::production(),
        )
        .unwrap();
        assert_eq!(c.jwt.expose(), "eyJ.default.sig");
        let other = c.app().with_jwt(Secret::new("eyJ.other.sig".into()));
        assert_eq!((other.client_id.as_str(), other.jwt.expose()), ("id", "eyJ.other.sig"));
    }
}
