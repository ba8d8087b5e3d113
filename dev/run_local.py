#!/usr/bin/env python3
"""Run the relay on this machine: `make run`.

1. starts moto_server (SNS + SQS) on a free loopback port;
2. creates the topics, the dead-letter queue and one subscriber queue per topic,
   as template.yaml declares them (dev/topology.py);
3. starts `cargo lambda watch` with the function's environment pointing at moto,
   and waits until the function has been built and answers a handshake;
4. prints ready-to-paste `cargo lambda invoke` and `curl` commands;
5. prints every message a subscriber receives, and everything parked in the
   dead-letter queue, until Ctrl-C, which stops moto and the function.

Expects .venv made by dev/bootstrap.sh (the Makefile runs it first).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import botocore.config
import botocore.exceptions

sys.dont_write_bytecode = True  # no dev/__pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import topology  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
FUNCTION_NAME = "cc-number-relay"
REGION = "us-east-1"
# A fixed, obviously local token (32+ letters and digits, like the template demands);
# events/*.json carry the same value in their verification-token header.
DEMO_TOKEN = "ccNumberRelayLocalDemoToken2026x"
DEFAULT_INVOKE_PORT = 9000
BUILD_FAILED_MARKERS = ("error: could not compile", "error[E", "error: failed to")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_print_lock = threading.Lock()
STOPPING = threading.Event()  # set once shutdown starts; quiets background threads
_COLOR = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def _style(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m" if _COLOR else text


def out(*lines: str) -> None:
    with _print_lock:
        for line in lines:
            print(line)
        sys.stdout.flush()


def step(message: str) -> None:
    out(_style(f"==> {message}", "1"))


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGHUP, like KeyboardInterrupt for SIGINT."""


# --------------------------------------------------------------------- processes


class Child:
    def __init__(
        self,
        name: str,
        cmd: list[str],
        env: dict[str, str],
        log_path: Path | None = None,
        stop_signals: tuple[int, ...] = (signal.SIGTERM,),
    ):
        self.name = name
        self.stop_signals = stop_signals
        self.log_file = open(log_path, "w") if log_path else None  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file or subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # own process group: Ctrl-C is ours to forward
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """Signal the whole process group, escalating through stop_signals, then SIGKILL."""
        for sig, wait in [(s, grace) for s in self.stop_signals] + [(signal.SIGKILL, 3.0)]:
            if not self.alive():
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        # The group may outlive its leader (cargo run -> the function binary).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.log_file:
            self.log_file.close()


def free_port(preferred: int | None = None) -> int:
    if preferred:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, child: Child, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{what} exited with status {child.proc.returncode} before listening")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


# ------------------------------------------------------------------ the function


class WatchOutput(threading.Thread):
    """Echoes `cargo lambda watch` output (build and function logs) and spots build failures."""

    def __init__(self, child: Child):
        super().__init__(daemon=True)
        self.child = child
        self.build_failed = threading.Event()

    def run(self) -> None:
        assert self.child.proc.stdout is not None
        for line in self.child.proc.stdout:
            line = line.rstrip("\n")
            stripped = ANSI_ESCAPE.sub("", line).strip()
            if any(stripped.startswith(m) for m in BUILD_FAILED_MARKERS):
                self.build_failed.set()
            elif stripped.startswith("Compiling ") or stripped.startswith("Finished "):
                self.build_failed.clear()
            out(_style("  fn │ ", "2") + line)


def handshake(url: str, timeout: float) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, method="POST", data=b"", headers={"Validation-Token": "local-warmup"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback URL
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode(errors="replace")


def wait_until_ready(url: str, watch: Child, output: WatchOutput) -> bool:
    """Block until the function answers the handshake (True), the build fails (False),
    or watch dies (RuntimeError)."""
    result: dict = {}

    def attempt() -> None:
        try:
            result["response"] = handshake(url, timeout=3600)
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    started = time.monotonic()
    next_note = 30.0
    while thread.is_alive():
        thread.join(0.5)
        if not watch.alive():
            raise RuntimeError(f"cargo lambda watch exited with status {watch.proc.returncode}")
        if output.build_failed.is_set():
            step("the build failed (see the errors above); fix the code and save: watch rebuilds it")
            threading.Thread(target=_report_late, args=(thread, result), daemon=True).start()
            return False
        waited = time.monotonic() - started
        if waited >= next_note:
            step(f"still building the function ({waited:.0f} s so far)…")
            next_note += 30.0
    _report_handshake(result)
    return True


def _report_late(thread: threading.Thread, result: dict) -> None:
    thread.join()
    _report_handshake(result)


def _report_handshake(result: dict) -> None:
    if STOPPING.is_set():
        return
    if "error" in result:
        step(f"warm-up handshake failed: {result['error']}")
        return
    status, headers, body = result["response"]
    echoed = {k.lower(): v for k, v in headers.items()}.get("validation-token")
    if status == 200 and echoed == "local-warmup":
        step("function is up: the handshake answered 200 and echoed Validation-Token")
    else:
        step(f"warm-up handshake answered {status}, Validation-Token={echoed!r}, body={body[:200]!r}")


# ------------------------------------------------------------------- subscribers


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return body


def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines() or [""])


