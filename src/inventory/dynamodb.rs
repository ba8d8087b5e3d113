//! The inventory as a DynamoDB table (`INVENTORY_TABLE`): one item per phone
//! number id, written only over an older state by a conditional write, so
//! concurrent writers (relay instances, a reconciler) can never move it back
//! in time. One more item per account, `#baseline` (`#baseline {account}`
//! for a registered account), marks that its reconciliation took its
//! baseline. And items hold the leases ([`super::LEASE_KEY`] and the others of
//! [`Scope`], which no number id can be): their `holder` and `expiresAtMs`,
//! taken and given back by conditional PutItems (the guardian's role has
//! GetItem, PutItem, Scan and Query on the table, no DeleteItem). Reading
//! numbers skips them all ([`is_bookkeeping`]).
//!
//! The default account reads its numbers with a Scan, as before there were
//! many accounts, leaving out the registered accounts' items; a registered
//! account Queries the `byAccount` index (hash `accountId`, range
//! `phoneNumberId`), so at thousands of accounts no run reads the others'
//! items. The bookkeeping items carry no `accountId`, so the index never
//! holds them.

use super::{is_bookkeeping, Inventory, InventoryError, LeaseTaken, Recorded, Scope, SubscriptionLease, Told};
use crate::change::{AccountId, PhoneNumberId, Timestamp};
use crate::registry::Tenant;
use crate::sink::aws::{one_line, CallBudget};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use time::OffsetDateTime;

const KEY: &str = "phoneNumberId";
/// The attribute an item names its account by, and the index on it.
const ACCOUNT: &str = "accountId";
pub const BY_ACCOUNT_INDEX: &str = "byAccount";
/// The lease item's attributes.
const HOLDER: &str = "holder";
const EXPIRES_AT_MS: &str = "expiresAtMs";
/// The attribute holding the change as JSON, what `Told` is read back from.
const TOLD: &str = "told";

/// On the webhook path the inventory gets one short attempt per call: it
/// must never cost the notification or RingCentral's 3 s (a slow read is
/// treated as "nothing known", a slow write is repaired by reconciliation).
/// The connect timeout is the other clients' 300 ms, although the 250 ms
/// attempt cuts a connection off first: the SDK keeps one TLS connector per
/// timeout setting, so an equal one lets DynamoDB use the connector SNS and
/// Secrets Manager already built instead of building its own on the first call.
pub const RELAY_TIMEOUTS: CallBudget = CallBudget {
    connect: Duration::from_millis(300),
    attempt: Duration::from_millis(250),
    operation: Duration::from_millis(250),
    max_attempts: 1,
};

/// The reconciler scans the whole table: ordinary limits, with retries.
pub const SCAN_TIMEOUTS: CallBudget = CallBudget {
    connect: Duration::from_millis(1000),
    attempt: Duration::from_millis(5000),
    operation: Duration::from_millis(20_000),
    max_attempts: 3,
};

#[derive(Debug, Clone)]
pub struct DynamoInventory {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Whose items, baseline and leases: the default account's, the whole
    /// table, unless set.
    scope: Scope,
}

impl DynamoInventory {
    pub fn new(sdk: &SdkConfig, table: String, budget: CallBudget) -> Self {
        let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(budget.timeouts())
            .retry_config(budget.retries())
            .stalled_stream_protection(budget.stalled_stream_protection())
            .build();
        Self {
            client: aws_sdk_dynamodb::Client::from_conf(conf),
            table,
            scope: super::WHOLE_TABLE.clone(),
        }
    }

    /// The same table, as one account's inventory (reconciliation, baseline,
    /// leases); the webhook path's reads and writes by number id are the
    /// same for every account.
    pub fn for_tenant(self, tenant: Tenant) -> Self {
        let registered = self.scope.registered.clone();
        Self {
            scope: Scope::new(tenant, registered),
            ..self
        }
    }

    /// For the default account: the registered accounts, whose items its
    /// reconciliation leaves out. Nothing for a registered account.
    pub fn excluding(self, registered: BTreeSet<AccountId>) -> Self {
        Self {
            scope: Scope::new(self.scope.tenant().clone(), registered),
            ..self
        }
    }

