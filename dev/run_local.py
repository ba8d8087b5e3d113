#!/usr/bin/env python3
"""Run the relay on this machine: `make run`.

1. starts moto (SNS, SQS, DynamoDB, Secrets Manager, CloudFormation) in this process,
   on a free loopback port;
2. deploys template.yaml into it (dev/topology.py), puts the demo token into the stack's
   verification token secret, and adds one subscriber queue per topic;
3. starts `cargo lambda watch` with the function's environment from that stack, and (Standard
   topics) the example subscriber under a watch of its own (dev/directory_local.py);
4. once the function answers a handshake and the example an empty batch (both built), prints what
   each sample in events/ shows and ready-to-paste `cargo lambda invoke` and `curl` commands;
5. prints every message a subscriber receives and everything parked in the
   dead-letter queue, each as one block, until Ctrl-C, which stops the functions and moto quietly.

Expects .venv made by dev/bootstrap.sh --run (the Makefile runs it first).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

sys.dont_write_bytecode = True  # no dev/__pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import directory_local  # noqa: E402
import topology  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
FUNCTION_NAME = "cc-number-relay"  # the binary, and the local stack's name
# A fixed, obviously local token (32 letters and digits, like the one the stack generates);
# dev/topology.py puts it into the local stack's secret as "current", and events/*.json
# carry the same value in their verification-token header.
DEMO_TOKEN = "ccNumberRelayLocalDemoToken2026x"
COLOR = sys.stdout.isatty() and "NO_COLOR" not in os.environ
_print_lock = threading.Lock()  # the pollers and the watch echo print from their own threads
STOPPING = threading.Event()  # set once shutdown starts: moto going away is no longer news


def paint(line: str, style: str) -> str:
    return f"\033[{style}m{line}\033[0m" if style and COLOR else line


def out(*lines: str, style: str = "") -> None:
    """Prints the lines in one write, so that no other thread's lines come between them."""
    text = "".join(paint(line, style) + "\n" for line in lines)
    with _print_lock:
        sys.stdout.write(text)
        sys.stdout.flush()


def step(message: str) -> None:
    out(f"==> {message}", style="1")


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:  # taken: any free one
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------- the function


def function_env(topo: topology.Topology, endpoint: str, json_logs: bool) -> dict[str, str]:
    # Nothing from the developer's own AWS setup may steer the function to real AWS.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AMAZON_"))}
    # The relay reads its token from the secret the template names; a VERIFICATION_TOKEN left in
    # the developer's shell beside it would be a configuration error (both set).
    env.pop("VERIFICATION_TOKEN", None)
    env.update(topo.env)  # exactly what the template gives the function
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        AWS_REGION=topology.REGION,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        RUST_LOG=os.environ.get("RUST_LOG", "info"),
    )
    if json_logs:
        env["AWS_LAMBDA_LOG_FORMAT"] = "json"
    return env


def start_watch(invoke_port: int, env: dict[str, str], binary: str = FUNCTION_NAME, cwd: Path = ROOT,
                mark: str = "  fn │ ") -> subprocess.Popen:
    watch = subprocess.Popen(
        ["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(invoke_port),
         "--bin", binary, "--color", "always" if COLOR else "never"],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, so stop_watch reaches cargo and the function too
    )

    def echo() -> None:  # build output and function logs, marked apart from what subscribers receive
        for line in watch.stdout:
            # Once we are stopping, watch's shutdown chatter (one ~40 KB INFO line with its whole
            # configuration, "waitpid returned pid=0" errors) is no news: make run stops quietly.
            # cargo lambda sets AWS_LAMBDA_MAX_CONCURRENCY=1 for the function (its --concurrency),
            # and lambda_runtime warns that without its concurrency-tokio feature it runs one
            # invocation at a time: as Lambda runs each instance, and as the relay is built to.
            if STOPPING.is_set() or "AWS_LAMBDA_MAX_CONCURRENCY is set to" in line:
                continue
            out(mark + line.rstrip("\n"))

    threading.Thread(target=echo, daemon=True).start()
    return watch


