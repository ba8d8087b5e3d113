//! Shared test support: a real moto server on loopback, topologies built
//! through the real AWS SDK, and API Gateway events for the handler.
#![allow(dead_code, unused_imports)]

pub mod ctl;
pub mod events;
pub mod lambda;
pub mod logs;
pub mod moto;
pub mod template;

pub use ctl::*;
pub use events::*;
pub use lambda::*;
pub use logs::*;
pub use moto::*;
pub use template::{as_list, template};

/// The token in `events/*.json`; tests and the local run use the same one.
pub const TOKEN: &str = "ccNumberRelayLocalDemoToken2026x";

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
