#!/usr/bin/env bash
# A bounded libFuzzer run of the decode → normalize → encode path.
# Usage: dev/fuzz.sh [seconds]   (default 60). Needs a nightly toolchain and
# cargo-fuzz; both are installed here when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
step() { printf '==> %s\n' "$*"; }

if ! rustup toolchain list | grep -q '^nightly'; then
    step "installing the nightly toolchain (cargo-fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    step "installing cargo-fuzz (one-time, about a minute)"
    cargo install cargo-fuzz --locked
fi
mkdir -p fuzz/corpus/decode
cp -n fuzz/seeds/*.json fuzz/corpus/decode/ 2>/dev/null || true
step "fuzzing decode for ${seconds} s (the first build takes a few minutes)"
cargo +nightly fuzz run decode fuzz/corpus/decode -- -max_total_time="$seconds" -max_len=70000 -print_final_stats=1
