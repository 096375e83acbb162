"""Two `localrun serve --db` processes on one PostgreSQL database (and one media folder): runs
synced through either are served whole by both, and overlapping batches of one run posted
through both at once are each stored exactly once."""

from __future__ import annotations

import subprocess
import threading
import time

import httpx
import msgpack
import pytest

from localrun.reader import RunView

from .. import pg
from .conftest import CLI, Server, export_rows, make_run, same


@pytest.fixture
def two_servers(tmp_path):
    url, schema = pg.fresh_url()
    data = str(tmp_path / "server-data")
    servers = [Server(data, None, "--db", url) for _ in range(2)]
    yield servers
    for s in servers:
        s.stop()
    pg.drop(schema)


def test_runs_synced_through_either_server_at_once_are_served_whole_by_both(tmp_path, two_servers):
    runs = {name: tmp_path / name for name in ("a", "b")}
    for name, root in runs.items():
        make_run(root, run_id=name, rows=3000, images=3)
    syncs = [
        subprocess.Popen(
            [*CLI, "sync", str(root), "--to", s.url, "--batch-rows", "200"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s, root in zip(two_servers, runs.values(), strict=True)
    ]
    for p in syncs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, (out, err)
    for name, root in runs.items():
        local = list(RunView(str(root / name)).rows())
        for s in two_servers:
            assert same(export_rows(f"{s.url}/runs/proj/{name}"), local)
    assert two_servers[1].count("SELECT sum(row_count) FROM chunks") == 6000


def test_overlapping_batches_of_one_run_through_two_servers_are_stored_once(two_servers):
    steps, batch = 8000, 400
    with httpx.Client() as c:
        for s in two_servers:  # both create it: one makes it, the other finds it
            r = c.put(f"{s.url}/api/v1/runs/proj/shared", json={"created_at": 1.0})
            assert r.status_code in (200, 201), r.text
    errors: list[BaseException] = []

    def post(worker: int) -> None:
        try:
            with httpx.Client(timeout=60) as c:
                start = 0
                while start < steps:
                    # Each writer sends every row, in batches that overlap the others' differently.
                    end = min(steps, start + batch + 37 * worker)
                    rows = [{"_step": i, "v": i * 0.5} for i in range(max(0, start - 50), end)]
                    s = two_servers[(worker + start // batch) % 2]
                    r = c.post(
                        f"{s.url}/api/v1/runs/proj/shared/rows",
                        content=msgpack.packb(rows),
                        headers={"Content-Type": "application/msgpack"},
                    )
                    assert r.status_code == 200, r.text
                    start = end
        except BaseException as exc:  # shown by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    want = [{"_step": i, "v": i * 0.5} for i in range(steps)]
    for s in two_servers:
        assert export_rows(f"{s.url}/runs/proj/shared") == want
    assert two_servers[0].count("SELECT sum(row_count) FROM chunks") == steps
    assert two_servers[0].count("SELECT row_count FROM runs") == steps


def test_serve_names_the_database_without_its_password(tmp_path):
    from click.testing import CliRunner

    from localrun.cli import main

    url, schema = pg.fresh_url()
    try:
        s = Server(str(tmp_path / "d"), None, "--db", url)
        s.stop()
        assert "runs in postgresql://" in s.banner
        password = httpx.URL(url).password
        if password:
            assert password not in s.banner and ":***@" in s.banner
        user_host = url.split("://", 1)[1].rsplit("@", 1)[1]
        wrong = f"postgresql://{httpx.URL(url).username}:s3cret-wrong@{user_host}"
        got = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "d"), "--db", wrong])
        assert got.exit_code == 1 and "s3cret-wrong" not in got.output
        assert "cannot use the PostgreSQL database" in got.output and ":***@" in got.output
        got = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "d"), "--db", "x:pw@h"])
        assert got.exit_code == 2 and "not a postgresql://USER@HOST/DB URL" in got.output
        assert "pw" not in got.output
    finally:
        pg.drop(schema)


def test_workers_share_the_port_and_store_overlapping_batches_once(tmp_path):
    import os
    import signal

    url, schema = pg.fresh_url()
    s = Server(str(tmp_path / "d"), None, "--db", url, "--workers", "3")
    try:
        assert "3 workers" in s.banner
        for _ in range(100):  # the banner comes before the fork
            children = [
                int(p)
                for p in os.listdir("/proc")
                if p.isdigit() and _parent_of(int(p)) == s.proc.pid
            ]
            if len(children) == 3:
                break
            time.sleep(0.05)
        assert len(children) == 3
        steps = 6000
        with httpx.Client() as c:
            assert c.put(f"{s.url}/api/v1/runs/proj/w", json={}).status_code == 201
        errors: list[BaseException] = []

        def post(worker: int) -> None:
            try:
                start = 0
                while start < steps:
                    end = min(steps, start + 300 + 29 * worker)
                    rows = [{"_step": i} for i in range(max(0, start - 40), end)]
                    # A new connection each time: the kernel spreads them over the workers.
                    with httpx.Client(timeout=60) as c:
                        r = c.post(
                            f"{s.url}/api/v1/runs/proj/w/rows",
                            content=msgpack.packb(rows),
                            headers={"Content-Type": "application/msgpack"},
                        )
                    assert r.status_code == 200, r.text
                    start = end
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=post, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert export_rows(f"{s.url}/runs/proj/w") == [{"_step": i} for i in range(steps)]
        assert s.count("SELECT sum(row_count) FROM chunks") == steps
        s.stop(signal.SIGTERM)  # passed on to the workers, which exit
        for pid in children:
            assert not os.path.exists(f"/proc/{pid}") or _parent_of(pid) != s.proc.pid
    finally:
        s.stop()
        pg.drop(schema)


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def test_workers_without_a_database_are_refused(tmp_path):
    from click.testing import CliRunner

    from localrun.cli import main

    got = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "d"), "--workers", "2"])
    assert got.exit_code == 2 and "--workers 2 needs --db" in got.output
