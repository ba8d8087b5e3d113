//! `rotate-token`: the pacing and the lines; the steps are the library's
//! (`cc_number_relay::rotate`). The default account's tokens are in the
//! token secret; a registered account's in the registry.

use crate::accounts::record_of;
use crate::clients::{token_store, RingCentralArgs};
use crate::tenant::{speaker, AccountArgs, Registered, Speaker};
use cc_number_relay::change::Timestamp;
use cc_number_relay::registry::{AccountRegistry, CheckRecord};
use cc_number_relay::rotate;
use cc_number_relay::token::TokenSet;
use cc_number_relay::token_store::{generate_token, TokenStore, TokenStoreError};
use std::process::ExitCode;
use std::time::Duration;

/// How long a rotation waits for the new subscription to be Active.
const ACTIVE_POLL: Duration = Duration::from_secs(5);
const ACTIVE_POLLS: u32 = 12;

/// The system clock; pauses say why and for how long.
struct StderrPause;

impl rotate::Clock for StderrPause {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    fn wait(&self, delay: Duration, operation: &str) {
        if !delay.is_zero() {
            eprintln!("rotate-token: waiting {} s before {operation}", delay.as_secs_f64());
            std::thread::sleep(delay);
        }
    }
}

pub async fn rotate_token(
    address: Option<&str>,
    token_secret: Option<String>,
    settle: f64,
    account: &AccountArgs,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let settle =
        Duration::try_from_secs_f64(settle).map_err(|_| format!("--settle {settle}: expected seconds, 0 or more"))?;
    let speaker = speaker(account, args, true).await?;
    let address = &speaker.address(address)?;
    let new = generate_token().map_err(|e| e.to_string())?;
    let pace = rotate::Pace {
        settle,
        poll: ACTIVE_POLL,
        polls: ACTIVE_POLLS,
    };
    let progress = |step: rotate::Step| println!("rotate-token: {}", step.line());
    let rotated = match &speaker {
        Speaker::Default(client) => {
            let secret = token_secret.ok_or(
                "--token-secret is required for the default account (the stack's VerificationTokenSecretArn output)",
            )?;
            let store = token_store(secret).await;
            rotate::rotate(&store, &**client, address, || new, pace, &StderrPause, progress).await
        }
        Speaker::Registered(r) => {
            if token_secret.is_some() {
                return Err(format!(
                    "--token-secret is the default account's: account {}'s tokens are in the registry",
                    r.id()
                ));
            }
            let store = RegistryTokens(r);
            let api = r.client.as_account(r.id());
            rotate::rotate(&store, &api, address, || new, pace, &StderrPause, progress).await
        }
    };
    rotated.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// A registered account's tokens in the registry, as the rotation's store.
/// When the rotation records its new subscription (the successor), the
/// registry records it as the account's subscription first: the relay
/// accepts an account's notifications only from its recorded subscription
/// and a rotation's, so the new one stays accepted once the rotation ends.
struct RegistryTokens<'a>(&'a Registered);

impl RegistryTokens<'_> {
    fn failed(&self, detail: String) -> TokenStoreError {
        TokenStoreError::Write {
            secret: format!("of account {} (the registry)", self.0.id()),
            detail,
        }
    }
}

impl TokenStore for RegistryTokens<'_> {
    async fn read(&self) -> Result<TokenSet, TokenStoreError> {
        let r = self.0;
        match r.registry.get(r.id()).await {
            Ok(Some(account)) => Ok(account.tokens),
            Ok(None) => Err(TokenStoreError::Read {
                secret: format!("of account {}", r.id()),
                detail: "the account is no longer registered".to_owned(),
            }),
            Err(e) => Err(TokenStoreError::Read {
                secret: format!("of account {} (the registry)", r.id()),
                detail: e.to_string(),
            }),
        }
    }

    async fn write(&self, tokens: &TokenSet) -> Result<(), TokenStoreError> {
        let r = self.0;
        r.registry
            .set_tokens(r.id(), tokens)
            .await
            .map_err(|e| self.failed(e.to_string()))?;
        if let Some(successor) = &tokens.successor {
            let subscription = r
                .client
                .get_subscription(successor)
                .map_err(|e| self.failed(format!("reading the new subscription {successor}: {e}")))?;
            let summary = &r.account.summary;
            let check = CheckRecord {
                checked_at: Timestamp::at(time::OffsetDateTime::now_utc()),
                subscription: Some(record_of(&subscription)),
                last_finding: summary.last_finding.clone(),
                reconciled_at: None,
            };
            r.registry
                .record_check(r.id(), &check)
                .await
                .map_err(|e| self.failed(format!("recording the new subscription {successor}: {e}")))?;
        }
        Ok(())
    }
}
