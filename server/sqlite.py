"""The embedded storage backend: one SQLite file, WAL journal, every write one transaction.

``synchronous=FULL`` makes a commit durable before the server acknowledges it, so what a
client was told is stored survives a crash or power loss of the server. One connection,
guarded by a lock, serves every thread: SQLite allows one writer at a time anyway.

Schema versions (``meta.schema_version``): 1 had no incarnations; 2 adds ``runs.incarnation``
and the ``lost_media`` table. The ``run_files`` table (a run's files) came later within
version 2: it is made when missing, and a server that does not know it leaves it alone. A version-1 database is migrated in place when it is opened
(its runs keep no incarnation until a client names one); a database of a later version than
this code knows is refused, so an older server never writes to a newer schema.

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
from .storage import (
    LostFile,
    RowBatch,
    RunFile,
    RunInfo,
    Storage,
    UnknownRunError,
    require_incarnation,
)

SCHEMA_VERSION = 2

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
    incarnation TEXT,
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
CREATE TABLE IF NOT EXISTS lost_media (
    run         INTEGER NOT NULL REFERENCES runs (id),
    sha256      TEXT NOT NULL,
    path        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    PRIMARY KEY (run, sha256, path)
);
CREATE TABLE IF NOT EXISTS run_files (
    run         INTEGER NOT NULL REFERENCES runs (id),
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    PRIMARY KEY (run, path)
);
"""
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

_RUN_COLUMNS = "project, run_id, created_at, updated_at, row_count, last_step, doc, incarnation"


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
        try:
            self._migrate(path)
        except BaseException:
            self._db.execute("ROLLBACK")
            self._db.close()
            raise
        self._db.execute("COMMIT")

    def _migrate(self, path: str) -> None:
        """Create the schema, or bring an older one up to SCHEMA_VERSION (in a transaction)."""
        db = self._db
        db.execute(_META)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row is not None else None
        if version is not None and version > SCHEMA_VERSION:
            raise Error(
                f"{path} was written by a newer localrun server (schema {version}; this one knows {SCHEMA_VERSION}). "
                "Upgrade localrun"
            )
        for statement in _SCHEMA.strip().split(";"):
            if statement.strip():
                db.execute(statement)
        columns = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
        if "incarnation" not in columns:  # a version-1 database
            db.execute("ALTER TABLE runs ADD COLUMN incarnation TEXT")
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )

    # --- runs ----------------------------------------------------------------------------------

    def _get(self, project: str, run_id: str) -> tuple[int, RunInfo] | None:
        row = self._db.execute(
            f"SELECT id, {_RUN_COLUMNS} FROM runs WHERE project = ? AND run_id = ?",
            (project, run_id),
        ).fetchone()
        return None if row is None else (row[0], RunInfo(*row[1:]))

    def upsert_run(
        self, project: str, run_id: str, created_at: float | None, incarnation: str | None = None
    ) -> tuple[RunInfo, bool]:
        with self._lock:
            found = self._get(project, run_id)
            if found is not None:
                key, info = found
                if incarnation is not None and info.incarnation is None:
                    # Made by a client that sent none: the first one named is the run's.
                    self._db.execute(
                        "UPDATE runs SET incarnation = ? WHERE id = ?", (incarnation, key)
                    )
                    return self._get(project, run_id)[1], False
                require_incarnation(info.incarnation, incarnation)
                return info, False
            self._db.execute(
                "INSERT INTO runs (project, run_id, created_at, updated_at, incarnation) VALUES (?, ?, ?, ?, ?)",
                (project, run_id, created_at, time.time(), incarnation),
            )
            return self._get(project, run_id)[1], True

    def replace_run(
        self, project: str, run_id: str, created_at: float | None, incarnation: str
    ) -> tuple[RunInfo, bool]:
        with self._lock:
            found = self._get(project, run_id)
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if found is None:
                    db.execute(
                        "INSERT INTO runs (project, run_id, created_at, updated_at, incarnation) VALUES (?, ?, ?, ?, ?)",
                        (project, run_id, created_at, time.time(), incarnation),
                    )
                else:
                    key = found[0]
                    db.execute("DELETE FROM chunks WHERE run = ?", (key,))
                    db.execute("DELETE FROM lost_media WHERE run = ?", (key,))
                    db.execute("DELETE FROM run_files WHERE run = ?", (key,))
                    db.execute(
                        "UPDATE runs SET created_at = ?, updated_at = ?, row_count = 0, last_step = NULL, "
                        "doc = NULL, incarnation = ? WHERE id = ?",
                        (created_at, time.time(), incarnation, key),
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite has rolled back itself after a failed write
                    db.execute("ROLLBACK")
                raise
            return self._get(project, run_id)[1], found is not None

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

    def append_rows(
        self, project: str, run_id: str, batch: RowBatch, incarnation: str | None = None
    ) -> tuple[int, RunInfo]:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise UnknownRunError((project, run_id))
            key, info = found
            require_incarnation(info.incarnation, incarnation)
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

    def set_doc(
        self, project: str, run_id: str, doc: bytes, incarnation: str | None = None
    ) -> RunInfo:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise UnknownRunError((project, run_id))
            require_incarnation(found[1].incarnation, incarnation)
            self._db.execute(
                "UPDATE runs SET doc = ?, updated_at = ? WHERE id = ?", (doc, time.time(), found[0])
            )
            return self._get(project, run_id)[1]

    # --- lost media ----------------------------------------------------------------------------

    def add_lost_media(
        self,
        project: str,
        run_id: str,
        files: list[LostFile],
        incarnation: str | None = None,
    ) -> int:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise UnknownRunError((project, run_id))
            require_incarnation(found[1].incarnation, incarnation)
            key = found[0]
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO lost_media (run, sha256, path, reason) VALUES (?, ?, ?, ?)",
                    [(key, f.sha256, f.path, f.reason) for f in files],
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite has rolled back itself after a failed write
                    db.execute("ROLLBACK")
                raise
            (count,) = db.execute(
                "SELECT count(*) FROM lost_media WHERE run = ?", (key,)
            ).fetchone()
            return count

    def lost_media(self, project: str, run_id: str) -> list[LostFile]:
        with self._lock:
            rows = self._db.execute(
                "SELECT l.path, l.sha256, l.reason FROM lost_media l JOIN runs r ON l.run = r.id "
                "WHERE r.project = ? AND r.run_id = ? ORDER BY l.path, l.sha256",
                (project, run_id),
            ).fetchall()
        return [LostFile(*r) for r in rows]

    # --- run files -----------------------------------------------------------------------------

    def set_files(
        self, project: str, run_id: str, files: list[RunFile], incarnation: str | None = None
    ) -> int:
        with self._lock:
            found = self._get(project, run_id)
            if found is None:
                raise UnknownRunError((project, run_id))
            require_incarnation(found[1].incarnation, incarnation)
            key = found[0]
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM run_files WHERE run = ?", (key,))
                db.executemany(
                    "INSERT OR REPLACE INTO run_files (run, path, sha256, size) VALUES (?, ?, ?, ?)",
                    [(key, f.path, f.sha256, f.size) for f in files],
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            (count,) = db.execute("SELECT count(*) FROM run_files WHERE run = ?", (key,)).fetchone()
            return count

    def run_files(self, project: str, run_id: str) -> list[RunFile]:
        with self._lock:
            rows = self._db.execute(
                "SELECT f.path, f.sha256, f.size FROM run_files f JOIN runs r ON f.run = r.id "
                "WHERE r.project = ? AND r.run_id = ? ORDER BY f.path",
                (project, run_id),
            ).fetchall()
        return [RunFile(*r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
