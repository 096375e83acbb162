#!/usr/bin/env bash
# Set up a virtual environment (once) and run the test suite on every core (pytest-xdist).
# Extra arguments go to pytest: --slow adds the long runs, -n 0 runs in this process alone.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
# mlflow, for the tests that sync to a real `mlflow server` (tests/sync/test_mlflow.py): about a
# minute to install from a warm pip cache (61 s into a fresh venv); the tests start its server
# once per pytest run, shared by the xdist workers, in about 7 s (its job runner off). Where it
# cannot be installed, those tests skip, saying so.
.venv/bin/python -m pip install -q -e '.[mlflow]' ||
    echo "scripts/test.sh: could not install mlflow; the MLflow sync tests will skip" >&2
# '.[test]' includes wandb and tensorboard, whose own readers check `localrun export --format
# wandb|tensorboard` (tests/sync/test_export_*.py): about 20 s more with a warm pip cache.
# torch for tests/test_watch.py: the CPU build, and only from a local wheel folder (pip's
# find-links, as on our CI machines). Elsewhere PyPI would send a CUDA build of several GB, so
# the watch tests skip instead.
if .venv/bin/python -m pip install -q --dry-run --no-index --no-deps torch==2.13.0 >/dev/null 2>&1; then
    .venv/bin/python -m pip install -q torch==2.13.0
    # tests/integrations: transformers, lightning and accelerate, run through `localrun run`.
    # After torch, so they take the CPU build installed above (about 40 s with a warm cache).
    .venv/bin/python -m pip install -q -e '.[integrations]'
else
    echo "scripts/test.sh: no local torch 2.13.0 wheel; tests/test_watch.py and tests/integrations will skip" >&2
fi
# The viewer's browser tests (tests/viewer) drive Debian's Chromium by its path: Playwright
# cannot download a browser of its own here. They skip, saying so, where it cannot be installed.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null 2>&1 ||
        echo "scripts/test.sh: could not install chromium; the viewer's browser tests will skip" >&2
fi
# PostgreSQL for the tests of `localrun serve --db` (tests/pg.py): psycopg from the postgres extra,
# and a cluster scripts/test-postgres.sh starts when none runs (as root, the packaged one with
# pg_ctlcluster; otherwise initdb + pg_ctl in $TMPDIR), with an empty test database. Where
# either cannot be had, those tests skip, saying so. A LOCALRUN_TEST_PG already set is used as is.
if .venv/bin/python -m pip install -q -e '.[postgres]'; then
    if [ -z "${LOCALRUN_TEST_PG:-}" ]; then
        if LOCALRUN_TEST_PG=$(scripts/test-postgres.sh); then
            export LOCALRUN_TEST_PG
        else
            echo "scripts/test.sh: no PostgreSQL could be started; the serve --db tests will skip" >&2
        fi
    fi
else
    echo "scripts/test.sh: could not install psycopg; the serve --db tests will skip" >&2
fi
.venv/bin/python -m pytest -n auto "$@"
