//! The RingCentral client of a Lambda function (the guardian, the
//! confirmer): credentials read from their Secrets Manager secret, waits on
//! `Retry-After` logged.

use crate::ringcentral::{read_secret, Client, Credentials, ServerUrl, Wait};
use std::time::Duration;

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

/// A client from the credentials in `secret_id`, waiting at most
/// `wait_budget` on RingCentral's rate limits.
pub async fn from_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    server: &ServerUrl,
    wait_budget: Duration,
) -> Result<Client, String> {
    let secret = read_secret(secrets, secret_id).await.map_err(|e| e.to_string())?;
    let credentials =
        Credentials::from_secret(secret_id, secret.expose(), server.clone()).map_err(|e| e.to_string())?;
    Client::new(credentials, wait_budget, Box::new(LogWait)).map_err(|e| e.to_string())
}

/// A client signing in as a registered account: the app's client id and
/// secret from `app_secret` (the credentials secret's text, read once per
/// batch), the account's own JWT.
pub fn for_account(
    secret_id: &str,
    app_secret: &crate::ringcentral::Secret,
    server: &ServerUrl,
    jwt: crate::ringcentral::Secret,
    wait_budget: Duration,
) -> Result<Client, String> {
    let app = crate::ringcentral::AppCredentials::from_secret(secret_id, app_secret.expose(), server.clone())
        .map_err(|e| e.to_string())?;
    Client::new(app.with_jwt(jwt), wait_budget, Box::new(LogWait)).map_err(|e| e.to_string())
}
