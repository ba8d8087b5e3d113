//! The alarm adapter: the guardian's findings to the alarm topic in SNS, one
//! message each, with a `finding` message attribute for filter policies.

use crate::finding::Finding;
use crate::sink::aws::{one_line, TopicArn};
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
            .subject(finding.subject())
            .message(finding.to_message())
            .message_attributes("finding", attribute)
            .send()
            .await;
        if let Err(e) = sent {
            failed += 1;
            detail = one_line(&e);
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
