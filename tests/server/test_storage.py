"""The storage contract, run against every backend (only SQLite so far)."""

from __future__ import annotations

import msgpack
import pytest
from localrun.server.sqlite import SQLiteStorage
from localrun.server.storage import RowBatch, UnknownRunError

BACKENDS = {"sqlite": lambda tmp_path: SQLiteStorage(str(tmp_path / "runs.sqlite"))}


@pytest.fixture(params=sorted(BACKENDS))
def open_backend(request, tmp_path):
    opened = []

    def open_():
        s = BACKENDS[request.param](tmp_path)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        try:
            s.close()
        except Exception:
            pass


def rows(steps) -> RowBatch:
    data = [{"_step": s, "v": s} for s in steps]
    return RowBatch(list(steps), data, msgpack.packb(data))


def test_upsert_creates_once(open_backend):
    s = open_backend()
    info, created = s.upsert_run("p", "r", 5.0)
    assert created and info.rows == 0 and info.last_step is None and info.created_at == 5.0
    info, created = s.upsert_run("p", "r", 6.0)
    assert not created and info.created_at == 5.0


def test_append_ignores_steps_already_stored(open_backend):
    s = open_backend()
    s.upsert_run("p", "r", None)
    assert s.append_rows("p", "r", rows([0, 1, 2]))[0] == 3
    inserted, info = s.append_rows("p", "r", rows([1, 2, 3]))
    assert inserted == 1 and info.rows == 4 and info.last_step == 3
    assert s.read_rows("p", "r", -1, 10) == [{"_step": i, "v": i} for i in range(4)]
    assert s.read_rows("p", "r", 1, 1) == [{"_step": 2, "v": 2}]
    assert s.read_rows("p", "r", 0, 10) == [{"_step": i, "v": i} for i in range(1, 4)]


def test_rows_at_or_below_the_last_stored_step_are_ignored(open_backend):
    s = open_backend()
    s.upsert_run("p", "r", None)
    s.append_rows("p", "r", rows([5, 6]))
    inserted, info = s.append_rows("p", "r", rows([1, 2]))
    assert inserted == 0 and info.rows == 2
    assert [r["_step"] for r in s.read_rows("p", "r", -1, 10)] == [5, 6]


def test_unknown_runs_raise_key_error(open_backend):
    s = open_backend()
    with pytest.raises(UnknownRunError):
        s.append_rows("p", "nope", rows([0]))
    with pytest.raises(UnknownRunError):
        s.set_doc("p", "nope", b"\x80")
    assert s.get_run("p", "nope") is None


def test_everything_survives_reopening(open_backend):
    s = open_backend()
    s.upsert_run("p", "r", None)
    s.append_rows("p", "r", rows(range(100)))
    s.set_doc("p", "r", msgpack.packb({"state": "finished"}))
    s.close()
    t = open_backend()
    info = t.get_run("p", "r")
    assert (info.rows, info.last_step, msgpack.unpackb(info.doc)) == (
        100,
        99,
        {"state": "finished"},
    )
    assert [i.run_id for i in t.list_runs()] == ["r"]


def test_a_new_sqlite_database_has_64k_pages_and_an_old_one_keeps_its_own(tmp_path):
    import sqlite3

    old = tmp_path / "old.sqlite"
    db = sqlite3.connect(old)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    for path, size in ((tmp_path / "new.sqlite", 65536), (old, 4096)):
        s = SQLiteStorage(str(path))
        s.upsert_run("p", "r", None)
        s.append_rows("p", "r", rows([0, 1]))
        assert s.read_rows("p", "r", -1, 10) == [{"_step": 0, "v": 0}, {"_step": 1, "v": 1}]
        s.close()
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA page_size").fetchone()[0] == size
        db.close()
