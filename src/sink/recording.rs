//! A sink that keeps what it is given: a dry run publishes into it, and the
//! core's unit tests use it as their fake, failing on demand.

use super::Sink;
use crate::change::{Change, Delivery};
use crate::parked::{ParkError, ParkedItem, PublishFailure};
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
pub struct RecordingSink {
    published: Mutex<Vec<(Change, Delivery)>>,
    parked: Mutex<Vec<ParkedItem>>,
    publish_fails_with: Option<PublishFailure>,
    park_fails_with: Option<ParkError>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RecordingSink {
    /// Every publish fails with `failure`.
    pub fn failing_publish(mut self, failure: PublishFailure) -> Self {
        self.publish_fails_with = Some(failure);
        self
    }
    /// Every park fails with `error`.
    pub fn failing_park(mut self, error: ParkError) -> Self {
        self.park_fails_with = Some(error);
        self
    }
    /// The changes published, in order.
    pub fn published(&self) -> Vec<Change> {
        lock(&self.published).iter().map(|(c, _)| c.clone()).collect()
    }
    /// The changes published, with their attributes beside the body.
    pub fn deliveries(&self) -> Vec<(Change, Delivery)> {
        lock(&self.published).clone()
    }
    pub fn parked(&self) -> Vec<ParkedItem> {
        lock(&self.parked).clone()
    }
}

impl Sink for RecordingSink {
    async fn publish(&self, change: &Change, delivery: Delivery) -> Result<String, PublishFailure> {
        if let Some(failure) = &self.publish_fails_with {
            return Err(failure.clone());
        }
        lock(&self.published).push((change.clone(), delivery));
        Ok(change.change_type.as_str().to_lowercase())
    }

    async fn park(&self, item: &ParkedItem) -> Result<String, ParkError> {
        if let Some(error) = &self.park_fails_with {
            return Err(error.clone());
        }
        let mut parked = lock(&self.parked);
        parked.push(item.clone());
        Ok(format!("recorded-{}", parked.len()))
    }
}
