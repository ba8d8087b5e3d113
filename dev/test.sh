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

step "cargo clippy (the first build of the AWS SDK takes a few minutes)"
cargo clippy --locked --workspace --all-targets -- -D warnings

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

step "sam build in examples/number-directory (a workspace member: CodeUri is its folder, the build goes to the shared target/)"
(cd examples/number-directory && sam build --region us-east-1)
bootstrap_size examples/number-directory/.aws-sam/build/DirectoryFunction/bootstrap "arm64 bootstrap (cc-number-directory)"

step "all checks passed in $((SECONDS - started)) s"
