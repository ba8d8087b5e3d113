"""examples/number-directory-python/app.py, driven as Lambda would, against
moto: the same items as the Rust directory's, a bad message reported alone."""

from __future__ import annotations

import copy
import importlib.util
import json

from conftest import FIXTURES, REPO

from cc_number_change import entry_of


def load_app(monkeypatch, endpoint, table):
    monkeypatch.setenv("DIRECTORY_TABLE", table)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    spec = importlib.util.spec_from_file_location("number_directory_app", REPO / "examples/number-directory-python/app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    return app


def test_the_example_keeps_the_directory_and_reports_a_bad_message_alone(monkeypatch, moto_endpoint, dynamodb, table):
    app = load_app(monkeypatch, moto_endpoint, table)
    good = json.loads((FIXTURES / "good/sqs-raw/created.json").read_text())["Records"][0]
    bad = copy.deepcopy(good)
    bad["messageId"], bad["body"] = "poison", "{}"
    enveloped = json.loads((FIXTURES / "good/sqs-sns-envelope/updated-away-stale.json").read_text())["Records"][0]
    enveloped["messageId"] = "flagged"
    response = app.handler({"Records": [good, bad, good, enveloped]}, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    items = dynamodb.scan(TableName=table)["Items"]
    assert [entry_of(i).to_json() for i in items] == [{
        "phoneNumberId": "1001", "e164": "+12025551001", "occurredAt": "2026-11-30T10:00:00.000Z",
        "notificationId": "00000000-0000-4000-8000-000000000001", "changeType": "Created",
        "contactCenter": True, "contactCenterProviderId": "1",
    }]
