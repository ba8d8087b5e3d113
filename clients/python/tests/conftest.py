"""Shared fixtures: the repository's paths, and a moto server on a free
loopback port (as the Rust suite's tests use), for the DynamoDB ledger."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    server = os.environ.get("MOTO_SERVER") or str(REPO / ".venv" / "bin" / "moto_server")
    if not Path(server).exists():
        pytest.fail(f"moto_server not found at {server}: run dev/bootstrap.sh, or set MOTO_SERVER")
    port = _free_port()
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on port {port}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def dynamodb(moto_endpoint):
    return boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


_tables = iter(range(1_000_000))


@pytest.fixture
def table(dynamodb):
    """A fresh ledger table (key phoneNumberId, S), as the Rust kit's tests and the directory's template make it."""
    name = f"ledger-{next(_tables)}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "phoneNumberId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "phoneNumberId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name
