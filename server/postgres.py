"""The team backend: runs, rows, documents and the media index in PostgreSQL (``serve --db``).

Behind the same ``Storage`` interface as the embedded SQLite backend, with the same tables: a
run's rows are kept as the chunks clients sent (each batch's msgpack array, one ``bytea``), so a
page of ``GET .../rows`` copies whole chunks through as SQLite's backend does. Connections come
from a psycopg 3 pool; every method is one transaction on one of them, committed before the
method returns (PostgreSQL's commit is durable before it answers, as ``synchronous=FULL`` is).

Several server processes (``--workers``, or servers on several hosts) may share one database.
Every write to a run first locks the run's row (``SELECT ... FOR UPDATE``), so two appends to
the same run, from any processes, are serialised: the second sees the first's last step and
drops the rows it already has. Nothing is kept in a process between calls.

Schema versions (``localrun_meta.schema_version``), applied in order by ``MIGRATIONS`` when the
storage opens, under a transaction-scoped advisory lock so servers starting together migrate
once: 1 holds runs and their chunks; 2 adds run incarnations, lost media, run files and the
artifact tables (the SQLite backend's version 2). A database of a later version than this code
knows is refused untouched, naming both versions, so an older server never writes to a newer
schema. The tables live in the connection's current schema (``search_path``), so one database
can hold several servers' data in separate schemas (``?options=-csearch_path%3DNAME``).

The URL's password is never shown: messages and the server's banner name the database by
``redact(url)``.
"""

from __future__ import annotations

import time
import urllib.parse

import msgpack

from localrun.errors import Error

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
SCHEMES = ("postgresql", "postgres")

