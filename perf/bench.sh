#!/usr/bin/env bash
# `make bench`: every performance figure of the relay, each printed beside its
# budget, on this machine.
#
#  1. handler cost: criterion (benches/handler.rs) against the serde_json::Value floor;
#  2. cold start, warm invocation CPU and peak RSS: the x86_64 release binary, a
#     lambda_http hello-world (perf/hello) and a typical full relay (perf/peer-relay),
#     same profile, same run, against a local Runtime API emulator with SNS, DynamoDB
#     and Secrets Manager on moto (benches/cold_start/), the relay also as deployed
#     (token secret, inventory): warm CPU per notification (budget: 1.1x the typical
#     relay's), CPU through init and the first invocation (budget: 2x hello-world's),
#     then where the relay's cold-start CPU goes, step by step (perf/steps);
#  3. the example subscriber (cc-number-directory) against a hand-written peer and an
#     SQS hello-world (perf/peer-subscriber), same run, against the emulator and moto
#     (benches/directory.rs): warm CPU per batch (budget: 1.1x the peer's), CPU through
#     init and the first batch (budget: 2x hello-world's), DynamoDB calls per change (1);
#  4. reconciling a large account (benches/reconcile.rs);
#  5. size: the arm64 bootstrap from `cargo lambda build --release --arm64`
#     (what `sam build` runs) and its zip.
#
# Knobs: COLD_START_REPS (5), COLD_START_WARM (1000), COLD_START_COLD_REPS (21),
# COLD_START_STEPS_PARTS=1 (the
# pieces an SDK client is built from), COLD_START_MOTO_CLOSE=1 (moto closing every
# connection, as before its keep-alive front), COLD_START_PRINT_COLD=1 (each cold start's
# CPU on a line of its own), COLD_START_XRAY=1 (every invocation sampled, X-Ray
# subsegments sent to a local UDP socket), COLD_START_EXTRA=<binary> and
# COLD_START_EXTRA_ENV="K=V ..." (a fifth function in turn with the others, as deployed
# plus those variables: for trying variants), DIRECTORY_BENCH_ROUNDS (7), DIRECTORY_BENCH_WARM (100),
# SKIP_ARM64=1, SKIP_HANDLER=1, SKIP_DIRECTORY=1, SKIP_RECONCILE=1.
# The first run builds the release profile twice (with and without the
# dev-dependencies' features) plus arm64: expect 15-20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

step() { printf '\n==> %s\n' "$*"; }

bash dev/bootstrap.sh
export PATH="$ROOT/.venv/bin:$PATH"

# The target directory: CARGO_TARGET_DIR when set, as cargo does.
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET/perf
mkdir -p "$OUT"
export PERF_SUMMARY=$OUT/summary.txt
: >"$PERF_SUMMARY"

machine() {
    local cpu
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    printf '%s, %s cores, %s GiB RAM, %s %s, %s\n' "${cpu:-$(uname -m)}" "$(nproc)" \
        "$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)" "$(uname -s)" "$(uname -r)" \
        "$(rustc --version)"
}
{
    printf 'cc-number-relay performance, %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf 'machine: %s\n' "$(machine)"
    printf 'load average at start: %s (timings are only comparable on an otherwise idle machine)\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'commit: %s%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
} >>"$PERF_SUMMARY"

if [[ "${SKIP_HANDLER:-}" != 1 ]]; then
    step "handler cost: cargo bench --bench handler (criterion)"
    cargo bench --locked --bench handler
fi

step "release builds for the cold-start benchmark (x86_64, [profile.release])"
# The relay exactly as `sam build` builds it (no dev-dependency features), kept
# aside because `cargo bench` later rebuilds target/release/cc-number-relay.
cargo build --locked --release --bin cc-number-relay
cp "$TARGET/release/cc-number-relay" "$OUT/cc-number-relay"
# The hello-world, the typical full relay and the relay's steps probe: workspace
# members (the relay's lock file and release profile), each built on its own so
# that no other package's features reach it.
for probe in hello-lambda peer-relay cold-start-steps; do
    cargo build --locked --release -p "$probe"
done
cp "$TARGET/release/hello-lambda" "$OUT/hello-lambda"
cp "$TARGET/release/peer-relay" "$OUT/peer-relay"
cp "$TARGET/release/cold-start-steps" "$OUT/cold-start-steps"

step "cold start and warm invocations: cargo bench --bench cold_start"
COLD_START_RELAY=$OUT/cc-number-relay COLD_START_HELLO=$OUT/hello-lambda COLD_START_TYPICAL=$OUT/peer-relay \
    COLD_START_STEPS=$OUT/cold-start-steps cargo bench --locked --bench cold_start

if [[ "${SKIP_DIRECTORY:-}" != 1 ]]; then
    step "the example subscriber against its peers: cargo bench --bench directory"
    # cc-number-directory as `sam build` builds it, and its peers (perf/peer-subscriber:
    # a hand-written subscriber and an SQS hello-world), built on its own like
    # perf/hello. Kept aside, as the relay is.
    cargo build --locked --release -p cc-number-directory
    cp "$TARGET/release/cc-number-directory" "$OUT/cc-number-directory"
    cargo build --locked --release -p peer-subscriber
    cp "$TARGET/release/peer-subscriber" "$OUT/peer-subscriber"
    cp "$TARGET/release/sqs-hello" "$OUT/sqs-hello"
    DIRECTORY_BENCH_DIRECTORY=$OUT/cc-number-directory DIRECTORY_BENCH_PEER=$OUT/peer-subscriber \
        DIRECTORY_BENCH_HELLO=$OUT/sqs-hello cargo bench --locked --bench directory
fi

if [[ "${SKIP_RECONCILE:-}" != 1 ]]; then
    step "reconciling a large account: cargo bench --bench reconcile (RECONCILE_NUMBERS, default 10,000)"
    cargo bench --locked --bench reconcile
fi

if [[ "${SKIP_ARM64:-}" != 1 ]]; then
    step "size: cargo lambda build --release --arm64 (the sam build; cross-compiles with zig)"
    rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
    cargo lambda build --release --arm64 --bin cc-number-relay
    bootstrap=$TARGET/lambda/cc-number-relay/bootstrap
    zip=$OUT/bootstrap.zip
    rm -f "$zip"
    (cd "$(dirname "$bootstrap")" && python3 -m zipfile -c "$zip" bootstrap)
    bytes=$(stat -c %s "$bootstrap")
    zipped=$(stat -c %s "$zip")
    budget=7000000
    verdict=within
    ((bytes <= budget)) || verdict="OVER BUDGET"
    {
        printf '\nsize (arm64, cargo lambda build --release --arm64)\n'
        printf '%-42s %12s   %-30s %s\n' "arm64 bootstrap" "$bytes B" "<= $budget B (7 MB)" "$verdict"
        printf '%-42s %12s   %-30s %s\n' "arm64 bootstrap, zipped (deflate)" "$zipped B" "-" ""
    } | tee -a "$PERF_SUMMARY"
fi

step "summary (also in target/perf/summary.txt)"
cat "$PERF_SUMMARY"
