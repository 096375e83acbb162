"""A run directory's index: its document and history columns, kept in ``<run>/index/``.

``RunIndex(path).refresh(columns)`` answers ``(document, table)`` for a run directory. The
first time, it replays the run (docs/format.md) into a ``ColumnStore`` in ``<run>/index/``
(``columns.py``); after that, and in any later process, it answers from there, and when the
segments have grown it reads only their new bytes: the head keeps, beside the columns, where
reading stopped in each segment and the replay's state at that point (``resume.py``). With
``columns=False`` (the runs page) only the document is kept, so listing many runs replays each
once, without building columns nobody looks at.

The index is a cache: deleting it loses nothing. It is used only while it matches the run:
the same incarnation (run.json), the same segment files (their first bytes and the bytes
before where reading stopped hash as they did), none shorter than what was read. Anything
else (a damaged head or column, a run folder replaced) rebuilds it from the segments. A run
whose folder cannot be written (a read-only filesystem) is indexed in memory instead.

The document's ``state`` is worked out again at each answer (a run stops ``running`` when its
writer's lock goes, without writing anything), and its ``path`` is the run's path as given.
"""

from __future__ import annotations

import errno
import itertools
import os
import threading
import zlib
from typing import Any

from localrun import rundir
from localrun.errors import CorruptRecordError, RunDirError
from localrun.record import kinds
from localrun.record.segment import SegmentReader
from localrun.sync import Replay, RunView

from .columns import ColumnStore, IndexDamaged, IndexTable, IndexUnwritable, pack, unpack
from .resume import replay_fingerprint, replay_state, restore_replay
from .table import step_metric_names

INDEX_DIR = "index"
_UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT)
STATE_VERSION = 1
_FP_HEAD = 4096  # bytes at a segment's start whose crc32 the index keeps
_FP_END = 256  # bytes before where reading stopped, likewise


def _fingerprint(path: str, end: int) -> list[int]:
    """crc32 of the segment's first bytes and of the bytes before ``end``."""
    lo = max(0, end - _FP_END)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            if end <= _FP_HEAD:  # a small segment: one read gives both
                data = os.pread(fd, end, 0)
                head, tail = data, data[lo:]
            else:
                head = os.pread(fd, _FP_HEAD, 0)
                tail = os.pread(fd, end - lo, lo)
        finally:
            os.close(fd)
    except OSError:
        return [-1, -1]
    return [zlib.crc32(head), zlib.crc32(tail)]


