"""Sync through a proxy that drops connections and answers 500 at random: repeated syncs converge.

A real `localrun serve` process, the faulty proxy of ``proxy.py`` in front of it on 127.0.0.1,
and real `localrun sync` processes (with their real retries and backoff) or the push engine
in this process (one try per call, so every fault fails the sync). Whatever the faults, syncing
again until a sync succeeds leaves the server holding exactly the local runs: the same export,
the same document, no row twice, every media file once and whole, nothing half-uploaded.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest

import localrun
from localrun.errors import TransportError
from localrun.sync import RunView
from localrun.sync.push import push_runs
from localrun.sync.remote import Remote
from tests import forkcli
from tests.sync.conftest import Server, export_rows, image_value, make_run, same, show_json

from .. import pg
from .proxy import FaultyProxy
from .serverlog import server_log

MAX_SYNCS = 60  # a bound, far above what convergence takes at these fault rates


@pytest.fixture(params=["sqlite", "postgres"])
def server(request, tmp_path):
    """A real server, on SQLite and on PostgreSQL (``--db``; skipped where tests/pg.py finds
    none); at the end, its log must hold no traceback (dropped clients are routine)."""
    schema = None
    args: list[str] = []
    if request.param == "postgres":
        url, schema = pg.fresh_url()
        args = ["--db", url]
    s = Server(str(tmp_path / "server-data"), None, *args)
    yield s
    log = server_log(s)
    s.stop()
    if schema is not None:
        pg.drop(schema)
    assert "Traceback" not in log, log[-3000:]


def make_runs(root, n_runs: int, rows: int) -> list[str]:
    """Runs with scalars, histograms, a table, images (some shared between rows) and a document."""
    paths = []
    for k in range(n_runs):
        run = make_run(root, run_id=f"r{k}", rows=rows, images=min(rows, 3 + 2 * k), finish=False)
        shared = image_value(run, (1, 2, 3))  # the same file in many rows and in every run
        for i in range(rows // 10):
            run.log(
                {"shared": shared, "big": image_value(run, (k, i % 256, 7)) if i % 5 == 0 else None}
            )
        localrun.finish(quiet=True)
        paths.append(run.dir)
    return paths


def local_media(paths: list[str]) -> set[str]:
    return {
        name.split(".")[0]
        for p in paths
        if os.path.isdir(os.path.join(p, "media"))
        for name in os.listdir(os.path.join(p, "media"))
    }


def assert_server_holds_exactly(server: Server, paths: list[str], via_cli: bool = False) -> None:
    """Server export == local export and document; no duplicate rows; each media file once.

    ``via_cli`` compares what `localrun export` and `localrun show --json` print (subprocesses);
    otherwise the same objects are read in this process, which is quicker.
    """
    counts = {}
    for path in paths:
        run_id = os.path.basename(path)
        if via_cli:
            url = f"{server.url}/runs/proj/{run_id}"
            local, remote = export_rows(path), export_rows(url)
            assert same(show_json(url), show_json(path))
        else:
            view = RunView(path)
            local = list(view.rows())
            with Remote(server.url) as direct:
                remote = list(direct.iter_rows("proj", run_id))
                doc = direct.get_run("proj", run_id)
            mine = view.to_json()
            doc.pop("path"), mine.pop("path")
            assert same(doc, mine)
        assert same(remote, local), f"{run_id}: {len(remote)} rows on the server, {len(local)} here"
        counts[run_id] = len(local)
    # The database itself: one row per run, chunks that never overlap and add up.
    runs = server.query("SELECT id, run_id, row_count FROM runs")
    assert sorted(r[1] for r in runs) == sorted(os.path.basename(p) for p in paths)
    for key, run_id, row_count in runs:
        chunks = server.query(
            "SELECT first_step, last_step, row_count FROM chunks WHERE run = ? ORDER BY first_step",
            (key,),
        )
        assert sum(c[2] for c in chunks) == row_count == counts[run_id]
        assert all(a[1] < b[0] for a, b in zip(chunks, chunks[1:], strict=False)), (
            f"{run_id}: overlapping chunks {chunks}"
        )
    # Media: every local file stored once, whole, under its own hash; no leftover temp files.
    blob_root = os.path.join(server.data_dir, "blobs")
    stored = []
    for folder, _, files in os.walk(blob_root):
        if os.path.basename(folder) == "tmp":
            assert files == [], f"half-uploaded files left behind: {files}"
            continue
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == name
            assert os.path.basename(folder) == name[:2]
            stored.append(name)
    assert sorted(stored) == sorted(local_media(paths))


def record(figures, key: str, proxy: FaultyProxy, syncs: list[int]) -> None:
    entry = figures.setdefault(
        key, {"rounds": 0, "requests": 0, "faults": {}, "syncs_to_converge": []}
    )
    entry["rounds"] += len(syncs)
    entry["requests"] += proxy.requests
    for kind, n in proxy.faults.items():
        entry["faults"][kind] = entry["faults"].get(kind, 0) + n
    entry["syncs_to_converge"] += syncs
    entry["faults_total"] = sum(entry["faults"].values())
    entry["max_syncs_to_converge"] = max(entry["syncs_to_converge"])


def sync_cli(runs, url: str, batch_rows: int) -> subprocess.CompletedProcess:
    args = ["sync", str(runs), "--to", url, "--batch-rows", str(batch_rows)]
    return forkcli.run(args, timeout=300)


def test_cli_syncs_through_a_faulty_proxy_converge_to_exact(tmp_path, server, slow, figures):
    """Real `localrun sync` processes, real retries: each round adds rows, then syncs until done."""
    runs = tmp_path / "runs"
    paths = make_runs(runs, n_runs=3 if slow else 2, rows=120)
    rounds = 8 if slow else 1
    syncs_per_round = []
    with FaultyProxy(server.port, rate=0.35, seed=6) as proxy:
        for rnd in range(rounds):
            if rnd:  # the runs go on: resume each one and log more, media included
                for path in paths:
                    run = localrun.init(
                        project="proj",
                        id=os.path.basename(path),
                        dir=str(runs),
                        resume="allow",
                        settings={"quiet": True},
                    )
                    for i in range(40):
                        run.log(
                            {
                                "loss": float(i),
                                "img": image_value(run, (rnd, i, 9)) if i % 13 == 0 else None,
                            }
                        )
                    localrun.finish(quiet=True)
            for attempt in range(1, MAX_SYNCS + 1):  # noqa: B007 (read after the loop)
                done = sync_cli(runs, proxy.url, batch_rows=25)
                assert "Traceback" not in done.stderr, done.stderr
                if done.returncode == 0:
                    break
                assert done.returncode == 3, done.stdout + done.stderr
            else:
                pytest.fail(f"no sync succeeded in {MAX_SYNCS} tries: {done.stdout}")
            syncs_per_round.append(attempt)
            assert_server_holds_exactly(server, paths, via_cli=True)
        record(figures, "sync_proxy_cli", proxy, syncs_per_round)
    assert sum(proxy.faults.values()) > 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_in_process_syncs_through_a_faulty_proxy_converge_to_exact(
    tmp_path, server, slow, figures, seed
):
    """One try per call: every fault fails the sync, and the next one picks up where it stopped."""
    runs = tmp_path / "runs"
    paths = make_runs(runs, n_runs=2, rows=300 if slow else 150)
    rounds = 20 if slow else 3
    syncs_per_round = []
    with FaultyProxy(server.port, rate=0.08, seed=seed) as proxy:
        for rnd in range(rounds):
            if rnd:
                for path in paths:
                    run = localrun.init(
                        project="proj",
                        id=os.path.basename(path),
                        dir=str(runs),
                        resume="allow",
                        settings={"quiet": True},
                    )
                    for i in range(60):
                        run.log(
                            {
                                "acc": i * 0.5,
                                "img": image_value(run, (rnd, i, seed)) if i % 11 == 0 else None,
                            }
                        )
                    localrun.finish(quiet=True)
            for attempt in range(1, 4 * MAX_SYNCS + 1):  # noqa: B007 (read after the loop)
                with Remote(proxy.url, retries=1, timeout_s=30) as remote:
                    results = push_runs(paths, remote, batch_rows=20)
                if all(r.error is None and r.synced for r in results):
                    break
                for r in results:  # a fault on the wire is always a retryable TransportError
                    assert r.error is None or isinstance(r.error, TransportError), repr(r.error)
            else:
                pytest.fail(f"no sync succeeded in {4 * MAX_SYNCS} tries")
            syncs_per_round.append(attempt)
            assert_server_holds_exactly(server, paths)
        record(figures, "sync_proxy_inprocess", proxy, syncs_per_round)
    assert sum(proxy.faults.values()) > 0


def test_sync_still_converges_when_the_server_is_killed_between_tries(tmp_path, server, figures):
    """Faults on the wire and a SIGKILLed server: the cursor and the server's prefix rule agree."""
    runs = tmp_path / "runs"
    paths = make_runs(runs, n_runs=2, rows=100)
    syncs = 0
    with FaultyProxy(server.port, rate=0.15, seed=11) as proxy:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            syncs += 1
            with Remote(proxy.url, retries=1, timeout_s=30) as remote:
                results = push_runs(paths, remote, batch_rows=15)
            if all(r.error is None and r.synced for r in results):
                break
            assert all(r.error is None or isinstance(r.error, TransportError) for r in results), [
                r.error for r in results
            ]
            if syncs % 2 == 0:
                server.restart()  # SIGKILL, same data folder and port
        else:
            pytest.fail("did not converge in 60 s")
        assert_server_holds_exactly(server, paths)
        record(figures, "sync_proxy_server_killed", proxy, [syncs])


