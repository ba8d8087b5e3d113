//! Metrics and X-Ray around any sink, so the core decides and the edge
//! measures: the publish latency histogram, and one X-Ray subsegment per SNS
//! Publish or SQS SendMessage in the invocation's trace.

use super::Sink;
use crate::change::{Change, Delivery};
use crate::observe;
use crate::parked::{ParkError, ParkedItem, PublishFailure};
use crate::xray::{Trace, XRay};
use std::time::{Instant, SystemTime};

pub struct Instrumented<'a, S> {
    pub inner: &'a S,
    pub xray: &'a XRay,
    /// The invocation's trace, when it is sampled.
    pub trace: Option<&'a Trace>,
}

impl<S: Sink> Sink for Instrumented<'_, S> {
    async fn publish(&self, change: &Change, delivery: Delivery) -> Result<String, PublishFailure> {
        let (started, wall) = (Instant::now(), SystemTime::now());
        let published = self.inner.publish(change, delivery).await;
        let took = started.elapsed();
        metrics::histogram!(observe::PUBLISH_LATENCY).record(took.as_secs_f64() * 1000.0);
        self.xray
            .aws_call(self.trace, "SNS", "Publish", wall, took, published.is_err());
        published
    }

    async fn park(&self, item: &ParkedItem) -> Result<String, ParkError> {
        let (started, wall) = (Instant::now(), SystemTime::now());
        let parked = self.inner.park(item).await;
        self.xray.aws_call(
            self.trace,
            "SQS",
            "SendMessage",
            wall,
            started.elapsed(),
            parked.is_err(),
        );
        parked
    }
}