    pub fn tenant(&self) -> &Tenant {
        self.scope.tenant()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The tenant's subscription lease, as `holder` (one run) takes and releases it.
    pub fn lease(&self, holder: String) -> DynamoLease {
        DynamoLease {
            client: self.client.clone(),
            table: self.table.clone(),
            key: self.scope.lease_key(),
            holder,
        }
    }

    /// The tenant's reconciliation lease: one reconciliation at a time publishes.
    pub fn reconcile_lease(&self, holder: String) -> DynamoLease {
        DynamoLease {
            key: self.scope.reconcile_lease_key(),
            ..self.lease(holder)
        }
    }

    /// The default account's numbers: the whole table, consistently read,
    /// but for the registered accounts' items and the bookkeeping.
    async fn scan(&self) -> Result<Vec<Told>, InventoryError> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed("scan")(one_line(&e)))?;
            self.keep_numbers(page.items(), &mut all).map_err(failed("scan"))?;
        }
        Ok(all)
    }

    /// A registered account's numbers, a page of the index at a time.
    ///
    /// An index is read eventually consistently (DynamoDB offers nothing
    /// else on a global secondary index): an item written in the last
    /// moment may be missing or older here. That is acceptable because the
    /// reconciler decides nothing on this read alone: before it publishes a
    /// correction it reads the number back with a consistent GetItem
    /// (`last_told`) and decides on that; a number missed here is missed
    /// for this run only, and the next run sees it.
    async fn query(&self, account: &AccountId) -> Result<Vec<Told>, InventoryError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_ACCOUNT_INDEX)
            .key_condition_expression("#a = :a")
            .expression_attribute_names("#a", ACCOUNT)
            .expression_attribute_values(":a", s(account.as_str()))
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed("query")(one_line(&e)))?;
            self.keep_numbers(page.items(), &mut all).map_err(failed("query"))?;
        }
        Ok(all)
    }

    /// The numbers among `items` that are the scope's.
    fn keep_numbers(&self, items: &[HashMap<String, AttributeValue>], into: &mut Vec<Told>) -> Result<(), String> {
        for item in items {
            let key = item.get(KEY).and_then(|k| k.as_s().ok());
            if key.is_some_and(|k| is_bookkeeping(k)) {
                continue;
            }
            let told = told_of(item)?;
            if self.scope.holds(&told) {
                into.push(told);
            }
        }
        Ok(())
    }
}

/// One run's handle on the subscription lease in the inventory table.
#[derive(Debug, Clone)]
pub struct DynamoLease {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Which lease: the subscription's or the reconciliation's, whose.
    key: String,
    holder: String,
}

/// A holder name for one run: `who` (what an operator reading the table
/// sees) and 64 random bits, so that two runs at once never share one.
pub fn lease_holder(who: &str) -> String {
    let mut bytes = [0u8; 8];
    let random = rustls::crypto::aws_lc_rs::default_provider().secure_random;
    if random.fill(&mut bytes).is_err() {
        // No random source: the process and the clock's nanoseconds.
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
        bytes = (nanos ^ u64::from(std::process::id()).rotate_left(40)).to_be_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{who} {hex}")
}

fn epoch_millis(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

fn conditional_check_failed<R>(error: &SdkError<PutItemError, R>) -> bool {
    matches!(error, SdkError::ServiceError(e) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)))
}

impl DynamoLease {
    /// Who holds the lease until when, read after a take was refused.
    async fn holder(&self, now: OffsetDateTime) -> Result<LeaseTaken, InventoryError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(&self.key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed("read lease")(one_line(&e)))?;
        let item = answer.item.unwrap_or_default();
        let holder = item.get(HOLDER).and_then(|v| v.as_s().ok()).cloned();
        let until = item
            .get(EXPIRES_AT_MS)
            .and_then(|v| v.as_n().ok())
            .and_then(|ms| ms.parse::<i128>().ok())
            .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok());
        // Released or expired in between: still refused, as the write was.
        Ok(LeaseTaken::Held {
            holder: holder.unwrap_or_else(|| "another run".to_owned()),
            until: until.unwrap_or(now),
        })
    }
}

impl SubscriptionLease for DynamoLease {
    async fn take(&self, now: OffsetDateTime, until: OffsetDateTime) -> Result<LeaseTaken, InventoryError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(&self.key))
            .item(HOLDER, s(&self.holder))
            .item(EXPIRES_AT_MS, AttributeValue::N(epoch_millis(until).to_string()))
            // For people reading the table.
            .item("expiresAt", s(Timestamp::at(until).as_str()))
            .condition_expression("attribute_not_exists(#k) OR #e < :now")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#e", EXPIRES_AT_MS)
            .expression_attribute_values(":now", AttributeValue::N(epoch_millis(now).to_string()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(LeaseTaken::Taken),
            Err(e) if conditional_check_failed(&e) => self.holder(now).await,
            Err(e) => Err(failed("take lease")(one_line(&e))),
        }
    }

    async fn release(&self) -> Result<(), InventoryError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(&self.key))
            .item(HOLDER, s(&self.holder))
            .item(EXPIRES_AT_MS, AttributeValue::N("0".to_owned()))
            .item("expiresAt", s("released"))
            .condition_expression("#h = :h")
            .expression_attribute_names("#h", HOLDER)
            .expression_attribute_values(":h", s(&self.holder))
            .send()
            .await;
        match sent {
            // Expired and taken by another run since: theirs now.
            Ok(_) => Ok(()),
            Err(e) if conditional_check_failed(&e) => Ok(()),
            Err(e) => Err(failed("release lease")(one_line(&e))),
        }
    }
}

