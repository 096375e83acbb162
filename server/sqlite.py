"""The embedded storage backend: one SQLite file, WAL journal, every write one transaction.

``synchronous=FULL`` makes a commit durable before the server acknowledges it, so what a
client was told is stored survives a crash or power loss of the server. One connection,
guarded by a lock, serves every thread: SQLite allows one writer at a time anyway.

Schema versions (``meta.schema_version``): 1 had no incarnations; 2 adds ``runs.incarnation``
and the ``lost_media`` table. Tables added within version 2, in place, without a new version:
the artifact tables (``artifact_versions``, ``artifact_aliases``) and ``run_files`` (a run's
files); they are made when missing, and a server that does not know them never reads or writes
them. A version-1 database is migrated in place when it is opened
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
    ArtifactConflict,
    LostFile,
    RowBatch,
    RunFile,
    RunInfo,
    Storage,
    UnknownRunError,
    artifact_listing,
    artifact_versions,
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
CREATE TABLE IF NOT EXISTS artifact_versions (
    project     TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    size        INTEGER,
    file_count  INTEGER,
    created_at  REAL,
    run_id      TEXT,
    manifest    BLOB NOT NULL,
    PRIMARY KEY (project, name, version)
);
CREATE TABLE IF NOT EXISTS artifact_aliases (
    project     TEXT NOT NULL,
    name        TEXT NOT NULL,
    alias       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    set_at      REAL NOT NULL,
    PRIMARY KEY (project, name, alias)
);
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
_PACKER = msgpack.Packer()


def _array_header_size(data: bytes) -> int:
    """Bytes of the msgpack array header that starts ``data`` (fixarray, array 16, array 32)."""
    first = data[0]
    if 0x90 <= first <= 0x9F:
        return 1
    if first == 0xDC:
        return 3
    if first == 0xDD:
        return 5
    raise ValueError(f"a stored chunk does not start with a msgpack array (byte {first:#x})")


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

    def _written(self, project: str, run_id: str) -> RunInfo:
        """The run this call has just written (or found), read back under the same lock."""
        found = self._get(project, run_id)
        if found is None:
            raise AssertionError(f"run {project}/{run_id} is not in the database it was written to")
        return found[1]

    def _held(
        self, project: str, run_id: str, incarnation: str | None = None
    ) -> tuple[int, RunInfo]:
        """Under the lock: the run's key and info; UnknownRunError when it is not stored,
        IncarnationConflict when ``incarnation`` is given and is not the run's."""
        found = self._get(project, run_id)
        if found is None:
            raise UnknownRunError((project, run_id))
        require_incarnation(found[1].incarnation, incarnation)
        return found

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
                    return self._written(project, run_id), False
                require_incarnation(info.incarnation, incarnation)
                return info, False
            self._db.execute(
                "INSERT INTO runs (project, run_id, created_at, updated_at, incarnation) VALUES (?, ?, ?, ?, ?)",
                (project, run_id, created_at, time.time(), incarnation),
            )
            return self._written(project, run_id), True

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
            return self._written(project, run_id), found is not None

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
            key, info = self._held(project, run_id, incarnation)
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
            return len(batch.steps), self._written(project, run_id)

    def read_rows(self, project: str, run_id: str, after: int, limit: int) -> list[dict]:
        return msgpack.unpackb(self.read_rows_packed(project, run_id, after, limit), raw=False)

    def read_rows_packed(self, project: str, run_id: str, after: int, limit: int) -> bytes:
        """A page as it goes on the wire. A chunk is the msgpack array a client sent: one that
        lies wholly inside the page is copied as it is (its array header cut off), and only the
        page's first and last chunks, where the page begins or ends inside them, are decoded."""
        with self._lock:
            key, _ = self._held(project, run_id)
            # Chunks of a run never overlap, so their order by last_step is their order by
            # first_step; ordering by the indexed column reads the index in order instead of
            # sorting every remaining chunk for each page (quadratic over a run's pages).
            cur = self._db.execute(
                "SELECT first_step, row_count, data FROM chunks"
                " WHERE run = ? AND last_step > ? ORDER BY last_step",
                (key, after),
            )
            parts: list[bytes] = []
            n = 0
            for first, count, data in cur:
                if first > after and n + count <= limit:
                    parts.append(data[_array_header_size(data) :])
                    n += count
                else:
                    rows = [r for r in msgpack.unpackb(data, raw=False) if r["_step"] > after]
                    rows = rows[: limit - n]
                    parts.append(b"".join(_PACKER.pack(r) for r in rows))
                    n += len(rows)
                if n >= limit:
                    break
            cur.close()
            return _PACKER.pack_array_header(n) + b"".join(parts)

    def set_doc(
        self, project: str, run_id: str, doc: bytes, incarnation: str | None = None
    ) -> RunInfo:
        with self._lock:
            key, _ = self._held(project, run_id, incarnation)
            self._db.execute(
                "UPDATE runs SET doc = ?, updated_at = ? WHERE id = ?", (doc, time.time(), key)
            )
            return self._written(project, run_id)

    # --- lost media ----------------------------------------------------------------------------

    def add_lost_media(
        self,
        project: str,
        run_id: str,
        files: list[LostFile],
        incarnation: str | None = None,
    ) -> int:
        with self._lock:
            key, _ = self._held(project, run_id, incarnation)
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

    # --- artifacts -----------------------------------------------------------------------------

    def put_artifact_version(
        self, project: str, name: str, version: int, info: dict, aliases: list[tuple[str, float]]
    ) -> bool:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT type, digest FROM artifact_versions WHERE project = ? AND name = ? AND version = ?",
                    (project, name, version),
                ).fetchone()
                other = db.execute(
                    "SELECT type FROM artifact_versions WHERE project = ? AND name = ? LIMIT 1",
                    (project, name),
                ).fetchone()
                if row is not None and row[1] != info["digest"]:
                    raise ArtifactConflict(f"v{version} holds other contents (digest {row[1]})")
                if other is not None and other[0] != info["type"]:
                    raise ArtifactConflict(
                        f"the artifact has type {other[0]!r}, not {info['type']!r}"
                    )
                created = row is None
                if created:
                    db.execute(
                        "INSERT INTO artifact_versions (project, name, version, type, digest, size, "
                        "file_count, created_at, run_id, manifest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            project,
                            name,
                            version,
                            info["type"],
                            info["digest"],
                            info.get("size"),
                            info.get("file_count"),
                            info.get("created_at"),
                            info.get("run"),
                            info["manifest"],
                        ),
                    )
                for alias, set_at in aliases:
                    # An alias goes to the version it was given to last: a run synced late
                    # does not take it back.
                    db.execute(
                        "INSERT INTO artifact_aliases (project, name, alias, version, set_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, name, alias) DO UPDATE SET "
                        "version = excluded.version, set_at = excluded.set_at "
                        "WHERE excluded.set_at >= artifact_aliases.set_at",
                        (project, name, alias, version, set_at),
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return created

    def artifact_collections(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT project, name, type, count(*), max(version) FROM artifact_versions "
                "GROUP BY project, name ORDER BY project, name"
            ).fetchall()
            aliases: dict[tuple, dict] = {}
            for p, n, a, v in self._db.execute(
                "SELECT project, name, alias, version FROM artifact_aliases ORDER BY alias"
            ):
                aliases.setdefault((p, n), {})[a] = f"v{v}"
        return artifact_listing(rows, aliases)

    def artifact_collection(self, project: str, name: str) -> dict | None:
        with self._lock:
            versions = self._db.execute(
                "SELECT version, type, digest, size, file_count, created_at, run_id FROM "
                "artifact_versions WHERE project = ? AND name = ? ORDER BY version",
                (project, name),
            ).fetchall()
            aliases = self._db.execute(
                "SELECT alias, version FROM artifact_aliases WHERE project = ? AND name = ? ORDER BY alias",
                (project, name),
            ).fetchall()
        return artifact_versions(project, name, versions, aliases)

    def artifact_manifest(self, project: str, name: str, version: int) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT manifest FROM artifact_versions WHERE project = ? AND name = ? AND version = ?",
                (project, name, version),
            ).fetchone()
        return None if row is None else bytes(row[0])

    # --- run files -----------------------------------------------------------------------------

    def set_files(
        self, project: str, run_id: str, files: list[RunFile], incarnation: str | None = None
    ) -> int:
        with self._lock:
            key, _ = self._held(project, run_id, incarnation)
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
