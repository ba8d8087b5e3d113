"""The cc-number-relay v1 change for Python subscribers: the generated model
(``Change``), decoding from any envelope, the precedence rule with its
in-memory and DynamoDB ledgers, and a batch helper answering
``{"batchItemFailures": [...]}``. The same decisions as the Rust kit
(crates/cc-number-change), held to the same precedence vectors."""

from .batch import HandlerFailed, SnsFailures, Subscriber, process_sqs
from .decode import (
    CONTACT_CENTER_USAGE,
    DecodeError,
    decode,
    leaves_contact_center_number,
    occurred_at_nanos,
)
from .dynamodb import DynamoDbLedger, entry_of, item_of
from .ledger import Entry, Ledger, LedgerError, MemoryLedger, Recorded, Verdict, apply
from .models import Change, ContactCenterProvider, PhoneNumber
from .receive import EnvelopeError, Message, Received, from_record, from_sns, from_sqs

__all__ = [
    "CONTACT_CENTER_USAGE",
    "Change",
    "ContactCenterProvider",
    "DecodeError",
    "DynamoDbLedger",
    "Entry",
    "EnvelopeError",
    "HandlerFailed",
    "Ledger",
    "LedgerError",
    "MemoryLedger",
    "Message",
    "PhoneNumber",
    "Received",
    "Recorded",
    "SnsFailures",
    "Subscriber",
    "Verdict",
    "apply",
    "decode",
    "entry_of",
    "from_record",
    "from_sns",
    "from_sqs",
    "item_of",
    "leaves_contact_center_number",
    "occurred_at_nanos",
    "process_sqs",
]
