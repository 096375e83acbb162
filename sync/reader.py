"""Reading run directories back: find runs, read their segments, replay them.

``RunView(path).rows()`` streams a run's history rows; once it is exhausted (or after
``scan()``), the view knows the run's config, summary, state, dropped calls and damage.
A run being written can be read at any time: each segment is read as it was when reading
began, so what comes out is a consistent prefix.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

from localrun import rundir
from localrun.errors import CorruptRecordError, RunDirError
from localrun.record import kinds
from localrun.record.segment import SegmentReader

from .replay import Replay

STATES = ("running", "finished", "failed", "preempted", "crashed")


class _GuardedReplay(Replay):
    """Replay that costs a record it cannot apply only that record.

    The recorder writes only records replay can apply, but a run written by an older version,
    or by hand, may hold one that is not: a ``log()`` whose time is not a number, a
    define_metric spec whose summary is not a list of aggregates, a summary deleting a key
    that is a list. Such a record is skipped and kept in ``failed`` with the reason, and the
    reader reports it with the damaged ones. Sound log records (tuples, their types checked
    by the reader) take replay's inline path and never come through here.
    """

    def __init__(self) -> None:
        super().__init__()
        self.failed: list[tuple[Any, str]] = []  # (record, reason); record None: no record

    def feed(self, rec: list) -> list[dict]:
        kind = rec[0]
        if kind == kinds.LOG:
            t = rec[2]
            if type(t) is not float and type(t) is not int:
                self.failed.append((rec, f"its time is {_short(t)}, not a number"))
                return []
        elif kind == kinds.METRIC:
            problem = _metric_problem(rec)
            if problem is not None:
                self.failed.append((rec, problem))
                return []
        try:
            return super().feed(rec)
        except Exception as exc:  # whatever else a hand-written record holds: it alone is lost
            self.failed.append((rec, f"replay cannot apply it ({type(exc).__name__}: {exc})"))
            return []

    def end_segment(self) -> list[dict]:
        try:
            return super().end_segment()
        except Exception as exc:
            self.failed.append((None, f"the segment's last row cannot be made ({exc})"))
            self.pending = None
            return []

    @property
    def summary(self) -> dict[str, Any]:
        try:
            return super().summary
        except Exception:  # a metric spec replay cannot aggregate: last values, as without one
            metrics, self.metrics = self.metrics, {}
            try:
                return super().summary
            finally:
                self.metrics = metrics


def _metric_problem(rec: list) -> str | None:
    """Why a define_metric record cannot be applied, or None."""
    spec = rec[4]
    if type(rec[3]) is not str or type(spec) is not dict:
        return None  # replay ignores it
    parts = spec.get("summary")
    if parts is not None and (
        type(parts) is not list
        or not all(type(p) is str and p in kinds.METRIC_SUMMARIES for p in parts)
    ):
        return f"define_metric({rec[3]!r}) has summary {_short(parts)}, not a list of {', '.join(sorted(kinds.METRIC_SUMMARIES))}"
    return None


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # too deep for repr
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _same(a: Any, b: Any) -> bool:
    """Whether two decodings of a record are the same record (NaN and all)."""
    try:
        return a == b or repr(a) == repr(b)
    except RecursionError:
        return False


def _offset(d: CorruptRecordError) -> int:
    return d.offset


def _locate(segment: str, failed: list[tuple[Any, str]]) -> list[CorruptRecordError]:
    """The failed records of ``segment`` as damage, each at its byte offset (read again to
    find it: this happens only for records replay could not apply)."""
    out = []
    todo = [(rec, reason) for rec, reason in failed if rec is not None]
    if todo:
        reader = SegmentReader(segment)
        for offset, rec in reader:
            for i, (want, reason) in enumerate(todo):
                if rec[:2] == want[:2] and _same(rec, want):
                    out.append(CorruptRecordError(segment, offset, reason))
                    del todo[i]
                    break
            if not todo:
                break
    size = os.path.getsize(segment) if os.path.exists(segment) else 0
    for rec, reason in failed:
        if rec is None or any(rec is w for w, _ in todo):
            out.append(CorruptRecordError(segment, size, reason))
    return out


def find_runs(path: str) -> list[str]:
    """The run directories at ``path``: itself if it is one, else those directly beneath it.

    Raises RunDirError with a hint when there are none.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        hint = ""
        if (
            os.path.isdir(os.path.join(os.path.dirname(path) or ".", rundir.DEFAULT_ROOT))
            and path != rundir.DEFAULT_ROOT
        ):
            hint = (
                f" Did you mean {os.path.join(os.path.dirname(path) or '.', rundir.DEFAULT_ROOT)}?"
            )
        raise RunDirError(
            f"{path} does not exist.{hint} Runs are stored in ./runs unless init(dir=...) or $LOCALRUN_DIR says otherwise"
        )
    if rundir.is_run_dir(path):
        return [path]
    if not os.path.isdir(path):
        raise RunDirError(f"{path} is a file, not a localrun run directory or a folder of runs")
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        raise RunDirError(f"cannot list {path}: {exc.strerror or exc}") from exc
    runs = [e.path for e in entries if e.is_dir() and rundir.is_run_dir(e.path)]
    if not runs:
        nested = os.path.join(path, rundir.DEFAULT_ROOT)
        hint = f" Did you mean {nested}?" if os.path.isdir(nested) else ""
        raise RunDirError(f"{path} is not a localrun run directory and holds no runs.{hint}")
    return runs