class RunIndex:
    """The index of one run directory. Thread-safe; any number of processes may share it."""

    def __init__(self, path: str, incarnation: str | None = None):
        self.path = os.fspath(path)
        self.store = ColumnStore(os.path.join(self.path, INDEX_DIR))
        #: What reading segments cost so far (a hook for tests and benchmarks): whole replays,
        #: resumed ones, and segment bytes read.
        self.stats = {"builds": 0, "resumes": 0, "bytes": 0}
        self._lock = threading.Lock()
        self._incarnation = incarnation  # the run's (run.json), read when first needed
        self._checked: dict | None = None  # the head last found to match the run
        self._bad: dict | None = None  # a head found damaged: not to be used again
        self._answered: tuple | None = None  # (head, live, doc, table)
        self._prefetched: str | None = None  # the generation whose columns were prefetched

    # --- answering ----------------------------------------------------------------------------

    @property
    def incarnation(self) -> str | None:
        return self._incarnation

    def refresh(
        self, columns: bool = True, seen: tuple | None = None
    ) -> tuple[dict, IndexTable | None]:
        """``(document, table)`` as of now; the table only with ``columns`` (else None).

        ``seen``: the run's signature just taken (``local.signature``: each segment's path and
        size, and whether a writer holds the lock), to save taking it again.
        """
        with self._lock:
            for _ in range(3):
                try:
                    return self._refresh(columns, seen)
                except IndexDamaged as exc:
                    self._bad = self._checked
                    self._checked = None
                    self._answered = None
                    last = exc
            raise last

    def damaged(self, table: IndexTable) -> None:
        """A table of this index turned out damaged (a column short or changed): rebuild."""
        with self._lock:
            self._bad = table.head
            self._checked = None
            self._answered = None

    def stale(self, table: IndexTable) -> None:
        """A table's provisional rows were written over by another process: take the newest
        head next time (it is about to be, or has been, committed)."""
        with self._lock:
            if self._answered is not None and self._answered[3] is table:
                self._answered = None

    def in_memory(self) -> bool:
        return self.store.in_memory

    def _refresh(self, columns: bool, seen: tuple | None) -> tuple[dict, IndexTable | None]:
        if seen is None:
            segments = rundir.segment_paths(self.path)
            sizes = [_size(p) for p in segments]
            live = None
        else:
            segments = [p for p, _ in seen[0]]
            sizes = [size for _, size in seen[0]]
            live = seen[1]
        head = self._usable(self._read_head(), segments, sizes)
        if head is None or not self._covers(head, segments, sizes, columns):
            head = self._update(columns)
            live = None
        return self._answer(head, columns, live)

    def _read_head(self) -> dict | None:
        try:
            return self.store.head()
        except IndexDamaged:
            return None

    def _usable(self, head: dict | None, segments: list[str], sizes: list[int]) -> dict | None:
        """``head`` if it matches the run (checked once per head), else None."""
        if head is None or head is self._bad:
            return None
        if head is self._checked:
            return head
        if not self._matches(head, segments, sizes):
            return None
        self._checked = head
        return head

    def _matches(self, head: dict, segments: list[str], sizes: list[int]) -> bool:
        state = head.get("state")
        if type(state) is not dict or state.get("v") != STATE_VERSION:
            return False
        try:
            if state.get("incarnation") != self._run_incarnation():
                return False
            seen = state["segments"]
            if len(seen) > len(segments):
                return False
            for i, (name, end, size, _started, fp) in enumerate(seen):
                if name != os.path.basename(segments[i]) or sizes[i] < size:
                    return False
                if i < len(seen) - 1 and sizes[i] != size:
                    return False  # a segment before the last never grows
                if fp != _fingerprint(segments[i], end):
                    return False
        except (KeyError, TypeError, ValueError):
            return False
        return True

    def _run_incarnation(self) -> str:
        if self._incarnation is None:
            self._incarnation = rundir.incarnation(rundir.read_run_json(self.path))
        return self._incarnation

    @staticmethod
    def _covers(head: dict, segments: list[str], sizes: list[int], columns: bool) -> bool:
        """Whether ``head`` holds all there is to read now."""
        state = head["state"]
        if columns and not state["columns"]:
            return False
        seen = state["segments"]
        return len(seen) == len(segments) and all(
            s[2] == size for s, size in zip(seen, sizes, strict=True)
        )

    def _answer(
        self, head: dict, columns: bool, live: bool | None = None
    ) -> tuple[dict, IndexTable | None]:
        state = head["state"]
        if live is None:
            live = rundir.is_locked(self.path)
        a = self._answered
        if a is not None and a[0] is head and a[1] == live and (a[3] is not None or not columns):
            return a[2], a[3]
        doc = dict(state["doc"])
        end_state = state["end_state"]
        if end_state is None:
            end_state = "running" if live else ("preempted" if state["signalled"] else "crashed")
        doc["state"] = end_state
        doc["path"] = self.path
        table = None
        if state["columns"]:
            table = a[3] if a is not None and a[0] is head and a[3] is not None else None
            if table is None and columns:
                table = self.store.table(head, step_metric_names(doc.get("metrics")))
                if self._prefetched != head["gen"]:  # columns this process has not checked
                    self._prefetched = head["gen"]
                    table.prefetch()
        self._answered = (head, live, doc, table)
        return doc, table

    # --- updating -----------------------------------------------------------------------------

    def _update(self, columns: bool) -> dict:
        try:
            with self.store.update() as up:
                segments = rundir.segment_paths(self.path)
                sizes = [_size(p) for p in segments]
                head = self._usable(up.head, segments, sizes)
                if head is not None and self._covers(head, segments, sizes, columns):
                    return head  # another process brought it up to date while we waited
                state = head["state"] if head is not None else None
                if (
                    state is not None
                    and state["replay"] is not None
                    and state["fields"] == replay_fingerprint()
                    and (state["columns"] or not columns)
                ):
                    up.resume()
                    new = self._read(up, segments, state, state["columns"])
                    self.stats["resumes"] += 1
                else:
                    up.reset()
                    new = self._read(up, segments, None, columns)
                    self.stats["builds"] += 1
                head = up.commit(new)
                self._checked = head
                return head
        except OSError as exc:
            if exc.errno not in _UNWRITABLE:
                raise IndexDamaged(f"cannot update the index of {self.path}: {exc}") from exc
            return self._in_memory(columns, exc)
        except IndexUnwritable as exc:
            return self._in_memory(columns, exc)

    def _in_memory(self, columns: bool, exc: Exception) -> dict:
        """A read-only run (or a full disk): keep its index in memory, for this process."""
        if self.store.in_memory:
            raise RunDirError(f"cannot read {self.path}: {exc}") from exc
        self.store = ColumnStore(None)
        self._checked = self._bad = self._answered = None
        return self._update(columns)

    def _read(self, up, segments: list[str], state: dict | None, columns: bool) -> dict:
        """Feed the segments' unread records to the replay (and its rows to ``up``); the state."""
        if state is None:
            replay = Replay()
            seen: list[list] = []
            damage: list[CorruptRecordError] = []
        else:
            replay = restore_replay(unpack(state["replay"]))
            seen = [list(s) for s in state["segments"]]
            damage = [
                CorruptRecordError(os.path.join(self.path, seg), offset, reason, size)
                for seg, offset, reason, size in state["damage"]
            ]
        last = len(segments) - 1
        started = False
        for i in range(max(0, len(seen) - 1), len(segments)):
            path = segments[i]
            if i < len(seen):
                _, start, _, started, _ = seen[i]
            else:
                start, started = 0, False
            part = SegmentReader(path, start)
            records: Any = iter(part)
            if not started:
                first = next(records, None)
                if first is not None:
                    rec = first[1]
                    header = rec[3] if rec[0] == kinds.START and type(rec[3]) is dict else None
                    replay.start_segment(header, rec[2] if type(rec[2]) in (int, float) else 0.0)
                    started = True
                    records = itertools.chain((first,), records)
            if started:
                rows = replay.feed_all(records, columns)
                if columns:
                    up.add(rows)
                else:
                    for _ in rows:
                        pass
            else:
                for _ in records:
                    pass
            self.stats["bytes"] += max(0, part.size_bytes - start)
            damage.extend(part.damage)
            entry = [
                os.path.basename(path),
                part.end,
                part.size_bytes,
                started,
                _fingerprint(path, part.end),
            ]
            if i < len(seen):
                seen[i] = entry
            else:
                seen.append(entry)
            if i < last and started:
                tail = replay.end_segment()
                if columns:
                    up.add(tail)
        try:
            saved = pack(replay_state(replay))
        except (TypeError, OverflowError, ValueError):
            saved = None  # a value msgpack cannot keep: the next change replays the run again
        tail = replay.end_segment() if started else []
        if columns:
            up.set_tail(tail)
        view = RunView(self.path)
        self._incarnation = rundir.incarnation(view.info)
        view.replay = replay
        view.damage = damage
        view._done = True  # what RunView's own replay would have left
        view._live = False
        doc = view.to_json()
        return {
            "v": STATE_VERSION,
            "incarnation": self._incarnation,
            "columns": columns,
            "segments": seen,
            "replay": saved,
            "fields": replay_fingerprint(),
            "damage": [
                [os.path.relpath(d.segment, self.path), d.offset, d.reason, d.size_bytes]
                for d in damage
            ],
            "doc": doc,
            "end_state": replay.state,
            "signalled": replay.signalled,
        }


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return -1
