//! Findings to the alarm topic, one message each, with a `finding` message
//! attribute for filter policies.

use super::Finding;
use crate::config::TopicArn;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;

#[derive(Debug, thiserror::Error)]
#[error("publishing {failed} of {total} findings to the alarm topic failed: {detail}")]
pub struct AlarmError {
    pub failed: usize,
    pub total: usize,
    pub detail: String,
}

/// Publishes every finding; tries them all before reporting a failure.
pub async fn publish_findings(
    sns: &aws_sdk_sns::Client,
    topic: &TopicArn,
    findings: &[Finding],
) -> Result<(), AlarmError> {
    let mut failed = 0;
    let mut detail = String::new();
    for finding in findings {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(finding.kind())
            .build();
        let attribute = match attribute {
            Ok(a) => a,
            Err(e) => {
                failed += 1;
                detail = e.to_string();
                continue;
            }
        };
        let sent = sns
            .publish()
            .topic_arn(topic.as_str())
            .subject(subject(finding))
            .message(finding.to_message())
            .message_attributes("finding", attribute)
            .send()
            .await;
        if let Err(e) = sent {
            failed += 1;
            detail = DisplayErrorContext(&e).to_string();
        }
    }
    if failed > 0 {
        return Err(AlarmError {
            failed,
            total: findings.len(),
            detail,
        });
    }
    Ok(())
}

/// SNS subjects: ASCII, at most 100 characters.
fn subject(finding: &Finding) -> String {
    let text = match finding {
        Finding::Missing { .. } => "RingCentral subscription missing",
        Finding::Blacklisted { .. } => "RingCentral subscription blacklisted",
        Finding::Inactive { .. } => "RingCentral subscription not active",
        Finding::ExpiringSoon { .. } => "RingCentral subscription expiring soon",
        Finding::Healed { .. } => "RingCentral subscription recreated",
        Finding::Renewed { .. } => "RingCentral subscription renewed",
        Finding::Removed { .. } => "Dead RingCentral subscription deleted",
        Finding::HealFailed { .. } => "FAILED to recreate the RingCentral subscription",
        Finding::RenewFailed { .. } => "FAILED to renew the RingCentral subscription",
        Finding::RemoveFailed { .. } => "FAILED to delete a dead RingCentral subscription",
        Finding::CheckFailed { .. } => "FAILED to check the RingCentral subscription",
    };
    format!("cc-number-relay guardian: {text}")
}
