"""The DynamoDB ledger: one item per phone number id, written by one
conditional ``PutItem`` per change (no read first). The same condition and
item layout as the Rust kit's ``DynamoDbLedger`` (crates/cc-number-change/src/dynamodb.rs),
so a Python and a Rust subscriber may share a table.

Item (key ``phoneNumberId``, S): ``e164`` S, ``occurredAt`` S (as in the
change), ``occurredAtNanos`` N (the instant, which orders), ``notificationId``
S, ``changeType`` S, ``contactCenter`` BOOL, ``contactCenterProviderId`` S
when known. The function needs ``dynamodb:PutItem`` (and
``dynamodb:DeleteItem`` for a revert).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .ledger import Entry, LedgerError, Recorded, Verdict

Item = dict[str, dict[str, Any]]

# Applied when the number has no item, or its item is another notification and
# ours is later, or equally late with a greater notification id:
# Entry.verdict_against as a condition.
NEWER = (
    "attribute_not_exists(phoneNumberId) OR (notificationId <> :n AND "
    "(occurredAtNanos < :t OR (occurredAtNanos = :t AND notificationId < :n)))"
)
# A revert touches the item only while it is still the one it wrote.
STILL_OURS = "notificationId = :n"


def item_of(entry: Entry) -> Item:
    """The item a ledger writes for ``entry``."""
    item: Item = {
        "phoneNumberId": {"S": entry.phone_number_id},
        "e164": {"S": entry.e164},
        "occurredAt": {"S": entry.occurred_at},
        "occurredAtNanos": {"N": str(entry.occurred_at_nanos)},
        "notificationId": {"S": entry.notification_id},
        "changeType": {"S": entry.change_type},
        "contactCenter": {"BOOL": entry.contact_center},
    }
    if entry.contact_center_provider_id is not None:
        item["contactCenterProviderId"] = {"S": entry.contact_center_provider_id}
    return item


def entry_of(item: Item) -> Entry | None:
    """An item read back (a scan of the directory); ``None`` if it is not one the ledger wrote."""
    try:
        provider = item.get("contactCenterProviderId")
        return Entry(
            phone_number_id=item["phoneNumberId"]["S"],
            e164=item["e164"]["S"],
            occurred_at=item["occurredAt"]["S"],
            occurred_at_nanos=int(item["occurredAtNanos"]["N"]),
            notification_id=item["notificationId"]["S"],
            change_type=item["changeType"]["S"],
            contact_center=bool(item["contactCenter"]["BOOL"]),
            contact_center_provider_id=provider["S"] if provider else None,
        )
    except (KeyError, TypeError, ValueError):
        return None


def _code(e: ClientError) -> str:
    return e.response.get("Error", {}).get("Code", "")


class DynamoDbLedger:
    """Records changes in a DynamoDB table with a low-level boto3 client."""

    def __init__(self, client: Any, table: str):
        self.client = client
        self.table = table

    def record(self, entry: Entry) -> Recorded[Item | None]:
        try:
            output = self.client.put_item(
                TableName=self.table,
                Item=item_of(entry),
                ConditionExpression=NEWER,
                ExpressionAttributeValues={
                    ":t": {"N": str(entry.occurred_at_nanos)},
                    ":n": {"S": entry.notification_id},
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if _code(e) != "ConditionalCheckFailedException":
                raise LedgerError(f"DynamoDB PutItem: {_code(e)}") from e
            # Refused: the item is our notification (whatever its instant), or
            # something that takes precedence over it.
            current = e.response.get("Item", {}).get("notificationId", {}).get("S")
            return Recorded(Verdict.DUPLICATE if current == entry.notification_id else Verdict.STALE)
        return Recorded(Verdict.APPLIED, output.get("Attributes") or None)

    def revert(self, entry: Entry, undo: Item | None) -> None:
        ours = {":n": {"S": entry.notification_id}}
        try:
            if undo is not None:
                self.client.put_item(
                    TableName=self.table, Item=undo, ConditionExpression=STILL_OURS, ExpressionAttributeValues=ours
                )
            else:
                self.client.delete_item(
                    TableName=self.table,
                    Key={"phoneNumberId": {"S": entry.phone_number_id}},
                    ConditionExpression=STILL_OURS,
                    ExpressionAttributeValues=ours,
                )
        except ClientError as e:
            if _code(e) != "ConditionalCheckFailedException":
                raise LedgerError(f"DynamoDB {'PutItem' if undo else 'DeleteItem'}: {_code(e)}") from e
