//! `rotate-token`: the pacing and the lines; the steps are the library's
//! (`cc_number_relay::rotate`).

use crate::clients::{client, token_store, RingCentralArgs};
use cc_number_relay::rotate;
use cc_number_relay::token_store::generate_token;
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
    address: &str,
    token_secret: String,
    settle: f64,
    args: &RingCentralArgs,
) -> Result<ExitCode, String> {
    let settle =
        Duration::try_from_secs_f64(settle).map_err(|_| format!("--settle {settle}: expected seconds, 0 or more"))?;
    let store = token_store(token_secret).await;
    let client = client(args).await?;
    let new = generate_token().map_err(|e| e.to_string())?;
    let pace = rotate::Pace {
        settle,
        poll: ACTIVE_POLL,
        polls: ACTIVE_POLLS,
    };
    rotate::rotate(
        &store,
        &client,
        address,
        || new,
        pace,
        &StderrPause,
        |step| println!("rotate-token: {}", step.line()),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
