"""Fixtures for sync tests: runs made with the real recorder, and a real `localrun serve`."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys

import httpx
import numpy as np
import pytest

import localrun
from localrun.blobs import BlobStore
from localrun.server import create_app
from localrun.sync.remote import Remote

from .. import forkcli, pg

CLI = [sys.executable, "-c", "from localrun.cli import main; main()"]
PROG = "-c"  # the name click gives itself when started as CLI above


def png_bytes(color=(255, 0, 0), size=8) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    return buf.getvalue()


def image_value(run, color=(255, 0, 0)) -> dict:
    """An image as the recorder stores one: a content-addressed PNG in the run's media/."""
    ref = BlobStore(run.dir).put(png_bytes(color), "png")
    return {"_type": "image-file", "format": "png", "width": 8, "height": 8, **ref}


def make_run(root, run_id="r1", rows=20, images=0, finish=True, **init) -> localrun.Run:
    """A run with scalars, a histogram, images, a table, config, summary and one dropped call."""
    run = localrun.init(
        project="proj",
        id=run_id,
        dir=str(root),
        config={"lr": 0.1, "layers": [1, 2]},
        settings={"quiet": True},
        **init,
    )
    for i in range(rows):
        data = {"loss": 1.0 / (i + 1), "acc": i / rows, "nan": float("nan") if i % 7 == 0 else i}
        if i % 5 == 0:
            data["hist"] = np.arange(100) * i
        if images and i < images:
            data["img"] = image_value(run, (i % 256, 0, 0))
        if i == 3:
            data["table"] = {"_type": "table", "columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}
        run.log(data)
    run.summary["best"] = {"loss": 0.1}
    if finish:
        localrun.finish(quiet=True)
    return run


def export_rows(path_or_url: str, env=None) -> list[dict]:
    out = forkcli.run(["export", path_or_url], env=env, check=True, prog=PROG).stdout
    return [json.loads(line) for line in out.splitlines()]


def show_json(path_or_url: str, env=None) -> dict:
    out = forkcli.run(["show", path_or_url, "--json"], env=env, check=True, prog=PROG).stdout
    doc = json.loads(out)
    doc.pop("path")
    return doc


def sync(path, url, *args, env=None, check=False) -> subprocess.CompletedProcess:
    return forkcli.run(["sync", str(path), "--to", url, *args], env=env, check=check, prog=PROG)


def same(a, b) -> bool:
    """Equality where NaN equals NaN (rows hold NaN on purpose)."""
    return json.dumps(a, sort_keys=False) == json.dumps(b, sort_keys=False)


class Server:
    """A real `localrun serve` process on 127.0.0.1, on a free port; restartable on the same port."""

    def __init__(self, data_dir: str, token: str | None = None, *args: str):
        self.data_dir = data_dir
        self.token = token
        self.args = list(args)
        self.port = 0
        self.proc = None
        self.start()

    def start(self) -> None:
        args = [*CLI, "serve", "--data", self.data_dir, "--port", str(self.port), *self.args]
        if self.token:
            args += ["--token", self.token]
        env = {k: v for k, v in os.environ.items() if k != "LOCALRUN_TOKEN"}
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split("listening on ")[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.banner = line

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        if self.proc is not None:
            self.proc.stdout.close()
            self.proc.stderr.close()
        self.proc = None

    def restart(self, sig=signal.SIGKILL) -> None:
        self.stop(sig)
        self.start()

    def count(self, query: str) -> int:
        """A count the server's database answers: its SQLite file, or its PostgreSQL (--db)."""
        return self.query(query)[0][0]

    def query(self, query: str, params: tuple = ()) -> list[tuple]:
        """The rows ``query`` (``?`` placeholders) finds in the server's database, read only:
        its SQLite file, or its PostgreSQL (--db)."""
        if "--db" in self.args:
            import psycopg

            with psycopg.connect(self.args[self.args.index("--db") + 1]) as conn:
                return conn.execute(query.replace("?", "%s"), params).fetchall()
        import sqlite3

        path = os.path.join(self.data_dir, "runs.sqlite")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute(query, params).fetchall()
        finally:
            db.close()

    def remote(self, **kwargs) -> Remote:
        return Remote(self.url, token=self.token, **kwargs)


@pytest.fixture(params=["sqlite", "postgres"])
def server(request, tmp_path):
    """A `localrun serve` on SQLite in its data folder, and again on PostgreSQL (``--db``, a
    schema of its own; skipped, saying why, where tests/pg.py finds no PostgreSQL)."""
    if request.param == "sqlite":
        s = Server(str(tmp_path / "server-data"))
        yield s
        s.stop()
        return
    url, schema = pg.fresh_url()
    s = Server(str(tmp_path / "server-data"), None, "--db", url)
    yield s
    s.stop()
    pg.drop(schema)


@pytest.fixture
def app_remote(tmp_path):
    """An in-process server: a Remote talking to the ASGI app through httpx.ASGITransport."""
    app = create_app(str(tmp_path / "inproc-data"))
    remote = Remote("http://inproc", transport=httpx.ASGITransport(app), sleep=lambda s: None)
    yield remote
    remote.close()


@pytest.fixture(autouse=True)
def _no_current_run():
    yield
    if localrun.run is not None:
        localrun.finish(quiet=True)
