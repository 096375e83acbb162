#!/usr/bin/env bash
# Set up a virtual environment (once), log a demo run, and show it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
export LOCALRUN_DIR="${LOCALRUN_DIR:-demo-runs}"
.venv/bin/python examples/demo.py
.venv/bin/localrun show "$LOCALRUN_DIR"
.venv/bin/localrun show "$LOCALRUN_DIR/$(cat "$LOCALRUN_DIR/.last-demo-run")"
