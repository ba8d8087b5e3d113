//! The dead-letter queue in SQS, with ordinary time limits: redrive is an
//! operator command, and its long polls outlast the relay's budgets.

use super::{DeadLetters, QueueError, Received};
use crate::sink::aws::{one_line, QueueUrl};

/// How long a received item stays hidden while this run handles it.
const VISIBILITY_SECONDS: i32 = 300;
const LONG_POLL_SECONDS: i32 = 2;

pub struct SqsDeadLetters {
    pub client: aws_sdk_sqs::Client,
    pub queue: QueueUrl,
}

impl DeadLetters for SqsDeadLetters {
    async fn receive(&self) -> Result<Vec<Received>, QueueError> {
        let received = self
            .client
            .receive_message()
            .queue_url(self.queue.as_str())
            .max_number_of_messages(10)
            .visibility_timeout(VISIBILITY_SECONDS)
            .wait_time_seconds(LONG_POLL_SECONDS)
            .send()
            .await
            .map_err(|e| QueueError::Receive(one_line(&e)))?;
        Ok(received
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Received {
                message_id: m.message_id.unwrap_or_default(),
                receipt: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(self.queue.as_str())
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError::Delete(one_line(&e)))
    }

    async fn release(&self, receipts: Vec<String>) {
        for receipt in receipts {
            let _ = self
                .client
                .change_message_visibility()
                .queue_url(self.queue.as_str())
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await;
        }
    }
}
