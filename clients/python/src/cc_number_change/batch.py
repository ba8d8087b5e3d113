"""The kit's entry: a batch in, each message on its own, the subscriber's
handler run once per applied change, failures reported per message so one
bad message never blocks the rest of its batch. The same decisions as the
Rust kit's ``Subscriber`` (crates/cc-number-change/src/batch.rs), on
Powertools' ``BatchProcessor`` / ``SqsFifoPartialProcessor``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)

from . import receive
from .ledger import Entry, Ledger, Verdict
from .models import Change
from .receive import Message

logger = logging.getLogger("cc_number_change")

Handler = Callable[[Change], Any]


class SnsFailures(RuntimeError):
    """The SNS records that failed, for a Lambda subscribed to the topic: an
    error makes Lambda retry the invocation."""

    def __init__(self, total: int, failed: list[str]):
        self.total = total
        self.failed = failed
        super().__init__(f"{len(failed)} of {total} SNS records failed: {'; '.join(failed)}")


class HandlerFailed(RuntimeError):
    """The subscriber's handler raised; the ledger entry was reverted, so the retry applies the change."""


class Subscriber:
    """A subscriber: its ledger. ``sqs`` for a queue, ``sns`` for a topic."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def handle(self, message: Message, handler: Handler) -> Verdict:
        """A stale-flagged change is never applied (nor recorded); the others
        go through the ledger, and ``handler`` runs only for an applied one.
        When it raises, the ledger entry is reverted and ``HandlerFailed`` raised."""
        if message.received.stale:
            logger.info("flagged stale by the relay: not applied (phoneNumberId %s)", message.change.phoneNumber.id)
            return Verdict.STALE
        entry = Entry.of(message.change)
        recorded = self.ledger.record(entry)
        if recorded.verdict is not Verdict.APPLIED:
            return recorded.verdict
        try:
            handler(message.change)
        except Exception as e:
            try:
                self.ledger.revert(entry, recorded.undo)
            except Exception as revert:  # noqa: BLE001 - logged, the handler's failure is what is reported
                logger.error(
                    "could not revert the ledger after the handler failed: the retry will read Duplicate "
                    "(phoneNumberId %s): %s",
                    entry.phone_number_id,
                    type(revert).__name__,
                )
            raise HandlerFailed(f"handler failed: {type(e).__name__}") from e
        return Verdict.APPLIED

    def sqs(self, event: dict, handler: Handler, context: Any = None) -> dict:
        """One SQS batch (raw or enveloped): ``{"batchItemFailures": [...]}``.
        Messages whose change was applied, was a duplicate or stale succeed;
        the others are reported, so SQS retries only them, even when every
        message of the batch failed. On a FIFO queue the messages after a
        failure are reported too, unhandled, to keep the order."""
        records = event.get("Records") or []
        fifo = any(str(r.get("eventSourceARN", "")).endswith(".fifo") for r in records)
        processor = SqsFifoPartialProcessor() if fifo else BatchProcessor(EventType.SQS)
        # A batch whose every message failed answers them all, rather than raising.
        processor.raise_on_entire_batch_failure = False

        def record_handler(record: Any) -> str:
            try:
                return self.handle(receive.from_sqs(record), handler).value
            except Exception as e:
                logger.warning(
                    "message not handled; reported for retry (message id %s): %s",
                    getattr(record, "message_id", None),
                    e,
                )
                raise

        return dict(process_partial_response(event, record_handler, processor, context))

    def sns(self, event: dict, handler: Handler) -> list[Verdict]:
        """One SNS event (a Lambda subscribed to the topic; one record in
        practice). Any failure raises ``SnsFailures``, so Lambda retries."""
        records = event.get("Records") or []
        verdicts, failed = [], []
        for record in records:
            message_id = (record.get("Sns") or {}).get("MessageId", "")
            try:
                verdicts.append(self.handle(receive.from_sns(record), handler))
            except Exception as e:  # noqa: BLE001 - reported below
                logger.warning("message not handled (message id %s): %s", message_id, e)
                failed.append(f"{message_id}: {e}")
        if failed:
            raise SnsFailures(len(records), failed)
        return verdicts


def process_sqs(event: dict, ledger: Ledger, handler: Handler, context: Any = None) -> dict:
    """``Subscriber(ledger).sqs(event, handler, context)``."""
    return Subscriber(ledger).sqs(event, handler, context)
