#!/usr/bin/env bash
# The whole suite, as CI runs it: installs the pinned dev tools into .venv,
# then formats, lints, tests (moto, cargo lambda), checks and builds the template.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }
# The size of a built bootstrap, and zipped as Lambda stores it.
bootstrap_size() {
    local bootstrap=$1 label=$2 zip
    zip=$(mktemp --suffix=.zip)
    rm -f "$zip"
    (cd "$(dirname "$bootstrap")" && python3 -m zipfile -c "$zip" bootstrap)
    printf '%s: %s bytes; zipped: %s bytes\n' "$label" "$(stat -c %s "$bootstrap")" "$(stat -c %s "$zip")"
    rm -f "$zip"
}
started=$SECONDS

bash dev/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0

step "rustup target add aarch64-unknown-linux-gnu (for the arm64 Lambda build)"
rustup target add aarch64-unknown-linux-gnu

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo deny check licenses bans sources ($(cargo-deny --version); deny.toml; no network: advisories are not checked here)"
cargo deny --workspace --locked check licenses bans sources

step "cargo clippy (the first build of the AWS SDK takes a few minutes)"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "the directory benchmark's peers (perf/peer-subscriber, debug), for its smoke run under cargo test"
# Its own workspace with a copy of the relay's Cargo.lock (as perf/bench.sh builds it), into our target/.
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
cp Cargo.lock perf/peer-subscriber/Cargo.lock
cargo build --manifest-path perf/peer-subscriber/Cargo.toml --target-dir "$target_dir"
export DIRECTORY_BENCH_HELLO=$target_dir/debug/sqs-hello DIRECTORY_BENCH_PEER=$target_dir/debug/peer-subscriber \
    DIRECTORY_BENCH_DIRECTORY=$target_dir/debug/cc-number-directory

step "cargo test (starts moto on loopback ports; drives the binary through cargo lambda)"
cargo test --locked --workspace --all-targets

step "cfn-lint template.yaml"
cfn-lint template.yaml
echo "cfn-lint: no findings"

step "sam validate --lint"
sam validate --lint --region us-east-1

step "asyncapi: validate schema/asyncapi.yaml (@asyncapi/parser $(node -p "require('./dev/asyncapi/node_modules/@asyncapi/parser/package.json').version"))"
node dev/asyncapi/validate.mjs schema/asyncapi.yaml

step "sam build (cargo lambda arm64 cross-build with zig; the release build takes several minutes)"
sam build --region us-east-1
bootstrap_size .aws-sam/build/RelayFunction/bootstrap "arm64 bootstrap"

step "cfn-lint examples/number-directory/template.yaml (the example subscriber)"
cfn-lint examples/number-directory/template.yaml
echo "cfn-lint: no findings"

step "sam validate --lint examples/number-directory/template.yaml"
sam validate --lint --region us-east-1 --template-file examples/number-directory/template.yaml

# Both templates as written, and as the SAM transform expands them (the
# generated roles, rules, permissions and event source mappings, which
# Checkov does not see in the SAM template: dev/sam_transform.py). Offline:
# no API key, --skip-download (no platform), BC_SKIP_MAPPING (no guideline
# download), CKV_SKIP_PACKAGE_UPDATE_CHECK (no PyPI version check). Any
# failed check fails the suite; a check that does not apply is skipped beside
# its resource, with the reason, in the template's Metadata.
step "checkov $(CKV_SKIP_PACKAGE_UPDATE_CHECK=true checkov --version): template.yaml and examples/number-directory/template.yaml, as written and SAM-transformed"
mkdir -p target/checkov
python dev/sam_transform.py template.yaml >target/checkov/template.json
python dev/sam_transform.py examples/number-directory/template.yaml >target/checkov/number-directory.json
CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE checkov --framework cloudformation --skip-download --quiet --compact \
    -f template.yaml -f examples/number-directory/template.yaml \
    -f target/checkov/template.json -f target/checkov/number-directory.json

step "sam build in examples/number-directory (a workspace member: CodeUri is its folder, the build goes to the shared target/)"
(cd examples/number-directory && sam build --region us-east-1)
bootstrap_size examples/number-directory/.aws-sam/build/DirectoryFunction/bootstrap "arm64 bootstrap (cc-number-directory)"

step "all checks passed in $((SECONDS - started)) s"