def _attributes(message: dict) -> list[str]:
    lines = []
    for name, attr in sorted((message.get("MessageAttributes") or {}).items()):
        value = attr.get("StringValue", attr.get("BinaryValue"))
        lines.append(f"      {name} ({attr.get('DataType')}) = {value}")
    return lines or ["      (none)"]


def _find(message: dict, parsed: object, key: str) -> str | None:
    for name, attr in (message.get("MessageAttributes") or {}).items():
        if name.lower() == key:
            return attr.get("StringValue")
    if isinstance(parsed, dict):
        for name, value in parsed.items():
            if name.lower() == key:
                return value if isinstance(value, str) else json.dumps(value)
    return None


def describe_subscriber_message(topic: topology.TopicInfo, message: dict) -> list[str]:
    stamp = datetime.now().strftime("%H:%M:%S")
    lines = [_style(f"── {stamp} {topic.name} → subscriber {topic.subscriber_queue_name}", "1;32")]
    system = message.get("Attributes") or {}
    if topic.fifo:
        lines.append(
            f"   MessageGroupId: {system.get('MessageGroupId')}   "
            f"MessageDeduplicationId: {system.get('MessageDeduplicationId')}"
        )
    lines.append("   message attributes:")
    lines += _attributes(message)
    lines.append("   body:")
    lines.append(_indent(_pretty(message.get("Body", ""))))
    return lines


def describe_parked_message(queue: topology.QueueInfo, message: dict) -> list[str]:
    stamp = datetime.now().strftime("%H:%M:%S")
    body = message.get("Body", "")
    try:
        parsed: object = json.loads(body)
    except ValueError:
        parsed = None
    lines = [_style(f"── {stamp} PARKED in dead-letter queue {queue.name}", "1;33")]
    lines.append(f"   reason: {_find(message, parsed, 'reason') or '(not given)'}")
    lines.append(f"   detail: {_find(message, parsed, 'detail') or '(not given)'}")
    lines.append("   message attributes:")
    lines += _attributes(message)
    lines.append("   body:")
    lines.append(_indent(_pretty(body)))
    return lines


class QueuePoller(threading.Thread):
    """Long-polls one queue, prints each message, then deletes it."""

    def __init__(self, endpoint: str, queue_url: str, describe, stop: threading.Event):
        super().__init__(daemon=True)
        self.queue_url = queue_url
        self.describe = describe
        self.stop = stop
        self.sqs = topology.local_session(REGION).client(
            "sqs", endpoint_url=endpoint, config=botocore.config.Config(retries={"max_attempts": 1})
        )

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                response = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=2,
                    MessageAttributeNames=["All"],
                    AttributeNames=["All"],
                )
                failures = 0
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                if self.stop.is_set():
                    return
                failures += 1
                if failures == 3:
                    out(f"==> cannot read {self.queue_url}: {exc}")
                time.sleep(1)
                continue
            for message in response.get("Messages", []):
                out(*self.describe(message))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


# ------------------------------------------------------------------------- main


