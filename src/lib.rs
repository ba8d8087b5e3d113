//! Relays RingCentral Contact Center phone-number notifications to SNS.
//!
//! # Where everything lives
//! Layers, each importing only from the ones before it (`src/layers.rs`, a test,
//! fails on an import that goes the other way):
//!
//! 1. **Domain**, no AWS and no HTTP: [`change`] (the normalized, versioned
//!    event and its newtypes), [`notification`] (RingCentral's wire format and
//!    the one `decode` step), [`token`] (the verification tokens: current and previous), [`parked`]
//!    (the dead-letter item and why it was parked), [`finding`] (what the
//!    guardian found or did).
//! 2. **Ports**, traits with their adapters beside them: [`sink`] (publish a
//!    change, park an item; SNS/SQS, recording, instrumented), [`dead_letters`]
//!    (the queue as redrive reads it; SQS), [`inventory`] (what subscribers
//!    were last told, and the lease to create the RingCentral subscription;
//!    DynamoDB, memory), [`ringcentral`] (the subscription and
//!    phone-number APIs; HTTP client, credentials, Secrets Manager),
//!    [`token_store`] (the verification tokens; Secrets Manager, fixed,
//!    memory), [`registry`] (the RingCentral accounts one stack serves,
//!    each with its credential and tokens; DynamoDB with KMS, memory). Support for adapters and
//!    core: [`observe`] (metric names, EMF), [`xray`] (trace subsegments),
//!    [`alarm`] (findings to SNS).
//! 3. **Core**, the product's decisions, generic over the ports and unit-tested
//!    beside the code with fakes: [`publish`] (a change to its topic with the
//!    inventory beside it: duplicates, stale, recording), [`http`] (the
//!    webhook: request → outcome → answer), [`redrive`] (the dead-letter
//!    queue back through the decoder), [`reconcile`] (RingCentral's list
//!    against the inventory), [`confirm`] (each webhook `Updated` against
//!    RingCentral's get by id, off the webhook path), [`guardian`] (subscription health, heal under
//!    the lease, one subscription of several, renew),
//!    [`rotate`] (a new verification token with no refused delivery).
//! 4. **Entry wiring**: [`config`] (environment → typed configuration),
//!    [`runtime`] (SDK configuration, the Lambda loops of the relay, the
//!    guardian and the confirmer); `main.rs`, `bin/ctl/`, `bin/guardian.rs`
//!    and `bin/confirm.rs` only wire.
//!
//! # Glossary
//! - **change**: one normalized, versioned event (`schemaVersion` 1) about one
//!   phone number: what subscribers receive on the topic of its `changeType`.
//! - **sink**: where changes go (a topic per eventType) and where what could
//!   not go is parked.
//! - **park**: keep an authenticated body that could not be published in the
//!   dead-letter queue, with its reason, so nothing is lost; **redrive** tries
//!   it again later.
//! - **outcome**: what became of one request (handshake, rejected, published,
//!   parked, renewal reminder, unrecoverable); it decides the status code, the
//!   answer, the metrics and the summary log line.
//! - **inventory**: what subscribers were last told about each number; the
//!   relay's duplicate and staleness checks, and the reconciler's memory.
//! - **correction**: a change reconciliation publishes because RingCentral's
//!   state differs from what subscribers were told (`origin` reconciliation).
//! - **finding**: what the guardian found wrong with the RingCentral
//!   subscription, or did about it; each goes to the alarm topic.

pub mod alarm;
pub mod change;
pub mod config;
pub mod confirm;
pub mod dead_letters;
pub mod finding;
pub mod guardian;
pub mod http;
pub mod inventory;
#[cfg(test)]
mod layers;
pub mod notification;
pub mod observe;
pub mod parked;
pub mod publish;
pub mod reconcile;
pub mod redrive;
pub mod registry;
pub mod ringcentral;
pub mod rotate;
pub mod runtime;
pub mod sink;
pub mod token;
pub mod token_store;
pub mod xray;
