"""What only the PostgreSQL backend has: versioned migrations, the row lock that keeps appends
from several processes exactly-once, the index a page is read through, and a hidden password.
The storage contract itself runs on it in test_storage.py."""

from __future__ import annotations

import multiprocessing

import msgpack
import pytest

from localrun.errors import Error
from localrun.server.storage import RowBatch

from .. import pg
from ..pg import pg_url  # noqa: F401  (a fixture)


def rows(steps) -> RowBatch:
    data = [{"_step": s, "v": s} for s in steps]
    return RowBatch(list(steps), data, msgpack.packb(data))


def _sql(url: str, *statements, params=None):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        out = None
        for statement in statements:
            out = (
                conn.execute(statement, params).fetchall()
                if "SELECT" in statement[:8]
                else (conn.execute(statement, params))
            )
        return out


def test_a_schema_1_database_is_upgraded_in_place(pg_url):  # noqa: F811
    from localrun.server import postgres

    _sql(pg_url, *postgres.MIGRATIONS[0])
    _sql(
        pg_url,
        "CREATE TABLE localrun_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "INSERT INTO localrun_meta VALUES ('schema_version', '1')",
        "INSERT INTO runs (project, run_id, created_at, row_count, last_step) VALUES ('p', 'r', 1.0, 2, 1)",
    )
    _sql(
        pg_url,
        "INSERT INTO chunks VALUES (1, 0, 1, 2, %s)",
        params=(msgpack.packb([{"_step": 0, "v": 0}, {"_step": 1, "v": 1}]),),
    )
    s = postgres.PostgresStorage(pg_url)
    info = s.get_run("p", "r")
    assert (info.rows, info.last_step, info.incarnation) == (2, 1, None)
    assert s.upsert_run("p", "r", None, "A")[0].incarnation == "A"
    assert s.append_rows("p", "r", rows([1, 2]), "A")[0] == 1
    assert s.read_rows("p", "r", -1, 10) == [{"_step": i, "v": i} for i in range(3)]
    assert s.set_files("p", "r", []) == 0 and s.artifact_collections() == []
    s.close()
    [(version,)] = _sql(pg_url, "SELECT value FROM localrun_meta WHERE key = 'schema_version'")
    assert int(version) == postgres.SCHEMA_VERSION == 2
    again = postgres.PostgresStorage(pg_url)  # opening a current database changes nothing
    assert again.get_run("p", "r").rows == 3
    again.close()


def test_a_database_of_a_newer_schema_is_refused_untouched(pg_url):  # noqa: F811
    from localrun.server.postgres import PostgresStorage

    _sql(
        pg_url,
        "CREATE TABLE localrun_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "INSERT INTO localrun_meta VALUES ('schema_version', '9')",
    )
    with pytest.raises(Error, match=r"newer localrun server \(schema 9; this one knows 2\)"):
        PostgresStorage(pg_url)
    tables = _sql(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    assert tables == [("localrun_meta",)]


def test_a_bad_password_is_refused_and_never_shown(pg_url):  # noqa: F811
    from localrun.server.postgres import PostgresStorage, redact

    url = pg.base_url()
    user_host = url.split("://", 1)[1].split("@", 1)[1]
    user = url.split("://", 1)[1].split("@", 1)[0].split(":")[0]
    wrong = f"postgresql://{user}:s3cret-wrong@{user_host}"
    with pytest.raises(Error) as caught:
        PostgresStorage(wrong, connect_timeout=5)
    assert "s3cret-wrong" not in str(caught.value) and f"{user}:***@" in str(caught.value)
    assert redact("postgresql://u:pw@h:5/db?password=x&sslmode=require") == (
        "postgresql://u:***@h:5/db?password=***&sslmode=require"
    )
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_a_page_is_read_along_the_index_a_few_chunks_at_a_time(pg_url):  # noqa: F811
    from localrun.server.postgres import PostgresStorage

    s = PostgresStorage(pg_url)
    s.upsert_run("p", "r", None)
    for start in range(0, 3000, 3):
        s.append_rows("p", "r", rows(range(start, start + 3)))
    got, after = [], -1
    while page := s.read_rows("p", "r", after, 70):
        got.extend(r["_step"] for r in page)
        after = page[-1]["_step"]
    assert got == list(range(3000))
    _sql(pg_url, "ANALYZE chunks")
    with s._pool.connection() as conn:
        plan = conn.execute(
            "EXPLAIN SELECT first_step, last_step, row_count, data FROM chunks"
            " WHERE run = 1 AND last_step > 1500 ORDER BY last_step LIMIT 16"
        ).fetchall()
    plan_text = " ".join(r[0] for r in plan)
    assert "chunks_by_last_step" in plan_text and "Sort" not in plan_text, plan_text
    s.close()


def _append_overlapping(url: str, worker: int, steps: int, batch: int) -> None:
    """One process's sync of the run: overlapping batches, from a start that differs per worker."""
    from localrun.server.postgres import PostgresStorage

    s = PostgresStorage(url, max_connections=2)
    s.upsert_run("p", "r", None, "inc")
    start = 0
    while start < steps:
        end = min(steps, start + batch + worker * 7)
        s.append_rows("p", "r", rows(range(max(0, start - worker * 5), end)), "inc")
        start = end
    s.close()


def test_four_processes_appending_one_run_store_each_row_once(pg_url):  # noqa: F811
    from localrun.server.postgres import PostgresStorage

    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_append_overlapping, args=(pg_url, w, 20_000, 250)) for w in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    s = PostgresStorage(pg_url)
    info = s.get_run("p", "r")
    assert (info.rows, info.last_step) == (20_000, 19_999)
    steps = [r["_step"] for r in s.read_rows("p", "r", -1, 100_000)]
    assert steps == list(range(20_000))
    [(chunk_rows,)] = _sql(pg_url, "SELECT sum(row_count) FROM chunks")
    assert chunk_rows == 20_000
    s.close()


def test_connections_the_database_dropped_are_replaced_not_failed(pg_url):  # noqa: F811
    from localrun.server.postgres import PostgresStorage

    name = pg_url.rsplit("%3D", 1)[1]  # this test's schema, as the pool's application name
    s = PostgresStorage(f"{pg_url}&application_name={name}")
    s.upsert_run("p", "r", None)
    [(killed,)] = _sql(
        pg_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
        params=(name,),
    )
    assert killed >= 1  # as a database restart or a failover would
    assert s.append_rows("p", "r", rows([0, 1]))[0] == 2
    s.ping()
    s.close()
