"""The storage contract, run against every backend: SQLite, and PostgreSQL where one is given
(tests/pg.py: ``$LOCALRUN_TEST_PG``; those tests skip without it)."""

from __future__ import annotations

import msgpack
import pytest

from localrun.server.sqlite import SQLiteStorage
from localrun.server.storage import RowBatch, UnknownRunError

from .. import pg


def _postgres(tmp_path, schemas: dict):
    from localrun.server.postgres import PostgresStorage

    if "url" not in schemas:  # one schema per test: reopening finds what the test stored
        schemas["url"], schemas["schema"] = pg.fresh_url()
    return PostgresStorage(schemas["url"])


BACKENDS = {
    "sqlite": lambda tmp_path, schemas: SQLiteStorage(str(tmp_path / "runs.sqlite")),
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(BACKENDS))
def open_backend(request, tmp_path):
    opened = []
    schemas: dict = {}

    def open_():
        s = BACKENDS[request.param](tmp_path, schemas)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        try:
            s.close()
        except Exception:
            pass
    if "schema" in schemas:
        pg.drop(schemas["schema"])


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


def test_incarnations_are_kept_adopted_and_checked(open_backend):
    from localrun.server.storage import IncarnationConflict

    s = open_backend()
    info, created = s.upsert_run("p", "r", 1.0, "A")
    assert created and info.incarnation == "A"
    assert s.upsert_run("p", "r", 1.0, "A")[1] is False
    assert s.upsert_run("p", "r", 1.0)[0].incarnation == "A"  # none named: not checked
    for write in (
        lambda: s.upsert_run("p", "r", 1.0, "B"),
        lambda: s.append_rows("p", "r", rows([0]), "B"),
        lambda: s.set_doc("p", "r", b"\x80", "B"),
        lambda: s.add_lost_media("p", "r", [], "B"),
    ):
        with pytest.raises(IncarnationConflict) as caught:
            write()
        assert caught.value.stored == "A"
    info = s.get_run("p", "r")
    assert (info.rows, info.doc) == (0, None)
    s.upsert_run("p", "old", None)
    assert s.upsert_run("p", "old", None, "C")[0].incarnation == "C"  # adopted


def test_replace_run_starts_the_run_afresh_in_place(open_backend):
    from localrun.server.storage import LostFile

    s = open_backend()
    s.upsert_run("p", "r", 1.0, "A")
    s.append_rows("p", "r", rows([0, 1, 2]))
    s.set_doc("p", "r", msgpack.packb({"state": "finished"}))
    s.add_lost_media("p", "r", [LostFile("media/x", "a" * 64, "gone")])
    info, replaced = s.replace_run("p", "r", 2.0, "B")
    assert replaced
    assert (info.rows, info.last_step, info.doc, info.created_at, info.incarnation) == (
        0,
        None,
        None,
        2.0,
        "B",
    )
    assert s.read_rows("p", "r", -1, 10) == [] and s.lost_media("p", "r") == []
    assert s.append_rows("p", "r", rows([0]), "B")[0] == 1
    assert s.replace_run("p", "new", None, "C")[1] is False


def test_lost_media_is_kept_per_run_sorted_and_once(open_backend):
    from localrun.server.storage import LostFile

    s = open_backend()
    s.upsert_run("p", "r", None)
    s.upsert_run("p", "other", None)
    b = LostFile("media/b", "b" * 64, "damaged")
    a = LostFile("media/a", "a" * 64, "missing")
    assert s.add_lost_media("p", "r", [b, a, b]) == 2
    assert s.add_lost_media("p", "r", [LostFile("media/a", "a" * 64, "empty")]) == 2
    assert s.lost_media("p", "r") == [LostFile("media/a", "a" * 64, "empty"), b]
    assert s.lost_media("p", "other") == [] and s.lost_media("p", "nope") == []
    with pytest.raises(UnknownRunError):
        s.add_lost_media("p", "nope", [a])


# The schema `localrun serve` wrote before run incarnations (schema 1), verbatim.
SCHEMA_1 = """
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    project     TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    created_at  REAL,
    updated_at  REAL,
    row_count   INTEGER NOT NULL DEFAULT 0,
    last_step   INTEGER,
    doc         BLOB,
    UNIQUE (project, run_id)
);
CREATE TABLE chunks (
    id          INTEGER PRIMARY KEY,
    run         INTEGER NOT NULL REFERENCES runs (id),
    first_step  INTEGER NOT NULL,
    last_step   INTEGER NOT NULL,
    row_count   INTEGER NOT NULL,
    data        BLOB NOT NULL,
    UNIQUE (run, first_step)
);
CREATE INDEX chunks_by_last_step ON chunks (run, last_step);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO runs VALUES (1, 'p', 'r', 1.0, 2.0, 2, 1, NULL);
"""


