"""The embedded storage backend: one SQLite file, WAL journal, every write one transaction.

``synchronous=FULL`` makes a commit durable before the server acknowledges it, so what a
client was told is stored survives a crash or power loss of the server. One connection,
guarded by a lock, serves every thread: SQLite allows one writer at a time anyway.

The database and its ``-wal`` and ``-shm`` files are 0600 (SQLite gives the journal files the
database file's mode), and a transaction that fails on a full disk is rolled back whole, so
the server answers 507 with nothing of the request stored (``disk.py``).
"""

from __future__ import annotations

import sqlite3
import threading
import time

import msgpack

from localrun.errors import Error

from .disk import FILE_MODE, private_file, tighten
from .storage import RowBatch, RunInfo, Storage, UnknownRunError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
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
CREATE TABLE IF NOT EXISTS chunks (
    id          INTEGER PRIMARY KEY,
    run         INTEGER NOT NULL REFERENCES runs (id),
    first_step  INTEGER NOT NULL,
    last_step   INTEGER NOT NULL,
    row_count   INTEGER NOT NULL,
    data        BLOB NOT NULL,
    UNIQUE (run, first_step)
);
CREATE INDEX IF NOT EXISTS chunks_by_last_step ON chunks (run, last_step);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_RUN_COLUMNS = "project, run_id, created_at, updated_at, row_count, last_step, doc"


class SQLiteStorage(Storage):
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        private_file(path)  # before SQLite makes it with the umask's mode
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Chunks are batches of rows as received, a megabyte or two each: in 64 KiB pages
        # instead of 4 KiB, storing one costs half the time. Takes effect when the file is
        # made (before WAL mode); an existing database keeps its page size.
        self._db.execute("PRAGMA page_size=65536")
        self._db.execute("PRAGMA journal_mode=WAL")
        for journal in (path + "-wal", path + "-shm"):  # left by an older server: tightened
            tighten(journal, FILE_MODE)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA.strip().split(";"):
            if statement.strip():
                self._db.execute(statement)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        self._db.execute("COMMIT")
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            self._db.close()
            raise Error(
                f"{path} was written by a newer localrun server (schema {row[0]}; this one knows {SCHEMA_VERSION}). "
                "Upgrade localrun"
            )

    # --- runs ----------------------------------------------------------------------------------

    def _get(self, project: str, run_id: str) -> tuple[int, RunInfo] | None:
        row = self._db.execute(
            f"SELECT id, {_RUN_COLUMNS} FROM runs WHERE project = ? AND run_id = ?",
            (project, run_id),
        ).fetchone()
        return None if row is None else (row[0], RunInfo(*row[1:]))

    def upsert_run(
        self, project: str, run_id: str, created_at: float | None
    ) -> tuple[RunInfo, bool]:
        with self._lock:
            found = self._get(project, run_id)
            if found is not None:
                return found[1], False
            self._db.execute(
                "INSERT INTO runs (project, run_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (project, run_id, created_at, time.time()),
            )
            return self._get(project, run_id)[1], True

    def get_run(self, project: str, run_id: str) -> RunInfo | None:
        with self._lock:
            found = self._get(project, run_id)
            return None if found is None else found[1]

    def list_runs(self) -> list[RunInfo]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY project, run_id"
            ).fetchall()
        return [RunInfo(*r) for r in rows]

    # --- rows ----------------------------------------------------------------------------------

    def append_rows(self, project: str, run_id: str, batch: RowBatch) -> tuple[int, RunInfo]:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise UnknownRunError((project, run_id))
            key, info = found
            if info.last_step is not None:
                batch = batch.after(info.last_step)  # what is at or below it is already stored
            if not batch.steps:
                return 0, info
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO chunks (run, first_step, last_step, row_count, data) VALUES (?, ?, ?, ?, ?)",
                    (key, batch.steps[0], batch.steps[-1], len(batch.steps), batch.body),
                )
                db.execute(
                    "UPDATE runs SET row_count = row_count + ?, last_step = ?, updated_at = ? WHERE id = ?",
                    (len(batch.steps), batch.steps[-1], time.time(), key),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite has rolled back itself after a failed write
                    db.execute("ROLLBACK")
                raise
            return len(batch.steps), self._get(project, run_id)[1]

    def read_rows(self, project: str, run_id: str, after: int, limit: int) -> list[dict]:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise UnknownRunError((project, run_id))
            cur = self._db.execute(
                "SELECT data FROM chunks WHERE run = ? AND last_step > ? ORDER BY first_step",
                (found[0], after),
            )
            out: list[dict] = []
            for (data,) in cur:
                rows = msgpack.unpackb(data, raw=False)
                if rows and rows[0]["_step"] <= after:
                    rows = [r for r in rows if r["_step"] > after]
                out.extend(rows[: limit - len(out)])
                if len(out) >= limit:
                    break
            cur.close()
            return out

    def set_doc(self, project: str, run_id: str, doc: bytes) -> RunInfo:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise UnknownRunError((project, run_id))
            self._db.execute(
                "UPDATE runs SET doc = ?, updated_at = ? WHERE id = ?", (doc, time.time(), found[0])
            )
            return self._get(project, run_id)[1]

    def close(self) -> None:
        with self._lock:
            self._db.close()
