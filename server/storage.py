"""The storage interface the server's handlers use, and how to open the default one.

Handlers talk to a ``Storage`` only; the embedded SQLite backend (``sqlite.py``) is the
default, and the PostgreSQL one (``postgres.py``, ``serve --db``) sits behind the same methods. Media bytes are
not in here: they are content-addressed files (``blobs.py``), kept beside the database.

Rows arrive in batches, in increasing ``_step`` order, and a run's stored rows are always a
prefix of its history: a row whose step is at or below the run's last stored step is already
there, so storage drops it. That is what makes a replayed batch a no-op. A backend may store
a batch as it came (the SQLite one keeps each batch's msgpack as one chunk).

A run may hold an *incarnation*: the id that tells it from another run with the same project
and id (a second machine's, or one deleted and logged again). Every write may name the
incarnation it belongs to; when the run holds a different one, storage raises
``IncarnationConflict`` and changes nothing. A run made without one adopts the first one
named by ``upsert_run``. ``replace_run`` is the one way to put another incarnation in its place.
"""

from __future__ import annotations

import abc
import bisect
import os
from dataclasses import dataclass

import msgpack


class UnknownRunError(KeyError):
    """Raised by storage for a run it does not hold (the server answers 404)."""


class IncarnationConflict(Exception):
    """The run holds another incarnation than the write named (the server answers 409)."""

    def __init__(self, stored: str | None, sent: str):
        self.stored = stored
        self.sent = sent
        super().__init__(f"the run holds incarnation {stored!r}, not {sent!r}")


class ArtifactConflict(Exception):
    """An artifact version or type that the server holds otherwise (the server answers 409)."""


def require_incarnation(stored: str | None, sent: str | None) -> None:
    """IncarnationConflict unless ``sent`` is None (not checked) or the ``stored`` one."""
    if sent is not None and sent != stored:
        raise IncarnationConflict(stored, sent)


@dataclass(frozen=True)
class RunInfo:
    """What storage knows about one run besides its rows."""

    project: str
    run_id: str
    created_at: float | None
    updated_at: float | None
    rows: int
    last_step: int | None
    doc: bytes | None  # msgpack of the run document (config, summary, state...), as last set
    incarnation: str | None = None  # None for a run made by a client that sent none


@dataclass(frozen=True, order=True)
class LostFile:
    """A media file the client declared it cannot send (docs/protocol.md, lost-media)."""

    path: str
    sha256: str
    reason: str


