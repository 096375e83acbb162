#!/usr/bin/env bash
# Set up a virtual environment (once), log a demo run, show it, sync it to a local server and show it
# from there; print its URL in the web viewer.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
export LOCALRUN_DIR="${LOCALRUN_DIR:-demo-runs}"
.venv/bin/python examples/demo.py
.venv/bin/localrun show "$LOCALRUN_DIR"
.venv/bin/localrun show "$LOCALRUN_DIR/$(cat "$LOCALRUN_DIR/.last-demo-run")"

# Sync the demo runs to a server on this machine, read the demo run back from it, stop it.
rm -rf demo-server demo-server.log
.venv/bin/localrun serve --data demo-server --host 127.0.0.1 --port 0 > demo-server.log &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" demo-server.log 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' demo-server.log | head -1)
.venv/bin/localrun sync "$LOCALRUN_DIR" --to "$URL" | tee demo-sync.log
RUN_URL=$(grep "^$(cat "$LOCALRUN_DIR/.last-demo-run"): " demo-sync.log | awk '{print $NF}')
.venv/bin/localrun show "$RUN_URL"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
rm -f demo-sync.log

# The demo run in the web viewer: the run URL sync printed opens its page in a browser while the
# server runs (the demo has stopped it: start it again on the same port), and `localrun ui`
# shows the same run from its folder.
PORT=${URL##*:}
echo
echo "The demo run in the web viewer: $RUN_URL"
echo "  open it after starting the demo server again: .venv/bin/localrun serve --data demo-server --port $PORT"
echo "  or from the run's folder: .venv/bin/localrun ui $LOCALRUN_DIR, then http://127.0.0.1:8090${RUN_URL#"$URL"}"
