"""`localrun sync` against a real `localrun serve` process on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import localrun
from localrun.sync import RunView
from localrun.sync.cursor import Cursor

from .conftest import CLI, Server, export_rows, image_value, make_run, same, show_json, sync


def local_rows(path) -> list[dict]:
    return list(RunView(str(path)).rows())


def remote_rows(server: Server, project="proj", run_id="r1") -> list[dict]:
    with server.remote() as remote:
        return list(remote.iter_rows(project, run_id))


def dir_state(path) -> dict:
    """Every file under a run directory with the hash of its bytes."""
    out = {}
    for folder, _, files in os.walk(path):
        for name in files:
            p = os.path.join(folder, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, path)] = hashlib.sha256(f.read()).hexdigest()
    return out


def test_round_trip_is_exact(tmp_path, server):
    make_run(tmp_path / "runs", rows=40, images=3)
    done = sync(tmp_path / "runs", server.url, check=True)
    url = f"{server.url}/runs/proj/r1"
    assert done.stdout.startswith("r1: sent 40 rows and 3 media files (")
    assert done.stdout.endswith(f" -> {url}\n")
    assert same(export_rows(url), export_rows(str(tmp_path / "runs" / "r1")))
    assert same(show_json(url), show_json(str(tmp_path / "runs" / "r1")))
    # The media bytes on the server are the local bytes.
    local = {m.split(".")[0] for m in os.listdir(tmp_path / "runs" / "r1" / "media")}
    with server.remote() as remote:
        for sha in local:
            body = remote.client.get(f"/api/v1/blobs/{sha}").content
            assert hashlib.sha256(body).hexdigest() == sha


def test_resync_sends_nothing_and_says_so(tmp_path, server):
    make_run(tmp_path / "runs", rows=10)
    sync(tmp_path / "runs", server.url, check=True)
    again = sync(tmp_path / "runs", server.url, check=True)
    assert (
        again.stdout
        == f"r1: up to date, nothing new to send (10 rows on the server) -> {server.url}/runs/proj/r1\n"
    )
    assert len(remote_rows(server)) == 10


def test_resumed_run_syncs_only_new_rows(tmp_path, server):
    make_run(tmp_path / "runs", rows=10)
    sync(tmp_path / "runs", server.url, check=True)
    run = localrun.init(
        project="proj",
        id="r1",
        dir=str(tmp_path / "runs"),
        resume="allow",
        settings={"quiet": True},
    )
    for i in range(5):
        run.log({"loss": float(i)})
    localrun.finish(quiet=True)
    done = sync(tmp_path / "runs", server.url, check=True)
    assert done.stdout.startswith("r1: sent 5 rows ")
    assert same(remote_rows(server), local_rows(tmp_path / "runs" / "r1"))


def test_sigkill_three_times_then_complete_is_exact(tmp_path, server):
    runs = tmp_path / "runs"
    run = make_run(runs, rows=0, finish=False)
    for i in range(12_000):
        data = {"a": i, "b": i * 0.5}
        if i % 1000 == 0:
            data["img"] = image_value(run, (i // 1000, 1, 2))
        run.log(data)
    localrun.finish(quiet=True)
    cursor_file = Cursor.file_for(str(runs / "r1"), server.url)
    last = -1
    for _ in range(3):
        proc = subprocess.Popen(
            [*CLI, "sync", str(runs), "--to", server.url, "--batch-rows", "200"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            step = (
                Cursor.load(str(runs / "r1"), server.url).last_step
                if os.path.exists(cursor_file)
                else None
            )
            if step is not None and step > last:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = Cursor.load(str(runs / "r1"), server.url)
        assert not now.synced, "killed too late to test anything"
        last = now.last_step
    done = sync(runs, server.url, "--batch-rows", "200", check=True)
    assert "r1: sent " in done.stdout
    assert same(remote_rows(server), local_rows(runs / "r1"))
    assert Cursor.load(str(runs / "r1"), server.url).synced


def test_batch_rows_option_sets_the_rows_per_request(tmp_path, server):
    make_run(tmp_path / "runs", rows=10)
    done = sync(tmp_path / "runs", server.url, "--batch-rows", "4", check=True)
    assert done.stdout.startswith("r1: sent 10 rows ")
    assert server.count("SELECT count(*) FROM chunks") == 3  # 4 + 4 + 2
    bad = sync(tmp_path / "runs", server.url, "--batch-rows", "0")
    assert bad.returncode == 2 and "--batch-rows" in bad.stderr


def test_server_restart_between_syncs_loses_nothing(tmp_path, server):
    make_run(tmp_path / "runs", rows=15, images=2)
    sync(tmp_path / "runs", server.url, check=True)
    server.restart()  # SIGKILL, then the same data folder and port
    run = localrun.init(
        project="proj",
        id="r1",
        dir=str(tmp_path / "runs"),
        resume="allow",
        settings={"quiet": True},
    )
    run.log({"img": image_value(run, (9, 9, 9))})
    localrun.finish(quiet=True)
    sync(tmp_path / "runs", server.url, check=True)
    server.restart()
    url = f"{server.url}/runs/proj/r1"
    assert same(export_rows(url), export_rows(str(tmp_path / "runs" / "r1")))
    assert same(show_json(url), show_json(str(tmp_path / "runs" / "r1")))


def test_dead_endpoint_fails_cleanly_and_changes_nothing(tmp_path, server):
    make_run(tmp_path / "runs", rows=5)
    before = dir_state(tmp_path / "runs")
    dead = "http://127.0.0.1:9"  # discard port: nothing listens there
    done = sync(tmp_path / "runs", dead)
    assert done.returncode == 3
    assert done.stdout.startswith("r1: FAILED: cannot reach http://127.0.0.1:9")
    assert "->" not in done.stdout  # a run that failed is not shown as if it were there
    assert "sync stopped: the server could not be reached" in done.stderr
    assert "Traceback" not in done.stderr
    assert dir_state(tmp_path / "runs") == before
    sync(tmp_path / "runs", server.url, check=True)
    assert len(remote_rows(server)) == 5


def test_token_is_required_and_checked(tmp_path):
    server = Server(str(tmp_path / "data"), token="s3cret")
    try:
        make_run(tmp_path / "runs", rows=5)
        env = {k: v for k, v in os.environ.items() if k != "LOCALRUN_TOKEN"}
        none = sync(tmp_path / "runs", server.url, env=env)
        assert none.returncode == 3 and "401" in none.stdout and "token" in none.stdout
        wrong = sync(tmp_path / "runs", server.url, "--token", "nope", env=env)
        assert wrong.returncode == 3 and "wrong token" in wrong.stdout
        right = sync(tmp_path / "runs", server.url, env={**env, "LOCALRUN_TOKEN": "s3cret"})
        assert right.returncode == 0, right.stdout + right.stderr
        assert len(remote_rows(server)) == 5
        # show and export read the token from the environment as sync does (click's envvar).
        url = f"{server.url}/runs/proj/r1"
        assert len(export_rows(url, env={**env, "LOCALRUN_TOKEN": "s3cret"})) == 5
        assert show_json(url, env={**env, "LOCALRUN_TOKEN": "s3cret"})["id"] == "r1"
        refused = subprocess.run([*CLI, "export", url], env=env, capture_output=True, text=True)
        assert refused.returncode != 0 and "401" in refused.stderr
    finally:
        server.stop()


def test_same_image_sixty_times_is_stored_once(tmp_path, server):
    run = localrun.init(
        project="proj", id="r1", dir=str(tmp_path / "runs"), settings={"quiet": True}
    )
    img = image_value(run)
    for i in range(60):
        run.log({"img": img, "i": i})
    localrun.finish(quiet=True)
    done = sync(tmp_path / "runs", server.url, check=True)
    assert "sent 60 rows and 1 media file " in done.stdout
    blobs = [
        f
        for d, _, fs in os.walk(os.path.join(server.data_dir, "blobs"))
        if not d.endswith("tmp")
        for f in fs
    ]
    assert blobs == [img["sha256"]]


def test_dropped_steps_stay_dropped(tmp_path, server):
    run = localrun.init(
        project="proj", id="r1", dir=str(tmp_path / "runs"), settings={"quiet": True}
    )
    run.log({"a": 1}, step=5)
    run.log({"a": 2}, step=3)  # backwards: dropped
    run.log({"a": 3}, step=6)
    localrun.finish(quiet=True)
    done = sync(tmp_path / "runs", server.url, check=True)
    assert "1 dropped call not sent" in done.stdout
    rows = remote_rows(server)
    assert [r["_step"] for r in rows] == [5, 6]
    assert [r["a"] for r in rows] == [1, 3]
    assert show_json(f"{server.url}/runs/proj/r1")["dropped"] == [
        {"step": 3, "current_step": 5, "keys": ["a"]}
    ]


def test_one_failing_run_does_not_stop_the_others(tmp_path, server):
    # Issue 10 changed what fails a run: a missing media file no longer does (the rows go, the
    # file is named). A different run already on the server under the same id still does.
    make_run(tmp_path / "elsewhere", run_id="bad", rows=2)
    sync(tmp_path / "elsewhere", server.url, check=True)
    make_run(tmp_path / "runs", run_id="good", rows=3)
    make_run(tmp_path / "runs", run_id="bad", rows=3)
    done = sync(tmp_path / "runs", server.url)
    assert done.returncode == 3
    lines = done.stdout.splitlines()
    assert lines[0].startswith("bad: FAILED: ") and "holds a different run" in lines[0]
    assert lines[1] == f"good: sent 3 rows -> {server.url}/runs/proj/good"
    assert "1 of 2 run(s) did not sync" in done.stderr


def test_dry_run_sends_and_writes_nothing(tmp_path, server):
    make_run(tmp_path / "runs", rows=4, images=1)
    before = dir_state(tmp_path / "runs")
    done = sync(tmp_path / "runs", server.url, "--dry-run", check=True)
    assert done.stdout.startswith("r1: would send 4 rows and 1 media file")
    assert dir_state(tmp_path / "runs") == before
    with server.remote() as remote:
        assert remote.list_runs() == []


WRITER = """
import os, sys, time, localrun
runs, ctl, rows, pauses = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
run = localrun.init(project="proj", id="live", dir=runs, settings={"quiet": True})
for i in range(rows):
    run.log({"a": i}, commit=False)  # every row stays open until the next call joins it
    if i % (rows // pauses) == 0:
        # A pause with a row open: the test syncs now, and says when to go on.
        open(os.path.join(ctl, f"paused{i}"), "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(ctl, f"go{i}")) and time.monotonic() < deadline:
            time.sleep(0.002)
    run.log({"b": -i})
localrun.finish(quiet=True)
"""


def wait_for(path, proc, timeout=60.0) -> None:
    """Until ``path`` exists; fails if ``proc`` exits first or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, f"the writer exited ({proc.returncode}) before {path}"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.002)


def test_a_run_being_written_syncs_again_and_again_then_exactly(tmp_path, server):
    # The writer pauses (a row open) until each sync is done, so every sync sees it running:
    # once it failed here because the writer had finished before sync first looked.
    runs, ctl = tmp_path / "runs", tmp_path / "ctl"
    ctl.mkdir()
    rows, pauses = 3000, 4
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(runs), str(ctl), str(rows), str(pauses)]
    )
    lines = []
    try:
        for i in range(0, rows, rows // pauses):
            wait_for(ctl / f"paused{i}", writer)
            lines.append(sync(runs, server.url, check=True).stdout)
            (ctl / f"go{i}").touch()
        assert writer.wait(60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert len(lines) == pauses and all("still running" in line for line in lines), lines
    sync(runs, server.url, check=True)
    assert same(remote_rows(server, run_id="live"), local_rows(runs / "live"))
    assert len(local_rows(runs / "live")) == rows
    assert sync(runs, server.url, check=True).stdout.startswith("live: up to date")


def test_hostile_requests_over_a_socket_store_nothing(tmp_path):
    import httpx
    import msgpack

    server = Server(str(tmp_path / "data"), None, "--max-body-mb", "1", "--max-blob-mb", "1")
    try:
        with httpx.Client(base_url=server.url) as c:
            assert c.put("/api/v1/runs/proj/r1", json={}).status_code == 201
            big = msgpack.packb([{"_step": i, "pad": "x" * 1000} for i in range(2000)])
            r = c.post(
                "/api/v1/runs/proj/r1/rows",
                content=big,
                headers={"Content-Type": "application/msgpack"},
            )
            assert r.status_code == 413
            r = c.post(
                "/api/v1/runs/proj/r1/rows",
                content=b"\xc1 nonsense",
                headers={"Content-Type": "application/msgpack"},
            )
            assert r.status_code == 400
            blob = b"z" * (2 * 1024 * 1024)
            r = c.put(f"/api/v1/blobs/{hashlib.sha256(blob).hexdigest()}", content=blob)
            assert r.status_code == 413
            r = c.put("/api/v1/blobs/" + "0" * 64, content=b"wrong bytes")
            assert r.status_code == 400
            assert c.get("/api/v1/runs/proj/r1").json()["rows"] == 0
        blobs = [f for _, _, fs in os.walk(os.path.join(server.data_dir, "blobs")) for f in fs]
        assert blobs == []
    finally:
        server.stop()
