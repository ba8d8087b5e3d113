//! The alarm adapter: the guardian's findings to the alarm topic in SNS, one
//! message each, with a `finding` message attribute for filter policies.
//! A registered account's findings name it: an `accountId` attribute, the
//! account in the subject and an `accountId` field in the message; the
//! default account's messages are as they were before there were many.

use crate::finding::Finding;
use crate::registry::{AccountSummary, Tenant};
use crate::sink::aws::{one_line, TopicArn};
use aws_sdk_sns::types::MessageAttributeValue;
use std::future::Future;

/// SNS refuses a longer subject.
const SUBJECT_LIMIT: usize = 100;
/// The accounts one digest names; the rest are counted. Keeps the message
/// far under SNS's 256 KB with 10,000 accounts in trouble.
pub const DIGEST_LIMIT: usize = 100;

#[derive(Debug, thiserror::Error)]
#[error("publishing {failed} of {total} findings to the alarm topic failed: {detail}")]
pub struct AlarmError {
    pub failed: usize,
    pub total: usize,
    pub detail: String,
}

/// The alarm topic as the guardian's core uses it.
pub trait Alarm: Sync {
    /// Every finding of one account's run; tries them all before failing.
    fn publish(&self, tenant: &Tenant, findings: &[Finding]) -> impl Future<Output = Result<(), AlarmError>> + Send;

    /// One message naming the registered accounts whose last check left a
    /// finding (`accounts` is never empty).
    fn accounts_in_trouble(&self, accounts: &[AccountSummary]) -> impl Future<Output = Result<(), AlarmError>> + Send;
}

/// The alarm topic in SNS.
pub struct SnsAlarm {
    pub sns: aws_sdk_sns::Client,
    pub topic: TopicArn,
}

impl Alarm for SnsAlarm {
    async fn publish(&self, tenant: &Tenant, findings: &[Finding]) -> Result<(), AlarmError> {
        publish_for(&self.sns, &self.topic, tenant, findings).await
    }

    async fn accounts_in_trouble(&self, accounts: &[AccountSummary]) -> Result<(), AlarmError> {
        let (subject, message) = digest(accounts);
        let sent = send(&self.sns, &self.topic, &subject, &message, DIGEST_KIND, None).await;
        sent.map_err(|detail| AlarmError {
            failed: 1,
            total: 1,
            detail,
        })
    }
}

/// The default account's findings, as the single-account guardian publishes them.
pub async fn publish_findings(
    sns: &aws_sdk_sns::Client,
    topic: &TopicArn,
    findings: &[Finding],
) -> Result<(), AlarmError> {
    publish_for(sns, topic, &Tenant::Default, findings).await
}

/// Publishes every finding of `tenant`'s run; tries them all before reporting a failure.
pub async fn publish_for(
    sns: &aws_sdk_sns::Client,
    topic: &TopicArn,
    tenant: &Tenant,
    findings: &[Finding],
) -> Result<(), AlarmError> {
    let mut failed = 0;
    let mut detail = String::new();
    for finding in findings {
        let sent = send(
            sns,
            topic,
            &subject(tenant, finding),
            &message(tenant, finding),
            finding.kind(),
            tenant.account_id().map(|a| a.as_str()),
        )
        .await;
        if let Err(e) = sent {
            failed += 1;
            detail = e;
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

async fn send(
    sns: &aws_sdk_sns::Client,
    topic: &TopicArn,
    subject: &str,
    message: &str,
    kind: &str,
    account: Option<&str>,
) -> Result<(), String> {
    let attribute = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| e.to_string())
    };
    let mut publish = sns
        .publish()
        .topic_arn(topic.as_str())
        .subject(subject)
        .message(message)
        .message_attributes("finding", attribute(kind)?);
    if let Some(account) = account {
        publish = publish.message_attributes("accountId", attribute(account)?);
    }
    publish.send().await.map(|_| ()).map_err(|e| one_line(&e))
}

/// The finding's subject; a registered account's names the account (cut to
/// SNS's 100 characters: the account id is at most 32 digits).
pub fn subject(tenant: &Tenant, finding: &Finding) -> String {
    match tenant {
        Tenant::Default => finding.subject(),
        Tenant::Registered(account) => {
            let mut subject = format!(
                "cc-number-relay account {account}: {}",
                finding.subject().trim_start_matches("cc-number-relay guardian: ")
            );
            // ASCII throughout (the messages and the digits), so any cut is a char boundary.
            subject.truncate(SUBJECT_LIMIT);
            subject
        }
    }
}

/// The finding's message; a registered account's carries `accountId`, and
/// its summary starts with the account.
pub fn message(tenant: &Tenant, finding: &Finding) -> String {
    let Tenant::Registered(account) = tenant else {
        return finding.to_message();
    };
    let mut value: serde_json::Value = serde_json::from_str(&finding.to_message()).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("accountId".to_owned(), account.as_str().into());
        object.insert(
            "summary".to_owned(),
            format!("account {account}: {}", finding.summary()).into(),
        );
    }
    value.to_string()
}

