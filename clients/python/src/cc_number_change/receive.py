"""Every way a subscriber receives a change, read with Powertools' parser
models: an SQS record with raw message delivery (attributes in the SQS
message attributes), an SQS record without it (SNS's JSON envelope in the
body, attributes in its ``MessageAttributes``), and an SNS record (a Lambda
subscribed to the topic). The same decisions as the Rust kit's receive.rs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic
from aws_lambda_powertools.utilities.parser.models import (
    SnsNotificationModel,
    SnsRecordModel,
    SqsRecordModel,
)

from .decode import decode
from .models import Change

# The message attributes the relay sets (all of data type String).
EVENT_TYPE = "eventType"
PHONE_NUMBER_ID = "phoneNumberId"
ORIGIN = "origin"
STALE = "stale"
USAGE_TYPE = "usageType"
ACCOUNT_ID = "accountId"
CONTACT_CENTER_PROVIDER_ID = "contactCenterProviderId"

ORIGINS = ("webhook", "redrive", "reconciliation", "snapshot")


class EnvelopeError(ValueError):
    """The record is not an SQS or SNS record as Lambda delivers them. Names
    the record's field and pydantic's error type, never the value."""

    def __init__(self, what: str, error: pydantic.ValidationError):
        first = error.errors(include_input=False, include_url=False)[0]
        path = "$" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in first["loc"])
        self.path = path
        super().__init__(f"not {what}: {path}: {first['type']}")


@dataclass(frozen=True)
class Received:
    """What the attributes beside the body say about the change."""

    origin: str | None = None
    """``webhook``, ``redrive``, ``reconciliation`` or ``snapshot``; ``None``
    when absent or a value this package does not know yet."""
    stale: bool = False
    """The relay flags a change whose number it had already told subscribers a
    newer state of (exactly ``"true"``); such a change is never applied."""

    @classmethod
    def from_attributes(cls, attributes: dict[str, str | None]) -> Received:
        origin = attributes.get(ORIGIN)
        return cls(origin=origin if origin in ORIGINS else None, stale=attributes.get(STALE) == "true")


@dataclass(frozen=True)
class Message:
    """One change as it arrived."""

    change: Change
    received: Received


def _record(record: Any) -> dict:
    """A record as Lambda's JSON: a dict, a Powertools data class (``raw_event``) or a pydantic model."""
    if isinstance(record, dict):
        return record
    raw = getattr(record, "raw_event", None)
    if isinstance(raw, dict):
        return raw
    if isinstance(record, pydantic.BaseModel):
        return record.model_dump(mode="json", by_alias=True)
    raise TypeError(f"not a Lambda record: {type(record).__name__}")


def sqs_record(record: Any) -> SqsRecordModel:
    try:
        return SqsRecordModel.model_validate(_record(record))
    except pydantic.ValidationError as e:
        raise EnvelopeError("an SQS record", e) from None


def from_sqs(record: Any) -> Message:
    """From an SQS record, raw or enveloped. SNS's envelope is recognised by
    its shape (``Type`` ``Notification`` with a ``Message``), so one queue may
    receive both while a subscription's setting changes; raw delivery carries
    the relay's ``eventType`` attribute on the SQS message, so no envelope is
    looked for then."""
    sqs = sqs_record(record)
    body = sqs.body if isinstance(sqs.body, str) else ""
    if EVENT_TYPE not in sqs.messageAttributes and '"TopicArn"' in body:
        envelope = _sns_envelope(body)
        if envelope is not None:
            return _from_notification(envelope)
    attributes = {name: a.stringValue for name, a in sqs.messageAttributes.items()}
    return Message(change=decode(body), received=Received.from_attributes(attributes))


def _sns_envelope(body: str) -> SnsNotificationModel | None:
    try:
        return SnsNotificationModel.model_validate_json(body)
    except (pydantic.ValidationError, ValueError):
        return None


def from_sns(record: Any) -> Message:
    """From an SNS record (a Lambda subscribed to the topic)."""
    try:
        sns = SnsRecordModel.model_validate(_record(record))
    except pydantic.ValidationError as e:
        raise EnvelopeError("an SNS record", e) from None
    return _from_notification(sns.Sns)


def _from_notification(sns: SnsNotificationModel) -> Message:
    attributes = {name: a.Value for name, a in (sns.MessageAttributes or {}).items()}
    message = sns.Message if isinstance(sns.Message, str) else ""
    return Message(change=decode(message), received=Received.from_attributes(attributes))


def from_record(record: Any) -> Message:
    """From any record of an SQS or SNS event, by its source."""
    raw = _record(record)
    if raw.get("EventSource") == "aws:sns" or "Sns" in raw:
        return from_sns(raw)
    return from_sqs(raw)
