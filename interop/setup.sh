#!/usr/bin/env bash
# Installs the interop peers of crates/wx/tests/interop.rs into this folder:
# wechatpy (PyPI, pinned in requirements.txt) in .venv, and @wecom/crypto (npm, pinned in
# package-lock.json) in node_modules. Idempotent: a run with everything in place only
# compares two stamps and exits.
#
#   interop/setup.sh && WX_INTEROP_DIR="$PWD/interop" cargo test -p wx --test interop
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

python="${PYTHON:-python3}"
stamp=".venv/.requirements.txt"
if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt "$stamp"; then
    echo "interop setup: creating .venv with $("$python" --version 2>&1)"
    rm -rf .venv
    "$python" -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
    cp requirements.txt "$stamp"
fi

nstamp="node_modules/.package-lock.json"
if [ ! -f "$nstamp" ] || ! cmp -s package-lock.json "node_modules/.interop-lock"; then
    echo "interop setup: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.interop-lock
fi

.venv/bin/python -c 'import wechatpy, cryptography, xmltodict' \
    && node -e 'import("@wecom/crypto").then(m => { if (!m.encrypt) process.exit(1) })' \
    && echo "interop setup: ready ($(.venv/bin/python -c 'from importlib.metadata import version as v; print("wechatpy", v("wechatpy"))'), @wecom/crypto $(node -p 'require("@wecom/crypto/package.json").version'))"
