"""``LocalSource``: run directories as a viewer ``Source``, read while they are written.

The PATHs are what ``localrun show`` takes (``localrun.sync.find_runs``): a run directory, or
a folder of them; each is listed again whenever the runs are listed, so new runs appear.
Runs are keyed by ``(project, run id)`` from ``run.json``, as ``localrun sync`` keys them on
a server; when two folders hold the same key, the first found is shown and the others are
reported in ``duplicates``.

Each run is answered from its index (``runindex.py``: ``<run>/index/``, made the first time the
run is asked for, by one replay): its document, and, once a chart or media panel asks, its
columns. Before every answer the run's *signature* is taken again (its segment files' sizes
and whether a writer holds its lock: a few ``stat`` calls); when it has changed, the index
reads the segments' new bytes. So a finished run is replayed once, ever (the index outlives
the process), and a running run's pages see each ``log()`` within ``REFRESH_S`` plus the
time to read what it wrote.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator

from localrun import rundir
from localrun.errors import RunDirError
from localrun.sync import RunView, find_runs

from .columns import IndexDamaged, IndexStale, IndexTable
from .files import resolve_media
from .runindex import RunIndex
from .source import (
    NotFoundError,
    RunRef,
    Series,
    TableSource,
    newest_first,
    table_keys,
    table_media,
    table_series,
)

REFRESH_S = 0.5  # a run that keeps changing is read again at most this often
STALE_TRIES = 5  # a live run's provisional rows, written over while read: read again this often
LIST_REFRESH_S = 2.0  # likewise, for the list of all runs (the runs page asks every 3 s)
KEEP_TABLES = 8  # RunTables kept in memory (the runs looked at last)


def run_ref(path: str) -> RunRef:
    """``(project, run id)`` as ``localrun sync`` keys the run on a server (sync/push.py)."""
    return _identity(path)[0]


def _identity(path: str) -> tuple[RunRef, str]:
    """The run's key and its incarnation (run.json is written once: read it once)."""
    info = rundir.read_run_json(path)
    run_id = str(info.get("id") or os.path.basename(os.path.normpath(path)))
    return RunRef(str(info.get("project") or "uncategorized"), run_id), rundir.incarnation(info)


def signature(path: str, last: tuple | None = None) -> tuple:
    """What changes when a run is written to: its segments' sizes, and whether it is live.

    ``last``, the signature taken before, saves listing the segments again while their folder
    has not changed (segments are only ever added; only the last one grows): then only the
    last segment is looked at. A listing is trusted only when made 3 s or more after the folder
    last changed: its time stamp may be too coarse to tell two changes apart (a tick of the
    kernel's clock; 2 s on FAT).
    """
    folder = os.path.join(path, rundir.SEGMENTS)
    try:
        stamp = os.stat(folder).st_mtime_ns
    except OSError:
        stamp = None
    if last is not None and stamp is not None and last[2] == stamp and last[0]:
        seg = last[0][-1][0]
        try:
            size = os.stat(seg).st_size
        except OSError:
            size = -1
        sizes = last[0][:-1] + ((seg, size),)
    else:
        found = []
        for seg in rundir.segment_paths(path):
            try:
                found.append((seg, os.stat(seg).st_size))
            except OSError:
                found.append((seg, -1))
        sizes = tuple(found)
        if stamp is not None and time.time() - stamp / 1e9 < 3.0:
            stamp = None  # listed too soon after a change: list again next time
    return (sizes, rundir.is_locked(path), stamp)


class _Run:
    """One run directory, its index, and what was last read of it."""

    def __init__(self, path: str, incarnation: str | None = None):
        self.path = path
        self.lock = threading.Lock()
        self.index = RunIndex(path, incarnation)
        self.sig: tuple | None = None
        self.read_at = 0.0
        self.doc: dict | None = None
        self.table: IndexTable | None = None
        self.table_sig: tuple | None = None


