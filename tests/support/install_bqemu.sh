#!/usr/bin/env bash
# Install the BigQuery emulator (PyPI `bqemulator`) into its own venv.
#
# bqemulator 1.4.0 requires sqlglot<30.12 (and pulls protobuf 6), which
# conflicts with the project's pins (sqlglot==30.30.0, protobuf 7), so it
# cannot share .venv.  numpy is an undeclared runtime dependency (the server
# dies at start with "'numpy' is required for this operation" without it).
# duckdb is pinned to the project's version so both engines run the same DuckDB.
#
# Idempotent: does nothing when the pinned versions are already installed.
# Usage: bash tests/support/install_bqemu.sh    (env: BQEMU_VENV, PYTHON)
set -euo pipefail

PINS=(bqemulator==1.4.0 duckdb==2.0.0 sqlglot==30.11.0 numpy==2.4.6)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${BQEMU_VENV:-$ROOT/.venv-bqemu}"
PYTHON="${PYTHON:-python3}"

installed() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "${PINS[@]}" <<'EOF' 2>/dev/null
import importlib.metadata as md
import sys

for pin in sys.argv[1:]:
    name, version = pin.split("==")
    if md.version(name) != version:
        sys.exit(1)
EOF
}

if installed; then
    exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
installed || { echo "install_bqemu.sh: pinned versions not installed in $VENV" >&2; exit 1; }
