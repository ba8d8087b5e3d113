"""The golden messages: full Lambda events (``{"Records": [one record]}``) for
each delivery (``sqs-raw``, ``sqs-sns-envelope``, ``sns-record``), listed in
an ``index.json`` with what each must decode to, or the error (kind and
path) it must give. Two sets, one format:

- schema/vectors/messages/index.json, the repository's golden messages,
  which every subscriber implementation must read alike: this test FAILS
  while that manifest is absent;
- tests/fixtures/index.json, a few messages written here by hand after
  AWS's documented record shapes, so the decoder is tested meanwhile.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO

from cc_number_change import DecodeError, MemoryLedger, SnsFailures, Subscriber, from_record, from_sns, from_sqs

GOLDEN = REPO / "schema" / "vectors" / "messages"


def cases(root: Path, kind: str) -> list:
    index = root / "index.json"
    if not index.exists():
        # One case that fails, naming what is missing, rather than none (which would pass).
        return [pytest.param(root, None, id=f"{root.name}-index-json-missing")]
    entries = json.loads(index.read_text())[kind]
    return [pytest.param(root, entry, id=entry["file"]) for entry in entries]


def load(root: Path, entry: dict | None) -> tuple[dict, dict]:
    if entry is None:
        pytest.fail(f"{root / 'index.json'} is absent: the golden messages are part of the suite")
    event = json.loads((root / entry["file"]).read_text())
    assert len(event["Records"]) == 1, entry["file"]
    return event, event["Records"][0]


def read(delivery: str, record: dict):
    return {"sqs-raw": from_sqs, "sqs-sns-envelope": from_sqs, "sns-record": from_sns}[delivery](record)


GOOD = cases(GOLDEN, "good") + cases(FIXTURES, "good")
BAD = cases(GOLDEN, "bad") + cases(FIXTURES, "bad")


@pytest.mark.parametrize("root,entry", GOOD)
def test_a_good_message_decodes_to_what_the_index_expects(root, entry):
    event, record = load(root, entry)
    message = read(entry["delivery"], record)
    expect = entry["expect"]
    got = {
        "changeType": message.change.changeType,
        "origin": message.received.origin,
        "stale": message.received.stale,
        "notificationId": message.change.notificationId,
        "phoneNumberId": message.change.phoneNumber.id,
        "e164": message.change.phoneNumber.e164,
        "usageType": message.change.phoneNumber.usageType,
    }
    assert got == {k: expect[k] for k in got}, entry["file"]
    # Recognised by its own shape, too, and handled whole by the batch helper.
    assert from_record(record) == message
    handled = []
    subscriber = Subscriber(MemoryLedger())
    if entry["delivery"] == "sns-record":
        subscriber.sns(event, handled.append)
    else:
        assert subscriber.sqs(event, handled.append) == {"batchItemFailures": []}
    assert len(handled) == (0 if expect["stale"] else 1)
    if entry.get("topicType") == "fifo" and entry["delivery"] != "sns-record":
        assert record["eventSourceARN"].endswith(".fifo")


@pytest.mark.parametrize("root,entry", BAD)
def test_a_bad_message_names_the_kind_and_the_path(root, entry):
    event, record = load(root, entry)
    with pytest.raises(DecodeError) as e:
        read(entry["delivery"], record)
    expected = entry["expect"]["error"]
    assert (e.value.kind, e.value.path) == (expected["kind"], expected["path"]), entry["file"]
    # Reported for retry, never raised out of an SQS batch.
    subscriber = Subscriber(MemoryLedger())
    if entry["delivery"] == "sns-record":
        with pytest.raises(SnsFailures):
            subscriber.sns(event, lambda change: None)
    else:
        response = subscriber.sqs(event, lambda change: None)
        assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
