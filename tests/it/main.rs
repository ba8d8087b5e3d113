//! The integration tests, as one test binary: the AWS SDK and the library
//! are linked once, one moto server serves the whole run, and `support`
//! (moto, API Gateway events, `cargo lambda watch`, the RingCentral
//! stand-in) is compiled once for every module.
//!
//! Each module is one area of the contract. Tests that install
//! process-wide state (the tracing subscriber, the metrics recorder) and
//! assert on all of it run alone in a child process: see `support::alone`.

mod support;

mod asyncapi;
mod catalogue;
mod client_variants;
mod cold_start;
mod confirm_lambda;
mod confirm_template;
mod consumers;
mod ctl_account_id;
mod ctl_accounts;
mod ctl_subscription;
mod ctl_subscriptions;
mod deaf;
mod decode;
mod faults;
mod golden;
mod guardian;
mod guardian_fanout;
mod guardian_lambda;
mod guardian_template;
mod inventory;
mod many_accounts;
mod no_gap;
mod observability;
mod precedence;
mod properties;
mod reconcile;
mod reconcile_accounts;
mod redrive;
mod registry;
mod relay;
mod ringcentral_client;
mod runtime;
mod standin;
mod standin_accounts;
mod standin_spec;
mod subscriber;
mod template;
mod tokens;