def test_a_schema_1_database_is_migrated_in_place(tmp_path):
    import sqlite3

    from localrun.server.sqlite import SCHEMA_VERSION

    path = tmp_path / "runs.sqlite"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    db.execute(
        "INSERT INTO chunks VALUES (1, 1, 0, 1, 2, ?)",
        (msgpack.packb([{"_step": 0, "v": 0}, {"_step": 1, "v": 1}]),),
    )
    db.commit()
    db.close()
    s = SQLiteStorage(str(path))
    info = s.get_run("p", "r")
    assert (info.rows, info.last_step, info.incarnation) == (2, 1, None)
    assert s.read_rows("p", "r", -1, 10) == [{"_step": 0, "v": 0}, {"_step": 1, "v": 1}]
    assert s.upsert_run("p", "r", None, "A")[0].incarnation == "A"
    assert s.append_rows("p", "r", rows([2]), "A")[0] == 1
    s.close()
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    db.close()
    assert int(version) == SCHEMA_VERSION == 2
    again = SQLiteStorage(str(path))  # opening a migrated database changes nothing
    assert again.get_run("p", "r").incarnation == "A" and again.get_run("p", "r").rows == 3
    again.close()


def test_a_database_of_a_newer_schema_is_refused_untouched(tmp_path):
    import sqlite3

    from localrun.errors import Error

    path = tmp_path / "runs.sqlite"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1.replace("'schema_version', '1'", "'schema_version', '9'"))
    db.close()
    with pytest.raises(Error, match="newer localrun server"):
        SQLiteStorage(str(path))
    db = sqlite3.connect(path)
    assert "incarnation" not in {r[1] for r in db.execute("PRAGMA table_info(runs)")}
    db.close()


def test_paging_through_a_run_reads_chunks_in_index_order_without_a_sort(tmp_path):
    # Every page used to sort all of the run's remaining chunks (quadratic over the pages of a
    # long run). The query each page runs must walk the (run, last_step) index in order.
    s = SQLiteStorage(str(tmp_path / "runs.sqlite"))
    s.upsert_run("p", "r", None)
    for start in range(0, 300, 3):
        s.append_rows("p", "r", rows(range(start, start + 3)))
    statements: list[str] = []
    s._db.set_trace_callback(statements.append)
    got, after = [], -1
    while page := s.read_rows("p", "r", after, 7):
        got.extend(r["_step"] for r in page)
        after = page[-1]["_step"]
    s._db.set_trace_callback(None)
    assert got == list(range(300))
    # The statements arrive with their parameters filled in: one per page.
    pages = [
        q
        for q in statements
        if q.lstrip().upper().startswith("SELECT FIRST_STEP, ROW_COUNT, DATA FROM CHUNKS")
    ]
    assert len(pages) > 40
    plan = " ".join(str(row[-1]) for row in s._db.execute("EXPLAIN QUERY PLAN " + pages[0]))
    assert "chunks_by_last_step" in plan and "TEMP B-TREE" not in plan, plan
    s.close()


def test_pages_are_the_same_bytes_whichever_chunks_they_begin_and_end_in(open_backend):
    # Whole chunks are passed through as stored; the chunks a page begins or ends in are cut.
    s = open_backend()
    s.upsert_run("p", "r", None)
    for start in range(0, 40, 4):
        s.append_rows("p", "r", rows(range(start, start + 4)))  # a 1-byte array header
    s.append_rows("p", "r", rows(range(40, 60)))  # a 3-byte one
    s.append_rows("p", "r", rows(range(60, 70_060)))  # a 5-byte one
    for after in (-1, 0, 2, 3, 17, 38, 39, 45, 59, 70_058, 70_059, 80_000):
        for limit in (1, 3, 4, 5, 8, 9, 25, 100, 70_000):
            want = [{"_step": i, "v": i} for i in range(after + 1, 70_060)][:limit]
            packed = s.read_rows_packed("p", "r", after, limit)
            assert msgpack.unpackb(packed) == want == s.read_rows("p", "r", after, limit)


def _paging_work(tmp_path, name: str, chunks: int) -> int:
    """SQLite's virtual-machine steps (counted by its progress handler, deterministic) to read
    a run of ``chunks`` 8-row chunks a page of 16 rows at a time."""
    s = SQLiteStorage(str(tmp_path / f"{name}.sqlite"))
    s.upsert_run("p", "r", None)
    for start in range(0, chunks * 8, 8):
        s.append_rows("p", "r", rows(range(start, start + 8)))
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    s._db.set_progress_handler(count, 100)
    after, got = -1, 0
    while page := s.read_rows_packed("p", "r", after, 16):
        decoded = msgpack.unpackb(page)
        if not decoded:
            break
        got += len(decoded)
        after = decoded[-1]["_step"]
    s._db.set_progress_handler(None, 0)
    s.close()
    assert got == chunks * 8
    return steps[0]


def test_reading_a_run_of_twice_the_chunks_costs_twice_not_four_times(tmp_path):
    small, large = _paging_work(tmp_path, "small", 150), _paging_work(tmp_path, "large", 300)
    assert 1.6 < large / small < 2.5, (small, large)