#: A run's document (``RunView.to_json()``) before anything is known: its keys, in order, with
#: the value each holds then. A server lists a run whose document has not arrived yet with
#: only a few of them (``RemoteRunView`` fills in the rest from here).
EMPTY_DOC: dict[str, Any] = {
    "id": None,
    "project": None,
    "name": None,
    "state": None,
    "path": None,
    "config": {},
    "summary": {},
    "rows": 0,
    "last_step": None,
    "dropped": [],
    "tags": [],
    "group": None,
    "job_type": None,
    "notes": None,
    "created_at": None,
    "updated_at": None,
    "runtime": None,
    "exit_code": None,
    "segments": 0,
    "metrics": {},
    "charts": {},
    "damaged": [],
}


def run_id(path: str, info: dict) -> str:
    """A run's id: run.json's, or (when that is missing or not a string) its folder's name."""
    rid = info.get("id")
    return rid if type(rid) is str and rid else os.path.basename(os.path.normpath(path))


class RunView:
    """One run directory, read back."""

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self.info = rundir.read_run_json(self.path)
        self.id: str = run_id(self.path, self.info)
        self.replay = _GuardedReplay()
        self.damage: list[CorruptRecordError] = []
        self.torn_tails = 0
        self.size_bytes = 0
        self.held_back: list[dict] = []  # see rows(final_only=True)
        self._done = False

    def rows(self, final_only: bool = False) -> Iterator[dict]:
        """Stream the history rows, in step order. Read once per view.

        Replay writes out the pending row at the end of every segment, as it must for a writer
        that finished or died. A live writer's pending row is not final yet: its next call can
        still merge keys into it (``commit=False``, ``step=``). With ``final_only``, that row is
        not yielded but kept in ``held_back``, so sync never sends a row that could still change.
        """
        yield from self._replayed(True, final_only)

    def logged(self) -> Iterator[dict]:
        """``rows()``, except that a plain ``log(data)`` row may come out as ``data`` itself.

        For a reader of the rows' own keys only (``localrun show``): every key of a row but
        ``_step``, ``_runtime`` and ``_timestamp`` is there with the row's value, in the row's
        order, and building a million rows is saved. The dicts must not be changed.
        """
        yield from self._replayed(True, False, data_only=True)

    def scan(self) -> RunView:
        """Replay the whole run without keeping rows; returns self."""
        for _ in self._replayed(False, False):
            pass
        return self

    def _replayed(
        self, keep_rows: bool, final_only: bool, data_only: bool = False
    ) -> Iterator[Any]:
        if self._done:
            raise RunDirError(
                f"the rows of {self.path} were already read; make a new RunView to read them again"
            )
        self._done = True
        replay = self.replay
        live = rundir.is_locked(self.path)
        segments = rundir.segment_paths(self.path)
        last = len(segments) - 1
        for i, seg in enumerate(segments):
            reader = SegmentReader(seg)
            records = iter(reader)
            first = next(records, None)
            if first is not None:
                rec = first[1]
                header = rec[3] if rec[0] == kinds.START and type(rec[3]) is dict else None
                replay.start_segment(header, rec[2] if type(rec[2]) in (int, float) else 0.0)
                yield from replay.feed_all(itertools.chain((first,), records), keep_rows, data_only)
            damage = reader.damage
            self.size_bytes += reader.size_bytes
            if reader.tail is not None:
                self.torn_tails += 1
            if first is not None:
                tail = replay.end_segment()
                if final_only and tail and i == last and (live or rundir.is_locked(self.path)):
                    live = True
                    self.held_back = tail
                else:
                    yield from tail
            if replay.failed:  # records replay could not apply: damage too, in file order
                damage = sorted(damage + _locate(seg, replay.failed), key=_offset)
                replay.failed.clear()
            self.damage.extend(damage)
        self._live = live

    # --- what replay learned -------------------------------------------------------------------

    def _ensure(self) -> None:
        if not self._done:
            self.scan()

    @property
    def state(self) -> str:
        self._ensure()
        r = self.replay
        if r.state is not None:
            return r.state
        if self._live:
            return "running"
        return "preempted" if r.signalled else "crashed"

    @property
    def project(self) -> str | None:
        self._ensure()
        return self.replay.meta.get("project", self.info.get("project"))

    @property
    def name(self) -> str | None:
        self._ensure()
        return self.replay.meta.get("name", self.info.get("name"))

    def to_json(self) -> dict[str, Any]:
        """The object ``localrun show RUN --json`` prints (see docs/cli.md)."""
        self._ensure()
        r = self.replay
        return {
            "id": self.id,
            "project": self.project,
            "name": self.name,
            "state": self.state,
            "path": self.path,
            "config": r.config,
            "summary": r.summary,
            "rows": r.rows,
            "last_step": r.last_step,
            "dropped": r.dropped,
            "tags": r.meta.get("tags") or [],
            "group": r.meta.get("group"),
            "job_type": r.meta.get("job_type"),
            "notes": r.meta.get("notes"),
            "created_at": self.info.get("created_at"),
            "updated_at": r.last_time,
            "runtime": r.runtime,
            "exit_code": r.exit_code,
            "segments": r.segments,
            "metrics": r.metrics,
            "charts": r.charts,
            "damaged": [
                {
                    "segment": os.path.relpath(d.segment, self.path),
                    "offset": d.offset,
                    "reason": d.reason,
                }
                for d in self.damage
            ],
        }