def ignore_stop_signals() -> None:
    """First thing when stopping: a second Ctrl-C (or a signal to the whole group) must not cut the
    cleanup short and leave a `cargo lambda watch` or moto running."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def stop_watch(watch: subprocess.Popen) -> None:
    # SIGINT first: watch then shuts its function down cleanly, as from a terminal.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(watch.pid, sig)
            watch.wait(timeout=5)
            break
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
    try:  # the group may outlive its leader (cargo run -> the function binary)
        os.killpg(watch.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def announce_when_up(url: str, invoke_port: int, directory_port: int | None) -> None:
    """Sends one handshake and waits for its answer, which comes once the function is built
    (minutes, the first time); prints the commands then; then, with the example subscriber, has
    it built too (an empty batch) and says when it is up. A failed build leaves it waiting: the
    compiler errors are echoed, and watch rebuilds on save."""
    request = urllib.request.Request(url, method="POST", data=b"", headers={"Validation-Token": "local-warmup"})
    while True:
        try:
            with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
                status, echoed = response.status, response.headers.get("Validation-Token")
            break
        except urllib.error.HTTPError as exc:
            status, echoed = exc.code, exc.headers.get("Validation-Token")
            break
        except (urllib.error.URLError, ConnectionError):  # watch not listening yet
            time.sleep(0.5)
    if status == 200 and echoed == "local-warmup":
        step("function is up: the handshake answered 200 and echoed Validation-Token")
    else:
        step(f"the warm-up handshake answered {status}, Validation-Token={echoed!r}")
    print_commands(invoke_port)
    if directory_port is not None:
        # Built after "Ready." rather than before: its dependencies are built with other
        # features than the relay's, so a first build takes minutes more, and the relay can be
        # tried meanwhile. Notifications sent meanwhile wait in its queue; nothing is lost.
        step(f"building the example subscriber ({directory_local.FUNCTION}) now: the first time takes a few "
             "minutes; notifications sent meanwhile wait in its queue, and its directory is printed once it is up")
        directory_local.warm_up(directory_port)
        step("example subscriber is up: it answered an empty batch; the directory is printed after each batch")


# What each sample in events/ (and events/bodies/) shows, in the order to send them. All are about
# one number, 987654321 (+12024999741).
SAMPLES = [
    ("handshake", "the validation handshake: 200, Validation-Token echoed"),
    ("created", "Created: a new Contact Center number; the directory lists it, provider 12345"),
    ("updated-location", "Updated: still a Contact Center number, its location and provider changed; "
                         "the directory shows provider 67890"),
    ("updated-reassigned-away", "Updated: reassigned to another usage (DirectNumber); it leaves the directory"),
    ("deleted", "Deleted: after updated-location it leaves the directory; after updated-reassigned-away "
                "it is gone already"),
    ("renewal-reminder", "the subscription's renewal reminder: acknowledged, neither published nor parked"),
    ("parked", "a bad E.164 number: answered 200 and parked in the dead-letter queue"),
    ("wrong-token", "a wrong Verification-Token: 401, nothing published or parked"),
]


def print_commands(invoke_port: int) -> None:
    url = f"http://127.0.0.1:{invoke_port}/lambda-url/{FUNCTION_NAME}/"
    events = {path.stem: path for path in (ROOT / "events").glob("*.json")}
    bodies = {path.stem: path for path in (ROOT / "events" / "bodies").glob("*.json")}
    known = [name for name, _ in SAMPLES]
    described = SAMPLES + [(name, "") for name in sorted((events.keys() | bodies.keys()) - set(known))]
    width = max(len(name) for name, _ in described)
    lines = [
        "", f"Ready. From another terminal, in {ROOT}:",
        f"  verification token (\"current\" in the stack's secret) = {DEMO_TOKEN}", "",
        "  The samples, one number's story in the order it happened (events/NAME.json, events/bodies/NAME.json):",
    ]
    lines += [f"    {name:<{width}}  {what}".rstrip() for name, what in described]
    lines += [
        "  Sent twice, a body is answered {\"status\":\"duplicate\"} the second time; sent again after a newer",
        "  change of its number (created after deleted) it is published again, flagged stale=true.", "",
        "  API Gateway HTTP API (v2) events, through the Lambda invoke API",
        '  (cargo-lambda lives in .venv/bin: export PATH="$PWD/.venv/bin:$PATH" first):',
    ]
    lines += [
        f"    cargo lambda invoke {FUNCTION_NAME} --invoke-address 127.0.0.1 --invoke-port {invoke_port} "
        f"--data-file {events[name].relative_to(ROOT)}"
        for name, _ in described if name in events
    ]
    lines += ["", "  Raw HTTP, as RingCentral sends it, through the function-URL emulation:",
              f"    curl -i -X POST -H 'Validation-Token: abc123' {url}"]
    lines += [
        f"    curl -i -X POST -H 'Verification-Token: {DEMO_TOKEN}' -H 'Content-Type: application/json' "
        f"--data-binary @{bodies[name].relative_to(ROOT)} {url}"
        for name, _ in described if name in bodies
    ]
    lines += [
        "    # a wrong token: 401 {\"error\":\"missing or wrong Verification-Token\"}, nothing published or parked",
        "    curl -i -X POST -H 'Verification-Token: not-the-token' -H 'Content-Type: application/json' "
        f"--data-binary @events/bodies/created.json {url}",
    ]
    lines += ["", "  What subscribers receive, and what is parked in the dead-letter queue, appears below.",
              "  Ctrl-C stops everything.", ""]
    out(*lines)


# ------------------------------------------------------------------ subscribers


def describe(message: dict, title: str, style: str, fifo: bool = False, parked: bool = False) -> None:
    body = message.get("Body", "")
    try:
        parsed = json.loads(body)
        body = json.dumps(parsed, indent=2, ensure_ascii=False)
    except ValueError:
        parsed = {}
    attributes = message.get("MessageAttributes") or {}
    lines = [f"── {datetime.now():%H:%M:%S} {title}"]
    if parked and isinstance(parsed, dict):
        reason = parsed.get("reason") or attributes.get("reason", {}).get("StringValue")
        lines += [f"   reason: {reason or '(not given)'}", f"   detail: {parsed.get('detail') or '(not given)'}"]
    if fifo:
        system = message.get("Attributes") or {}
        lines.append(f"   MessageGroupId: {system.get('MessageGroupId')}   "
                     f"MessageDeduplicationId: {system.get('MessageDeduplicationId')}")
    lines.append("   message attributes:")
    lines += [f"      {name} ({a.get('DataType')}) = {a.get('StringValue', a.get('BinaryValue'))}"
              for name, a in sorted(attributes.items())] or ["      (none)"]
    lines.append("   body:")
    lines += ["      " + line for line in body.splitlines()]
    out(paint(lines[0], style), *lines[1:])  # one block, one write


def poll(endpoint: str, queue_url: str, **how) -> None:
    """Long-polls one queue for ever (a daemon thread), prints each message, then deletes it."""
    sqs = topology.local_session().client("sqs", endpoint_url=endpoint)
    while True:
        try:
            response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                           MessageAttributeNames=["All"], AttributeNames=["All"])
        except Exception as exc:  # noqa: BLE001 - moto is stopping, or hiccupped: keep polling
            if not STOPPING.is_set():
                out(f"run_local: cannot read {queue_url}: {exc}")
            time.sleep(2)
            continue
        for message in response.get("Messages", []):
            describe(message, **how)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


# ------------------------------------------------------------------------- main


def local_queue_url(endpoint: str, queue_url: str) -> str:
    """The queue's URL at moto's endpoint, for a URL in the AWS form."""
    sqs = topology.local_session().client("sqs", endpoint_url=endpoint)
    return sqs.get_queue_url(QueueName=queue_url.rsplit("/", 1)[1])["QueueUrl"]


def start_directory(endpoint: str, topo: topology.Topology, port: int, json_logs: bool):
    """The example subscriber beside the relay: its table and queue in moto, its own watch, its feeder."""
    session = topology.local_session()

    def client(service: str):
        return session.client(service, endpoint_url=endpoint)

    table, queue_url, queue_arn = directory_local.deploy(client, topo.env, FUNCTION_NAME)
    env = function_env(topo, endpoint, json_logs)
    env["DIRECTORY_TABLE"] = table
    step(f"example subscriber: {directory_local.FUNCTION} on 127.0.0.1:{port}, table {table}, "
         f"fed from {queue_url} (raw delivery)")
    watch = start_watch(port, env, directory_local.FUNCTION, ROOT / "examples" / "number-directory", "  dir │ ")
    threading.Thread(target=directory_local.feed, daemon=True,
                     args=(client, table, queue_url, queue_arn, port, out, STOPPING)).start()
    return watch


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the relay locally against moto (make run).")
    parser.add_argument("--topic-type", default="Standard", choices=["Standard", "Fifo"])
    parser.add_argument("--invoke-port", type=int, default=9000, help="port for cargo lambda watch, if free "
                        "(default: %(default)s, else any free port)")
    parser.add_argument("--json-logs", action="store_true", help="function logs as JSON, as in Lambda")
    args = parser.parse_args()
    if not (VENV_BIN / "cargo-lambda").exists():
        out(f"run_local: {VENV_BIN / 'cargo-lambda'} is missing; run dev/bootstrap.sh (make run does) first")
        return 1
    # SIGTERM and SIGHUP stop us like Ctrl-C does, through the same cleanup; SIGINT too when a
    # non-interactive shell started us in the background with it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.default_int_handler)

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    watch = None
    watches: list[subprocess.Popen] = []
    try:
        moto.start()
        endpoint = "http://{}:{}".format(*moto.get_host_and_port())
        step(f"moto is listening on {endpoint}; deploying template.yaml (TopicType={args.topic_type}) into it")
        topo = topology.deploy(endpoint, args.topic_type, DEMO_TOKEN, FUNCTION_NAME, FUNCTION_NAME)
        for t in topo.topics:
            out(f"    {t.env_var:<22} {t.arn}", f"    {'':<22} subscriber {t.subscriber_queue_url} (raw delivery)")
        # The template's queue URL is the AWS form (https://sqs.us-east-1.amazonaws.com/…), which the
        # function keeps; moto answers at either, and the local one is what to paste here.
        dead_letter_queue = local_queue_url(endpoint, topo.dead_letter_queue_url)
        out(f"    {'DEAD_LETTER_QUEUE_URL':<22} {dead_letter_queue}")
        out(f"    {topology.TOKEN_SECRET_VAR} {topo.verification_token_secret_arn}",
            f"    {'':<22} holds {{\"current\":\"{DEMO_TOKEN}\",\"previous\":\"\"}}")

        invoke_port = free_port(args.invoke_port)
        step(f"starting cargo lambda watch on 127.0.0.1:{invoke_port}; the first build takes a few minutes…")
        watch = start_watch(invoke_port, function_env(topo, endpoint, args.json_logs))
        url = f"http://127.0.0.1:{invoke_port}/lambda-url/{FUNCTION_NAME}/"
        directory_port = None
        if args.topic_type == "Standard":
            directory_port = free_port(args.invoke_port + 1)
            watches.append(start_directory(endpoint, topo, directory_port, args.json_logs))
        else:
            out("run_local: the example subscriber (examples/number-directory) runs with TopicType=Standard only")
        threads = [threading.Thread(target=announce_when_up, args=(url, invoke_port, directory_port))]
        threads += [
            threading.Thread(target=poll, args=(endpoint, t.subscriber_queue_url), kwargs=dict(
                title=f"{t.name} → subscriber", style="1;32", fifo=t.arn.endswith(".fifo")))
            for t in topo.topics
        ]
        threads.append(threading.Thread(target=poll, args=(endpoint, dead_letter_queue), kwargs=dict(
            title="PARKED in the dead-letter queue", style="1;33", parked=True)))
        for thread in threads:
            thread.daemon = True
            thread.start()
        while watch.poll() is None:
            time.sleep(0.5)
        out(f"run_local: cargo lambda watch exited with status {watch.returncode}")
        return 1
    except KeyboardInterrupt:
        ignore_stop_signals()
        out("")
        step("stopping")
        return 0
    except topology.TemplateError as exc:
        out(f"run_local: {exc}")
        return 2
    finally:
        ignore_stop_signals()
        STOPPING.set()
        for w in [watch, *watches]:
            if w:
                stop_watch(w)
        moto.stop()


if __name__ == "__main__":
    sys.exit(main())
