"""Fixtures for the viewer tests: runs made by the real recorder, a real `localrun ui`, a live writer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from . import runs as made

CLI = [sys.executable, "-m", "localrun.cli"]


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory):
    """A folder of finished runs: scalars (two), a long one in another project, media, XSS."""
    root = str(tmp_path_factory.mktemp("viewer") / "runs")
    old = os.environ.get("LOCALRUN_SILENT")
    os.environ["LOCALRUN_SILENT"] = "1"
    try:
        made.scalar_run(root)
        made.scalar_run(root, "scalars2", rows=250, lr=0.02)
        made.scalar_run(root, "long", rows=5000, project="other")
        made.media_run(root)
        made.xss_run(root)
    finally:
        if old is None:
            os.environ.pop("LOCALRUN_SILENT", None)
        else:
            os.environ["LOCALRUN_SILENT"] = old
    return root


class Ui:
    """A real `localrun ui` subprocess on a free port; ``url`` ends with "/"."""

    def __init__(self, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen(
            [*CLI, "ui", *args, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "LOCALRUN_SILENT": "1", **(env or {})},
        )
        self.line = self.proc.stdout.readline()
        m = re.search(r"(http://\S+/)", self.line)
        if not m:
            self.stop()
            raise AssertionError(
                f"localrun ui did not start: {self.line!r} {self.proc.stderr.read()}"
            )
        self.url = m.group(1)
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.url.rstrip("/") + path, timeout=30, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


@pytest.fixture(scope="module")
def ui(runs_dir):
    server = Ui(runs_dir)
    yield server
    server.stop()


WRITER = r"""
import os, sys, time, localrun
root, ctl = sys.argv[1], sys.argv[2]
run = localrun.init(dir=root, project="live", id="writer", config={"k": 1}, settings={"quiet": True})
for i in range(20):
    run.log({"live/x": float(i)})
open(os.path.join(ctl, "ready"), "w").close()
n = 20
deadline = time.time() + 120
while time.time() < deadline and not os.path.exists(os.path.join(ctl, "stop")):
    go = os.path.join(ctl, f"go{n}")
    if os.path.exists(go):
        run.log({"live/x": 1000.0 + n, "live/new": float(n)})
        with open(os.path.join(ctl, f"logged{n}"), "w") as f:
            f.write(repr(time.time()))
        n += 1
    time.sleep(0.01)
run.finish()
"""


class Writer:
    """A real process writing a run: 20 rows, then one more row each time ``log_once()`` asks."""

    def __init__(self, root: str, ctl: str):
        os.makedirs(ctl, exist_ok=True)
        self.root, self.ctl, self.n = root, ctl, 20
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, root, ctl],
            env={**os.environ, "LOCALRUN_SILENT": "1"},
        )
        self.path = os.path.join(root, "writer")
        self._wait(os.path.join(ctl, "ready"))

    def _wait(self, path: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while not os.path.exists(path):
            if self.proc.poll() is not None:
                raise AssertionError(f"the writer exited with {self.proc.returncode}")
            if time.monotonic() > end:
                raise AssertionError(f"the writer did not make {path}")
            time.sleep(0.01)

    def log_once(self) -> float:
        """Make the writer log one row; returns the wall time (time.time()) log() returned."""
        open(os.path.join(self.ctl, f"go{self.n}"), "w").close()
        done = os.path.join(self.ctl, f"logged{self.n}")
        self._wait(done)
        while True:
            with open(done) as f:
                text = f.read()
            if text:
                break
            time.sleep(0.005)
        self.n += 1
        return float(text)

    def stop(self) -> None:
        open(os.path.join(self.ctl, "stop"), "w").close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def writer(tmp_path):
    w = Writer(str(tmp_path / "live-runs"), str(tmp_path / "ctl"))
    yield w
    w.stop()
