"""Replay: records in; history rows, summary, dropped calls and the run's state out.

The one interpreter of records. ``show``, ``export``, ``verify``, ``sync`` and the viewer read
runs through it (``reader.RunView``); ``init(resume=...)`` learns from it where a run goes on;
a live run's ``run.summary`` is what it makes of the records the run wrote. wandb's step and
commit rules themselves live in ``localrun.steps``, shared with the writer (so what ``log()``
warned about is what replay drops). Replay adds the rows: it merges each call's data into the
pending row and writes the row out when the rules say so, stamping ``_step``, ``_runtime``
and ``_timestamp``. It also folds config, summary, define_metric, metadata and the end state
out of the same records.

The stamps win over logged values of the same keys (which ``log()`` refuses, but a run written
by an older localrun may hold), except a logged ``_timestamp`` that is a number: as in wandb,
that is the row's time (the last call merged into the row decides). ``_runtime`` is never
negative, whatever the records' times.

A record no recorder writes but an older or hand-made run can hold is applied as far as it
makes sense, and replay never raises on one; two kinds it cannot apply at all are skipped and
kept in ``skipped`` with the reason (readers report them like damaged records): a ``log()``
whose time is not a number, and a define_metric whose summary is not a list of aggregates.

Replay holds one pending row and a summary, never the history: memory stays flat however many
rows a run has.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from .metric import metric_path
from .record import kinds
from .steps import DROPPED, StepCounter

_NUMBER = (int, float)
_LOG = kinds.LOG
#: The keys replay stamps on every row, and so on the summary.
STAMPS = ("_step", "_runtime", "_timestamp")


class Replay:
    """Feed it a run's records in order (segment by segment); it hands back rows."""

    #: Attributes that are caches of others: a saved replay state leaves them out
    #: (viewer/resume.py), and they are rebuilt on demand.
    CACHES = ("_metric_of", "_index")

    def __init__(self) -> None:
        self.counter = StepCounter()
        self.pending: dict[str, Any] | None = None
        self.pending_time = 0.0
        self.rows = 0
        self.last_step: int | None = None
        self.config: dict[str, Any] = {}
        self.meta: dict[str, Any] = {}
        self.metrics: dict[str, dict] = {}
        self.charts: dict[str, dict] = {}
        #: Artifact versions the run logged and used, in order: ``{"action": "log"|"use",
        #: "time", "project", "name", "version", "type", "digest", "manifest", ...}``.
        self.artifacts: list[dict] = []
        #: ``run.alert()`` calls: ``{"title", "text", "level", "time"}`` each, in order.
        self.alerts: list[dict] = []
        self.dropped: list[dict] = []
        #: ``(offset, reason)`` of each record replay could not apply (offset None when the
        #: record came through ``feed()`` without one).
        self.skipped: list[tuple[int | None, str]] = []
        self.segments = 0
        self.state: str | None = None  # from the last segment: finished, failed, preempted
        self.signalled = False
        self.exit_code: int | None = None
        self.first_time: float | None = None
        self.last_time: float | None = None
        self._latest: dict[str, Any] = {}
        self._explicit: set[str] = set()
        self._aggregates: dict[str, dict] = {}  # by top-level key
        self._path_aggregates: dict[str, dict] = {}  # by path inside a value, "\0"-joined
        # step_sync: the last value of each step metric (wandb starts them at 0).
        self._step_values: dict[str, Any] = {}
        # Derived from ``metrics`` (CACHES): rebuilt on demand, not part of a saved state.
        self._metric_of: dict[Any, dict | None] = {}  # key or path -> its define_metric
        self._index: _MetricIndex | None = None
        self._runtime_base = 0.0
        self._segment_start: float | None = None

    # --- segments ------------------------------------------------------------------------------

    def start_segment(self, header: dict | None, time_s: float) -> None:
        """A new writer begins; ``header`` is its START record (None if that was damaged)."""
        if self._segment_start is not None and self.last_time is not None:
            self._runtime_base += max(0.0, self.last_time - self._segment_start)
        self._segment_start = time_s
        self.segments += 1
        self.state = None
        self.signalled = False
        self.exit_code = None
        if self.first_time is None:
            self.first_time = time_s
        if header:
            for key in ("project", "name", "tags", "group", "job_type", "notes", "entity"):
                if header.get(key) is not None:
                    self.meta[key] = header[key]
            start_step = header.get("start_step")
            if type(start_step) is int and start_step > self.counter.step:
                self.counter.step = start_step

    def begin(self, first: Sequence) -> None:
        """``start_segment()`` from a segment's first record, its START (or whatever a damaged
        segment begins with: then no header)."""
        header = first[3] if first[0] == kinds.START and type(first[3]) is dict else None
        t = first[2]
        self.start_segment(header, t if type(t) is float or type(t) is int else 0.0)

    def end_segment(self) -> list[dict]:
        """The writer ended (finish, crash, or simply the end of what is written so far)."""
        return self._write_pending(self.counter.close())

    # --- records -------------------------------------------------------------------------------

    def feed_all(
        self,
        records: Iterable[tuple[int, Sequence, bool]],
        keep_rows: bool = True,
        data_only: bool = False,
    ) -> Iterator[Any]:
        """``feed()`` each ``(offset, record, checked)`` of a segment in turn (what a
        ``SegmentReader`` yields), yielding the rows.

        The same rows as calling feed() in a loop. This runs once per record of a run, so the
        common record is applied inline: a ``log(data)`` record whose types the decoder checked
        (``checked``; see ``record.decode``), without step, ``commit=False``, ``_step`` or
        ``_timestamp``, when no row is pending. Its step comes from ``StepCounter.next()``, the
        rule's own common case. With ``keep_rows=False`` (for a caller that wants only what
        replay learns) its row is not even built, and only the rows of other records come out.
        With ``data_only``, such a record's row comes out as the logged dict itself, without
        ``_step``, ``_runtime`` and ``_timestamp`` (when it has none of the last two: for a
        caller that reads only a row's other keys, and must not change the dict); every other
        row comes out whole.
        """
        feed = self.feed
        counter = self.counter
        next_step = counter.next
        latest = self._latest
        # Whether the inline path may apply, and whether the summary needs more than the last
        # values: only feed() changes that (and the segment's start and runtime base), so it
        # is worked out again after each feed() only.
        fast = self.pending is None and not counter.pending and self._segment_start is not None
        plain_summary = not self._explicit and not self.metrics
        step_sync = bool(self.metrics) and self._metric_index().step_sync
        start = self._segment_start or 0.0
        base = self._runtime_base
        for offset, rec, checked in records:
            if fast and checked:
                data = rec[3]
                if (
                    rec[4] is None
                    and rec[5] is not False
                    and "_step" not in data
                    and "_timestamp" not in data
                ):
                    t = rec[2]
                    self.last_time = t  # (no row is pending: pending_time is not read)
                    if rec[6] > counter.step:
                        counter.catch_up(rec[6])  # nothing is pending: no row to write
                    at = next_step()
                    if plain_summary:
                        latest.update(data)
                    else:
                        self._merge_summary(data)
                    if step_sync:  # after the summary, as for a row written by _row()
                        data = self._with_steps(data)
                    runtime = t - start
                    if runtime < 0.0:
                        runtime = 0.0  # a record from before its segment began (a clock set back)
                    runtime += base
                    self.rows += 1
                    self.last_step = at
                    latest["_step"] = at
                    latest["_runtime"] = runtime
                    latest["_timestamp"] = t
                    if keep_rows:
                        if data_only and "_runtime" not in data:
                            yield data
                        else:
                            yield {"_step": at, **data, "_runtime": runtime, "_timestamp": t}
                    continue
            rows = feed(rec, offset)
            fast = self.pending is None and not counter.pending and self._segment_start is not None
            plain_summary = not self._explicit and not self.metrics
            step_sync = bool(self.metrics) and self._metric_index().step_sync
            start = self._segment_start or 0.0
            base = self._runtime_base
            if rows:
                yield from rows

    def feed(self, rec: Sequence, offset: int | None = None) -> list[dict]:
        """Apply one record (its fields in order: kind, seq, time...); return the rows it
        completes (zero, one or two). ``offset`` (its place in its segment) goes with it
        into ``skipped`` if it cannot be applied."""
        kind = rec[0]
        t = rec[2]
        number = type(t) is float or type(t) is int
        if kind == _LOG:
            if not number:
                self.skipped.append((offset, f"its time is {_short(t)}, not a number"))
                return []
            self.last_time = t
            return self._log(rec)
        if kind == kinds.METRIC and type(rec[3]) is str and type(rec[4]) is dict:
            problem = _metric_problem(rec[3], rec[4])
            if problem is not None:
                self.skipped.append((offset, problem))
                return []
        if number:
            self.last_time = t
        if kind == kinds.START:
            return []  # handled by start_segment
        if kind == kinds.CONFIG:
            if type(rec[3]) is dict:
                self.config.update(rec[3])
        elif kind == kinds.SUMMARY:
            self._summary(rec[3], rec[4])
        elif kind == kinds.METRIC:
            if type(rec[3]) is str and type(rec[4]) is dict:
                self._define_metric(rec[3], rec[4])
        elif kind == kinds.META:
            if type(rec[3]) is dict:
                self.meta.update(rec[3])
        elif kind == kinds.CHART:
            if type(rec[3]) is str and type(rec[4]) is dict:
                self.charts[rec[3]] = rec[4]
        elif kind == kinds.ARTIFACT:
            if rec[3] in ("log", "use") and type(rec[4]) is dict:
                self.artifacts.append({"action": rec[3], "time": t, **rec[4]})
        elif kind == kinds.ALERT:
            self.alerts.append(
                {"title": rec[3], "text": rec[4], "level": rec[5], "time": t if number else None}
            )
        elif kind == kinds.SIGNAL:
            self.signalled = True
        elif kind == kinds.FINISH:
            rows = self.end_segment()
            next_step = rec[5]
            if type(next_step) is int and next_step > self.counter.step:
                self.counter.catch_up(next_step)  # log records lost before it: go on after them
            self.exit_code = rec[3] if type(rec[3]) is int else None
            self.state = rec[4] if rec[4] in ("finished", "failed", "preempted") else "finished"
            return rows
        return []

    def _define_metric(self, name: str, spec: dict) -> None:
        """A later define_metric of the same name adds its summaries, as wandb does (unless it
        says ``overwrite``: then it replaces the earlier one)."""
        old = None if spec.get("overwrite") is True else self.metrics.get(name)
        if (
            old is not None
            and type(old.get("summary")) is list
            and type(spec.get("summary")) is list
        ):
            spec = {
                **old,
                **spec,
                "summary": old["summary"] + [p for p in spec["summary"] if p not in old["summary"]],
            }
        elif old is not None:
            spec = {**old, **spec}
        self.metrics[name] = spec
        self._metric_of.clear()
        self._index = None
        step_metric = spec.get("step_metric")
        if type(step_metric) is str and step_metric:
            self._step_values.setdefault(step_metric, 0)

    def _metric_index(self) -> _MetricIndex:
        index = self._index
        if index is None:
            self._index = index = _MetricIndex(self.metrics)
        return index

    def _log(self, rec: Sequence) -> list[dict]:
        data, step, commit, writer_step = rec[3], rec[4], rec[5], rec[6]
        if type(data) is not dict:
            return []
        counter = self.counter
        rows = []
        if type(writer_step) is int and writer_step > counter.step:
            rows.extend(self._write_pending(counter.catch_up(writer_step)))
        if step is not None and type(step) is not int:
            step = None
        result = counter.advance(step, commit)
        if result is DROPPED:
            self.dropped.append({"step": step, "current_step": counter.step, "keys": list(data)})
            return rows
        flush_at, write_at = result
        if flush_at is not None and self.pending is not None:
            rows.append(self._row(flush_at))
        pending = self.pending
        if pending is None:
            self.pending = pending = {}
        elif "_timestamp" in pending and "_timestamp" not in data:
            del pending["_timestamp"]  # the row's time is the last call's, as in wandb
        pending.update(data)
        self.pending_time = rec[2]
        self._merge_summary(data)
        if write_at is not None:
            rows.append(self._row(write_at))
        return rows

    def _write_pending(self, at: int | None) -> list[dict]:
        """The pending row written at step ``at`` (from the counter), if there is one."""
        if at is None or self.pending is None:
            self.pending = None
            return []
        return [self._row(at)]

    def _runtime(self, t: float) -> float:
        start = self._segment_start
        runtime = t - start if start is not None else 0.0
        return self._runtime_base + (runtime if runtime > 0.0 else 0.0)

    def _row(self, step: int) -> dict:
        data = self.pending or {}
        self.pending = None
        if self.metrics and self._metric_index().step_sync:
            data = self._with_steps(data)
        t = self.pending_time
        runtime = self._runtime(t)
        row = {"_step": step, **data, "_runtime": runtime, "_timestamp": t}
        if "_step" in data:
            row["_step"] = step  # the stamped step wins (the key stays first)
        if "_timestamp" in data:
            logged = data["_timestamp"]
            if type(logged) is float or type(logged) is int:
                row["_timestamp"] = t = logged  # a logged time is the row's time, as in wandb
        self.rows += 1
        self.last_step = step
        latest = self._latest
        latest["_step"] = step
        latest["_runtime"] = runtime
        latest["_timestamp"] = t
        return row

    # --- summary -------------------------------------------------------------------------------

    def _merge_summary(self, data: dict) -> None:
        latest = self._latest
        if None in data.values():
            for k, v in data.items():
                if v is not None:
                    latest[k] = v
        else:
            latest.update(data)
        if self._explicit:
            self._explicit.difference_update(data)
        if self.metrics:
            nested = self._metric_index().nested
            for k, v in data.items():
                t = type(v)
                if t in _NUMBER:
                    if self._metric_for(k) is not None:
                        _aggregate(self._aggregates, k, v)
                elif t is dict and nested and "_type" not in v:
                    self._aggregate_inside((k,), v)

    def _aggregate_inside(self, path: tuple, value: dict) -> None:
        """Aggregate the numbers inside a logged dict that a define_metric names by path."""
        for k, v in value.items():
            if type(k) is not str:
                continue
            t = type(v)
            if t in _NUMBER:
                at = (*path, k)
                if self._metric_for(at) is not None:
                    _aggregate(self._path_aggregates, "\0".join(at), v)
            elif t is dict and "_type" not in v:
                self._aggregate_inside((*path, k), v)

    def _summary(self, changes: Any, deleted: Any) -> None:
        if type(changes) is dict:
            self._latest.update(changes)
            self._explicit.update(changes)
        if type(deleted) is list:
            for k in deleted:
                if type(k) is str:
                    self._latest.pop(k, None)
                    self._explicit.discard(k)

    def _metric_for(self, key: Any) -> dict | None:
        """The define_metric that applies to a top-level key (a str) or to a path inside a
        logged value (a tuple of keys): the one of that name, else the last prefix (``*``) it
        starts with (keys starting with ``_`` match no prefix, as in wandb)."""
        try:
            return self._metric_of[key]
        except KeyError:
            pass
        if type(key) is str:
            path = (key,)
        elif type(key) is tuple and all(type(part) is str for part in key):
            path, key = key, key
        else:  # a key a damaged or hand-made record holds (None, a tuple of odd keys...)
            return None
        index = self._metric_index()
        spec = index.exact.get(path)
        if spec is None:
            joined = path[0] if len(path) == 1 else ".".join(path)
            if not joined.startswith("_"):
                for prefix, s in index.prefixes:
                    if joined.startswith(prefix):
                        spec = s
            if spec is None and len(path) == 1:  # a pattern an older localrun accepted
                for pattern, s in self.metrics.items():
                    if "*" in pattern[:-1] and fnmatch.fnmatchcase(joined, pattern):
                        spec = s
        self._metric_of[key] = spec
        return spec

    def _with_steps(self, row: dict) -> dict:
        """``row`` with the step metric of each metric defined with ``step_sync`` filled in
        where the row lacks it, with that step metric's last value (0 before any), as wandb's
        backend does; ``row`` itself when nothing is missing (it is never changed)."""
        values = self._step_values
        for name in values:
            v = row.get(name) if "." not in name else _at_path(row, metric_path(name))
            if type(v) in _NUMBER:
                values[name] = v
        synced = self._metric_index().synced
        missing: dict[str, Any] | None = None
        for k, v in row.items():
            step = synced.get(k, _UNKNOWN)
            if step is _UNKNOWN:
                step = self._synced_step(k, v)
            if step is None or (missing is not None and step in missing):
                continue
            here = row.get(step) if "." not in step else _at_path(row, metric_path(step))
            if here is None:
                if missing is None:
                    missing = {}
                missing[step] = values.get(step, 0)
        if not missing:
            return row
        row = dict(row)
        latest = self._latest
        for name, value in missing.items():
            path = metric_path(name)
            if len(path) == 1:
                row[name] = value
                if name not in latest:
                    latest[name] = value
            else:
                _set_path(row, path, value)
        return row

    def _synced_step(self, key: Any, value: Any) -> str | None:
        """The step metric to fill in for a row's ``key`` (None if none); remembered for a
        key whose answer does not depend on its value (all but a dict's)."""
        if type(key) is not str:
            return None
        spec = self._metric_for(key)
        index = self._metric_index()
        inside = spec is None and type(value) is dict and index.nested and "_type" not in value
        if inside:
            spec = self._first_synced((key,), value)
        name = (
            spec.get("step_metric") if spec is not None and spec.get("step_sync") is True else None
        )
        name = name if type(name) is str and name else None
        if not inside:
            index.synced[key] = name
        return name

    def _first_synced(self, path: tuple, value: dict) -> dict | None:
        """The first metric with ``step_sync`` that applies to a number inside ``value``."""
        for k, v in value.items():
            if type(k) is not str:
                continue
            if type(v) is dict and "_type" not in v:
                spec = self._first_synced((*path, k), v)
            else:
                spec = self._metric_for((*path, k))
            if spec is not None and spec.get("step_sync") is True:
                return spec
        return None

    @property
    def explicit(self) -> frozenset[str]:
        """The summary keys set by ``summary[k] = v`` and not logged since."""
        return frozenset(self._explicit)

    @property
    def runtime(self) -> float | None:
        """Seconds the run has been written, over all its segments."""
        if self._segment_start is None or self.last_time is None:
            return None
        return self._runtime_base + max(0.0, self.last_time - self._segment_start)

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary: last logged values, explicit sets, define_metric aggregates."""
        out: dict[str, Any] = {}
        metrics = self.metrics
        nested = bool(metrics) and self._metric_index().nested
        for k, v in self._latest.items():
            if not metrics or k in self._explicit:
                out[k] = v
                continue
            if nested and type(v) is dict and "_type" not in v:
                spec = self._metric_for(k)
                if not (spec and "none" in (spec.get("summary") or ())):
                    out[k] = self._summary_inside((k,), v)
                continue
            value = self._summarised(k, v)
            if value is not _LEFT_OUT:
                out[k] = value
        return out

    def _summarised(self, key: Any, v: Any) -> Any:
        """What the summary shows for ``key`` (a top-level key or a path) whose last value is
        ``v``: ``v``, a dict of its define_metric aggregates, or _LEFT_OUT (``summary="none"``)."""
        spec = self._metric_for(key)
        if not spec:
            return v
        parts = spec.get("summary")
        if not parts:
            return v
        if "none" in parts:
            return _LEFT_OUT
        if "copy" in parts:  # as wandb's: copy adds nothing; alone, the value as logged
            parts = [p for p in parts if p != "copy"]
            if not parts:
                return v
        if type(key) is str:
            agg = self._aggregates.get(key)
        else:
            agg = self._path_aggregates.get("\0".join(key))
        value: dict[str, Any] = {}
        for p in parts:
            if p == "last":
                value["last"] = v
            elif agg is None:
                continue
            elif p == "mean":
                value["mean"] = agg["sum"] / agg["count"]
            elif p == "best":
                value["best"] = agg["max"] if spec.get("goal") == "maximize" else agg["min"]
            else:
                value[p] = agg[p]
        return value

    def _summary_inside(self, path: tuple, value: dict) -> dict:
        """A logged dict in the summary, with define_metric aggregates at the paths named."""
        out: dict[str, Any] = {}
        for k, v in value.items():
            at = (*path, k)
            if type(v) is dict and "_type" not in v:
                out[k] = self._summary_inside(at, v)
                continue
            shown = self._summarised(at, v) if type(k) is str else v
            if shown is not _LEFT_OUT:
                out[k] = shown
        return out


class _MetricIndex:
    """The define_metric names as wandb reads them (``metric.metric_path``): a name ending in
    ``*`` is a prefix, any other the path of keys it names. Derived from ``Replay.metrics``."""

    __slots__ = ("exact", "prefixes", "nested", "step_sync", "synced")

    def __init__(self, metrics: dict[str, dict]):
        self.exact: dict[tuple, dict] = {}
        self.prefixes: list[tuple[str, dict]] = []
        self.nested = False  # a metric may apply inside a logged dict
        self.step_sync = False  # some metric has its step metric filled in
        self.synced: dict[str, str | None] = {}  # key -> the step metric filled in for it
        for name, spec in metrics.items():
            if name.endswith("*"):
                self.prefixes.append((name[:-1], spec))
                self.nested = True
            else:
                path = metric_path(name)
                self.exact[path] = spec
                self.nested = self.nested or len(path) > 1
            step_metric = spec.get("step_metric")
            if spec.get("step_sync") is True and type(step_metric) is str and step_metric:
                self.step_sync = True


def _aggregate(aggregates: dict[str, dict], key: str, v: float) -> None:
    agg = aggregates.get(key)
    if agg is None:
        aggregates[key] = {"min": v, "max": v, "sum": v, "count": 1, "first": v}
        return
    if v < agg["min"]:
        agg["min"] = v
    if v > agg["max"]:
        agg["max"] = v
    agg["sum"] += v
    agg["count"] += 1


_LEFT_OUT = object()  # a summary value define_metric(summary="none") leaves out


class _Unknown(enum.Enum):
    """A key ``_MetricIndex.synced`` has no answer for yet (an enum: a sentinel mypy narrows)."""

    KEY = 0


_UNKNOWN: Final = _Unknown.KEY


def _at_path(d: dict, path: tuple) -> Any:
    """The value at ``path`` inside nested dicts, or None."""
    value: Any = d
    for k in path:
        if type(value) is not dict:
            return None
        value = value.get(k)
    return value


def _set_path(d: dict, path: tuple, value: Any) -> None:
    """Set ``value`` at ``path`` in ``d`` (a fresh dict), copying the dicts on the way."""
    for k in path[:-1]:
        inner = d.get(k)
        inner = dict(inner) if type(inner) is dict else {}
        d[k] = inner
        d = inner
    d[path[-1]] = value


def _metric_problem(name: str, spec: dict) -> str | None:
    """Why a define_metric record cannot be applied (its summary is not a list of the
    aggregates define_metric writes), or None."""
    parts = spec.get("summary")
    if parts is not None and (
        type(parts) is not list
        or not all(type(p) is str and p in kinds.METRIC_SUMMARIES for p in parts)
    ):
        return (
            f"define_metric({name!r}) has summary {_short(parts)}, not a list of "
            f"{', '.join(sorted(kinds.METRIC_SUMMARIES))}"
        )
    return None


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # too deep for repr
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."
