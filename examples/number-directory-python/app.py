"""A directory of the account's Contact Center numbers, kept by the Python
client (clients/python): each change applied once and in order per number,
in one conditional write to DIRECTORY_TABLE (the DynamoDB ledger, whose items
are the directory; the same table and item layout as cc-number-directory,
the Rust example). Everything here is wiring; ``on_applied`` is the side
effect a team adds (here: a debug line per applied change)."""

import logging
import os

import boto3

from cc_number_change import Change, DynamoDbLedger, Subscriber, leaves_contact_center_number

logger = logging.getLogger("number-directory")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

table = os.environ.get("DIRECTORY_TABLE") or ""
if not table:
    raise RuntimeError("DIRECTORY_TABLE is not set: the directory table's name")
subscriber = Subscriber(DynamoDbLedger(boto3.client("dynamodb"), table))


def on_applied(change: Change) -> None:
    """Runs once per change the directory applied (never for a duplicate or a stale one)."""
    contact_center = leaves_contact_center_number(change)
    logger.debug("directory updated: %s %s contactCenter=%s", change.phoneNumber.id, change.changeType, contact_center)


def handler(event, context):
    return subscriber.sqs(event, on_applied, context)
