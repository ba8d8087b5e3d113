//! The registry as a DynamoDB table (`ACCOUNTS_TABLE`, hash key
//! `accountId`): one item per registered account, its credential and its
//! tokens sealed under the stack's KMS key ([`super::sealed`]), everything
//! else in plain attributes an operator can read in the console.
//!
//! The webhook path's read ([`AccountRegistry::tokens`]) is one GetItem of
//! the tokens and the subscription id, and one KMS Decrypt; the listing
//! never asks for a sealed attribute, so it never decrypts.

use super::sealed::{sealing, Field, Sealer};
use super::{Account, AccountRegistry, AccountSummary, AccountTokens, CheckRecord, RegistryError, SubscriptionRecord};
use crate::change::{AccountId, Timestamp};
use crate::ringcentral::Secret;
use crate::sink::aws::{one_line, CallBudget};
use crate::token::TokenSet;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

const KEY: &str = "accountId";
const ADDRESS: &str = "address";
const ADDED_AT: &str = "addedAt";
const SUBSCRIPTION_ID: &str = "subscriptionId";
const SUBSCRIPTION_STATUS: &str = "subscriptionStatus";
const EXPIRES_AT: &str = "expiresAt";
const LAST_CHECKED_AT: &str = "lastCheckedAt";
const LAST_RECONCILED_AT: &str = "lastReconciledAt";
const LAST_FINDING: &str = "lastFinding";

/// Every attribute but the sealed two: what the listing reads.
const SUMMARY: [&str; 9] = [
    KEY,
    ADDRESS,
    ADDED_AT,
    SUBSCRIPTION_ID,
    SUBSCRIPTION_STATUS,
    EXPIRES_AT,
    LAST_CHECKED_AT,
    LAST_RECONCILED_AT,
    LAST_FINDING,
];

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoRegistry {
    dynamo: aws_sdk_dynamodb::Client,
    sealer: Sealer,
    table: String,
}

impl DynamoRegistry {
    /// `key_id`: the stack's KMS key (`ACCOUNTS_KEY_ID`), needed only to
    /// seal (`add`, `set_tokens`); without it the registry reads, records
    /// checks and removes. `budget` bounds every DynamoDB and KMS call.
    pub fn new(sdk: &SdkConfig, table: String, key_id: Option<String>, budget: CallBudget) -> Self {
        let dynamo = aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(budget.timeouts())
            .retry_config(budget.retries())
            .stalled_stream_protection(budget.stalled_stream_protection())
            .build();
        let kms = aws_sdk_kms::config::Builder::from(sdk)
            .timeout_config(budget.timeouts())
            .retry_config(budget.retries())
            .stalled_stream_protection(budget.stalled_stream_protection())
            .build();
        Self {
            dynamo: aws_sdk_dynamodb::Client::from_conf(dynamo),
            sealer: Sealer::new(aws_sdk_kms::Client::from_conf(kms), key_id),
            table,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn seal_tokens(&self, account: &AccountId, tokens: &TokenSet) -> Result<Blob, RegistryError> {
        self.sealer
            .seal(account, Field::Tokens, tokens.to_secret_text().as_bytes())
            .await
    }

    async fn open_tokens(&self, account: &AccountId, item: &Item) -> Result<TokenSet, RegistryError> {
        let opened = self
            .sealer
            .open(account, Field::Tokens, sealed_in(account, item, Field::Tokens)?)
            .await?;
        let text = readable(account, Field::Tokens, opened)?;
        TokenSet::parse(&text).map_err(|problem| {
            sealing(
                account,
                Field::Tokens,
                "opened",
                format!("what it holds is no token set: {problem}"),
            )
        })
    }

    async fn open_credential(&self, account: &AccountId, item: &Item) -> Result<Secret, RegistryError> {
        let sealed = sealed_in(account, item, Field::Credential)?;
        let opened = self.sealer.open(account, Field::Credential, sealed).await?;
        readable(account, Field::Credential, opened).map(Secret::new)
    }

    /// An UpdateItem on a registered account only.
    async fn update(&self, account: &AccountId, operation: &'static str, update: Update) -> Result<(), RegistryError> {
        let sent = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(account.as_str()))
            .update_expression(update.expression())
            .condition_expression("attribute_exists(#k)")
            .set_expression_attribute_names(Some(update.names_with_key()))
            .set_expression_attribute_values(update.values())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Err(RegistryError::NotRegistered(account.clone()))
            }
            Err(e) => Err(store(operation, one_line(&e))),
        }
    }
}