fn failed(operation: &'static str) -> impl Fn(String) -> InventoryError {
    move |detail| InventoryError { operation, detail }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The item: the change as JSON (what `Told` is read back from) plus the
/// fields an operator reads in the console and the conditions compare.
fn item(told: &Told) -> HashMap<String, AttributeValue> {
    let change = &told.change;
    let mut item = HashMap::from([
        (KEY.to_owned(), s(told.id().as_str())),
        ("phoneNumber".to_owned(), s(change.phone_number.e164.as_str())),
        ("changeType".to_owned(), s(change.change_type.as_str())),
        ("occurredAt".to_owned(), s(change.occurred_at.as_str())),
        (
            "occurredAtMs".to_owned(),
            AttributeValue::N(millis(&change.occurred_at).to_string()),
        ),
        ("notificationId".to_owned(), s(change.notification_id.as_str())),
        ("origin".to_owned(), s(told.origin.as_str())),
        ("deleted".to_owned(), AttributeValue::Bool(told.deleted())),
        (TOLD.to_owned(), s(&serde_json::to_string(told).unwrap_or_default())),
    ]);
    let optional = [
        (ACCOUNT, change.account_id.as_ref().map(|a| a.as_str())),
        ("usageType", change.phone_number.usage_type.as_deref()),
        (
            "contactCenterProvider",
            change.contact_center_provider.as_ref().and_then(|p| p.id.as_deref()),
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            item.insert(name.to_owned(), s(value));
        }
    }
    item
}

fn millis(at: &Timestamp) -> i128 {
    at.instant().unix_timestamp_nanos() / 1_000_000
}

fn told_of(item: &HashMap<String, AttributeValue>) -> Result<Told, String> {
    let json = item
        .get(TOLD)
        .and_then(|v| v.as_s().ok())
        .ok_or("item has no told attribute")?;
    serde_json::from_str(json).map_err(|e| format!("item {:?} is unreadable: {e}", item.get(KEY)))
}

impl Inventory for DynamoInventory {
    fn scope(&self) -> &Scope {
        &self.scope
    }

    async fn last_told(&self, id: &PhoneNumberId) -> Result<Option<Told>, InventoryError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(id.as_str()))
            .consistent_read(true)
            // Only what `told_of` reads (the key names the item in its
            // error): the answer then carries two attributes, not the
            // dozen an operator reads, to send, parse and drop.
            .projection_expression("#k, #t")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#t", TOLD)
            .send()
            .await
            .map_err(|e| one_line(&e))
            .map_err(failed("read"))?;
        answer.item.as_ref().map(told_of).transpose().map_err(failed("read"))
    }

    async fn record(&self, told: &Told) -> Result<Recorded, InventoryError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(told)))
            .condition_expression("attribute_not_exists(#k) OR #t < :t")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#t", "occurredAtMs")
            .expression_attribute_values(":t", AttributeValue::N(millis(&told.change.occurred_at).to_string()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Recorded::Written),
            Err(SdkError::ServiceError(e)) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {
                Ok(Recorded::KeptNewer)
            }
            Err(e) => Err(failed("write")(one_line(&e))),
        }
    }

    async fn all(&self) -> Result<Vec<Told>, InventoryError> {
        match self.scope.tenant() {
            Tenant::Default => self.scan().await,
            Tenant::Registered(account) => self.query(account).await,
        }
    }

    async fn baseline(&self) -> Result<Option<Timestamp>, InventoryError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(&self.scope.baseline_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed("read baseline")(one_line(&e)))?;
        Ok(answer
            .item
            .and_then(|item| item.get("baselineAt").and_then(|v| v.as_s().ok()).cloned())
            .and_then(|at| Timestamp::parse(at).ok()))
    }

    async fn mark_baseline(&self, at: &Timestamp) -> Result<(), InventoryError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(&self.scope.baseline_key()))
            .item("baselineAt", s(at.as_str()))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // Another run took it first: the earlier baseline stands.
            Err(SdkError::ServiceError(e)) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {
                Ok(())
            }
            Err(e) => Err(failed("mark baseline")(one_line(&e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_of_two_runs_differ_and_say_who() {
        let (a, b) = (lease_holder("guardian"), lease_holder("guardian"));
        assert_ne!(a, b);
        assert!(a.starts_with("guardian ") && a.len() == "guardian ".len() + 16, "{a}");
    }

    #[test]
    fn the_webhook_path_reads_without_stalled_stream_protection_and_the_scan_keeps_it() {
        assert!(!RELAY_TIMEOUTS.stalled_stream_protection().is_enabled());
        assert!(SCAN_TIMEOUTS.stalled_stream_protection().is_enabled());
    }

    #[test]
    fn the_webhook_path_connects_with_the_same_timeout_as_the_other_clients_so_they_share_a_connector() {
        use crate::sink::aws::{SNS_TIMEOUTS, SQS_TIMEOUTS};
        let secret = crate::token_store::secrets_manager::RELAY_TIMEOUTS;
        for other in [SNS_TIMEOUTS, SQS_TIMEOUTS, secret] {
            assert_eq!(RELAY_TIMEOUTS.connect, other.connect);
        }
        assert!(
            RELAY_TIMEOUTS.attempt < RELAY_TIMEOUTS.connect,
            "the attempt still bounds the call"
        );
    }
}