@dataclass(frozen=True, order=True)
class RunFile:
    """One of a run's files (docs/protocol.md, "Run files"): its bytes are blob ``sha256``."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RowBatch:
    """Checked rows, steps strictly increasing; ``body`` is their msgpack array as received.

    The server does not keep rows decoded: it passes ``rows`` None and ``offsets``, where row
    ``i`` starts in ``body`` (``offsets[i]``; the last entry is where the array ends), so a
    tail of the batch is a slice of ``body``. Without offsets, ``rows`` (decoded) is repacked.
    """

    steps: list[int]
    rows: list[dict] | None
    body: bytes | bytearray
    offsets: list[int] | None = None

    def after(self, step: int) -> RowBatch:
        """The rows with ``_step > step``."""
        i = bisect.bisect_right(self.steps, step)
        if i == 0:
            return self
        if self.offsets is None:
            rows = self.rows
            assert rows is not None  # a batch has its rows, or their offsets in body
            return RowBatch(self.steps[i:], rows[i:], msgpack.packb(rows[i:]))
        n = len(self.steps) - i
        head = _PACKER.pack_array_header(n)
        start = self.offsets[i]
        return RowBatch(
            self.steps[i:],
            None,
            head + self.body[start:],
            [o - start + len(head) for o in self.offsets[i:]],
        )


_PACKER = msgpack.Packer()


def artifact_listing(rows: list, aliases: dict) -> list[dict]:
    """``Storage.artifact_collections()`` from the backends' rows: ``(project, name, type,
    count, max version)`` each, and ``{(project, name): {alias: "vN"}}``."""
    return [
        {
            "project": p,
            "name": n,
            "type": t,
            "versions": c,
            "latest": f"v{m}",
            "aliases": aliases.get((p, n), {}),
        }
        for p, n, t, c, m in rows
    ]


def artifact_versions(project: str, name: str, versions: list, aliases: list) -> dict | None:
    """``Storage.artifact_collection()`` from the backends' rows: ``(version, type, digest,
    size, file_count, created_at, run_id)`` each, and ``(alias, version)`` pairs; None when
    there are no versions."""
    if not versions:
        return None
    return {
        "project": project,
        "name": name,
        "type": versions[0][1],
        "versions": [
            {"version": v, "digest": d, "size": s, "file_count": fc, "created_at": c, "run": r}
            for v, _, d, s, fc, c, r in versions
        ],
        "aliases": dict(aliases),
    }


class Storage(abc.ABC):
    """Runs, their rows and their documents. Every method is one transaction."""

    @abc.abstractmethod
    def upsert_run(
        self, project: str, run_id: str, created_at: float | None, incarnation: str | None = None
    ) -> tuple[RunInfo, bool]:
        """Create the run if it is new; return it and whether it was created.

        With ``incarnation``: a new run takes it, an existing run without one adopts it, and an
        existing run with another one raises IncarnationConflict (nothing changed).
        """

    @abc.abstractmethod
    def replace_run(
        self, project: str, run_id: str, created_at: float | None, incarnation: str
    ) -> tuple[RunInfo, bool]:
        """Make the run new again with ``incarnation``, in one transaction: its rows, document
        lost media and files are dropped, ``created_at`` is taken. Returns the run and whether there
        was one to replace."""

    @abc.abstractmethod
    def get_run(self, project: str, run_id: str) -> RunInfo | None:
        """The run, or None."""

    @abc.abstractmethod
    def list_runs(self) -> list[RunInfo]:
        """Every run, by project then id."""

    @abc.abstractmethod
    def append_rows(
        self, project: str, run_id: str, batch: RowBatch, incarnation: str | None = None
    ) -> tuple[int, RunInfo]:
        """Store the rows of ``batch`` above the run's last stored step, in one transaction.

        Returns how many were new, and the run after. UnknownRunError for an unknown run,
        IncarnationConflict when ``incarnation`` is given and is not the run's.
        """

    @abc.abstractmethod
    def read_rows(self, project: str, run_id: str, after: int, limit: int) -> list[dict]:
        """Up to ``limit`` rows with ``_step > after``, in step order."""

    def read_rows_packed(self, project: str, run_id: str, after: int, limit: int) -> bytes:
        """``read_rows`` as one msgpack array, the body of ``GET .../rows``. A backend that
        keeps rows packed passes its bytes through instead of decoding and packing them."""
        return msgpack.packb(self.read_rows(project, run_id, after, limit))

    @abc.abstractmethod
    def set_doc(
        self, project: str, run_id: str, doc: bytes, incarnation: str | None = None
    ) -> RunInfo:
        """Replace the run's document. UnknownRunError for an unknown run, IncarnationConflict
        when ``incarnation`` is given and is not the run's."""

    @abc.abstractmethod
    def add_lost_media(
        self,
        project: str,
        run_id: str,
        files: list[LostFile],
        incarnation: str | None = None,
    ) -> int:
        """Record media files the run's client cannot send; returns how many the run has now.

        The same (sha256, path) again replaces its reason. UnknownRunError, IncarnationConflict
        as for ``append_rows``.
        """

    @abc.abstractmethod
    def lost_media(self, project: str, run_id: str) -> list[LostFile]:
        """The run's lost media files, sorted by path then hash (none for an unknown run)."""

    # Artifacts (docs/protocol.md, "Artifacts"). Not abstract: a backend without them answers
    # the artifact routes with 501.

    def put_artifact_version(
        self, project: str, name: str, version: int, info: dict, aliases: list[tuple[str, float]]
    ) -> bool:
        """Store version ``version`` of artifact ``project/name`` (``info``: type, digest,
        size, file_count, created_at, run, manifest as JSON bytes) and move ``aliases``
        (``(alias, time set)``) to it, each only if set later than where it points now; in
        one transaction. Returns whether the version is new. ArtifactConflict when the version
        holds another digest, or the artifact another type."""
        raise NotImplementedError

    def artifact_collections(self) -> list[dict]:
        """Every artifact: ``{"project", "name", "type", "versions" (how many), "latest"
        (``vN``), "aliases": {alias: "vN"}}``, by project and name."""
        raise NotImplementedError

    def artifact_collection(self, project: str, name: str) -> dict | None:
        """``{"project", "name", "type", "versions": [...], "aliases": {alias: n}}`` or None."""
        raise NotImplementedError

    def artifact_manifest(self, project: str, name: str, version: int) -> bytes | None:
        """The JSON manifest of a version, as stored, or None."""
        raise NotImplementedError

    @abc.abstractmethod
    def set_files(
        self, project: str, run_id: str, files: list[RunFile], incarnation: str | None = None
    ) -> int:
        """Replace the run's list of files; returns how many it has. UnknownRunError,
        IncarnationConflict as for ``append_rows``."""

    @abc.abstractmethod
    def run_files(self, project: str, run_id: str) -> list[RunFile]:
        """The run's files, sorted by path (none for an unknown run)."""

    def ping(self) -> None:
        """Raise unless the backend answers now (the server's readiness probe)."""
        self.get_run("", "")

    @abc.abstractmethod
    def close(self) -> None:
        """Release the backend."""


def open_storage(data_dir: str, db: str | None = None) -> Storage:
    """The storage ``serve`` uses: the PostgreSQL database ``db`` (a ``postgresql://`` URL), or
    without one SQLite in ``data_dir/runs.sqlite`` (``data_dir`` made 0700 either way: media
    files live there)."""
    from localrun.errors import Error

    from .disk import private_folder

    private_folder(data_dir)
    if db is not None:
        from .postgres import PostgresStorage, is_postgres_url

        if not is_postgres_url(db):
            scheme = db.split("://", 1)[0].split(":", 1)[0]  # the rest may hold a password
            raise Error(
                f"--db takes a postgresql://USER@HOST/DB URL, not one starting {scheme + '://'!r}; "
                "leave it out to keep runs in SQLite in the data folder"
            )
        return PostgresStorage(db)
    from .sqlite import SQLiteStorage

    return SQLiteStorage(os.path.join(data_dir, "runs.sqlite"))
