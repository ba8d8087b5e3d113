"""Decoding: each envelope, and bad input named by kind and path, never by value.
The cases mirror crates/cc-number-change/src/decode.rs and receive.rs."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import FIXTURES

from cc_number_change import DecodeError, EnvelopeError, decode, from_record, from_sns, from_sqs, occurred_at_nanos

SAMPLE = {
    "schemaVersion": 1, "changeType": "Created",
    "notificationId": "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0",
    "occurredAt": "2026-11-30T10:00:00.000Z", "accountId": "37439510",
    "subscriptionId": "sub-1", "ownerId": None,
    "phoneNumber": {
        "id": "1001", "e164": "+12025550101", "uri": None, "paymentType": "Local",
        "location": None, "type": "VoiceFax", "usageType": "ContactCenterNumber", "status": "Normal",
    },
    "contactCenterProvider": {"id": "1", "name": "RingCX"},
}


def sample(**changes):
    body = copy.deepcopy(SAMPLE)
    body.update(changes)
    return body


def error_of(body) -> DecodeError:
    with pytest.raises(DecodeError) as e:
        decode(body if isinstance(body, str) else json.dumps(body))
    return e.value


def record(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["Records"][0]


def test_decodes_a_change_and_round_trips_it():
    change = decode(json.dumps(SAMPLE))
    assert change.phoneNumber.e164 == "+12025550101"
    assert change.model_dump(mode="json") == SAMPLE
    assert decode(json.dumps(SAMPLE).encode()) == change


def test_unknown_fields_are_ignored():
    body = sample(addedInV1_1={"anything": [1, 2]})
    body["phoneNumber"]["label"] = "front desk"
    assert decode(json.dumps(body)).notificationId == SAMPLE["notificationId"]


def test_an_absent_nullable_key_reads_as_null_as_serde_reads_it():
    body = sample()
    del body["ownerId"], body["contactCenterProvider"], body["phoneNumber"]["uri"]
    change = decode(json.dumps(body))
    assert change.ownerId is None and change.contactCenterProvider is None and change.phoneNumber.uri is None


def test_a_newer_schema_says_to_upgrade_even_when_its_shape_changed():
    e = error_of(sample(schemaVersion=2, phoneNumber="+12025550101"))
    assert (e.kind, e.path) == ("newer-schema", None)
    assert str(e) == "$.schemaVersion: 2 is newer than this package reads (1); upgrade cc-number-change"
    e = error_of(sample(schemaVersion=0))
    assert (e.kind, str(e)) == ("invalid-field", "$.schemaVersion: must be 1")
    e = error_of(sample(phoneNumber="+12025550101"))
    assert (e.kind, str(e)) == ("invalid-field", "$.phoneNumber: must be an object")


@pytest.mark.parametrize("version", [True, 1.0, "1", None])
def test_schema_version_is_the_integer_1(version):
    assert (error_of(sample(schemaVersion=version)).path) == "$.schemaVersion"


CASES = [
    (("phoneNumber", "e164"), "12025550101", "$.phoneNumber.e164: must be E.164: '+' then 1 to 15 digits, the first not 0"),
    (("phoneNumber", "e164"), "+0123", "$.phoneNumber.e164: must be E.164: '+' then 1 to 15 digits, the first not 0"),
    (("phoneNumber", "e164"), "+1202555010\n", "$.phoneNumber.e164: must be E.164: '+' then 1 to 15 digits, the first not 0"),
    (("occurredAt",), "yesterday", "$.occurredAt: must be an RFC 3339 timestamp"),
    (("occurredAt",), "", "$.occurredAt: must be an RFC 3339 timestamp"),
    (("occurredAt",), "2026-02-30T10:00:00Z", "$.occurredAt: must be an RFC 3339 timestamp"),
    (("changeType",), "Renamed", "$.changeType: must be one of `Created`, `Updated`, `Deleted`"),
    (("phoneNumber", "id"), 1001, "$.phoneNumber.id: must be a string"),
    (("phoneNumber", "id"), "10 01", "$.phoneNumber.id: must be 1 to 128 visible ASCII characters"),
    (("phoneNumber", "id"), None, "$.phoneNumber.id: must be a string"),
    (("notificationId",), "x" * 129, "$.notificationId: must be 1 to 128 visible ASCII characters"),
    (("accountId",), "acct-1", "$.accountId: must be 1 to 32 digits"),
    (("ownerId",), 7, "$.ownerId: must be a string"),
    (("contactCenterProvider",), "RingCX", "$.contactCenterProvider: must be an object"),
    (("contactCenterProvider", "id"), 1, "$.contactCenterProvider.id: must be a string"),
]


@pytest.mark.parametrize("pointer,value,expected", CASES, ids=[f"{'.'.join(c[0])}={c[1]!r}"[:60] for c in CASES])
def test_a_malformed_message_names_the_path_and_the_rule_never_the_value(pointer, value, expected):
    body = sample()
    target = body
    for part in pointer[:-1]:
        target = target[part]
    target[pointer[-1]] = value
    e = error_of(body)
    assert (e.kind, str(e)) == ("invalid-field", expected)
    if isinstance(value, str) and len(value) > 2:
        assert value not in str(e) and value not in repr(e.args)


def test_a_missing_field_is_required_and_named():
    body = sample()
    del body["phoneNumber"]["e164"]
    e = error_of(body)
    assert (e.kind, e.path, e.rule) == ("invalid-field", "$.phoneNumber.e164", "is required")
    assert "+1202" not in str(e)
    e = error_of("{}")
    assert (e.kind, str(e)) == ("invalid-field", "$.schemaVersion: is required")


def test_the_first_error_serde_meets_is_the_one_named():
    # Fields in body order; a missing field after the present ones of its object.
    body = {"changeType": "Renamed", "schemaVersion": 1}
    assert error_of(json.dumps(body)).path == "$.changeType"
    body = sample(occurredAt="yesterday")
    del body["notificationId"]
    assert error_of(body).path == "$.occurredAt"
    body = {"phoneNumber": {"e164": "x"}, **{k: v for k, v in sample().items() if k != "phoneNumber"}}
    assert error_of(body).path == "$.phoneNumber.e164"
    body["phoneNumber"] = {"e164": "+12025550101"}
    assert error_of(body).path == "$.phoneNumber.id"


def test_a_known_field_given_twice_is_refused_as_serde_refuses_it():
    text = json.dumps(sample()).replace('"schemaVersion": 1', '"schemaVersion": 1, "changeType": "Created"', 1)
    e = error_of(text)
    assert (e.kind, e.path, e.rule) == ("invalid-field", "$", "duplicate field `changeType`")
    text = json.dumps(sample()).replace('"schemaVersion": 1', '"schemaVersion": 1, "extra": 1, "extra": 2', 1)
    assert decode(text).changeType == "Created"


@pytest.mark.parametrize("text", ['{"schemaVersion":', "nope", "", '{"schemaVersion": NaN}', '"\\ud800"', "{} {}"])
def test_not_json_is_invalid_json(text):
    e = error_of(text)
    assert (e.kind, e.path) == ("invalid-json", None)


@pytest.mark.parametrize("text", ["[]", "null", '"a change"', "1"])
def test_json_that_is_not_an_object_is_an_invalid_field_at_the_root(text):
    e = error_of(text)
    assert (e.kind, str(e)) == ("invalid-field", "$: must be an object")


def test_instants_are_read_to_the_nanosecond_whatever_the_offset():
    at = lambda text: occurred_at_nanos(decode(json.dumps(sample(occurredAt=text))))  # noqa: E731
    assert at("2026-11-30T10:00:00+02:00") == 1796025600000000000
    assert at("2026-01-01T10:00:00+02:00") < at("2026-01-01T09:00:00Z")
    assert at("2026-01-01T10:00:00.000000002Z") - at("2026-01-01T10:00:00.000000001Z") == 1
    assert at("2026-01-01T10:00:00Z") == at("2026-01-01t10:00:00.000+00:00") == at("2026-01-01 10:00:00z")
    assert at("2016-12-31T23:59:60Z") == at("2017-01-01T00:00:00Z") - 1


def test_a_raw_sqs_message_reads_its_attributes_from_sqs():
    m = from_sqs(record("good/sqs-raw/created.json"))
    assert (m.change.changeType, m.received.origin, m.received.stale) == ("Created", "webhook", False)


def test_an_enveloped_sqs_message_reads_the_envelope():
    m = from_sqs(record("good/sqs-sns-envelope/updated-away-stale.json"))
    assert (m.change.phoneNumber.usageType, m.received.origin, m.received.stale) == ("DirectNumber", "reconciliation", True)


def test_an_sns_record_reads_its_message_attributes():
    m = from_sns(record("good/sns-record/deleted-snapshot.json"))
    assert (m.change.changeType, m.received.origin, m.received.stale) == ("Deleted", "snapshot", False)
    assert from_record(record("good/sns-record/deleted-snapshot.json")) == m


def test_a_bad_body_in_any_envelope_names_the_path():
    raw = record("good/sqs-raw/created.json")
    enveloped = record("good/sqs-sns-envelope/updated-away-stale.json")
    sns = record("good/sns-record/deleted-snapshot.json")
    raw["body"] = raw["body"].replace("+12025551001", "12025551001")
    envelope = json.loads(enveloped["body"])
    envelope["Message"] = envelope["Message"].replace("+12025551001", "12025551001")
    enveloped["body"] = json.dumps(envelope)
    sns["Sns"]["Message"] = sns["Sns"]["Message"].replace("+12025551002", "12025551002")
    for read, r in ((from_sqs, raw), (from_sqs, enveloped), (from_sns, sns)):
        with pytest.raises(DecodeError) as e:
            read(r)
        assert str(e.value) == "$.phoneNumber.e164: must be E.164: '+' then 1 to 15 digits, the first not 0"
    raw["body"] = ""
    with pytest.raises(DecodeError) as e:
        from_sqs(raw)
    assert e.value.kind == "invalid-json"


def test_missing_or_unknown_attributes_read_as_fresh_and_unknown_origin():
    r = record("good/sqs-raw/created.json")
    r["messageAttributes"] = {"origin": {"stringValue": "backfill", "dataType": "String"}}
    m = from_sqs(r)
    assert (m.received.origin, m.received.stale) == (None, False)


def test_a_record_that_is_no_record_is_an_envelope_error_without_its_values():
    r = record("good/sqs-raw/created.json")
    del r["messageId"]
    r["eventSource"] = "secret-value"
    with pytest.raises(EnvelopeError) as e:
        from_sqs(r)
    assert "secret-value" not in str(e.value)
