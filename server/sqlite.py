"""The embedded storage backend: one SQLite file, WAL journal, every write one transaction.

``synchronous=FULL`` makes a commit durable before the server acknowledges it, so what a
client was told is stored survives a crash or power loss of the server. One connection,
guarded by a lock, serves every thread: SQLite allows one writer at a time anyway.
"""

from __future__ import annotations

import sqlite3
import threading
import time

from localrun.errors import Error

from .storage import RunInfo, Storage

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
CREATE TABLE IF NOT EXISTS rows (
    run   INTEGER NOT NULL,
    step  INTEGER NOT NULL,
    data  BLOB NOT NULL,
    PRIMARY KEY (run, step)
) WITHOUT ROWID;
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
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA.strip().split(";"):
            if statement.strip():
                self._db.execute(statement)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
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
            f"SELECT id, {_RUN_COLUMNS} FROM runs WHERE project = ? AND run_id = ?", (project, run_id)
        ).fetchone()
        return None if row is None else (row[0], RunInfo(*row[1:]))

    def upsert_run(self, project: str, run_id: str, created_at: float | None) -> tuple[RunInfo, bool]:
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
            rows = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY project, run_id").fetchall()
        return [RunInfo(*r) for r in rows]

    # --- rows ----------------------------------------------------------------------------------

    def append_rows(self, project: str, run_id: str, rows: list[tuple[int, bytes]]) -> tuple[int, RunInfo]:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise KeyError((project, run_id))
            key = found[0]
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                before = db.total_changes
                db.executemany("INSERT OR IGNORE INTO rows (run, step, data) VALUES (?, ?, ?)", [(key, s, d) for s, d in rows])
                inserted = db.total_changes - before
                if inserted:
                    db.execute(
                        "UPDATE runs SET row_count = row_count + ?, "
                        "last_step = (SELECT MAX(step) FROM rows WHERE run = ?), updated_at = ? WHERE id = ?",
                        (inserted, key, time.time(), key),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return inserted, self._get(project, run_id)[1]

    def read_rows(self, project: str, run_id: str, after: int, limit: int) -> list[bytes]:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise KeyError((project, run_id))
            cur = self._db.execute(
                "SELECT data FROM rows WHERE run = ? AND step > ? ORDER BY step LIMIT ?", (found[0], after, limit)
            )
            return [r[0] for r in cur]

    def set_doc(self, project: str, run_id: str, doc: bytes) -> RunInfo:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise KeyError((project, run_id))
            self._db.execute("UPDATE runs SET doc = ?, updated_at = ? WHERE id = ?", (doc, time.time(), found[0]))
            return self._get(project, run_id)[1]

    def close(self) -> None:
        with self._lock:
            self._db.close()
