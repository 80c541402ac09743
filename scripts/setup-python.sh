#!/usr/bin/env bash
# Create/refresh the pinned Python environment for the SDK compatibility suite.
#
#   scripts/setup-python.sh && .venv/bin/python -m pytest tests/compat -q
#
# Idempotent: the venv lives in .venv at the repo root; a stamp file holding a hash
# of the requirement files (and the interpreter version) makes a second run a fast
# no-op. Needs only python3 (3.11 preferred) with the venv module and PyPI access.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/tests/compat/requirements.txt"
LOCK="$ROOT/tests/compat/requirements.lock"
STAMP="$VENV/.keywarden-requirements.sha256"

pick_python() {
    if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; return; fi
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1; then echo "$cand"; return; fi
    done
    echo "setup-python: no python3 interpreter found (install python3.11 and python3-venv)" >&2
    exit 1
}

PY="$(pick_python)"
PYVER="$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"

hash_inputs() {
    {
        echo "python=$PYVER"
        cat "$REQ"
        [[ -f "$LOCK" ]] && cat "$LOCK"
    } | sha256sum | cut -d' ' -f1
}
WANT="$(hash_inputs)"

# Fast path: venv present, interpreter runs, stamp matches.
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 \
    && [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$WANT" ]]; then
    exit 0
fi

# (Re)create the venv when missing or broken (e.g. its base interpreter went away).
if ! { [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }; then
    rm -rf "$VENV"
    echo "setup-python: creating $VENV with $PY ($PYVER)" >&2
    if ! "$PY" -m venv "$VENV"; then
        rm -rf "$VENV"
        echo "setup-python: '$PY -m venv' failed; on Debian/Ubuntu install python3-venv" \
             "(apt-get install python3-venv or python3.11-venv)" >&2
        exit 1
    fi
fi

rm -f "$STAMP"
echo "setup-python: installing pinned packages into $VENV" >&2
PIP_ARGS=(install --quiet --disable-pip-version-check --no-input -r "$REQ")
[[ -f "$LOCK" ]] && PIP_ARGS+=(-c "$LOCK")
"$VENV/bin/python" -m pip "${PIP_ARGS[@]}"

# Sanity check: the SDK modules the suite imports.
"$VENV/bin/python" - <<'PYEOF'
import aliyunsdkcore, aliyunsdkkms, alibabacloud_kms20160120, alibabacloud_tea_openapi  # noqa: F401
import aliyunsdkram, alibabacloud_ram20150501  # noqa: F401
import Crypto.Cipher.AES, requests, pytest  # noqa: F401
PYEOF

echo "$WANT" > "$STAMP"
echo "setup-python: ready ($VENV)" >&2
