"""One bad item costs only itself (issue 10, rows 7, 8 and the sync half of 2).

A damaged, empty, missing or oversize media file, a value the server cannot store, a project
name it refuses: every other row, file and value of the run still reaches the server, the
bad item is named with its reason, and `localrun sync` exits 3 so scripts notice. Against a
real `localrun serve` on 127.0.0.1 with the real command, except where noted.
"""

from __future__ import annotations

import os
import time

import httpx
import msgpack
import numpy as np
import pytest

import localrun
from localrun import rundir
from localrun.blobs import BlobStore
from localrun.record import kinds
from localrun.record.segment import SegmentWriter
from localrun.server import Limits, create_app
from localrun.sync import RunView
from localrun.sync.push import push_run
from localrun.sync.remote import Remote
from localrun.sync.transports import AsyncBridge

from .conftest import Server, image_value, same, show_json, sync


def local_rows(path) -> list[dict]:
    return list(RunView(str(path)).rows())


def remote_rows(server, project="proj", run_id="r1") -> list[dict]:
    with server.remote() as remote:
        return list(remote.iter_rows(project, run_id))


def missing_on(server, hashes) -> list[str]:
    with server.remote() as remote:
        return remote.missing_blobs(list(hashes))


def run_with_images(root, rows=3000, images=20, big: bytes | None = None):
    """A finished run of ``rows`` rows, ``images`` small PNGs spread over them, and optionally
    one more file of ``big`` bytes logged at the middle row. Returns (dir, media values)."""
    run = localrun.init(project="proj", id="r1", dir=str(root), settings={"quiet": True})
    refs = []
    every = rows // images if images else rows + 1
    for i in range(rows):
        data = {"loss": 1.0 / (i + 1), "acc": i / rows}
        if i % every == 0 and len(refs) < images:
            refs.append(image_value(run, (len(refs), 7, 7)))
            data["img"] = refs[-1]
        if big is not None and i == rows // 2:
            ref = BlobStore(run.dir).put(big, "bin")
            data["blob"] = {"_type": "object3D-file", **ref}
        run.log(data)
    localrun.finish(quiet=True)
    return run.dir, refs


