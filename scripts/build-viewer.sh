#!/usr/bin/env bash
# Rebuild the web viewer's front end (viewer/frontend) into viewer/static, which is committed
# and shipped inside the Python package: only people changing the front end need Node and npm.
# Installs exactly the versions in package-lock.json, then writes viewer/static/LICENSES.txt.
set -euo pipefail
cd "$(dirname "$0")/../viewer/frontend"
npm ci --no-audit --no-fund
npm run build
echo "scripts/build-viewer.sh: built into viewer/static; commit it with the source change" >&2