impl AccountRegistry for DynamoRegistry {
    async fn tokens(&self, account: &AccountId) -> Result<Option<AccountTokens>, RegistryError> {
        let answer = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(account.as_str()))
            // A rotation's new token must count from the moment it is written.
            .consistent_read(true)
            .projection_expression("#t, #s")
            .expression_attribute_names("#t", Field::Tokens.as_str())
            .expression_attribute_names("#s", SUBSCRIPTION_ID)
            .send()
            .await
            .map_err(|e| store("read", one_line(&e)))?;
        let Some(item) = answer.item else {
            return Ok(None);
        };
        let tokens = self.open_tokens(account, &item).await?;
        let subscription = text(&item, SUBSCRIPTION_ID);
        Ok(Some(AccountTokens::new(tokens, subscription)))
    }

    async fn get(&self, account: &AccountId) -> Result<Option<Account>, RegistryError> {
        let answer = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(account.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store("read", one_line(&e)))?;
        let Some(item) = answer.item else {
            return Ok(None);
        };
        let summary = summary_of(&item).map_err(|detail| store("read", detail))?;
        let (jwt, tokens) = tokio::try_join!(
            self.open_credential(&summary.account_id, &item),
            self.open_tokens(&summary.account_id, &item)
        )?;
        Ok(Some(Account { summary, jwt, tokens }))
    }

    async fn list(&self) -> Result<Vec<AccountSummary>, RegistryError> {
        let (projection, names) = projection(&SUMMARY);
        let mut pages = self
            .dynamo
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .projection_expression(projection)
            .set_expression_attribute_names(Some(names))
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| store("list", one_line(&e)))?;
            for item in page.items() {
                all.push(summary_of(item).map_err(|detail| store("list", detail))?);
            }
        }
        all.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        Ok(all)
    }

    async fn add(&self, account: &Account) -> Result<(), RegistryError> {
        let id = &account.summary.account_id;
        let (credential, tokens) = tokio::try_join!(
            self.sealer.seal(id, Field::Credential, account.jwt.expose().as_bytes()),
            self.seal_tokens(id, &account.tokens)
        )?;
        let mut item = summary_item(&account.summary);
        item.insert(Field::Credential.as_str().to_owned(), AttributeValue::B(credential));
        item.insert(Field::Tokens.as_str().to_owned(), AttributeValue::B(tokens));
        let sent = self
            .dynamo
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {
                Err(RegistryError::AlreadyRegistered(id.clone()))
            }
            Err(e) => Err(store("add", one_line(&e))),
        }
    }

    async fn set_tokens(&self, account: &AccountId, tokens: &TokenSet) -> Result<(), RegistryError> {
        let sealed = self.seal_tokens(account, tokens).await?;
        let mut update = Update::default();
        update.set(Field::Tokens.as_str(), AttributeValue::B(sealed));
        self.update(account, "write", update).await
    }

    async fn record_check(&self, account: &AccountId, check: &CheckRecord) -> Result<(), RegistryError> {
        self.update(account, "write", check_update(check)).await
    }

    async fn remove(&self, account: &AccountId) -> Result<(), RegistryError> {
        self.dynamo
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(account.as_str()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store("remove", one_line(&e)))
    }
}

/// An UpdateItem's `SET` and `REMOVE` clauses, names and values numbered.
#[derive(Debug, Default)]
struct Update {
    set: Vec<(&'static str, AttributeValue)>,
    remove: Vec<&'static str>,
}

impl Update {
    fn set(&mut self, name: &'static str, value: AttributeValue) {
        self.set.push((name, value));
    }

    /// Sets the attribute to `value`, or removes it when there is none.
    fn set_or_remove(&mut self, name: &'static str, value: Option<&str>) {
        match value {
            Some(value) => self.set(name, s(value)),
            None => self.remove.push(name),
        }
    }

