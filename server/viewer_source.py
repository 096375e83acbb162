"""The server's runs as a viewer ``Source``: what ``localrun serve`` shows at ``/``.

``ServerSource`` reads the server's ``Storage`` and ``BlobDir``, the same data the sync API
writes, and answers the viewer's read API (``localrun.viewer``, docs/viewer.md) as
``localrun ui`` answers it over the run's directory: the same run synced to a server gives the
same keys, series, media and files.

- Documents are what ``GET /api/v1/runs/{project}/{run_id}`` gives (``run_document``: the
  server's handlers use it too), except that a run whose document has not arrived yet
  (``localrun sync`` sends it last; its ``state`` is null on the wire) reads as state
  ``"syncing"``, and ``path`` is the run's URL path (a source does not know the host name a
  client used).
- Keys, series and media come from a ``RunTable`` (``TableSource``) built from the stored rows,
  read through ``Storage.read_rows`` a page at a time (``build_table``). Tables are kept for
  the runs looked at last, each under the run's ``(rows, last_step, updated_at)``: a run is not
  read again until a sync adds rows or a document. They are bounded in number and in size.
- Files: a value's ``path`` is ``media/<sha256>.<ext>`` (or names another file and carries its
  ``sha256``); the file is the blob of that hash. Nothing from the request becomes a path on
  disk but a checked hash.

``build_table`` is the seam for a faster per-run index: a subclass (or a later version) may
answer ``table()`` or ``series()`` from one, behind the same methods.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import NamedTuple

import msgpack

from localrun.mediarefs import SHA256, file_refs, media_values
from localrun.sync.protocol import SYNCING, run_path
from localrun.viewer.files import media_relpath
from localrun.viewer.source import NotFoundError, RunRef, TableSource, newest_first
from localrun.viewer.table import RunTable, TableBuilder, step_metric_names

from .blobs import BlobDir
from .storage import RunInfo, Storage, UnknownRunError

PAGE_ROWS = 10_000  # rows read from storage at a time when a table is built (a sync batch)
KEEP_TABLES = 8  # tables kept in memory: the runs looked at last...
KEEP_BYTES = 256 * 1024 * 1024  # ...as long as they hold about this much (the last one always)


def run_document(info: RunInfo, url: str) -> dict:
    """The run document as ``GET /api/v1/runs/{project}/{run_id}`` answers it (docs/protocol.md),
    without ``lost_media``: the document sent last, with ``path`` = ``url`` and ``rows``,
    ``last_step`` as stored; before the first one arrives, ``{"id", "project", "state": None}``."""
    doc = (
        msgpack.unpackb(info.doc, raw=False)
        if info.doc
        else {"id": info.run_id, "project": info.project, "state": None}
    )
    doc["path"] = url
    doc["rows"] = info.rows
    doc["last_step"] = info.last_step
    doc.setdefault("created_at", info.created_at)
    return doc


def lost_media(storage: Storage, blobs: BlobDir, project: str, run_id: str) -> list[dict]:
    """The run's lost media files the server still lacks (``[{"sha256", "path", "reason"}]``).

    A file uploaded since it was declared lost (by this run or another) is simply there.
    """
    lost = storage.lost_media(project, run_id)
    if not lost:
        return []
    gone = set(blobs.missing(sorted({f.sha256 for f in lost})))
    return [
        {"sha256": f.sha256, "path": f.path, "reason": f.reason} for f in lost if f.sha256 in gone
    ]


def _weight(table: RunTable) -> int:
    """About the bytes a table holds: 16 a number (the value and its row), 24 a row (x axes),
    and a few hundred a media value (a small dict)."""
    numbers = media = 0
    for e in table.key_info().values():
        for kind, n in e["types"].items():
            if kind == "number":
                numbers += n
            elif kind != "other":
                media += n
    return 16 * numbers + 24 * table.rows + 400 * media


class _Table(NamedTuple):
    key: tuple  # (rows, last_step, updated_at) of the run it was built at
    table: RunTable
    weight: int


class ServerSource(TableSource):
    """The runs in a server's storage (``storage``) and media files (``blobs``)."""

    def __init__(
        self,
        storage: Storage,
        blobs: BlobDir,
        keep_tables: int = KEEP_TABLES,
        keep_bytes: int = KEEP_BYTES,
    ):
        self.storage = storage
        self.blobs = blobs
        self.keep_tables = keep_tables
        self.keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._tables: OrderedDict[RunRef, _Table] = OrderedDict()
        self._building: dict[RunRef, threading.Lock] = {}  # one build of a run at a time

    # --- documents -----------------------------------------------------------------------------

    def _info(self, ref: RunRef) -> RunInfo:
        info = self.storage.get_run(ref.project, ref.run_id)
        if info is None:
            raise NotFoundError(
                f"no run {ref.project!r}/{ref.run_id!r} on this server: sync it first (localrun sync)"
            )
        return info

    def _document(self, info: RunInfo) -> dict:
        doc = run_document(info, run_path(info.project, info.run_id))
        if doc.get("state") is None:
            doc["state"] = SYNCING
        return doc

    def list_runs(self) -> list[dict]:
        return newest_first([self._document(i) for i in self.storage.list_runs()])

    def run(self, ref: RunRef) -> dict:
        doc = self._document(self._info(ref))
        lost = lost_media(self.storage, self.blobs, ref.project, ref.run_id)
        if lost:
            doc["lost_media"] = lost
        return doc

    def rows(self, ref: RunRef, after: int = -1, limit: int = 10_000) -> list[dict]:
        try:
            return self.storage.read_rows(ref.project, ref.run_id, after, limit)
        except UnknownRunError:
            raise NotFoundError(f"no run {ref.project!r}/{ref.run_id!r} on this server") from None

    # --- tables --------------------------------------------------------------------------------

    def table(self, ref: RunRef) -> RunTable:
        info = self._info(ref)
        key = (info.rows, info.last_step, info.updated_at)
        hit = self._cached(ref, key)
        if hit is not None:
            return hit
        with self._lock:
            building = self._building.setdefault(ref, threading.Lock())
        with building:  # a second request for the same run waits for the first one's table
            hit = self._cached(ref, key)
            if hit is not None:
                return hit
            table = self.build_table(ref, info)
            self._keep(ref, _Table(key, table, _weight(table)))
        return table

    def _cached(self, ref: RunRef, key: tuple) -> RunTable | None:
        with self._lock:
            hit = self._tables.get(ref)
            if hit is None or hit.key != key:
                return None
            self._tables.move_to_end(ref)
            return hit.table

    def _keep(self, ref: RunRef, entry: _Table) -> None:
        with self._lock:
            self._tables[ref] = entry
            self._tables.move_to_end(ref)
            total = sum(t.weight for t in self._tables.values())
            while len(self._tables) > 1 and (
                len(self._tables) > self.keep_tables or total > self.keep_bytes
            ):
                _, old = self._tables.popitem(last=False)
                total -= old.weight

    def build_table(self, ref: RunRef, info: RunInfo) -> RunTable:
        """The run's ``RunTable`` as of ``info``: its rows up to ``info.last_step``, read from
        storage ``PAGE_ROWS`` at a time (rows a sync adds meanwhile wait for the next build).

        The one place a table is made: a faster per-run index goes here.
        """
        builder = TableBuilder()
        last = info.last_step
        after = -1
        while last is not None and after < last:
            try:
                rows = self.storage.read_rows(ref.project, ref.run_id, after, PAGE_ROWS)
            except UnknownRunError:
                raise NotFoundError(
                    f"no run {ref.project!r}/{ref.run_id!r} on this server"
                ) from None
            if rows and rows[-1]["_step"] > last:
                rows = [r for r in rows if r["_step"] <= last]
            if not rows:
                break
            builder.add(rows)
            after = rows[-1]["_step"]
        doc = msgpack.unpackb(info.doc, raw=False) if info.doc else {}
        metrics = doc.get("metrics") if type(doc) is dict else None
        return builder.build(step_metric_names(metrics if type(metrics) is dict else {}))

    # --- files ---------------------------------------------------------------------------------

    def open_file(self, ref: RunRef, path: str) -> str:
        media_relpath(path)  # media/<name>, one level: NotFoundError for anything else
        self._info(ref)  # an unknown run has no files
        name = path.split("/", 1)[1]
        stem = name.split(".", 1)[0]
        sha = stem if SHA256.fullmatch(stem) else self._hash_named(ref, path)
        if sha is None:
            raise NotFoundError(f"no media file {path!r} in run {ref}")
        full = self.blobs.path(sha)
        if not os.path.isfile(full):
            raise NotFoundError(
                f"this server does not have media file {path!r} of run {ref}: it was not synced "
                "(see the run's lost_media), or the sync has not sent it yet"
            )
        return full

    def _hash_named(self, ref: RunRef, path: str) -> str | None:
        """The ``sha256`` beside ``path`` in one of the run's media values (a file whose name
        is not its hash), or None."""
        table = self.table(ref)
        for key in table.key_info():
            for _, value in table.media_items(key):
                for media in media_values(value):
                    for p, sha in file_refs(media):
                        if p == path and sha is not None and SHA256.fullmatch(sha):
                            return sha
        return None
