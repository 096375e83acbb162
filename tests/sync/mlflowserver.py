"""A real ``mlflow server`` on 127.0.0.1 for the tests of ``sync --to mlflow+http://...``.

One server per pytest process (so one per xdist worker): it takes 25-40 s to start (most of it
importing MLflow's server app), so the session fixture starts it once, with a SQLite backend
store and a local artifact destination served through the tracking server (``mlflow server
--artifacts-destination``), and stops it at the end. It dies with the process that started it
(``PR_SET_PDEATHSIG``), so a killed test run leaves no server behind. Tests skip, saying why,
when the ``mlflow`` package (the ``mlflow`` test extra) is not installed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

START_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setsid()


class MlflowServer:
    def __init__(self, folder: str):
        self.folder = folder
        self.port = _free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.url = f"mlflow+{self.http}"  # what `localrun sync --to` takes
        self.log = open(os.path.join(folder, "server.log"), "wb")
        env = {**os.environ, "MLFLOW_HOST": "", "PYTHONWARNINGS": "ignore"}
        env.pop("MLFLOW_TRACKING_URI", None)
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{os.path.join(folder, 'mlflow.db')}",
                "--artifacts-destination",
                os.path.join(folder, "artifacts"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            preexec_fn=_die_with_parent,
        )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({self.proc.returncode}): {self.tail()}")
            try:
                if httpx.get(f"{self.http}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() - started > START_TIMEOUT_S:
                self.stop()
                raise RuntimeError(
                    f"mlflow server did not start in {START_TIMEOUT_S} s: {self.tail()}"
                )
            time.sleep(0.25)
        self.start_s = time.monotonic() - started

    def tail(self) -> str:
        with open(os.path.join(self.folder, "server.log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.http)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def session_server(tmp_path_factory):
    """The body of a session fixture: ``yield from session_server(tmp_path_factory)``."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        pytest.skip(
            "the mlflow package is not installed: `pip install -e '.[test,mlflow]'` (scripts/test.sh "
            "installs it) to run the MLflow sync tests"
        )
    server = MlflowServer(str(tmp_path_factory.mktemp("mlflow-server")))
    yield server
    server.stop()
