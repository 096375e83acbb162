#!/usr/bin/env bash
# Set up a virtual environment (once) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
# torch for tests/test_watch.py: the CPU build, from this machine's disk (without it those tests skip).
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pytest "$@"
