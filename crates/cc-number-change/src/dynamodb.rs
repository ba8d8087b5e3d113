//! The DynamoDB ledger: one item per phone number id, written by one
//! conditional `PutItem` per change (no read first). The item is the
//! number's last applied state, so the table doubles as a directory:
//! `contactCenter = true` items are the account's Contact Center numbers.
//!
//! Item (key `phoneNumberId`, S): `e164` S, `occurredAt` S (as in the change),
//! `occurredAtNanos` N (the instant, which orders), `notificationId` S,
//! `changeType` S, `contactCenter` BOOL, `contactCenterProviderId` S when known.

use crate::ledger::{Entry, Ledger, LedgerError, Recorded};
use crate::types::{EventType, NotificationId, PhoneNumberId, Timestamp, E164};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// Applied when the number has no item, or its item is another notification
/// and ours is later, or equally late with a greater notification id:
/// [`Entry::verdict_against`] as a condition. The id test comes first because
/// reconciliation may publish the same correction again with a later
/// `occurredAt`: that is the kept notification, a duplicate, not a newer one.
const NEWER: &str = "attribute_not_exists(phoneNumberId) OR (notificationId <> :n AND \
     (occurredAtNanos < :t OR (occurredAtNanos = :t AND notificationId < :n)))";
/// A revert touches the item only while it is still the one it wrote.
const STILL_OURS: &str = "notificationId = :n";

#[derive(Debug, Clone)]
pub struct DynamoDbLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// The item a ledger writes for `entry`.
pub fn item_of(entry: &Entry) -> Item {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let mut item = HashMap::from([
        ("phoneNumberId".to_owned(), s(entry.phone_number_id.as_str())),
        ("e164".to_owned(), s(entry.e164.as_str())),
        ("occurredAt".to_owned(), s(entry.occurred_at.as_str())),
        (
            "occurredAtNanos".to_owned(),
            AttributeValue::N(entry.occurred_at_nanos.to_string()),
        ),
        ("notificationId".to_owned(), s(entry.notification_id.as_str())),
        ("changeType".to_owned(), s(entry.change_type.as_str())),
        ("contactCenter".to_owned(), AttributeValue::Bool(entry.contact_center)),
    ]);
    if let Some(provider) = &entry.contact_center_provider_id {
        item.insert("contactCenterProviderId".to_owned(), s(provider));
    }
    item
}

/// An item read back (a scan of the directory); `None` if it is not one the ledger wrote.
pub fn entry_of(item: &Item) -> Option<Entry> {
    let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok());
    Some(Entry {
        phone_number_id: PhoneNumberId::parse(s("phoneNumberId")?.as_str()).ok()?,
        e164: E164::parse(s("e164")?.as_str()).ok()?,
        occurred_at: Timestamp::parse(s("occurredAt")?.as_str()).ok()?,
        occurred_at_nanos: item.get("occurredAtNanos")?.as_n().ok()?.parse().ok()?,
        notification_id: NotificationId::parse(s("notificationId")?.as_str()).ok()?,
        change_type: EventType::parse(s("changeType")?).ok()?,
        contact_center: *item.get("contactCenter")?.as_bool().ok()?,
        contact_center_provider_id: s("contactCenterProviderId").cloned(),
    })
}

fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(op: &str, e: SdkError<E, R>) -> LedgerError {
    LedgerError(format!("DynamoDB {op}: {}", DisplayErrorContext(e)))
}

impl Ledger for DynamoDbLedger {
    /// The item the write replaced, if any.
    type Undo = Option<Item>;

    async fn record(&self, entry: &Entry) -> Result<Recorded<Option<Item>>, LedgerError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(entry)))
            .condition_expression(NEWER)
            .expression_attribute_values(":t", AttributeValue::N(entry.occurred_at_nanos.to_string()))
            .expression_attribute_values(":n", AttributeValue::S(entry.notification_id.to_string()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written {
            Ok(output) => Ok(Recorded::Applied(output.attributes.filter(|a| !a.is_empty()))),
            Err(e) => match e.as_service_error() {
                // Refused: the item is our notification (whatever its
                // instant), or something that takes precedence over it.
                Some(PutItemError::ConditionalCheckFailedException(refused)) => {
                    let current = refused
                        .item()
                        .and_then(|i| i.get("notificationId"))
                        .and_then(|v| v.as_s().ok());
                    Ok(if current.map(String::as_str) == Some(entry.notification_id.as_str()) {
                        Recorded::Duplicate
                    } else {
                        Recorded::Stale
                    })
                }
                _ => Err(failed("PutItem", e)),
            },
        }
    }

    async fn revert(&self, entry: &Entry, undo: Option<Item>) -> Result<(), LedgerError> {
        let ours = AttributeValue::S(entry.notification_id.to_string());
        let result = match undo {
            Some(previous) => self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(previous))
                .condition_expression(STILL_OURS)
                .expression_attribute_values(":n", ours)
                .send()
                .await
                .map(drop)
                .or_else(|e| match e.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(()),
                    _ => Err(failed("PutItem", e)),
                }),
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("phoneNumberId", AttributeValue::S(entry.phone_number_id.to_string()))
                .condition_expression(STILL_OURS)
                .expression_attribute_values(":n", ours)
                .send()
                .await
                .map(drop)
                .or_else(|e| match e.as_service_error() {
                    Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(()),
                    _ => Err(failed("DeleteItem", e)),
                }),
        };
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::change;

    #[test]
    fn an_item_reads_back_as_the_entry_it_was_written_from() {
        let mut c = change("1001", EventType::Deleted, "2026-11-30T10:00:00+02:00", "x");
        c.contact_center_provider = None;
        let entry = Entry::of(&c);
        assert_eq!(entry_of(&item_of(&entry)), Some(entry.clone()));
        assert_eq!(item_of(&entry)["contactCenter"], AttributeValue::Bool(false));
        assert_eq!(
            item_of(&entry)["occurredAtNanos"],
            AttributeValue::N("1796025600000000000".into())
        );
    }
}
