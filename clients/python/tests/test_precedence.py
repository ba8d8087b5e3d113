"""Every precedence vector (schema/vectors/precedence.json) against both
ledgers, replayed as the Rust kit's ``vectors::replay`` does: decode the body,
leave a ``stale=true`` delivery unrecorded (``Ignored``), else record it."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from cc_number_change import DynamoDbLedger, Entry, MemoryLedger, Received, apply, decode, entry_of, item_of

VECTORS = json.loads((REPO / "schema" / "vectors" / "precedence.json").read_text())["vectors"]


def replay(ledger, vector) -> list[str]:
    outcomes = []
    for delivery in vector["deliveries"]:
        change = decode(json.dumps(delivery["body"]))
        received = Received.from_attributes(delivery["attributes"])
        outcomes.append("Ignored" if received.stale else apply(ledger, change).value)
    return outcomes


def check(vector, outcomes, entries: list[Entry]) -> None:
    assert outcomes == [d["verdict"] for d in vector["deliveries"]], vector["name"]
    entries = sorted(entries, key=lambda e: e.phone_number_id.encode())
    assert [e.to_json() for e in entries] == vector["final"], vector["name"]


def test_the_file_has_the_vectors_the_rust_tests_count():
    assert len(VECTORS) == 30
    assert sum(len(v["deliveries"]) for v in VECTORS) == 77
    assert {d["verdict"] for v in VECTORS for d in v["deliveries"]} == {"Applied", "Duplicate", "Stale", "Ignored"}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_memory_ledger(vector):
    ledger = MemoryLedger()
    check(vector, replay(ledger, vector), ledger.entries())


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_dynamodb_ledger_on_moto(vector, dynamodb, table):
    ledger = DynamoDbLedger(dynamodb, table)
    outcomes = replay(ledger, vector)
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    entries = [entry_of(item) for item in items]
    assert None not in entries
    # The item is exactly the Rust kit's layout: these keys, these types.
    for item in items:
        assert set(item) <= {
            "phoneNumberId", "e164", "occurredAt", "occurredAtNanos", "notificationId",
            "changeType", "contactCenter", "contactCenterProviderId",
        }
        assert item == item_of(entry_of(item))
    check(vector, outcomes, entries)


def test_a_stale_flag_is_exactly_true():
    vector = json.loads(json.dumps(VECTORS[0]))
    for flag, expected in (("true", "Ignored"), ("TRUE", "Applied"), ("false", "Applied")):
        vector["deliveries"][0]["attributes"]["stale"] = flag
        assert replay(MemoryLedger(), vector) == [expected]


def test_the_item_matches_the_rust_kits_for_the_same_entry():
    # crates/cc-number-change/src/dynamodb.rs: an_item_reads_back_as_the_entry_it_was_written_from
    body = json.loads(json.dumps(VECTORS[0]["deliveries"][0]["body"]))
    body.update(changeType="Deleted", occurredAt="2026-11-30T10:00:00+02:00", contactCenterProvider=None)
    item = item_of(Entry.of(decode(json.dumps(body))))
    assert item["occurredAtNanos"] == {"N": "1796025600000000000"}
    assert item["contactCenter"] == {"BOOL": False}
    assert "contactCenterProviderId" not in item


def test_revert_restores_the_previous_entry_unless_something_newer_came(dynamodb, table):
    def entry(at, nid):
        body = json.loads(json.dumps(VECTORS[0]["deliveries"][0]["body"]))
        body.update(occurredAt=at, notificationId=nid)
        return Entry.of(decode(json.dumps(body)))

    first, second, third = entry("2026-01-01T10:00:00Z", "a"), entry("2026-01-01T11:00:00Z", "b"), entry("2026-01-01T12:00:00Z", "c")
    for ledger, entries in (
        (MemoryLedger(), None),
        (DynamoDbLedger(dynamodb, table), lambda: [entry_of(i) for i in dynamodb.scan(TableName=table)["Items"]]),
    ):
        entries = entries or ledger.entries
        assert ledger.record(first).undo is None
        recorded = ledger.record(second)
        ledger.revert(second, recorded.undo)
        assert entries() == [first]
        recorded = ledger.record(second)
        ledger.record(third)
        ledger.revert(second, recorded.undo)
        assert entries() == [third]
