//! Entry wiring: what `main.rs` and `bin/*.rs` call to turn configuration
//! into clients (built once) and run them in the Lambda runtime.

pub mod aws;
pub mod confirm;
mod event;
pub mod guardian;
pub mod reconcile;
pub mod relay;
mod ringcentral_client;

pub use event::{parse_event, unreadable_event_answer};
