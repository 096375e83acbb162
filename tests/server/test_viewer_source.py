"""ServerSource: the server's SQLite storage and blobs read as a viewer Source.

Over a real SQLiteStorage and BlobDir: a run's table is read once and kept until a sync adds
rows or a document, tables are bounded in number and size, a run without its document reads as
syncing, and files are the blobs a value's hash names, never a path from the request.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import msgpack
import pytest

from localrun.server.blobs import BlobDir
from localrun.server.sqlite import SQLiteStorage
from localrun.server.storage import RowBatch
from localrun.server.viewer_source import PAGE_ROWS, ServerSource
from localrun.viewer.source import NotFoundError, RunRef

PNG = b"\x89PNG\r\n\x1a\n not really, but bytes"
SHA = hashlib.sha256(PNG).hexdigest()


@pytest.fixture
def parts(tmp_path):
    storage = SQLiteStorage(str(tmp_path / "runs.sqlite"))
    blobs = BlobDir(str(tmp_path / "blobs"))
    yield storage, blobs
    storage.close()


def append(storage, run_id: str, steps, **values) -> None:
    rows = [{"_step": s, "loss": 1.0 / (s + 1), **values} for s in steps]
    storage.append_rows(
        "proj", run_id, RowBatch([r["_step"] for r in rows], rows, msgpack.packb(rows))
    )


def put_blob(blobs: BlobDir, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.dirname(blobs.path(sha)), exist_ok=True)
    with open(blobs.path(sha), "wb") as f:
        f.write(data)
    return sha


def test_a_runs_table_is_read_once_until_a_sync_adds_rows_or_a_document(parts):
    storage, blobs = parts
    storage.upsert_run("proj", "r1", 1.0)
    for start in range(0, 2 * PAGE_ROWS + 500, 5000):  # batches as a sync sends them
        append(storage, "r1", range(start, start + 5000))
    source = ServerSource(storage, blobs)
    ref = RunRef("proj", "r1")
    table = source.table(ref)
    assert table.rows == 25_000 and table.last_step == 24_999  # read in pages, all of it
    source.keys(ref)
    source.series(ref, ["loss"])
    source.media(ref, "loss")
    assert source.table(ref) is table  # not read again per request
    append(storage, "r1", [25_000])
    grown = source.table(ref)
    assert grown is not table and grown.rows == 25_001
    storage.set_doc("proj", "r1", msgpack.packb({"metrics": {"loss": {"step_metric": "loss"}}}))
    with_doc = source.table(ref)
    assert with_doc is not grown and with_doc.step_metrics() == ["loss"]
    assert source.keys(ref)["x"] == ["_step", "_runtime", "_timestamp", "loss"]


def test_requests_at_once_build_a_run_once(parts):
    storage, blobs = parts
    storage.upsert_run("proj", "r1", 1.0)
    append(storage, "r1", range(20_000))
    source = ServerSource(storage, blobs)
    with ThreadPoolExecutor(8) as pool:
        tables = list(pool.map(lambda _: source.table(RunRef("proj", "r1")), range(8)))
    assert all(t is tables[0] for t in tables)


def test_tables_are_kept_for_a_few_runs_and_a_bounded_size(parts):
    storage, blobs = parts
    for run_id in ("a", "b", "c"):
        storage.upsert_run("proj", run_id, 1.0)
        append(storage, run_id, range(100))
    few = ServerSource(storage, blobs, keep_tables=2)
    a, b, c = (few.table(RunRef("proj", r)) for r in "abc")
    assert few.table(RunRef("proj", "c")) is c and few.table(RunRef("proj", "b")) is b
    assert few.table(RunRef("proj", "a")) is not a  # the oldest went
    small = ServerSource(storage, blobs, keep_bytes=1)  # the last one is always kept
    a = small.table(RunRef("proj", "a"))
    assert small.table(RunRef("proj", "a")) is a
    small.table(RunRef("proj", "b"))
    assert small.table(RunRef("proj", "a")) is not a


def test_a_run_without_its_document_reads_as_syncing(parts):
    storage, blobs = parts
    storage.upsert_run("proj", "r1", 5.0)
    append(storage, "r1", range(3))
    source = ServerSource(storage, blobs)
    doc = source.run(RunRef("proj", "r1"))
    assert doc["state"] == "syncing" and doc["rows"] == 3 and doc["last_step"] == 2
    assert doc["path"] == "/runs/proj/r1" and doc["created_at"] == 5.0
    assert [d["state"] for d in source.list_runs()] == ["syncing"]
    storage.set_doc("proj", "r1", msgpack.packb({"id": "r1", "state": "finished"}))
    assert source.run(RunRef("proj", "r1"))["state"] == "finished"
    assert [r["_step"] for r in source.rows(RunRef("proj", "r1"), after=0)] == [1, 2]
    with pytest.raises(NotFoundError, match="no run 'proj'/'nope'"):
        source.run(RunRef("proj", "nope"))
    with pytest.raises(NotFoundError):
        source.keys(RunRef("proj", "nope"))
    with pytest.raises(NotFoundError):
        source.rows(RunRef("proj", "nope"))


def test_files_are_the_blobs_values_name_and_nothing_else(parts, tmp_path):
    storage, blobs = parts
    put_blob(blobs, PNG)
    other = put_blob(blobs, b"another file")
    storage.upsert_run("proj", "r1", 1.0)
    image = {"_type": "image-file", "path": f"media/{SHA}.png", "sha256": SHA}
    named = {"_type": "image-file", "path": "media/cat.png", "sha256": other}
    append(storage, "r1", [0], img=image, named=[named])
    source = ServerSource(storage, blobs)
    ref = RunRef("proj", "r1")
    assert source.open_file(ref, f"media/{SHA}.png") == blobs.path(SHA)
    assert source.open_file(ref, "media/cat.png") == blobs.path(other)  # by its sha256
    (tmp_path / "secret").write_text("x")
    for path in (
        "media/dog.png",  # no value names it
        f"media/{'0' * 64}.png",  # a hash the server lacks
        "run.json",
        f"{SHA}.png",
        f"media/sub/{SHA}.png",
        "media/../secret",
        "../secret",
        "/etc/passwd",
        "media/.hidden",
    ):
        with pytest.raises(NotFoundError):
            source.open_file(ref, path)
    with pytest.raises(NotFoundError, match="no run"):  # not even a blob the server has
        source.open_file(RunRef("proj", "nope"), f"media/{SHA}.png")