class LocalSource(TableSource):
    """Runs in local run directories (``paths``: as ``localrun show`` takes PATH)."""

    def __init__(self, paths: list[str], refresh_s: float = REFRESH_S):
        self.paths = [os.fspath(p) for p in paths]
        self.refresh_s = refresh_s
        self.duplicates: list[str] = []
        self._lock = threading.Lock()
        self._refs: dict[str, tuple[RunRef, str]] = {}  # run dir -> key, incarnation
        self._runs: dict[RunRef, _Run] = {}
        self._tables: OrderedDict[RunRef, None] = OrderedDict()
        self.discover()

    # --- finding runs --------------------------------------------------------------------------

    def discover(self) -> list[RunRef]:
        """List the PATHs again; returns the keys of the runs found, in PATH order."""
        found: dict[RunRef, str] = {}
        duplicates = []
        for path in self.paths:
            try:
                dirs = find_runs(path)
            except RunDirError:
                if os.path.isdir(path):  # a folder with no runs yet: they may come
                    continue
                raise
            for d in dirs:
                known = self._refs.get(d)
                if known is None:
                    try:
                        known = self._refs[d] = _identity(d)
                    except RunDirError:
                        continue  # unreadable run.json: `localrun show` reports it
                ref = known[0]
                if ref in found:
                    duplicates.append(f"{d} (also {ref} at {found[ref]})")
                else:
                    found[ref] = d
        with self._lock:
            for ref, d in found.items():
                r = self._runs.get(ref)
                if r is None or r.path != d:
                    self._runs[ref] = _Run(d, self._refs[d][1])
            for ref in [r for r in self._runs if r not in found]:
                del self._runs[ref]
            self.duplicates = duplicates
        return list(found)

    def _run(self, ref: RunRef) -> _Run:
        r = self._runs.get(ref)
        if r is None:
            self.discover()
            r = self._runs.get(ref)
            if r is None:
                raise NotFoundError(
                    f"no run {ref.project!r}/{ref.run_id!r} under {', '.join(self.paths)}"
                )
        return r

    # --- reading -------------------------------------------------------------------------------

    def _fresh(self, r: _Run, want_table: bool, max_age_s: float | None = None) -> None:
        """Bring the run's document (and table) up to date, if it changed since it was last
        looked at (at most every ``refresh_s``, or ``max_age_s``)."""
        with r.lock:
            now = time.monotonic()
            age = self.refresh_s if max_age_s is None else max_age_s
            if r.doc is not None and now - r.read_at < age:
                sig = r.sig  # looked at a moment ago: take that
            else:
                sig = signature(r.path, r.sig)
                r.read_at = now
            if (
                r.doc is not None
                and sig == r.sig
                and (not want_table or (r.table is not None and sig == r.table_sig))
            ):
                return
            # A run whose charts are open (it has a table) keeps its columns up to date.
            want_table = want_table or r.table is not None
            r.doc, table = r.index.refresh(columns=want_table, seen=sig)
            if want_table:
                r.table = table
                r.table_sig = sig
            r.sig = sig
            r.read_at = time.monotonic()

    def index(self, ref: RunRef) -> RunIndex:
        """The run's index (its ``stats`` say what reading it cost)."""
        return self._run(ref).index

    def list_runs(self) -> list[dict]:
        docs = []
        for ref in self.discover():
            r = self._runs.get(ref)
            if r is None:
                continue
            try:
                # Listing 2,000 runs takes a few stat calls each: not more often than this.
                self._fresh(r, want_table=False, max_age_s=max(self.refresh_s, LIST_REFRESH_S))
            except RunDirError:
                continue  # a run folder removed or broken since it was listed
            assert r.doc is not None  # _fresh leaves the run's document
            docs.append(r.doc)
        return newest_first(docs)

    def run(self, ref: RunRef) -> dict:
        r = self._run(ref)
        self._fresh(r, want_table=False)
        assert r.doc is not None  # _fresh leaves the run's document
        return r.doc

    def table(self, ref: RunRef) -> IndexTable:
        r = self._run(ref)
        self._fresh(r, want_table=True)
        table = r.table
        assert table is not None  # _fresh(want_table=True) leaves a table
        with self._lock:
            self._tables[ref] = None
            self._tables.move_to_end(ref)
            while len(self._tables) > KEEP_TABLES:
                old, _ = self._tables.popitem(last=False)
                gone = self._runs.get(old)
                if gone is not None:
                    gone.table = None
                    gone.table_sig = None
                    if gone.index.in_memory():  # its columns were all in memory
                        gone.index = RunIndex(gone.path, gone.index.incarnation)
        return table

    def _from_table(self, ref: RunRef, answer):
        """``answer(table)``. A table whose provisional rows another process is writing over
        (``IndexStale``) is taken again from the index's newest head; one whose index turns out
        damaged is rebuilt, and asked again."""
        for attempt in range(STALE_TRIES + 1):
            table = self.table(ref)
            try:
                return answer(table)
            except IndexStale:
                if attempt == STALE_TRIES:
                    break
                self._forget(ref, table, damaged=False)
                time.sleep(0.002 * (attempt + 1))  # the other process is about to commit
            except IndexDamaged:
                break
        self._forget(ref, table, damaged=True)
        return answer(self.table(ref))

    def _forget(self, ref: RunRef, table: IndexTable, damaged: bool) -> None:
        r = self._run(ref)
        with r.lock:
            if damaged:
                r.index.damaged(table)
            else:
                r.index.stale(table)
            r.table = r.table_sig = r.sig = None

    def keys(self, ref: RunRef) -> dict:
        return self._from_table(ref, lambda t: table_keys(t))

    def series(self, ref, keys, x="_step", points=2000, lo=None, hi=None) -> dict[str, Series]:
        keys = list(keys)
        return self._from_table(ref, lambda t: table_series(t, ref, keys, x, points, lo, hi))

    def media(self, ref: RunRef, key: str, points: int | None = None) -> dict:
        return self._from_table(ref, lambda t: table_media(t, key, points))

    def rows(self, ref: RunRef, after: int = -1, limit: int = 10_000) -> list[dict]:
        r = self._run(ref)
        out = []
        rows: Iterator[dict] = RunView(r.path).rows()
        for row in rows:
            if row["_step"] > after:
                out.append(row)
                if len(out) >= limit:
                    break
        return out

    def open_file(self, ref: RunRef, path: str) -> str:
        return resolve_media(self._run(ref).path, path)
