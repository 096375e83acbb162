import json
import os
import subprocess
import sys

import pytest

import localrun

from . import forkcli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _no_run_leaks(monkeypatch):
    """Each test starts with no current run and quiet output, and leaves none behind."""
    monkeypatch.setenv("LOCALRUN_SILENT", "1")
    monkeypatch.delenv("LOCALRUN_DIR", raising=False)
    monkeypatch.delenv("LOCALRUN_STRICT_STEPS", raising=False)
    from localrun.session import ENVIRONMENT

    for variables, _ in ENVIRONMENT.values():  # what init() reads from a job's environment
        for var in variables:
            if var != "LOCALRUN_SILENT":
                monkeypatch.delenv(var, raising=False)
    yield
    for _ in range(5):
        if localrun.run is None:
            break
        try:
            localrun.run.finish()
        except localrun.Error:
            pass


@pytest.fixture
def runs(tmp_path):
    """A folder of runs inside the test's own temporary directory."""
    return str(tmp_path / "runs")


def history(run_dir):
    """The rows replay makes of a run directory, without the time columns."""
    from localrun.sync import RunView

    view = RunView(run_dir)
    return [
        {k: v for k, v in row.items() if k not in ("_runtime", "_timestamp")} for row in view.rows()
    ], view


def run_python(code, *, env=None, timeout=60, check=True):
    """Run ``code`` in a fresh interpreter (the real thing, for crash and signal tests)."""
    full_env = {**os.environ, "LOCALRUN_SILENT": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def cli(*args, check=True, env=None):
    """Run the real `localrun` command in a process of its own (forked: tests/forkcli.py)."""
    proc = forkcli.run(args, env=env, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"localrun {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return proc


def show_json(path):
    return json.loads(cli("show", path, "--json").stdout)


# --- the default suite and --slow ----------------------------------------------------------------
#
# The default suite (`./scripts/test.sh`) is meant to take under 3 minutes on a 2-core machine and
# still check every promise; `--slow` adds the long runs. The rule:
#
# - A fault or stress test that repeats an attack takes its count from the `slow` fixture: a
#   short run by default, the long one with --slow (test_crash.py: 30 SIGKILLs, 100 with --slow).
#   The costly Hypothesis tests take max_examples from examples(n): a third of n by default.
# - A test whose only value over a quicker sibling is length or breadth is marked
#   `@pytest.mark.slow` and is skipped without --slow: the whole browser matrix (the default suite
#   keeps one browser test per page: runs, run, compare, media, served run, login), and fault runs
#   that wait out real timeouts when a shorter timeout checks the same code.
# - Tests wait for events (a file, a line printed, a port answering, a process state) with a
#   deadline, never for a fixed time.
#
# Run the suite on both cores with `-n 2` (pytest-xdist; scripts/test.sh does): every test is
# independent (ports from 0, tmp_path, fixtures per worker); --figures wants -n 0.
# The commands tests run to completion are forked from a process that imported localrun.cli
# already (tests/forkcli.py); --spawn-cli starts a new interpreter for each instead.


def pytest_addoption(parser):
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the tests marked slow and the long version of the fault runs",
    )
    parser.addoption(
        "--spawn-cli",
        action="store_true",
        help="start a new interpreter for each `localrun` command instead of forking one",
    )
    parser.addoption(
        "--figures",
        default=None,
        metavar="FILE",
        help="write the fault suite's figures (JSON) to FILE",
    )


_SLOW = False


def pytest_configure(config):
    global _SLOW
    _SLOW = config.getoption("--slow")
    if config.getoption("--figures") and getattr(config.option, "numprocesses", None):
        # Figures add up across tests (counts, lists of rounds): one process must hold them all.
        raise pytest.UsageError("--figures needs the suite in one process: add -n 0")
    if config.getoption("--spawn-cli"):
        forkcli.spawn_every_time = True


def examples(n: int) -> int:
    """A Hypothesis test's max_examples: ``n`` with --slow, a third of it by default."""
    return n if _SLOW else max(20, n // 3)


def pytest_unconfigure(config):
    forkcli.stop()


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long run: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


_FIGURES: dict = {}


@pytest.fixture
def slow(request):
    """True when the long suite was asked for with --slow."""
    return request.config.getoption("--slow")


@pytest.fixture
def figures():
    """Counters the fault suite adds to; written out with --figures for docs/reliability.md."""
    return _FIGURES


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--figures")
    if path and _FIGURES:
        with open(path, "w") as f:
            json.dump(_FIGURES, f, indent=1, sort_keys=True)
