#!/usr/bin/env bash
# make sbom: CycloneDX SBOMs of what runs in each Lambda function, into
# target/sbom/ (generated, not committed). cargo-cyclonedx, pinned here, is
# installed into .venv/bin on first use (dev/cargo_tool.sh). See dev/sbom.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_CYCLONEDX_VERSION=0.5.9

bash dev/cargo_tool.sh cargo-cyclonedx "$CARGO_CYCLONEDX_VERSION"
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python dev/sbom.py
