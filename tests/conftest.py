import json
import os
import subprocess
import sys

import pytest

import localrun

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _no_run_leaks(monkeypatch):
    """Each test starts with no current run and quiet output, and leaves none behind."""
    monkeypatch.setenv("LOCALRUN_SILENT", "1")
    monkeypatch.delenv("LOCALRUN_DIR", raising=False)
    monkeypatch.delenv("LOCALRUN_STRICT_STEPS", raising=False)
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


def cli(*args, check=True):
    """Run the real `localrun` command in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "localrun.cli", *args], capture_output=True, text=True, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"localrun {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return proc


def show_json(path):
    return json.loads(cli("show", path, "--json").stdout)


def pytest_addoption(parser):
    parser.addoption(
        "--slow",
        action="store_true",
        help="run the long fault-injection suite (more kills, flips, requests)",
    )
    parser.addoption(
        "--figures",
        default=None,
        metavar="FILE",
        help="write the fault suite's figures (JSON) to FILE",
    )


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
