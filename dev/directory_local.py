"""The example subscriber in `make run`: examples/number-directory under its own `cargo lambda watch`,
fed from an SQS queue subscribed (raw) to the relay's three topics, as Lambda's event source mapping
would feed it: batches of up to 10, what succeeded deleted, what `batchItemFailures` names left to
come back. After each batch it prints the directory: the Contact Center numbers it now holds."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

FUNCTION = "cc-number-directory"
TOPIC_VARS = ("CREATED_TOPIC_ARN", "UPDATED_TOPIC_ARN", "DELETED_TOPIC_ARN")


def deploy(client, env: dict[str, str], stack_name: str) -> tuple[str, str, str]:
    """`client(service)` makes a boto3 client for moto. Creates the directory table, its queue and dead-letter queue, and the raw subscriptions, as
    examples/number-directory/template.yaml does; returns (table, queue url, queue arn)."""
    table = f"{stack_name}-directory"
    client("dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "phoneNumberId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "phoneNumberId", "KeyType": "HASH"}],
    )
    sqs, sns = client("sqs"), client("sns")
    dlq = sqs.create_queue(QueueName=f"{stack_name}-directory-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=f"{stack_name}-directory", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for var in TOPIC_VARS:
        sns.subscribe(TopicArn=env[var], Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return table, url, arn


def _record(message: dict, queue_arn: str) -> dict:
    return {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": message.get("Attributes", {}), "md5OfBody": message.get("MD5OfBody", ""),
        "messageAttributes": {
            name: {"stringValue": a.get("StringValue"), "dataType": a["DataType"],
                   "stringListValues": [], "binaryListValues": []}
            for name, a in message.get("MessageAttributes", {}).items()
        },
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1",
    }


def contact_center_numbers(client, table: str) -> list[str]:
    items = client("dynamodb").scan(
        TableName=table, FilterExpression="contactCenter = :t", ExpressionAttributeValues={":t": {"BOOL": True}}
    )["Items"]
    def line(i: dict) -> str:
        provider = i.get("contactCenterProviderId", {}).get("S", "none")
        return (f'{i["phoneNumberId"]["S"]} {i["e164"]["S"]}   provider {provider}   '
                f'(last change: {i["changeType"]["S"]} at {i["occurredAt"]["S"]})')

    return sorted(line(i) for i in items)


def warm_up(invoke_port: int) -> None:
    """Invokes the function with an empty batch and waits for its answer: cargo lambda watch builds
    the example on its first invocation (about 3 minutes on 2 cores from a fresh clone), so make
    run does it right after "Ready." and says when it is up, rather than on the first notification."""
    url = f"http://127.0.0.1:{invoke_port}/2015-03-31/functions/{FUNCTION}/invocations"
    request = urllib.request.Request(url, data=b'{"Records":[]}', headers={"Content-Type": "application/json"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=900) as response:  # noqa: S310 - loopback
                response.read()
            return
        except urllib.error.HTTPError:  # answered (a failed build is echoed; watch rebuilds on save)
            return
        except (urllib.error.URLError, ConnectionError):  # watch not listening yet
            time.sleep(0.5)


def feed(client, table: str, queue_url: str, queue_arn: str, invoke_port: int, out, stopping: threading.Event):
    """Polls the directory's queue for ever (a daemon thread) and invokes the function with each batch."""
    sqs = client("sqs")
    url = f"http://127.0.0.1:{invoke_port}/2015-03-31/functions/{FUNCTION}/invocations"
    while not stopping.is_set():
        try:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                           MessageAttributeNames=["All"], AttributeNames=["All"],
                                           VisibilityTimeout=30).get("Messages", [])
            if not messages:
                continue
            event = json.dumps({"Records": [_record(m, queue_arn) for m in messages]}).encode()
            request = urllib.request.Request(url, data=event, headers={"Content-Type": "application/json"})
            # The first batch waits for cargo lambda to build the example (minutes, the first time).
            with urllib.request.urlopen(request, timeout=900) as response:
                answer = json.load(response)
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            for m in messages:
                if m["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            numbers = contact_center_numbers(client, table)
            count = f"{len(numbers)} Contact Center number{'' if len(numbers) == 1 else 's'}"
            lines = [f"── directory (examples/number-directory): batch of {len(messages)}, "
                     f"{len(failed)} reported for retry; {count} now:"]
            lines += [f"    {n}" for n in numbers] or ["    (none)"]
            out(*lines, style="1;36")
        except Exception as exc:  # keep polling: the relay's run must not end with the example
            if not stopping.is_set():
                out(f"run_local: directory feed: {exc}")
                stopping.wait(2)
