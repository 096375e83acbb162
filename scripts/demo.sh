#!/usr/bin/env bash
# Set up a virtual environment (once), log a demo run, show it, sync it to a local server and show it
# from there; print its URL in the web viewer. The run goes where init() puts runs: $LOCALRUN_DIR,
# else ./runs, so the README's next commands (localrun show, localrun ui) find it.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo; echo "demo: $*"; }
step "setting up .venv and installing localrun into it (quick after the first time)"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
export LOCALRUN_DIR="${LOCALRUN_DIR:-runs}"
step "logging a demo training run with every media type into $LOCALRUN_DIR/ (examples/demo.py)"
.venv/bin/python examples/demo.py
RUN=$(cat "$LOCALRUN_DIR/.last-demo-run")
step "localrun show: the table of the runs in $LOCALRUN_DIR/"
.venv/bin/localrun show
step "localrun show $RUN: the demo run in detail (a run id, or its first letters, names a run)"
.venv/bin/localrun show "$RUN"

# Sync the demo runs to a server on this machine, read the demo run back from it, stop it.
step "starting a server on this machine: localrun serve --data demo-server --port 0"
rm -rf demo-server demo-server.log
.venv/bin/localrun serve --data demo-server --host 127.0.0.1 --port 0 > demo-server.log &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" demo-server.log 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' demo-server.log | head -1)
step "localrun sync --to $URL: sending the runs in $LOCALRUN_DIR/ to it"
.venv/bin/localrun sync --to "$URL" | tee demo-sync.log
RUN_URL=$(grep "^$RUN: " demo-sync.log | awk '{print $NF}')
step "localrun show $RUN_URL: the demo run read back from the server"
.venv/bin/localrun show "$RUN_URL"
step "stopping the server"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
rm -f demo-sync.log

# The demo run in the web viewer: the run URL sync printed opens its page in a browser while the
# server runs (the demo has stopped it: start it again on the same port), and `localrun ui`
# shows the same run from its folder.
PORT=${URL##*:}
step "done. Next, with .venv/bin on your PATH (source .venv/bin/activate):"
echo "  localrun show                 the runs in $LOCALRUN_DIR/ (where init() writes unless told otherwise)"
echo "  localrun show $RUN        the demo run; localrun export $RUN for its rows"
echo "  localrun ui                   the web viewer over $LOCALRUN_DIR/: http://127.0.0.1:8090${RUN_URL#"$URL"}"
echo "  localrun serve --data demo-server --port $PORT   the demo server again: $RUN_URL"