    fn expression(&self) -> String {
        let set: Vec<String> = (0..self.set.len()).map(|i| format!("#s{i} = :s{i}")).collect();
        let remove: Vec<String> = (0..self.remove.len()).map(|i| format!("#r{i}")).collect();
        let mut clauses = Vec::new();
        if !set.is_empty() {
            clauses.push(format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            clauses.push(format!("REMOVE {}", remove.join(", ")));
        }
        clauses.join(" ")
    }

    /// The clauses' names, and `#k` for the condition.
    fn names_with_key(&self) -> HashMap<String, String> {
        let set = self.set.iter().enumerate().map(|(i, (n, _))| (format!("#s{i}"), n));
        let remove = self.remove.iter().enumerate().map(|(i, n)| (format!("#r{i}"), n));
        set.chain(remove)
            .map(|(placeholder, name)| (placeholder, (*name).to_owned()))
            .chain([("#k".to_owned(), KEY.to_owned())])
            .collect()
    }

    /// `None` when nothing is set: DynamoDB refuses an empty value map.
    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        let values: HashMap<String, AttributeValue> = self
            .set
            .iter()
            .enumerate()
            .map(|(i, (_, v))| (format!(":s{i}"), v.clone()))
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// A check replaces the subscription and the finding (none clears them);
/// the last reconciliation moves only when this run reconciled.
fn check_update(check: &CheckRecord) -> Update {
    let mut update = Update::default();
    update.set(LAST_CHECKED_AT, s(check.checked_at.as_str()));
    let subscription = check.subscription.as_ref();
    update.set_or_remove(SUBSCRIPTION_ID, subscription.map(|s| s.id.as_str()));
    update.set_or_remove(SUBSCRIPTION_STATUS, subscription.map(|s| s.status.as_str()));
    update.set_or_remove(
        EXPIRES_AT,
        subscription.and_then(|s| s.expires_at.as_ref()).map(Timestamp::as_str),
    );
    update.set_or_remove(LAST_FINDING, check.last_finding.as_deref());
    if let Some(at) = &check.reconciled_at {
        update.set(LAST_RECONCILED_AT, s(at.as_str()));
    }
    update
}

/// `#p0, #p1, …` for `names`, with the placeholders' names.
fn projection(names: &[&str]) -> (String, HashMap<String, String>) {
    let placeholders: Vec<String> = (0..names.len()).map(|i| format!("#p{i}")).collect();
    let map = placeholders
        .iter()
        .cloned()
        .zip(names.iter().map(|n| (*n).to_owned()))
        .collect();
    (placeholders.join(", "), map)
}

/// The item's plain attributes for `summary`; absent values are left out.
fn summary_item(summary: &AccountSummary) -> Item {
    let mut item = Item::from([
        (KEY.to_owned(), s(summary.account_id.as_str())),
        (ADDRESS.to_owned(), s(&summary.address)),
        (ADDED_AT.to_owned(), s(summary.added_at.as_str())),
    ]);
    let subscription = summary.subscription.as_ref();
    let optional = [
        (SUBSCRIPTION_ID, subscription.map(|s| s.id.as_str())),
        (SUBSCRIPTION_STATUS, subscription.map(|s| s.status.as_str())),
        (
            EXPIRES_AT,
            subscription.and_then(|s| s.expires_at.as_ref()).map(Timestamp::as_str),
        ),
        (LAST_CHECKED_AT, summary.last_checked_at.as_ref().map(Timestamp::as_str)),
        (
            LAST_RECONCILED_AT,
            summary.last_reconciled_at.as_ref().map(Timestamp::as_str),
        ),
        (LAST_FINDING, summary.last_finding.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), s(value));
        }
    }
    item
}

fn summary_of(item: &Item) -> Result<AccountSummary, String> {
    let key = text(item, KEY).ok_or("an item has no accountId")?;
    let account_id = AccountId::parse(key).map_err(|e| format!("item {key:?}: accountId {e}"))?;
    let required = |name: &str| text(item, name).ok_or_else(|| format!("item {key}: no {name}"));
    let timestamp = |name: &str| {
        text(item, name)
            .map(|at| Timestamp::parse(at).map_err(|e| format!("item {key}: {name} {e}")))
            .transpose()
    };
    let subscription = match text(item, SUBSCRIPTION_ID) {
        Some(id) => Some(SubscriptionRecord {
            id: id.to_owned(),
            status: text(item, SUBSCRIPTION_STATUS).unwrap_or_default().to_owned(),
            expires_at: timestamp(EXPIRES_AT)?,
        }),
        None => None,
    };
    Ok(AccountSummary {
        account_id,
        address: required(ADDRESS)?.to_owned(),
        added_at: timestamp(ADDED_AT)?.ok_or_else(|| format!("item {key}: no {ADDED_AT}"))?,
        subscription,
        last_checked_at: timestamp(LAST_CHECKED_AT)?,
        last_reconciled_at: timestamp(LAST_RECONCILED_AT)?,
        last_finding: text(item, LAST_FINDING).map(str::to_owned),
    })
}

fn sealed_in<'a>(account: &AccountId, item: &'a Item, field: Field) -> Result<&'a Blob, RegistryError> {
    item.get(field.as_str())
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| sealing(account, field, "opened", "the item holds no sealed value".to_owned()))
}