# One statement list per version: MIGRATIONS[v - 1] takes a database from version v - 1 to v.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE runs (
            id          BIGSERIAL PRIMARY KEY,
            project     TEXT NOT NULL,
            run_id      TEXT NOT NULL,
            created_at  DOUBLE PRECISION,
            updated_at  DOUBLE PRECISION,
            row_count   BIGINT NOT NULL DEFAULT 0,
            last_step   BIGINT,
            doc         BYTEA,
            UNIQUE (project, run_id)
        )""",
        """CREATE TABLE chunks (
            run         BIGINT NOT NULL REFERENCES runs (id),
            first_step  BIGINT NOT NULL,
            last_step   BIGINT NOT NULL,
            row_count   INTEGER NOT NULL,
            data        BYTEA NOT NULL,
            PRIMARY KEY (run, first_step)
        )""",
        "CREATE INDEX chunks_by_last_step ON chunks (run, last_step)",
        # Chunks are already-packed msgpack: compressing them again costs CPU for little.
        "ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL",
    ],
    [
        "ALTER TABLE runs ADD COLUMN incarnation TEXT",
        """CREATE TABLE lost_media (
            run         BIGINT NOT NULL REFERENCES runs (id),
            sha256      TEXT NOT NULL,
            path        TEXT NOT NULL,
            reason      TEXT NOT NULL,
            PRIMARY KEY (run, sha256, path)
        )""",
        """CREATE TABLE run_files (
            run         BIGINT NOT NULL REFERENCES runs (id),
            path        TEXT NOT NULL,
            sha256      TEXT NOT NULL,
            size        BIGINT NOT NULL,
            PRIMARY KEY (run, path)
        )""",
        """CREATE TABLE artifact_versions (
            project     TEXT NOT NULL,
            name        TEXT NOT NULL,
            version     BIGINT NOT NULL,
            type        TEXT NOT NULL,
            digest      TEXT NOT NULL,
            size        BIGINT,
            file_count  BIGINT,
            created_at  DOUBLE PRECISION,
            run_id      TEXT,
            manifest    BYTEA NOT NULL,
            PRIMARY KEY (project, name, version)
        )""",
        """CREATE TABLE artifact_aliases (
            project     TEXT NOT NULL,
            name        TEXT NOT NULL,
            alias       TEXT NOT NULL,
            version     BIGINT NOT NULL,
            set_at      DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (project, name, alias)
        )""",
    ],
]
assert len(MIGRATIONS) == SCHEMA_VERSION

# Any constant: the advisory lock servers take while they look at and migrate the schema.
_MIGRATION_LOCK = 0x6C6F63616C72756E  # "localrun"

_RUN_COLUMNS = "project, run_id, created_at, updated_at, row_count, last_step, doc, incarnation"
_PACKER = msgpack.Packer()
_CHUNKS_AT_ONCE = 16  # chunks fetched per query while a page is filled


def is_postgres_url(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme in SCHEMES


def redact(url: str) -> str:
    """``url`` with its password (in the address or in ``?password=``) replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostport}"
    query = urllib.parse.urlencode(
        [
            (k, "***" if k == "password" else v)
            for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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


def _info(row) -> RunInfo:
    project, run_id, created_at, updated_at, rows, last_step, doc, incarnation = row
    return RunInfo(
        project,
        run_id,
        created_at,
        updated_at,
        rows,
        last_step,
        None if doc is None else bytes(doc),
        incarnation,
    )


def _count(conn, query: str, key: int) -> int:
    row = conn.execute(query, (key,)).fetchone()
    assert row is not None  # a count is one row
    return int(row[0])


class PostgresStorage(Storage):
    """``Storage`` in the PostgreSQL database ``url`` (``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB``,
    or any libpq connection URL), through a pool of at most ``max_connections``."""

    def __init__(self, url: str, max_connections: int = 10, connect_timeout: float = 10.0):
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise Error(
                f"localrun serve --db needs the postgres extra ({exc.name} is missing): "
                "pip install 'localrun[postgres]'"
            ) from exc
        self.url = url
        self.shown = redact(url)
        try:
            with psycopg.connect(url, connect_timeout=max(1, int(connect_timeout))) as conn:
                self._migrate(conn)
        except psycopg.Error as exc:
            message = str(exc).strip().replace(url, self.shown)
            raise Error(
                f"cannot use the PostgreSQL database {self.shown}: {message}. "
                "Check that the server runs, the URL names an existing database, and the user may "
                "create tables in it"
            ) from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": False},
            # A connection the database dropped (a restart, a failover) is replaced before a
            # request gets it, instead of failing that request: one round trip a call.
            check=ConnectionPool.check_connection,
            open=True,
            timeout=60.0,
            name="localrun",
        )

    def _migrate(self, conn) -> None:
        """Bring the schema up to SCHEMA_VERSION, or refuse a newer one, in one transaction."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS localrun_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = conn.execute(
                "SELECT value FROM localrun_meta WHERE key = 'schema_version'"
            ).fetchone()
            version = int(row[0]) if row is not None else 0
            if version > SCHEMA_VERSION:
                raise Error(
                    f"the PostgreSQL database {self.shown} was written by a newer localrun server "
                    f"(schema {version}; this one knows {SCHEMA_VERSION}). Upgrade localrun"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO localrun_meta (key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    # --- runs ----------------------------------------------------------------------------------

    @staticmethod
    def _locked(conn, project: str, run_id: str) -> tuple[int, RunInfo] | None:
        """The run, its row locked until the transaction ends (writers to one run queue here)."""
        row = conn.execute(
            f"SELECT id, {_RUN_COLUMNS} FROM runs WHERE project = %s AND run_id = %s FOR UPDATE",
            (project, run_id),
        ).fetchone()
        return None if row is None else (row[0], _info(row[1:]))

    @staticmethod
    def _read(conn, key: int) -> RunInfo:
        return _info(
            conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = %s", (key,)).fetchone()
        )

    def _known(self, conn, project: str, run_id: str, incarnation: str | None) -> int:
        """The locked run's key; UnknownRunError, IncarnationConflict as the interface says."""
        found = self._locked(conn, project, run_id)
        if found is None:
            raise UnknownRunError((project, run_id))
        require_incarnation(found[1].incarnation, incarnation)
        return found[0]

    def upsert_run(
        self, project: str, run_id: str, created_at: float | None, incarnation: str | None = None
    ) -> tuple[RunInfo, bool]:
        with self._pool.connection() as conn:
            made = conn.execute(
                "INSERT INTO runs (project, run_id, created_at, updated_at, incarnation) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (project, run_id) DO NOTHING RETURNING id",
                (project, run_id, created_at, time.time(), incarnation),
            ).fetchone()
            if made is not None:
                return self._read(conn, made[0]), True
            found = self._locked(conn, project, run_id)
            assert found is not None  # runs are never deleted
            key, info = found
            if incarnation is not None and info.incarnation is None:
                # Made by a client that sent none: the first one named is the run's.
                conn.execute("UPDATE runs SET incarnation = %s WHERE id = %s", (incarnation, key))
                return self._read(conn, key), False
            require_incarnation(info.incarnation, incarnation)
            return info, False

    def replace_run(
        self, project: str, run_id: str, created_at: float | None, incarnation: str
    ) -> tuple[RunInfo, bool]:
        with self._pool.connection() as conn:
            made = conn.execute(
                "INSERT INTO runs (project, run_id, created_at, updated_at, incarnation) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (project, run_id) DO NOTHING RETURNING id",
                (project, run_id, created_at, time.time(), incarnation),
            ).fetchone()
            if made is not None:
                return self._read(conn, made[0]), False
            found = self._locked(conn, project, run_id)
            assert found is not None
            key = found[0]
            for table in ("chunks", "lost_media", "run_files"):
                conn.execute(f"DELETE FROM {table} WHERE run = %s", (key,))
            conn.execute(
                "UPDATE runs SET created_at = %s, updated_at = %s, row_count = 0, last_step = NULL, "
                "doc = NULL, incarnation = %s WHERE id = %s",
                (created_at, time.time(), incarnation, key),
            )
            return self._read(conn, key), True

    def get_run(self, project: str, run_id: str) -> RunInfo | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE project = %s AND run_id = %s",
                (project, run_id),
            ).fetchone()
        return None if row is None else _info(row)

    def list_runs(self) -> list[RunInfo]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f'SELECT {_RUN_COLUMNS} FROM runs ORDER BY project COLLATE "C", run_id COLLATE "C"'
            ).fetchall()
        return [_info(r) for r in rows]

    # --- rows ----------------------------------------------------------------------------------

    def append_rows(
        self, project: str, run_id: str, batch: RowBatch, incarnation: str | None = None
    ) -> tuple[int, RunInfo]:
        with self._pool.connection() as conn:
            found = self._locked(conn, project, run_id)
            if found is None:
                raise UnknownRunError((project, run_id))
            key, info = found
            require_incarnation(info.incarnation, incarnation)
            if info.last_step is not None:
                batch = batch.after(info.last_step)  # what is at or below it is already stored
            if not batch.steps:
                return 0, info
            conn.execute(
                "INSERT INTO chunks (run, first_step, last_step, row_count, data) "
                "VALUES (%s, %s, %s, %s, %b)",
                (key, batch.steps[0], batch.steps[-1], len(batch.steps), bytes(batch.body)),
            )
            row = conn.execute(
                "UPDATE runs SET row_count = row_count + %s, last_step = %s, updated_at = %s "
                f"WHERE id = %s RETURNING {_RUN_COLUMNS}",
                (len(batch.steps), batch.steps[-1], time.time(), key),
            ).fetchone()
            return len(batch.steps), _info(row)

    def read_rows(self, project: str, run_id: str, after: int, limit: int) -> list[dict]:
        return msgpack.unpackb(self.read_rows_packed(project, run_id, after, limit), raw=False)

    def read_rows_packed(self, project: str, run_id: str, after: int, limit: int) -> bytes:
        """A page as it goes on the wire: whole chunks inside the page are copied as stored
        (their array header cut off); only the chunks the page begins or ends in are decoded.
        Chunks are fetched a few at a time along the (run, last_step) index, in one snapshot."""
        with self._pool.connection() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = conn.execute(
                "SELECT id FROM runs WHERE project = %s AND run_id = %s", (project, run_id)
            ).fetchone()
            if row is None:
                raise UnknownRunError((project, run_id))
            key = row[0]
            parts: list[bytes] = []
            n = 0
            seen = after
            cur = conn.cursor(binary=True)
            while n < limit:
                chunks = cur.execute(
                    "SELECT first_step, last_step, row_count, data FROM chunks"
                    " WHERE run = %s AND last_step > %s ORDER BY last_step LIMIT %s",
                    (key, seen, _CHUNKS_AT_ONCE),
                ).fetchall()
                for first, last, count, data in chunks:
                    if first > after and n + count <= limit:
                        parts.append(data[_array_header_size(data) :])
                        n += count
                    else:
                        rows = [r for r in msgpack.unpackb(data, raw=False) if r["_step"] > after]
                        rows = rows[: limit - n]
                        parts.append(b"".join(_PACKER.pack(r) for r in rows))
                        n += len(rows)
                    seen = last
                    if n >= limit:
                        break
                if len(chunks) < _CHUNKS_AT_ONCE:
                    break
            return _PACKER.pack_array_header(n) + b"".join(parts)

    def set_doc(
        self, project: str, run_id: str, doc: bytes, incarnation: str | None = None
    ) -> RunInfo:
        with self._pool.connection() as conn:
            key = self._known(conn, project, run_id, incarnation)
            row = conn.execute(
                f"UPDATE runs SET doc = %b, updated_at = %s WHERE id = %s RETURNING {_RUN_COLUMNS}",
                (bytes(doc), time.time(), key),
            ).fetchone()
            return _info(row)

    # --- lost media ----------------------------------------------------------------------------

    def add_lost_media(
        self,
        project: str,
        run_id: str,
        files: list[LostFile],
        incarnation: str | None = None,
    ) -> int:
        with self._pool.connection() as conn:
            key = self._known(conn, project, run_id, incarnation)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO lost_media (run, sha256, path, reason) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (run, sha256, path) DO UPDATE SET reason = excluded.reason",
                    [(key, f.sha256, f.path, f.reason) for f in files],
                )
            return _count(conn, "SELECT count(*) FROM lost_media WHERE run = %s", key)

    def lost_media(self, project: str, run_id: str) -> list[LostFile]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT l.path, l.sha256, l.reason FROM lost_media l JOIN runs r ON l.run = r.id "
                'WHERE r.project = %s AND r.run_id = %s ORDER BY l.path COLLATE "C", l.sha256',
                (project, run_id),
            ).fetchall()
        return [LostFile(*r) for r in rows]

    # --- artifacts -----------------------------------------------------------------------------

    def put_artifact_version(
        self, project: str, name: str, version: int, info: dict, aliases: list[tuple[str, float]]
    ) -> bool:
        with self._pool.connection() as conn:
            # Versions of one artifact are written one at a time, whichever process writes them.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{project}\0{name}",)
            )
            row = conn.execute(
                "SELECT type, digest FROM artifact_versions WHERE project = %s AND name = %s AND version = %s",
                (project, name, version),
            ).fetchone()
            other = conn.execute(
                "SELECT type FROM artifact_versions WHERE project = %s AND name = %s LIMIT 1",
                (project, name),
            ).fetchone()
            if row is not None and row[1] != info["digest"]:
                raise ArtifactConflict(f"v{version} holds other contents (digest {row[1]})")
            if other is not None and other[0] != info["type"]:
                raise ArtifactConflict(f"the artifact has type {other[0]!r}, not {info['type']!r}")
            created = row is None
            if created:
                conn.execute(
                    "INSERT INTO artifact_versions (project, name, version, type, digest, size, "
                    "file_count, created_at, run_id, manifest) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %b)",
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
                        bytes(info["manifest"]),
                    ),
                )
            for alias, set_at in aliases:
                # An alias goes to the version it was given to last: a run synced late does not
                # take it back.
                conn.execute(
                    "INSERT INTO artifact_aliases (project, name, alias, version, set_at) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (project, name, alias) DO UPDATE SET "
                    "version = excluded.version, set_at = excluded.set_at "
                    "WHERE excluded.set_at >= artifact_aliases.set_at",
                    (project, name, alias, version, set_at),
                )
            return created

    def artifact_collections(self) -> list[dict]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT project, name, min(type), count(*), max(version) FROM artifact_versions "
                'GROUP BY project, name ORDER BY project COLLATE "C", name COLLATE "C"'
            ).fetchall()
            aliases: dict[tuple, dict[str, str]] = {}
            for p, n, a, v in conn.execute(
                'SELECT project, name, alias, version FROM artifact_aliases ORDER BY alias COLLATE "C"'
            ):
                aliases.setdefault((p, n), {})[a] = f"v{v}"
        return artifact_listing(rows, aliases)

    def artifact_collection(self, project: str, name: str) -> dict | None:
        with self._pool.connection() as conn:
            versions = conn.execute(
                "SELECT version, type, digest, size, file_count, created_at, run_id FROM "
                "artifact_versions WHERE project = %s AND name = %s ORDER BY version",
                (project, name),
            ).fetchall()
            aliases = conn.execute(
                "SELECT alias, version FROM artifact_aliases WHERE project = %s AND name = %s "
                'ORDER BY alias COLLATE "C"',
                (project, name),
            ).fetchall()
        return artifact_versions(project, name, versions, aliases)

    def artifact_manifest(self, project: str, name: str, version: int) -> bytes | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT manifest FROM artifact_versions WHERE project = %s AND name = %s AND version = %s",
                (project, name, version),
            ).fetchone()
        return None if row is None else bytes(row[0])

    # --- run files -----------------------------------------------------------------------------

    def set_files(
        self, project: str, run_id: str, files: list[RunFile], incarnation: str | None = None
    ) -> int:
        with self._pool.connection() as conn:
            key = self._known(conn, project, run_id, incarnation)
            conn.execute("DELETE FROM run_files WHERE run = %s", (key,))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO run_files (run, path, sha256, size) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (run, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size",
                    [(key, f.path, f.sha256, f.size) for f in files],
                )
            return _count(conn, "SELECT count(*) FROM run_files WHERE run = %s", key)

    def run_files(self, project: str, run_id: str) -> list[RunFile]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT f.path, f.sha256, f.size FROM run_files f JOIN runs r ON f.run = r.id "
                'WHERE r.project = %s AND r.run_id = %s ORDER BY f.path COLLATE "C"',
                (project, run_id),
            ).fetchall()
        return [RunFile(*r) for r in rows]

    def ping(self) -> None:
        with self._pool.connection(timeout=5.0) as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStorage({self.shown!r})"
