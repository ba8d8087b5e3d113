//! Relays RingCentral Contact Center phone-number notifications to SNS.
//!
//! Data flows one way: [`config`] → [`http`] (handshake, auth, status) →
//! [`notification`] (wire format) → [`change`] (normalized event) → [`publish`].

pub mod change;
pub mod config;
pub mod http;
pub mod notification;
pub mod publish;
pub mod redrive;