/// The digest's `finding` attribute.
pub const DIGEST_KIND: &str = "AccountsInTrouble";

/// The digest's subject and message: the first [`DIGEST_LIMIT`] accounts
/// with their last finding, and how many there are in all.
pub fn digest(accounts: &[AccountSummary]) -> (String, String) {
    let listed: Vec<serde_json::Value> = accounts
        .iter()
        .take(DIGEST_LIMIT)
        .map(|a| {
            serde_json::json!({
                "accountId": a.account_id.as_str(),
                "lastFinding": a.last_finding,
                "lastCheckedAt": a.last_checked_at.as_ref().map(|t| t.as_str()),
            })
        })
        .collect();
    let total = accounts.len();
    let ids: Vec<&str> = accounts
        .iter()
        .take(DIGEST_LIMIT)
        .map(|a| a.account_id.as_str())
        .collect();
    let more = total - ids.len();
    let summary = format!(
        "{total} registered accounts' last check left a finding: {}{}",
        ids.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
    let message = serde_json::json!({
        "finding": DIGEST_KIND,
        "total": total,
        "accounts": listed,
        "summary": summary,
    });
    let subject = format!("cc-number-relay guardian: {total} accounts in trouble");
    (subject, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{AccountId, Timestamp};

    fn blacklisted() -> Finding {
        Finding::Blacklisted {
            subscription_id: "s1".into(),
            address: "https://a/b".into(),
            reason: Some("Webhook responses with code: [404]".into()),
            blacklisted_at: None,
        }
    }

    fn registered(id: &str) -> Tenant {
        Tenant::Registered(AccountId::parse(id).unwrap())
    }

    #[test]
    fn the_default_accounts_messages_are_as_before() {
        let finding = blacklisted();
        assert_eq!(subject(&Tenant::Default, &finding), finding.subject());
        assert_eq!(message(&Tenant::Default, &finding), finding.to_message());
    }

    #[test]
    fn a_registered_accounts_messages_name_it() {
        let finding = blacklisted();
        let tenant = registered("37439510");
        assert_eq!(
            subject(&tenant, &finding),
            "cc-number-relay account 37439510: RingCentral subscription blacklisted"
        );
        let value: serde_json::Value = serde_json::from_str(&message(&tenant, &finding)).unwrap();
        assert_eq!(value["accountId"], "37439510");
        assert_eq!(value["finding"], "Blacklisted");
        assert_eq!(value["subscriptionId"], "s1");
        assert!(
            value["summary"]
                .as_str()
                .unwrap()
                .starts_with("account 37439510: subscription s1 is Blacklisted"),
            "{value}"
        );
    }

    #[test]
    fn a_long_account_id_keeps_the_subject_within_snss_limit() {
        let finding = Finding::FilterDisabled {
            subscription_id: "s1".into(),
            address: "https://a/b".into(),
            error_code: None,
            message: None,
            missing_permission: false,
        };
        let id = "9".repeat(32);
        let subject = subject(&registered(&id), &finding);
        assert_eq!(subject.len(), 100);
        assert!(subject.starts_with(&format!("cc-number-relay account {id}: RingCentral subscription deaf")));
    }

    fn summary(id: &str, finding: &str) -> AccountSummary {
        AccountSummary {
            account_id: AccountId::parse(id).unwrap(),
            address: "https://a/b".into(),
            added_at: Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap(),
            subscription: None,
            last_checked_at: Some(Timestamp::parse("2026-01-02T00:00:00.000Z").unwrap()),
            last_reconciled_at: None,
            last_finding: Some(finding.into()),
        }
    }

    #[test]
    fn a_digest_names_the_accounts_and_counts_beyond_its_limit() {
        let accounts = vec![summary("11", "Blacklisted: x"), summary("22", "CheckFailed: y")];
        let (subject, message) = digest(&accounts);
        assert_eq!(subject, "cc-number-relay guardian: 2 accounts in trouble");
        let value: serde_json::Value = serde_json::from_str(&message).unwrap();
        assert_eq!(value["finding"], "AccountsInTrouble");
        assert_eq!(value["total"], 2);
        assert_eq!(value["accounts"][1]["accountId"], "22");
        assert_eq!(value["accounts"][1]["lastFinding"], "CheckFailed: y");
        assert_eq!(value["accounts"][1]["lastCheckedAt"], "2026-01-02T00:00:00.000Z");
        assert_eq!(
            value["summary"],
            "2 registered accounts' last check left a finding: 11, 22"
        );

        let many: Vec<AccountSummary> = (1..=105).map(|n| summary(&n.to_string(), "Missing: z")).collect();
        let value: serde_json::Value = serde_json::from_str(&digest(&many).1).unwrap();
        assert_eq!(value["accounts"].as_array().unwrap().len(), DIGEST_LIMIT);
        assert!(
            value["summary"].as_str().unwrap().ends_with(", 100 and 5 more"),
            "{value}"
        );
    }
}
