"""The batch helper, as crates/cc-number-change/src/batch.rs's tests: one bad
message fails alone, a batch whose every message fails answers them all,
a failing handler's change is reverted and applied on the retry, FIFO order."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import FIXTURES

from cc_number_change import DynamoDbLedger, MemoryLedger, SnsFailures, Subscriber


def record(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["Records"][0]


def raw(message_id: str, body, stale: str = "false", fifo: bool = False) -> dict:
    r = copy.deepcopy(record("good/sqs-raw/created-fifo.json" if fifo else "good/sqs-raw/created.json"))
    r["messageId"] = message_id
    r["body"] = body if isinstance(body, str) else json.dumps(body)
    r["messageAttributes"]["stale"]["stringValue"] = stale
    return r


BODY = json.loads(record("good/sqs-raw/created.json")["body"])


def body(**changes) -> dict:
    b = copy.deepcopy(BODY)
    phone = changes.pop("phoneNumberId", None)
    if phone:
        b["phoneNumber"]["id"] = phone
    b.update(changes)
    return b


def failures(response: dict) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_one_bad_message_fails_alone_and_the_handler_runs_once_per_applied_change():
    subscriber = Subscriber(MemoryLedger())
    enveloped = copy.deepcopy(record("good/sqs-sns-envelope/updated-away-stale.json"))
    envelope = json.loads(enveloped["body"])
    envelope["Message"] = json.dumps(BODY)
    envelope["MessageAttributes"]["stale"]["Value"] = "false"
    enveloped["body"], enveloped["messageId"] = json.dumps(envelope), "again"
    event = {"Records": [
        raw("good", BODY),
        raw("poison", '{"schemaVersion":1}'),
        enveloped,
        raw("newer", body(notificationId="b", occurredAt="2026-11-30T11:00:00Z")),
        raw("flagged", body(notificationId="c", phoneNumberId="1002"), stale="true"),
    ]}
    handled = []
    response = subscriber.sqs(event, lambda change: handled.append(change.notificationId))
    assert failures(response) == ["poison"]
    assert handled == [BODY["notificationId"], "b"]
    assert len(subscriber.ledger.entries()) == 1  # the flagged change never reached the ledger


def test_a_batch_whose_every_message_fails_answers_them_all():
    subscriber = Subscriber(MemoryLedger())
    response = subscriber.sqs({"Records": [raw("a", "not json"), raw("b", "{}")]}, lambda change: None)
    assert failures(response) == ["a", "b"]


def failing(change):
    raise RuntimeError("downstream CRM unavailable")


@pytest.mark.parametrize("ledger", ["memory", "dynamodb"])
def test_a_failing_handler_fails_its_message_and_the_retry_applies_it(ledger, request):
    if ledger == "memory":
        ledger = MemoryLedger()
    else:
        ledger = DynamoDbLedger(request.getfixturevalue("dynamodb"), request.getfixturevalue("table"))
    subscriber = Subscriber(ledger)
    assert failures(subscriber.sqs({"Records": [raw("m1", BODY)]}, failing)) == ["m1"]
    handled = []
    assert failures(subscriber.sqs({"Records": [raw("m1", BODY)]}, handled.append)) == []
    assert len(handled) == 1


def test_on_a_fifo_queue_what_follows_a_failure_is_reported_unhandled():
    subscriber = Subscriber(MemoryLedger())
    handled = []
    response = subscriber.sqs({"Records": [raw("bad", "not json", fifo=True), raw("after", BODY, fifo=True)]}, handled.append)
    assert failures(response) == ["bad", "after"]
    assert handled == [] and subscriber.ledger.entries() == []


def test_an_sns_event_fails_as_a_whole_naming_the_bad_record():
    subscriber = Subscriber(MemoryLedger())
    good = record("good/sns-record/deleted-snapshot.json")
    bad = copy.deepcopy(good)
    bad["Sns"]["Message"], bad["Sns"]["MessageId"] = "{}", "bad-one"
    with pytest.raises(SnsFailures) as e:
        subscriber.sns({"Records": [good, bad]}, lambda change: None)
    assert e.value.failed == ["bad-one: $.schemaVersion: is required"]
    assert len(subscriber.ledger.entries()) == 1