LIVE_WRITER = """
import os, sys, time
import numpy as np
import localrun
run = localrun.init(project="proj", id="live", dir=sys.argv[1], settings={"quiet": True})
for i in range(int(sys.argv[2])):
    data = {"a": i}
    if i % 150 == 0:
        data["img"] = localrun.Image(np.full((8, 8, 3), i % 256, dtype=np.uint8))
    run.log(data, commit=False)  # the row stays open until the next call joins it
    run.log({"b": -i})
    if i % 100 == 0:
        time.sleep(0.05)
# Finish only when the test has synced the run while it was running (argv[3] appears).
deadline = time.monotonic() + 120
while not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
    time.sleep(0.005)
localrun.finish(quiet=True)
"""


def test_syncing_a_run_being_written_through_a_faulty_proxy_ends_exact(
    tmp_path, server, slow, figures
):
    """Live runs take the hardest path (held-back rows, per-batch media checks, 409 then upload)."""
    runs = tmp_path / "runs"
    rows = 8000 if slow else 3000
    finish = tmp_path / "finish"
    writer = subprocess.Popen(
        [sys.executable, "-c", LIVE_WRITER, str(runs), str(rows), str(finish)],
        env={**os.environ, "LOCALRUN_SILENT": "1"},
    )
    path = str(runs / "live")
    syncs = 0
    deadline = time.monotonic() + 120
    with FaultyProxy(server.port, rate=0.15, seed=21) as proxy:
        try:
            # Sync while it writes; the writer waits to finish until three syncs saw it running.
            while writer.poll() is None and time.monotonic() < deadline:
                if os.path.exists(os.path.join(path, "run.json")):
                    syncs += 1
                    with Remote(proxy.url, retries=1, timeout_s=30) as remote:
                        push_runs([path], remote, batch_rows=100)
                    if syncs >= 3:
                        finish.touch()
                else:
                    time.sleep(0.01)
        finally:
            finish.touch()
            assert writer.wait(timeout=120) == 0
        for attempt in range(1, 4 * MAX_SYNCS + 1):  # noqa: B007 (read after the loop)
            syncs += 1
            with Remote(proxy.url, retries=1, timeout_s=30) as remote:
                (result,) = push_runs([path], remote, batch_rows=100)
            if result.error is None and result.synced:
                break
            assert result.error is None or isinstance(result.error, TransportError), repr(
                result.error
            )
        else:
            pytest.fail(f"no sync succeeded in {4 * MAX_SYNCS} tries after the writer finished")
        assert len(list(RunView(path).rows())) == rows
        assert_server_holds_exactly(server, [path])
        record(figures, "sync_proxy_live_writer", proxy, [attempt])
        figures["sync_proxy_live_writer"]["syncs_while_writing"] = (
            figures["sync_proxy_live_writer"].get("syncs_while_writing", 0) + syncs - attempt
        )
