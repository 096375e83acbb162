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
    while localrun.run is not None:
        localrun.run.finish()


@pytest.fixture
def runs(tmp_path):
    """A folder of runs inside the test's own temporary directory."""
    return str(tmp_path / "runs")


def history(run_dir):
    """The rows replay makes of a run directory, without the time columns."""
    from localrun.sync import RunView

    view = RunView(run_dir)
    return [{k: v for k, v in row.items() if k not in ("_runtime", "_timestamp")} for row in view.rows()], view


def run_python(code, *, env=None, timeout=60, check=True):
    """Run ``code`` in a fresh interpreter (the real thing, for crash and signal tests)."""
    full_env = {**os.environ, "LOCALRUN_SILENT": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def cli(*args, check=True):
    """Run the real `localrun` command in a subprocess."""
    proc = subprocess.run([sys.executable, "-m", "localrun.cli", *args], capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"localrun {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def show_json(path):
    return json.loads(cli("show", path, "--json").stdout)