def flip_a_byte(path: str) -> None:
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        data[len(data) // 2] ^= 0x40
        f.seek(0)
        f.write(data)


# --- row 7: a damaged, empty or missing media file -------------------------------------------


@pytest.mark.parametrize(
    "damage, reason",
    [
        (flip_a_byte, "damaged (its bytes hash to "),
        (lambda p: open(p, "wb").close(), "empty: 0 bytes (a crash or power loss"),
        (os.unlink, "missing from the run directory"),
    ],
    ids=["flipped-byte", "zero-length", "missing"],
)
def test_one_bad_media_file_costs_only_itself(tmp_path, server, damage, reason):
    path, refs = run_with_images(tmp_path / "runs")
    bad = refs[7]
    good = bytes_of(path, bad["path"])
    damage(os.path.join(path, bad["path"]))
    done = sync(tmp_path / "runs", server.url)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith("r1: sent 3,000 rows and 19 media files (")
    assert done.stdout.endswith(f"; 1 media file not sent -> {server.url}/runs/proj/r1\n")
    assert f"r1: {bad['path']} not sent: {reason}" in done.stderr
    assert "synced without some of their media files" in done.stderr
    assert same(remote_rows(server), local_rows(path))  # every row, with its reference
    assert missing_on(server, [r["sha256"] for r in refs]) == [bad["sha256"]]
    (lost,) = show_json(f"{server.url}/runs/proj/r1")["lost_media"]
    assert lost["sha256"] == bad["sha256"] and lost["path"] == bad["path"]
    assert lost["reason"].startswith(reason)
    # Until the file is back, every sync says so; once it is, the next sync sends it.
    again = sync(tmp_path / "runs", server.url)
    assert again.returncode == 3 and f"r1: {bad['path']} not sent" in again.stderr
    with open(os.path.join(path, bad["path"]), "wb") as f:
        f.write(good)
    healed = sync(tmp_path / "runs", server.url)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert healed.stdout.startswith("r1: sent 0 rows and 1 media file (")
    assert missing_on(server, [bad["sha256"]]) == []
    assert "lost_media" not in show_json(f"{server.url}/runs/proj/r1")
    assert sync(tmp_path / "runs", server.url).stdout.startswith("r1: up to date")


def bytes_of(run_dir, rel) -> bytes:
    with open(os.path.join(run_dir, rel), "rb") as f:
        return f.read()


def test_a_bad_media_file_of_a_live_run_is_named_too(tmp_path, app_remote):
    run = localrun.init(
        project="proj", id="r1", dir=str(tmp_path / "runs"), settings={"quiet": True}
    )
    for i in range(5):
        run.log({"a": i, "img": image_value(run, (i, 1, 1))})
    bad = image_value(run, (9, 9, 9))
    run.log({"img": bad})
    run.log({"a": 99})
    flip_a_byte(os.path.join(run.dir, bad["path"]))
    result = push_run(run.dir, app_remote, batch_rows=2)  # the writer still holds the run
    assert result.error is None
    assert list(result.lost_media) == [bad["sha256"]]
    assert len(list(app_remote.iter_rows("proj", "r1"))) == 7
    localrun.finish(quiet=True)


# --- row 8: a media file over the server's --max-blob-mb -------------------------------------


def test_a_file_over_the_servers_blob_limit_costs_only_itself(tmp_path):
    big = np.random.default_rng(0).bytes(1_500_000)
    path, refs = run_with_images(tmp_path / "runs", rows=5000, images=3, big=big)
    server = Server(str(tmp_path / "data"), None, "--max-blob-mb", "1")
    try:
        done = sync(tmp_path / "runs", server.url)
        assert done.returncode == 3, done.stdout + done.stderr
        assert done.stdout.startswith("r1: sent 5,000 rows and 3 media files (")
        assert "; 1 media file not sent -> " in done.stdout
        assert (
            "not sent: too large: 1,500,000 bytes, over the server's limit of 1,048,576 bytes"
            in (done.stderr)
        )
        assert same(remote_rows(server), local_rows(path))
    finally:
        server.stop()


class OlderServer(httpx.BaseTransport):
    """A server that does not announce its limits in ``GET /`` (as before issue 10)."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner

    def handle_request(self, request):
        if request.method == "GET" and request.url.path == "/":
            return httpx.Response(200, json={"localrun": "0.1", "api": "/api/v1"}, request=request)
        return self.inner.handle_request(request)


def test_a_413_for_a_file_is_a_lost_file_when_the_server_does_not_announce_its_limit(tmp_path):
    big = np.random.default_rng(1).bytes(1_500_000)  # sent alone, not in a bundle
    path, _ = run_with_images(tmp_path / "runs", rows=50, images=2, big=big)
    app = create_app(str(tmp_path / "data"), limits=Limits(max_blob_bytes=1_200_000))
    transport = OlderServer(AsyncBridge(httpx.ASGITransport(app)))
    with Remote("http://inproc", transport=transport, sleep=lambda s: None) as remote:
        result = push_run(path, remote)
        assert result.error is None and result.files_sent == 2
        ((rel, reason),) = result.lost_media.values()
        assert reason.startswith("too large: 1,500,000 bytes, over the server's limit")
        assert same(list(remote.iter_rows("proj", "r1")), local_rows(path))


class NoLostMedia(httpx.BaseTransport):
    """A server from before lost media: it has no such route."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner

    def handle_request(self, request):
        if request.url.path.endswith("/lost-media"):
            return httpx.Response(404, json={"error": "no such route"}, request=request)
        return self.inner.handle_request(request)


def test_a_server_that_cannot_record_lost_files_fails_the_run_with_the_way_on(tmp_path):
    path, refs = run_with_images(tmp_path / "runs", rows=20, images=2)
    os.unlink(os.path.join(path, refs[1]["path"]))
    app = create_app(str(tmp_path / "data"))
    transport = NoLostMedia(AsyncBridge(httpx.ASGITransport(app)))
    with Remote("http://inproc", transport=transport) as remote:
        result = push_run(path, remote)
    assert "would not record them as lost (404)" in str(result.error)
    assert "Upgrade the server, or put the files back" in str(result.error)
    assert not result.synced


def test_batches_and_bundles_fit_a_small_body_limit(tmp_path):
    # 10,000-row batches of these rows are 3 MB, and 40 files of 100 kB make 4 MB bundles:
    # a server with --max-body-mb 1 refused both, every time, before it announced its limits.
    run = localrun.init(
        project="proj", id="r1", dir=str(tmp_path / "runs"), settings={"quiet": True}
    )
    rng = np.random.default_rng(2)
    refs = []
    for i in range(12_000):
        data = {"text": f"{i:0300d}"}
        if i % 300 == 0:
            refs.append(BlobStore(run.dir).put(rng.bytes(100_000), "bin"))
            data["file"] = {"_type": "object3D-file", **refs[-1]}
        run.log(data)
    localrun.finish(quiet=True)
    server = Server(str(tmp_path / "data"), None, "--max-body-mb", "1")
    try:
        done = sync(tmp_path / "runs", server.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert same(remote_rows(server), local_rows(run.dir))
        assert missing_on(server, [r["sha256"] for r in refs]) == []
    finally:
        server.stop()


# --- row 2, the sync half: values the server cannot store ------------------------------------


def old_run(root, rows: int, bad: dict[int, dict], run_id="r1", project="proj", records=()):
    """A finished run written record by record, as a localrun before the value contract could
    write it: row ``i`` logs ``{"a": i, "b": i / 2}`` updated with ``bad.get(i)``; ``records``
    are more records (without seq and time) written before the finish."""
    path = os.path.join(str(root), run_id)
    t0 = time.time()
    rundir.create(
        path, {"id": run_id, "project": project, "name": run_id, "created_at": t0}
    ).release()
    header = {"format": kinds.FORMAT_VERSION, "run_id": run_id, "project": project, "time": t0}
    writer = SegmentWriter(rundir.next_segment_path(path), header)
    seq = 1
    for i in range(rows):
        data = {"a": i, "b": i / 2, **bad.get(i, {})}
        writer.append(msgpack.packb([kinds.LOG, seq, t0 + i * 1e-3, data, None, None, i]))
        seq += 1
    for rec in records:
        writer.append(msgpack.packb([rec[0], seq, t0 + rows * 1e-3, *rec[1:]]))
        seq += 1
    writer.append(msgpack.packb([kinds.FINISH, seq, t0 + rows * 1e-3, 0, "finished", rows]))
    writer.close()
    return path


def deep(n: int):
    value: object = 1
    for _ in range(n):
        value = {"x": value}
    return value


def test_one_bytes_value_costs_only_itself(tmp_path, server):
    path = old_run(tmp_path / "runs", 50_000, {25_000: {"blob": b"x"}})
    done = sync(path, server.url)
    assert done.returncode == 3, done.stdout + done.stderr
    # The value, and the summary's copy of it (the last value logged under 'blob').
    line = f"r1: sent 50,000 rows; 2 values not sent -> {server.url}/runs/proj/r1\n"
    assert done.stdout == line
    assert "r1: step 25000: 'blob' not sent: bytes (b'x') cannot be stored" in done.stderr
    assert "r1: summary/'blob' not sent: bytes (b'x') cannot be stored" in done.stderr
    rows = remote_rows(server)
    assert len(rows) == 50_000
    mine = local_rows(path)
    del mine[25_000]["blob"]
    assert same(rows, mine)  # the rest of that row too
    # Nothing is left to send: the next sync is an ordinary one.
    assert sync(path, server.url).stdout.startswith("r1: up to date")


def test_every_kind_of_old_value_is_left_out_and_the_rest_arrives(tmp_path, server):
    bad = {
        3: {"nested": {"a": {1: 2}}},
        5: {"deep": deep(70)},
        7: {"when": msgpack.Timestamp(1)},
        9: {"_step": "nine"},  # a logged '_step': replay keeps the row's own step
        11: {"_step": 2},  # ...going backwards: the same
        13: {"arr": [1, [b"x"]]},
    }
    path = old_run(
        tmp_path / "runs",
        20,
        bad,
        records=[
            (kinds.SUMMARY, {"blob": b"y", "fine": 1.5}, []),
            (kinds.META, {"notes": b"some notes"}),
            (kinds.CONFIG, {"lr": 0.1, "raw": b"z"}),
        ],
    )
    done = sync(path, server.url)
    assert done.returncode == 3, done.stdout + done.stderr
    err = done.stderr
    for text in (
        "r1: step 3: 'nested' not sent: 'nested'/a: the key 1 (int) is not a string",
        "r1: step 5: 'deep' not sent: ",
        "nested deeper than 64 containers",
        "r1: step 7: 'when' not sent: a value of type datetime.datetime",
        "r1: step 13: 'arr' not sent: 'arr'[1][0]: bytes",
        "r1: summary/'blob' not sent: bytes (b'y')",
        "r1: config/'raw' not sent: bytes (b'z')",
        "r1: notes not sent: bytes",
    ):
        assert text in err, (text, err)
    rows = remote_rows(server)
    assert [r["_step"] for r in rows] == list(range(20))
    assert "not sent: its _step" not in err
    assert rows[3]["a"] == 3 and "nested" not in rows[3]
    doc = show_json(f"{server.url}/runs/proj/r1")
    assert doc["summary"]["fine"] == 1.5 and "blob" not in doc["summary"]
    assert doc["config"] == {"lr": 0.1} and doc["notes"] is None and doc["state"] == "finished"


def test_the_lines_for_what_was_not_sent_are_capped(tmp_path, server):
    path = old_run(tmp_path / "runs", 100, {i: {"blob": b"x"} for i in range(0, 60, 2)})
    done = sync(path, server.url)
    assert done.returncode == 3
    assert "; 31 values not sent -> " in done.stdout  # 30, and the summary's last one
    lines = done.stderr.splitlines()
    assert sum(line.startswith("r1: step ") for line in lines) == 20
    assert "r1: ... and 11 more not sent" in lines
    assert len(remote_rows(server)) == 100


def test_a_project_name_the_server_refuses_says_so_and_project_is_the_way_out(tmp_path, server):
    path = old_run(tmp_path / "runs", 5, {}, project="a/b")
    done = sync(path, server.url)
    assert done.returncode == 3
    assert "project 'a/b' is not allowed" in done.stdout
    assert "--project NEWNAME" in done.stdout
    assert "Run the same command again" not in done.stderr
    fixed = sync(path, server.url, "--project", "a-b")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout == f"r1: sent 5 rows -> {server.url}/runs/a-b/r1\n"
    assert same(remote_rows(server, project="a-b"), local_rows(path))
    later = sync(tmp_path / "runs", server.url)  # remembered: the folder syncs as before
    assert later.returncode == 0 and later.stdout.startswith("r1: up to date")