/// What KMS opened, as text: never shown in the error.
fn readable(account: &AccountId, field: Field, opened: Vec<u8>) -> Result<String, RegistryError> {
    String::from_utf8(opened).map_err(|_| sealing(account, field, "opened", "what it holds is not UTF-8".to_owned()))
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn store(operation: &'static str, detail: String) -> RegistryError {
    RegistryError::Store { operation, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::VerificationToken;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn summary() -> AccountSummary {
        AccountSummary {
            account_id: AccountId::parse("51234567").unwrap(),
            address: "https://relay.example/webhook".into(),
            added_at: at("2026-01-02T03:04:05.000Z"),
            subscription: Some(SubscriptionRecord {
                id: "sub-1".into(),
                status: "Active".into(),
                expires_at: Some(at("2036-01-01T00:00:00.000Z")),
            }),
            last_checked_at: Some(at("2026-01-03T00:00:00.000Z")),
            last_reconciled_at: None,
            last_finding: Some("Blacklisted: one line".into()),
        }
    }

    #[test]
    fn a_summary_reads_back_as_it_was_written() {
        assert_eq!(summary_of(&summary_item(&summary())), Ok(summary()));
        let bare = AccountSummary {
            subscription: None,
            last_checked_at: None,
            last_finding: None,
            ..summary()
        };
        let item = summary_item(&bare);
        assert_eq!(item.len(), 3, "{item:?}");
        assert_eq!(summary_of(&item), Ok(bare));
    }

    #[test]
    fn an_unreadable_item_says_which_and_why() {
        let mut item = summary_item(&summary());
        item.insert(ADDED_AT.into(), s("yesterday"));
        assert_eq!(
            summary_of(&item),
            Err("item 51234567: addedAt must be an RFC 3339 timestamp".into())
        );
        item.insert(KEY.into(), s("~"));
        assert_eq!(
            summary_of(&item),
            Err("item \"~\": accountId must be 1 to 32 digits".into())
        );
    }

    #[test]
    fn the_listing_projects_no_sealed_attribute() {
        let (expression, names) = projection(&SUMMARY);
        assert_eq!(expression, "#p0, #p1, #p2, #p3, #p4, #p5, #p6, #p7, #p8");
        let mut projected: Vec<&str> = names.values().map(String::as_str).collect();
        projected.sort();
        assert_eq!(
            projected,
            [
                "accountId",
                "addedAt",
                "address",
                "expiresAt",
                "lastCheckedAt",
                "lastFinding",
                "lastReconciledAt",
                "subscriptionId",
                "subscriptionStatus"
            ]
        );
    }

    #[test]
    fn a_check_without_subscription_or_finding_removes_them_and_keeps_the_reconciliation() {
        let update = check_update(&CheckRecord {
            checked_at: at("2026-02-01T00:00:00.000Z"),
            subscription: None,
            last_finding: None,
            reconciled_at: None,
        });
        assert_eq!(update.expression(), "SET #s0 = :s0 REMOVE #r0, #r1, #r2, #r3");
        let names = update.names_with_key();
        let named = |p: &str| names[p].as_str();
        assert_eq!(
            [
                named("#s0"),
                named("#r0"),
                named("#r1"),
                named("#r2"),
                named("#r3"),
                named("#k")
            ],
            [
                LAST_CHECKED_AT,
                SUBSCRIPTION_ID,
                SUBSCRIPTION_STATUS,
                EXPIRES_AT,
                LAST_FINDING,
                KEY
            ]
        );
        assert_eq!(update.values().unwrap()[":s0"], s("2026-02-01T00:00:00.000Z"));
    }

    #[test]
    fn a_full_check_sets_everything() {
        let update = check_update(&CheckRecord {
            checked_at: at("2026-02-01T00:00:00.000Z"),
            subscription: summary().subscription,
            last_finding: Some("Deaf: x".into()),
            reconciled_at: Some(at("2026-02-01T00:00:01.000Z")),
        });
        assert_eq!(
            update.expression(),
            "SET #s0 = :s0, #s1 = :s1, #s2 = :s2, #s3 = :s3, #s4 = :s4, #s5 = :s5"
        );
        let values = update.values().unwrap();
        assert_eq!(values[":s1"], s("sub-1"));
        assert_eq!(values[":s3"], s("2036-01-01T00:00:00.000Z"));
        assert_eq!(values[":s5"], s("2026-02-01T00:00:01.000Z"));
    }

    #[test]
    fn the_webhook_tokens_are_the_recorded_subscription_and_the_rotations() {
        let token = |t: &str| VerificationToken::parse(t.into()).unwrap();
        let tokens = TokenSet {
            retiring: vec!["sub-0".into(), "sub-1".into()],
            successor: Some("sub-2".into()),
            previous: Some(token("old")),
            ..TokenSet::single(token("new"))
        };
        let account = Account {
            summary: summary(),
            jwt: Secret::new("eyJ.jwt.sig".into()),
            tokens: tokens.clone(),
        };
        let made = AccountTokens::new(tokens, Some("sub-1"));
        assert_eq!(made, account.webhook_tokens());
        assert_eq!(made.subscription_ids, ["sub-0", "sub-1", "sub-2"]);
    }
}
