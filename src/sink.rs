//! The sink port: where changes are published and what could not be
//! published is parked. The webhook core and redrive decide *what* goes
//! where; the adapters beside this file decide *how*.
//!
//! - [`aws`]: SNS topics per eventType and the SQS dead-letter queue.
//! - [`recording`]: keeps everything in memory (dry runs, tests).
//! - [`instrumented`]: wraps any sink with metrics and X-Ray subsegments.
//! - [`target`]: one consumer's own SNS topic or SQS queue (snapshots).

pub mod aws;
pub mod instrumented;
pub mod recording;
mod sns;
pub mod target;

pub use sns::message_attributes;

use crate::change::{Change, Delivery};
use crate::parked::{ParkError, ParkedItem, PublishFailure};
use std::future::Future;

pub trait Sink: Sync {
    /// Publishes to the change's topic, with `delivery`'s attributes;
    /// returns the topic's name.
    fn publish(
        &self,
        change: &Change,
        delivery: Delivery,
    ) -> impl Future<Output = Result<String, PublishFailure>> + Send;

    /// Parks an item; returns its message id in the queue.
    fn park(&self, item: &ParkedItem) -> impl Future<Output = Result<String, ParkError>> + Send;
}

impl<S: Sink> Sink for &S {
    fn publish(
        &self,
        change: &Change,
        delivery: Delivery,
    ) -> impl Future<Output = Result<String, PublishFailure>> + Send {
        (**self).publish(change, delivery)
    }
    fn park(&self, item: &ParkedItem) -> impl Future<Output = Result<String, ParkError>> + Send {
        (**self).park(item)
    }
}
