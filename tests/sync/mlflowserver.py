"""A real ``mlflow server`` on 127.0.0.1 for the tests of ``sync --to mlflow+http://...``.

It takes 7 s to start here (12-40 s, and over a minute on a loaded machine, with MLflow 3's job
runner, which is turned off: see below), so one server serves the whole pytest run, every xdist worker included: the first worker that needs it starts it (under
a file lock in the run's shared temporary folder) and writes where it listens; the others read
that. The server is started by a small watchdog, in a process group of its own, that stops it
when the pytest run that owns it (the xdist controller, or pytest itself without xdist) ends,
however it ends: a killed test run leaves no server behind. SQLite backend store; artifacts in
a local folder, served through the tracking server (``--artifacts-destination``); no job
runner (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``).

Tests skip, saying why, when the ``mlflow`` package (the ``mlflow`` extra) is not installed.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

START_TIMEOUT_S = 240

# Runs the server in a process group of its own until the owner process is gone.
WATCHDOG = r"""
import os, signal, subprocess, sys, time
owner, log, detach = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
if detach and os.fork():
    os._exit(0)  # the watchdog goes on in the child, no longer the starter's to wait for
with open(log, "ab") as out:
    proc = subprocess.Popen(sys.argv[4:], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while proc.poll() is None and alive(owner) and not stop:
    time.sleep(0.5)
if proc.poll() is None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(http: str) -> bool:
    try:
        return httpx.get(f"{http}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class MlflowServer:
    """An ``mlflow server`` in ``folder``, alive while ``owner`` (a pid; this process by
    default) is, or until ``stop()`` (not for a ``detach``-ed one: its watchdog is no child of
    this process, and it lives until the owner ends)."""

    def __init__(
        self, folder: str, workers: int = 1, owner: int | None = None, detach: bool = False
    ):
        self.folder = folder
        self.port = _free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.url = f"mlflow+{self.http}"  # what `localrun sync --to` takes
        self.log_path = os.path.join(folder, "server.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["PYTHONWARNINGS"] = "ignore"
        # MLflow 3's job runner (GenAI evaluation jobs: a pool of huey consumers, some 1.7 GB
        # of memory and most of the start-up's CPU) is nothing tracking needs.
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        server = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--backend-store-uri",
            f"sqlite:///{os.path.join(folder, 'mlflow.db')}",
            "--artifacts-destination",
            os.path.join(folder, "artifacts"),
        ]
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WATCHDOG,
                str(owner or os.getpid()),
                self.log_path,
                "1" if detach else "0",
                *server,
            ],
            env=env,
            cwd=folder,
            start_new_session=True,
        )
        if detach:
            self.proc.wait()  # it forked the watchdog and left
            self.proc = None
        while not _healthy(self.http):
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.tail()}")
            if time.monotonic() - started > START_TIMEOUT_S:
                self.stop()
                raise RuntimeError(
                    f"mlflow server did not start in {START_TIMEOUT_S} s: {self.tail()}"
                )
            time.sleep(0.25)
        self.start_s = time.monotonic() - started

    @classmethod
    def at(cls, http: str, folder: str) -> MlflowServer:
        """One that another process started (found through its state file)."""
        server = cls.__new__(cls)
        server.folder, server.http, server.url = folder, http, f"mlflow+{http}"
        server.log_path = os.path.join(folder, "server.log")
        server.proc = None
        server.start_s = 0.0
        return server

    def tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return "(no log)"

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.http)

    def stop(self) -> None:
        """Stop the server (through its watchdog) and wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


def session_server(tmp_path_factory):
    """The body of a session fixture: ``yield from session_server(tmp_path_factory)``."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        pytest.skip(
            "the mlflow package is not installed: `pip install -e '.[test,mlflow]'` (scripts/test.sh "
            "installs it) to run the MLflow sync tests"
        )
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker else base  # the run's folder, above each worker's own
    owner = os.getppid() if worker else os.getpid()
    folder = shared / "mlflow-server"
    folder.mkdir(exist_ok=True)
    with open(shared / "mlflow-server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = folder / "state.json"
        http = json.loads(state.read_text())["http"] if state.exists() else None
        if http is not None and _healthy(http):
            server = MlflowServer.at(http, str(folder))
        else:
            server = MlflowServer(str(folder), owner=owner, detach=True)
            state.write_text(json.dumps({"http": server.http, "start_s": server.start_s}))
    yield server
    # Left running for the other workers: its watchdog stops it when the run ends.
