#!/usr/bin/env bash
# Assembles build/, the function's code (template.yaml's CodeUri): app.py,
# the cc_number_change package from clients/python/src, and the pinned
# dependencies as arm64 (aarch64) CPython 3.13 wheels from PyPI. Then
# `sam deploy --guided` zips and uploads it (no `sam build` needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -rf build
mkdir -p build
cp app.py build/
cp -r ../../clients/python/src/cc_number_change build/
rm -rf build/cc_number_change/__pycache__
python3 -m pip install --disable-pip-version-check --quiet --no-compile --target build \
    --platform manylinux2014_aarch64 --implementation cp --python-version 3.13 --only-binary=:all: \
    -r requirements.txt
echo "build/: $(du -sh build | cut -f1)"
