//! Shared test support: a real moto server on loopback, topologies built
//! through the real AWS SDK, API Gateway events for the handler, the
//! binaries as processes, and the RingCentral stand-in.

pub mod ctl;
pub mod events;
pub mod lambda;
pub mod logs;
pub mod moto;
pub mod ringcentral_standin;
pub mod runtime_api;
pub mod template;

pub use ctl::*;
pub use events::*;
pub use lambda::*;
pub use logs::*;
pub use moto::*;
pub use template::{as_list, template, template_at};

use std::process::Command;

/// The token in `events/*.json`; tests and the local run use the same one.
pub const TOKEN: &str = "ccNumberRelayLocalDemoToken2026x";

/// The relay's verifier with [`TOKEN`], as `VERIFICATION_TOKEN` configures it.
pub fn verifier() -> cc_number_relay::http::Verifier<cc_number_relay::token_store::Fixed> {
    cc_number_relay::http::Verifier::fixed(cc_number_relay::token::VerificationToken::parse(TOKEN.to_owned()).unwrap())
}

/// A tool from the project's venv (or PATH), or a failure that says how to install it.
pub fn dev_tool(name: &str) -> std::path::PathBuf {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    if venv.exists() {
        return venv;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.exists());
    on_path.unwrap_or_else(|| {
        panic!("`{name}` is not installed: run `make test` (or `dev/bootstrap.sh`) to install the pinned dev tools into .venv")
    })
}

/// Set in the child process that runs one test alone.
const ALONE: &str = "CC_NUMBER_RELAY_TEST_ALONE";

/// For a test that installs process-wide state (the tracing subscriber, the
/// metrics recorder) and asserts on all of it, which other tests of this
/// binary would add to: runs `test` (its path in this binary, such as
/// `observability::every_outcome…`) alone in a new process of this binary,
/// sharing this one's moto. Returns true in that process, where the test
/// body runs; in this one it returns false once the child has passed, and
/// fails with the child's output otherwise.
pub fn alone(test: &str) -> bool {
    if std::env::var(ALONE).is_ok_and(|t| t == test) {
        return true;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1"])
        .env(ALONE, test)
        .env(MOTO_ENDPOINT, &moto().endpoint)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test}, run alone in its own process:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}
