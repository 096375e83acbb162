"""Replay: raw records in, history rows out, with exactly wandb's step and commit rules.

The rules themselves live in ``localrun.steps`` and are shared with the writer. Replay adds
the rows: it merges each call's data into the pending row and writes the row out when the
rules say so, stamping ``_step``, ``_runtime`` and ``_timestamp``. It also folds config,
summary, define_metric, metadata and the end state out of the same records.

The stamps win over logged values of the same keys (which ``log()`` refuses, but a run written
by an older localrun may hold), except a logged ``_timestamp`` that is a number: as in wandb,
that is the row's time (the last call merged into the row decides). ``_runtime`` is never
negative, whatever the records' times.

Replay holds one pending row and a summary, never the history: memory stays flat however many
rows a run has.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from typing import Any

from localrun.record import kinds
from localrun.steps import DROPPED, StepCounter

_NUMBER = (int, float)
_LOG = kinds.LOG


class Replay:
    """Feed it a run's records in order (segment by segment); it hands back rows."""

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
        self.dropped: list[dict] = []
        self.segments = 0
        self.state: str | None = None  # from the last segment: finished, failed, preempted
        self.signalled = False
        self.exit_code: int | None = None
        self.first_time: float | None = None
        self.last_time: float | None = None
        self._latest: dict[str, Any] = {}
        self._explicit: set[str] = set()
        self._aggregates: dict[str, dict] = {}
        self._metric_of: dict[str, dict | None] = {}
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

    def end_segment(self) -> list[dict]:
        """The writer ended (finish, crash, or simply the end of what is written so far)."""
        return self._close_pending()

    # --- records -------------------------------------------------------------------------------

    def feed_all(
        self, records: Iterable[tuple[int, list]], keep_rows: bool = True, data_only: bool = False
    ) -> Iterator[Any]:
        """``feed()`` each ``(offset, record)`` of a segment in turn, yielding the rows.

        The same rows as calling feed() in a loop. This runs once per record of a run, so the
        common record (a sound log record, as the reader checked it: a tuple; without step or
        commit=False, no row pending, no summary override or define_metric to account for) is
        applied inline; with
        ``keep_rows=False`` (for a caller that wants only what replay learns) its row is not
        even built, and only the rows of other records come out. With ``data_only``, such a
        record's row comes out as the logged dict itself, without ``_step``, ``_runtime`` and
        ``_timestamp`` (when it has none of the last two: for a caller that reads only a row's
        other keys, and must not change the dict); every other row comes out whole.
        """
        feed = self.feed
        counter = self.counter
        latest = self._latest
        # Whether the inline path may apply: only feed() changes that (and the segment's start
        # and runtime base), so it is worked out again after each feed() only.
        fast = (
            self.pending is None
            and not counter.pending
            and not self._explicit
            and not self.metrics
            and self._segment_start is not None
        )
        start = self._segment_start
        base = self._runtime_base
        for _, rec in records:
            # A tuple is a sound log record, its types checked by the reader, with no None
            # value in its data (a list is any record, checked by feed()). One that logged
            # _step or _timestamp goes through feed(), which stamps those.
            if fast and type(rec) is tuple:
                data = rec[3]
                if (
                    rec[4] is None
                    and rec[5] is not False
                    and "_step" not in data
                    and "_timestamp" not in data
                ):
                    t = rec[2]
                    self.last_time = self.pending_time = t
                    cur = counter.step
                    writer_step = rec[6]
                    if writer_step > cur:
                        cur = writer_step
                    counter.step = cur + 1
                    latest.update(data)
                    runtime = t - start
                    if runtime < 0.0:
                        runtime = 0.0  # a record from before its segment began (a clock set back)
                    runtime += base
                    self.rows += 1
                    self.last_step = cur
                    latest["_step"] = cur
                    latest["_runtime"] = runtime
                    latest["_timestamp"] = t
                    if keep_rows:
                        if data_only and "_runtime" not in data:
                            yield data
                        else:
                            yield {"_step": cur, **data, "_runtime": runtime, "_timestamp": t}
                    continue
            rows = feed(rec)
            fast = (
                self.pending is None
                and not counter.pending
                and not self._explicit
                and not self.metrics
                and self._segment_start is not None
            )
            start = self._segment_start
            base = self._runtime_base
            if rows:
                yield from rows

    def feed(self, rec: list) -> list[dict]:
        """Apply one record; return the rows it completes (zero, one or two)."""
        kind = rec[0]
        t = rec[2]
        if type(t) is float or type(t) is int:
            self.last_time = t
        if kind == _LOG:
            return self._log(rec)
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
        elif kind == kinds.SIGNAL:
            self.signalled = True
        elif kind == kinds.FINISH:
            rows = self._close_pending()
            self.exit_code = rec[3] if type(rec[3]) is int else None
            self.state = rec[4] if rec[4] in ("finished", "failed", "preempted") else "finished"
            return rows
        return []

    def _define_metric(self, name: str, spec: dict) -> None:
        """A later define_metric of the same name adds its summaries, as wandb does."""
        parts = spec.get("summary")
        if parts is not None and (
            type(parts) is not list
            or not all(type(p) is str and p in kinds.METRIC_SUMMARIES for p in parts)
        ):
            spec = {k: v for k, v in spec.items() if k != "summary"}  # not one define_metric writes
        old = self.metrics.get(name)
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

    def _log(self, rec: list) -> list[dict]:
        data, step, commit, writer_step = rec[3], rec[4], rec[5], rec[6]
        if type(data) is not dict:
            return []
        counter = self.counter
        if (
            step is None
            and (commit is None or commit)
            and self.pending is None
            and (type(writer_step) is not int or writer_step <= counter.step)
            and "_step" not in data
            and "_timestamp" not in data
        ):
            # The common call, log(data) with nothing pending, inline: exactly what the general
            # path below does (advance, merge into an empty row, write it at the current step),
            # without its intermediate dict and calls. A sixth of replay's time on plain runs.
            at = counter.step
            counter.step = at + 1
            counter.pending = False
            t = rec[2]
            if type(t) is not float and type(t) is not int:
                t = self._time_of(t)
            self.pending_time = t
            self._merge_summary(data)
            runtime = self._runtime(t)
            self.rows += 1
            self.last_step = at
            latest = self._latest
            latest["_step"] = at
            latest["_runtime"] = runtime
            latest["_timestamp"] = t
            return [{"_step": at, **data, "_runtime": runtime, "_timestamp": t}]
        rows = []
        if type(writer_step) is int and writer_step > counter.step:
            # A record before this one was lost to damage: the writer's own counter says
            # where it stood, so the rows after the loss keep their steps.
            rows.extend(self._close_pending())
            counter.step = writer_step
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
        t = rec[2]
        self.pending_time = t if type(t) is float or type(t) is int else self._time_of(t)
        self._merge_summary(data)
        if write_at is not None:
            rows.append(self._row(write_at))
        return rows

    def _time_of(self, t: Any) -> float:
        """A record's time that is not a number (a damaged or hand-made record): the last time
        seen instead, so its row still has one."""
        if self.last_time is not None:
            return self.last_time
        return self._segment_start if self._segment_start is not None else 0.0

    def _close_pending(self) -> list[dict]:
        at = self.counter.close()
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
            for k, v in data.items():
                if type(v) in _NUMBER and self._metric_for(k) is not None:
                    self._aggregate(k, v)

    def _summary(self, changes: Any, deleted: Any) -> None:
        if type(changes) is dict:
            self._latest.update(changes)
            self._explicit.update(changes)
        if type(deleted) is list:
            for k in deleted:
                if type(k) is str:
                    self._latest.pop(k, None)
                    self._explicit.discard(k)

    def _metric_for(self, key: str) -> dict | None:
        try:
            return self._metric_of[key]
        except KeyError:
            pass
        if type(key) is not str:
            return None
        spec = self.metrics.get(key)
        if spec is None:
            for pattern, s in self.metrics.items():
                if "*" in pattern and fnmatch.fnmatchcase(key, pattern):
                    spec = s
        self._metric_of[key] = spec
        return spec

    def _aggregate(self, key: str, v: float) -> None:
        agg = self._aggregates.get(key)
        if agg is None:
            self._aggregates[key] = {"min": v, "max": v, "sum": v, "count": 1, "first": v}
            return
        if v < agg["min"]:
            agg["min"] = v
        if v > agg["max"]:
            agg["max"] = v
        agg["sum"] += v
        agg["count"] += 1

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
        for k, v in self._latest.items():
            spec = self._metric_for(k) if self.metrics else None
            parts = spec.get("summary") if spec else None
            if not parts or k in self._explicit:
                out[k] = v
                continue
            if "none" in parts:
                continue
            if parts in (["last"], ["copy"]):
                out[k] = v
                continue
            agg = self._aggregates.get(k)
            value: dict[str, Any] = {}
            for p in parts:
                if p in ("last", "copy"):
                    value["last"] = v
                elif agg is None:
                    continue
                elif p == "mean":
                    value["mean"] = agg["sum"] / agg["count"]
                elif p == "best":
                    value["best"] = agg["max"] if spec.get("goal") == "maximize" else agg["min"]
                else:
                    value[p] = agg[p]
            out[k] = value
        return out
