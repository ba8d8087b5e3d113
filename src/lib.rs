//! Relays RingCentral Contact Center phone-number notifications to SNS.
//!
//! Data flows one way: [`config`] → [`http`] (handshake, auth, status) →
//! [`notification`] (wire format) → [`change`] (normalized event) → [`publish`].

pub mod aws;
pub mod change;
pub mod config;
pub mod guardian;
pub mod http;
pub mod notification;
pub mod observe;
pub mod publish;
pub mod redrive;
pub mod ringcentral;
pub mod xray;
