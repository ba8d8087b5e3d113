//! The dead-letter queue port, as redrive reads it: receive a batch, delete
//! what was handled, release what stays. [`sqs`] is the adapter.

pub mod sqs;

use std::future::Future;

/// One message as received: redrive decides what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    /// The handle that deletes or releases this receipt of the message.
    pub receipt: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("reading the dead-letter queue failed: {0}")]
    Receive(String),
    #[error("removing a handled item from the dead-letter queue failed: {0}")]
    Delete(String),
}

pub trait DeadLetters: Sync {
    /// The next batch, hidden from other readers while this run handles it;
    /// empty when the queue has nothing visible left.
    fn receive(&self) -> impl Future<Output = Result<Vec<Received>, QueueError>> + Send;

    fn delete(&self, receipt: &str) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Makes kept messages visible again at once; best effort, since they
    /// reappear by themselves when the hiding times out.
    fn release(&self, receipts: Vec<String>) -> impl Future<Output = ()> + Send;
}