def function_env(topo: topology.Topology, endpoint: str, json_logs: bool, scratch: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # Nothing from the developer's own AWS setup may steer the function to real AWS.
        if not (k.startswith("AWS_") or k.startswith("AMAZON_"))
    }
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    env.update(topo.env)
    env.update(
        {
            "VERIFICATION_TOKEN": DEMO_TOKEN,
            "METRICS_NAMESPACE": metrics_namespace(),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
            "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        }
    )
    if json_logs:
        env["AWS_LAMBDA_LOG_FORMAT"] = "json"
    return env


def metrics_namespace() -> str:
    try:
        params = topology.load_template().get("Parameters") or {}
        return str(params["MetricsNamespace"]["Default"])
    except (topology.TemplateError, KeyError, TypeError):
        return "CcNumberRelay"


def print_commands(invoke_port: int, built: bool) -> None:
    url = f"http://127.0.0.1:{invoke_port}/lambda-url/{FUNCTION_NAME}/"
    events = sorted((ROOT / "events").glob("*.json"))
    bodies = sorted((ROOT / "events" / "bodies").glob("*.json"))
    lines = [
        "",
        _style(
            ("Ready." if built else "Once the function builds:") + " From another terminal, in " + str(ROOT) + ":",
            "1",
        ),
        f"  VERIFICATION_TOKEN = {DEMO_TOKEN}",
        "",
        "  API Gateway HTTP API (v2) events, through the Lambda invoke API",
        '  (cargo-lambda lives in .venv/bin: export PATH="$PWD/.venv/bin:$PATH" first):',
    ]
    for path in events:
        lines.append(
            f"    cargo lambda invoke {FUNCTION_NAME} --invoke-address 127.0.0.1 --invoke-port {invoke_port} "
            f"--data-file {path.relative_to(ROOT)}"
        )
    if not events:
        lines.append("    (no events/*.json yet)")
    lines += [
        "",
        "  Raw HTTP, as RingCentral sends it, through the function-URL emulation:",
        f"    curl -i -X POST -H 'Validation-Token: abc123' {url}",
    ]
    for path in bodies:
        lines.append(
            f"    curl -i -X POST -H 'Verification-Token: {DEMO_TOKEN}' -H 'Content-Type: application/json' "
            f"--data-binary @{path.relative_to(ROOT)} {url}"
        )
    if not bodies:
        lines.append("    (no events/bodies/*.json yet)")
    lines += [
        "",
        "  What subscribers receive, and what is parked in the dead-letter queue, appears below.",
        "  Ctrl-C stops everything.",
        "",
    ]
    out(*lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the relay locally against moto (make run).")
    parser.add_argument("--topic-type", default="Standard", choices=["Standard", "Fifo"])
    parser.add_argument(
        "--invoke-port", type=int, default=0,
        help=f"port for cargo lambda watch (default: {DEFAULT_INVOKE_PORT} if free, else any free port)",
    )
    parser.add_argument("--moto-port", type=int, default=0, help="port for moto_server (default: any free port)")
    parser.add_argument("--json-logs", action="store_true", help="function logs as JSON, as in Lambda")
    args = parser.parse_args(argv)

    for tool in ("moto_server", "cargo-lambda"):
        if not (VENV_BIN / tool).exists():
            out(f"run_local: {VENV_BIN / tool} is missing; run dev/bootstrap.sh (make run does) first")
            return 1

    def on_signal(signum, _frame):
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    children: list[Child] = []
    scratch = Path(tempfile.mkdtemp(prefix="cc-number-relay-run-"))
    status = 0
    try:
        moto_port = args.moto_port or free_port()
        endpoint = f"http://127.0.0.1:{moto_port}"
        step(f"starting moto_server on {endpoint} (log: {scratch / 'moto.log'})")
        moto_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        moto = Child(
            "moto_server",
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
            moto_env,
            log_path=scratch / "moto.log",
        )
        children.append(moto)
        wait_for_port(moto_port, moto, "moto_server", timeout=60)

        step(f"creating topics and queues from template.yaml (TopicType={args.topic_type})")
        topo = topology.build(endpoint, args.topic_type, region=REGION)
        for t in topo.topics:
            out(f"    {t.env_var:<22} {t.arn}")
            out(f"    {'':<22} subscriber queue {t.subscriber_queue_name} (raw delivery)")
        dlq = topo.dead_letter_queue
        assert dlq is not None
        out(f"    {dlq.env_var:<22} {dlq.url}")

        invoke_port = args.invoke_port or free_port(DEFAULT_INVOKE_PORT)
        step(f"starting cargo lambda watch on 127.0.0.1:{invoke_port}")
        watch = Child(
            "cargo lambda watch",
            [
                "cargo", "lambda", "watch",
                "--invoke-address", "127.0.0.1",
                "--invoke-port", str(invoke_port),
                "--bin", FUNCTION_NAME,
                "--color", "always" if _COLOR else "never",
            ],
            function_env(topo, endpoint, args.json_logs, scratch),
            # It shuts its function down cleanly on SIGINT, as from a terminal.
            stop_signals=(signal.SIGINT, signal.SIGTERM),
        )
        children.insert(0, watch)  # stopped first
        output = WatchOutput(watch)
        output.start()
        wait_for_port(invoke_port, watch, "cargo lambda watch", timeout=120)

        step("building the function, first build takes a few minutes…")
        built = wait_until_ready(f"http://127.0.0.1:{invoke_port}/lambda-url/{FUNCTION_NAME}/", watch, output)
        print_commands(invoke_port, built)

        pollers = [
            QueuePoller(endpoint, t.subscriber_queue_url, lambda m, t=t: describe_subscriber_message(t, m), STOPPING)
            for t in topo.topics
        ]
        pollers.append(QueuePoller(endpoint, dlq.url, lambda m: describe_parked_message(dlq, m), STOPPING))
        for poller in pollers:
            poller.start()

        while True:
            for child in children:
                if not child.alive():
                    raise RuntimeError(f"{child.name} exited with status {child.proc.returncode}")
            time.sleep(0.5)
    except (KeyboardInterrupt, Stop):
        out("")
        step("stopping")
    except topology.TemplateError as exc:
        out(f"run_local: template.yaml does not match what dev/topology.py expects: {exc}")
        status = 2
    except (RuntimeError, OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        out(f"run_local: {exc}")
        status = 1
    finally:
        STOPPING.set()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        for child in children:
            child.stop()
        if status == 0:
            for leftover in scratch.iterdir():
                leftover.unlink()
            scratch.rmdir()
            step("stopped")
        else:
            out(f"run_local: logs kept in {scratch}")
    return status


if __name__ == "__main__":
    sys.exit(main())
