//! What every command connects with: the operator's AWS configuration, the
//! RingCentral client and the verification token, and the flags that say
//! where their secrets are.

use aws_config::{BehaviorVersion, SdkConfig};
use cc_number_relay::registry::dynamodb::DynamoRegistry;
use cc_number_relay::ringcentral::{self, AppCredentials, TokenError};
use cc_number_relay::token::VerificationToken;
use cc_number_relay::token_store::secrets_manager::{SecretTokens, OPERATOR_TIMEOUTS};
use cc_number_relay::token_store::TokenStore;
use clap::Args;
use std::time::Duration;

/// RingCentral's API: RINGCENTRAL_SERVER_URL (default https://platform.ringcentral.com),
/// RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT.
#[derive(Args)]
pub struct RingCentralArgs {
    /// Read RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT
    /// from this Secrets Manager secret (a JSON object) instead of the environment.
    #[arg(long, value_name = "SECRET")]
    credentials_secret: Option<String>,
}

#[derive(Args)]
pub struct TokenArgs {
    /// Read the current verification token from this Secrets Manager secret
    /// (the stack's VerificationTokenSecretArn output) instead of VERIFICATION_TOKEN.
    #[arg(long, value_name = "SECRET")]
    verification_token_secret: Option<String>,
}

pub const ACCOUNTS_TABLE: &str = "ACCOUNTS_TABLE";
pub const ACCOUNTS_KEY_ID: &str = "ACCOUNTS_KEY_ID";

/// How long a command waits on RingCentral's rate limits in all.
const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(180);

/// Tells the operator why nothing happens for a while.
struct StderrWait;

impl ringcentral::Wait for StderrWait {
    fn wait(&self, delay: Duration, operation: &str) {
        eprintln!(
            "cc-number-relay-ctl: RingCentral is rate limiting: waiting {} s as Retry-After asks, then retrying {operation}",
            delay.as_secs()
        );
        std::thread::sleep(delay);
    }
}

/// The operator's AWS configuration, loaded once, when a command first needs
/// it (`subscribe` with everything in the environment needs none).
static AWS: tokio::sync::OnceCell<SdkConfig> = tokio::sync::OnceCell::const_new();

pub async fn aws() -> &'static SdkConfig {
    AWS.get_or_init(|| aws_config::load_defaults(BehaviorVersion::latest()))
        .await
}

async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(aws().await)
}

/// The default account's client: the app and the default account's JWT.
pub async fn client(args: &RingCentralArgs) -> Result<ringcentral::Client, String> {
    let credentials = match &args.credentials_secret {
        None => ringcentral::Credentials::from_env().map_err(|e| e.to_string())?,
        Some(id) => {
            let (server, secret) = read_credentials_secret(id).await?;
            ringcentral::Credentials::from_secret(id, secret.expose(), server).map_err(|e| e.to_string())?
        }
    };
    client_of(credentials)
}

/// The app alone (a registered account's JWT comes from the registry):
/// RINGCENTRAL_JWT may be absent.
pub async fn app_credentials(args: &RingCentralArgs) -> Result<AppCredentials, String> {
    match &args.credentials_secret {
        None => AppCredentials::from_env().map_err(|e| e.to_string()),
        Some(id) => {
            let (server, secret) = read_credentials_secret(id).await?;
            AppCredentials::from_secret(id, secret.expose(), server).map_err(|e| e.to_string())
        }
    }
}

pub fn client_of(credentials: ringcentral::Credentials) -> Result<ringcentral::Client, String> {
    ringcentral::Client::new(credentials, RATE_LIMIT_BUDGET, Box::new(StderrWait)).map_err(|e| e.to_string())
}

/// The server from the environment and the secret's text.
async fn read_credentials_secret(id: &str) -> Result<(ringcentral::ServerUrl, ringcentral::Secret), String> {
    let server = ringcentral::ServerUrl::from_lookup(&|n: &str| std::env::var(n).ok()).map_err(|e| e.to_string())?;
    let secret = ringcentral::read_secret(&secrets_client().await, id)
        .await
        .map_err(|e| e.to_string())?;
    Ok((server, secret))
}

/// The account registry: ACCOUNTS_TABLE (the stack's AccountsTableName
/// output) and, to register an account (`sealing`), ACCOUNTS_KEY_ID (the
/// stack's KMS key, which seals each account's credential and tokens).
pub async fn registry(sealing: bool) -> Result<DynamoRegistry, String> {
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let table = variable(ACCOUNTS_TABLE).ok_or_else(|| {
        format!("environment variable {ACCOUNTS_TABLE} is not set (the stack's AccountsTableName output)")
    })?;
    let key_id = variable(ACCOUNTS_KEY_ID);
    if sealing && key_id.is_none() {
        return Err(format!(
            "environment variable {ACCOUNTS_KEY_ID} is not set (the stack's KMS key, which seals each account's credential and tokens)"
        ));
    }
    Ok(DynamoRegistry::new(aws().await, table, key_id, OPERATOR_TIMEOUTS))
}

pub async fn verification_token(args: &TokenArgs) -> Result<VerificationToken, String> {
    match &args.verification_token_secret {
        None => ringcentral::verification_token(std::env::var("VERIFICATION_TOKEN").ok(), "VERIFICATION_TOKEN")
            .map_err(|e| match e {
                TokenError::Missing => {
                    "environment variable VERIFICATION_TOKEN is not set (or use --verification-token-secret)".to_owned()
                }
                other => other.to_string(),
            }),
        Some(id) => token_store(id.clone())
            .await
            .read()
            .await
            .map(|tokens| tokens.current)
            .map_err(|e| e.to_string()),
    }
}

pub async fn token_store(secret: String) -> SecretTokens {
    SecretTokens::new(aws().await, secret, OPERATOR_TIMEOUTS)
}
