"""Run, Config and Summary: the objects a training script holds.

``Run.log`` is the hot path. It reaches the file in three steps: check the keys, pack one
msgpack record, ``os.write`` it (``SegmentWriter.append``). A record whose values are all plain
(str, int, float, bool, None: exact types) and whose keys are none of the reserved ones
(``contract.RESERVED_KEYS``) is packed by msgspec, to the bytes msgpack packs; any other is first
made plain by ``values.normalize``, which refuses what the value contract (contract.py) does
not allow, then packed by msgpack with no hook. Either way a record over
``contract.MAX_RECORD_BYTES`` is refused before anything is written. Everything else a run
knows (rows, summary, state) is derived from the records by replay, so ``log()`` keeps no
history in memory.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import msgpack

from . import contract, terminal
from .blobs import BlobStore
from .clock import ELAPSED_CLOCK, Clock
from .clock import read as _read_clock
from .errors import StepError, UsageError, ValueTypeError
from .record import kinds
from .record.frame import HEADER_SIZE, MAGIC, scan
from .record.segment import SegmentWriter
from .rundir import Lock
from .steps import BACKWARDS_WARNING, StepCounter
from .values import check_keys, config_value, is_plain, normalize, plain_log_data, short

_MAX_STEP_WARNINGS = 20
_LOG = kinds.LOG
#: The exact types (no subclasses) that msgspec and msgpack pack alike, to the same bytes. msgspec
#: packs more types than msgpack does (datetime, Enum, dataclasses, sets, ...), and differently
#: from what values.normalize makes of them, so only a log() call whose values are all of these
#: types takes msgspec; every other call is made plain by normalize and packed by msgpack.
_PLAIN = frozenset({str, int, float, bool, type(None)})
_MAX_RECORD_BYTES = contract.MAX_RECORD_BYTES
_COUNTED_ABOVE_BYTES = contract.COUNTED_ABOVE_BYTES
_SUMMARY_AGGREGATES = kinds.METRIC_SUMMARIES


class Run:
    """One run being recorded. Made by ``localrun.init()``; see its docstring for arguments."""

    def __init__(
        self,
        *,
        path: str,
        root: str,
        run_id: str,
        project: str,
        name: str,
        meta: dict,
        writer: SegmentWriter,
        lock: Lock,
        steps: StepCounter,
        strict_steps: bool,
        quiet: bool,
        resumed: bool,
        clock: Clock | None = None,
    ):
        self._path = path
        self._root = root
        self._id = run_id
        self._project = project
        self._name = name
        self._meta = meta
        self._writer: SegmentWriter | None = writer
        self._run_lock = lock
        self._steps = steps
        self._strict = strict_steps
        self._quiet = quiet
        self.resumed = resumed
        self._seqs = itertools.count(1)  # START is 0; next() is atomic, so ids stay unique
        # Re-entrant: a signal handler may log while this thread is inside log().
        self._lock = threading.RLock()
        self._store = BlobStore(path, sync_later=True)
        writer.before_sync = (
            self._store.sync
        )  # media files reach the disk before the records naming them
        # No ``default`` hook: what it packs is plain already (values.normalize), so packing
        # runs no Python code, and a signal handler cannot log in the middle of a record.
        self._packer = msgpack.Packer()
        self._clock = clock = clock or Clock()
        self._clock_offset = clock.offset_s
        # msgspec packs a record of _PLAIN values 2-3x faster than msgpack, to the same bytes;
        # imported here, not at module level, to keep ``import localrun`` cheap.
        import msgspec.msgpack

        self._encode_plain = msgspec.msgpack.Encoder().encode
        self._latest: dict[str, Any] = {}  # the summary view; see _summary_view()
        self._segment_path = writer.path
        self._folded_bytes = len(MAGIC)
        self._step_warnings = 0
        self._signalled = False
        self._closed_reason = "finished"
        self._start_time = clock.start_s
        self.config = Config(self)
        self.summary = Summary(self)

    # --- identity ------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        name = str(value)
        self._append_meta({"name": name})
        self._name = name

    @property
    def project(self) -> str:
        return self._project

    @property
    def dir(self) -> str:
        """The run's directory on disk."""
        return self._path

    @property
    def path(self) -> str:
        return self._path

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self._meta.get("tags") or ())

    @tags.setter
    def tags(self, value) -> None:
        tags = [str(t) for t in value]
        self._append_meta({"tags": tags})
        self._meta["tags"] = tags

    @property
    def notes(self) -> str | None:
        return self._meta.get("notes")

    @notes.setter
    def notes(self, value: str | None) -> None:
        value = check_notes(value)
        self._append_meta({"notes": value})
        self._meta["notes"] = value

    @property
    def group(self) -> str | None:
        return self._meta.get("group")

    @property
    def job_type(self) -> str | None:
        return self._meta.get("job_type")

    @property
    def entity(self) -> str | None:
        return self._meta.get("entity")

    @property
    def step(self) -> int:
        """The step the next ``log()`` without ``step=`` writes to."""
        return self._steps.step

    @property
    def start_time(self) -> float:
        return self._start_time

    @property
    def finished(self) -> bool:
        return self._writer is None

    def __repr__(self) -> str:
        return f"<localrun.Run {self._id} project={self._project!r} name={self._name!r} dir={self._path!r}>"

    # --- logging -------------------------------------------------------------------------------

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None:
        """Record ``data`` for a step; see docs/format.md for the step and commit rules.

        The record is in the OS when this returns: it survives ``kill -9`` of the process.
        A call the value contract refuses (docs/format.md, "Values") raises a
        ``localrun.Error`` naming the key, writes nothing and leaves the step where it was.
        """
        lock = self._lock
        lock.acquire()  # not ``with``: acquire and release in try/finally cost less, alike otherwise
        try:
            writer = self._writer
            if writer is None:
                raise self._closed_error("log")
            if data.__class__ is not dict:
                data = _as_dict(data)
            plain_types = _PLAIN
            plain = commit.__class__ in plain_types  # and step is None or an int
            for k, v in data.items():
                if k.__class__ is not str:
                    check_keys(data)
                    plain = False
                elif (
                    v.__class__ is not float and v.__class__ not in plain_types
                ):  # most metrics are floats
                    plain = False
            # Keys replay stamps on every row (contract.RESERVED_KEYS): _step and _runtime are
            # refused; a call with _timestamp takes the long way, which checks it.
            if "_step" in data or "_runtime" in data or "_timestamp" in data:
                _refuse_reserved(data)
                plain = False
            charts = None
            if not plain:
                # Before the step is read: converting runs Python code (media, __array__), where
                # a signal handler may log.
                data, charts = self._plain_log_data(data)
            counter = self._steps
            cur = counter.step
            pending = counter.pending
            if step is not None:
                step = _check_step(step)
                if step < cur:
                    self._step_backwards(step, cur, data)
            # The record's time: see clock.py (Clock.now(), inlined).
            t = self._clock_offset + _read_clock(ELAPSED_CLOCK)
            record = (_LOG, next(self._seqs), t, data, step, commit, cur)
            payload = None
            if plain:
                try:
                    payload = self._encode_plain(record)
                except Exception:
                    # An int past 64 bits, a lone surrogate: normalize() decides, as for any
                    # value that is not plain.
                    data, charts = self._plain_log_data(data)
                    record = (_LOG, record[1], t, data, step, commit, cur)
            if payload is None:
                payload = self._pack_log(record)
            if len(payload) > _COUNTED_ABOVE_BYTES:
                _check_size(payload, "this log() call")
            if step is None and commit is not False:
                counter.step = cur + 1  # the common case, inline: write the row, next step
                counter.pending = False
            else:
                counter.advance(step, commit)
            try:
                writer.append(payload)
            except BaseException:
                counter.step, counter.pending = cur, pending
                raise
            if charts:
                self._write_charts(writer, charts)
        finally:
            lock.release()

    def _plain_log_data(self, data: dict) -> tuple[dict, list[tuple[str, dict]]]:
        """The plain form of a ``log()`` call's data, and its chart records; refuses what the
        value contract does not allow (a ``_timestamp`` that is not a time included)."""
        if is_plain(data):
            plain, charts = data, None  # packed as it is (the usual nested dict or list)
        else:
            plain, charts = plain_log_data(data, self._store, {})
        if "_timestamp" in plain:
            _check_timestamp(plain["_timestamp"])
        return plain, charts

    def _pack_log(self, record: tuple) -> bytes:
        try:
            return self._packer.pack(record)
        except UnicodeEncodeError:
            raise  # a lone surrogate in a str: refused as msgpack refuses it
        except OverflowError:
            pass  # an int beyond 64 bits, which is_plain() lets through: made a float below
        except (TypeError, ValueError) as exc:
            raise _bad_commit(record[5], exc) from None
        plain = plain_log_data(record[3], self._store, {})[0]
        try:
            return self._packer.pack((*record[:3], plain, *record[4:]))
        except UnicodeEncodeError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise _bad_commit(record[5], exc) from None

    def _summary_view(self) -> dict[str, Any]:
        """The summary as this process wrote it: records since the last read, folded in.

        ``log()`` keeps no summary (it would cost every call); reading ``run.summary`` reads
        back what this writer appended since it last looked, with replay's rules: a dropped
        call and a ``None`` never replace a value, ``summary[k] = v`` wins until ``k`` is
        logged again.
        """
        with self._lock:
            path = self._segment_path
            try:
                with open(path, "rb") as f:
                    f.seek(self._folded_bytes)
                    chunk = f.read()
            except OSError:
                return self._latest
            base = self._folded_bytes
            latest = self._latest
            for item in scan(chunk):
                if type(item) is not tuple:
                    break  # only a record being written right now (a signal handler's) can be cut
                offset, payload = item
                self._folded_bytes = base + offset + HEADER_SIZE + len(payload)
                rec = msgpack.unpackb(payload, raw=False, strict_map_key=False)
                kind = rec[0]
                if kind == _LOG:
                    data, step, cur = rec[3], rec[4], rec[6]
                    if step is None or step >= cur:
                        for k, v in data.items():
                            if v is not None:
                                latest[k] = v
                elif kind == kinds.SUMMARY:
                    latest.update(rec[3])
                    for k in rec[4]:
                        latest.pop(k, None)
            return latest

    def _pack(self, record: tuple) -> bytes:
        """Pack a record of plain fields; refuses one over the size limit."""
        payload = self._packer.pack(record)
        if len(payload) > _COUNTED_ABOVE_BYTES:
            _check_size(payload, f"this {kinds.NAMES[record[0]]} change")
        return payload

    def _write_charts(self, writer: SegmentWriter, charts: list[tuple[str, dict]]) -> None:
        """Append the chart records of the log() call just written (lock held)."""
        for key, spec in charts:
            writer.append(self._pack((kinds.CHART, next(self._seqs), self._clock.now(), key, spec)))

    def _step_backwards(self, step: int, cur: int, data: dict) -> None:
        message = BACKWARDS_WARNING.format(step=step, current=cur)
        if self._strict:
            raise StepError(
                f"{message} Nothing was recorded for keys {sorted(data)!r}. "
                "Log with step >= the current step, or turn strict_steps off to record and drop"
            )
        self._step_warnings += 1
        if self._step_warnings <= _MAX_STEP_WARNINGS:
            terminal.warn(message)
            if self._step_warnings == _MAX_STEP_WARNINGS:
                terminal.warn(
                    "further warnings about steps going backwards are not shown for this run"
                )

    def _append(self, kind: int, *fields: Any) -> None:
        """Append a non-log record (config, summary, metric, meta, chart)."""
        with self._lock:
            writer = self._writer
            if writer is None:
                raise self._closed_error("change")
            writer.append(self._pack((kind, next(self._seqs), self._clock.now(), *fields)))

    def _append_meta(self, changes: dict) -> None:
        self._append(kinds.META, changes)

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
        objective: str | None = None,
    ) -> dict:
        """Say how a metric is summarised and plotted; ``name`` may end in ``*`` (``"train/*"``)."""
        if not isinstance(name, str) or not name:
            raise ValueTypeError(f"define_metric() needs a metric name (str), not {name!r}")
        spec: dict[str, Any] = {}
        if step_metric is not None:
            spec["step_metric"] = str(step_metric)
        if step_sync is not None:
            spec["step_sync"] = bool(step_sync)
        if hidden:
            spec["hidden"] = True
        if summary is not None:
            parts = [p.strip() for p in str(summary).split(",") if p.strip()]
            bad = [p for p in parts if p not in _SUMMARY_AGGREGATES]
            if bad or not parts:
                raise UsageError(
                    f"define_metric({name!r}, summary={summary!r}): unknown summary {bad or summary!r}. "
                    f"Use one or more of {', '.join(sorted(_SUMMARY_AGGREGATES))}, comma separated"
                )
            spec["summary"] = parts
        goal = goal if goal is not None else objective
        if goal is not None:
            g = {"min": "minimize", "max": "maximize"}.get(goal, goal)
            if g not in ("minimize", "maximize"):
                raise UsageError(
                    f"define_metric({name!r}, goal={goal!r}): use 'minimize' or 'maximize'"
                )
            spec["goal"] = g
        self._append(kinds.METRIC, name, spec)
        return {"name": name, **spec}

    # --- watching torch models ------------------------------------------------------------------

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> list:
        """Log histograms of a torch model's gradients and/or parameters, as ``wandb.watch``.

        ``models`` is a ``torch.nn.Module`` or a list/tuple of them. ``log`` is ``"gradients"``,
        ``"parameters"``, ``"all"`` or None; every ``log_freq`` batches (forward calls for
        parameters, backward passes for gradients) 64-bin histograms are logged, with
        ``commit=False``, under ``parameters/<name>`` and ``gradients/<name>`` (prefixed
        ``graph_<idx>`` for every model after a run's first). ``log_graph=True`` writes the
        module tree to the summary as ``graph_<idx>``. ``criterion`` is accepted and unused.
        Returns the graphs (empty unless ``log_graph``). See ``localrun/watcher.py``.
        """
        from .watcher import watcher_of

        if self._writer is None:
            raise self._closed_error("watch a model in")
        return watcher_of(self).watch(models, criterion, log, log_freq, idx, log_graph)

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks ``watch()`` put on ``models``, or on every model when None."""
        from .watcher import watcher_of

        watcher_of(self).unwatch(models)

    # --- ending --------------------------------------------------------------------------------

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run: write the final record, fsync, release the run. Safe to call twice.

        Hooks put on models by ``watch()`` are removed first: a model that outlives its run
        logs nothing.
        """
        from . import session

        watcher = sys.modules.get("localrun.watcher")  # not imported: no run has watched a model
        if watcher is not None:
            watcher.unhook_run(self)
        try:
            state = self._close(exit_code)
        finally:
            session._forget(self)
        if state is not None and not (self._quiet or quiet):
            terminal.say(f"run {self._id} {state}; stored in {self._path}")

    def _close(self, exit_code: int | None) -> str | None:
        with self._lock:
            writer = self._writer
            if writer is None:
                return None
            code = 0 if exit_code is None else int(exit_code)
            if self._signalled:
                state = "preempted"
            else:
                state = "finished" if code == 0 else "failed"
            counter = self._steps
            counter.close()
            self._writer = None
            self._closed_reason = state
            try:
                writer.append(
                    self._packer.pack(
                        (
                            kinds.FINISH,
                            next(self._seqs),
                            self._clock.now(),
                            code,
                            state,
                            counter.step,
                        )
                    )
                )
            finally:
                try:
                    writer.close()
                finally:
                    self._run_lock.release()
            return state

    def _on_signal(self, signum: int) -> None:
        """SIGTERM arrived (a scheduler preempting the job): record it and make it durable."""
        self._signalled = True
        writer = self._writer
        if writer is None:
            return
        payload = msgpack.packb((kinds.SIGNAL, next(self._seqs), self._clock.now(), int(signum)))
        # The signal may interrupt log() in this very thread while it holds the lock, so write
        # without it: one os.write per record keeps records whole, and seq ids stay unique.
        try:
            writer.append(payload)
            writer.sync()
        except Exception:
            pass

    def _after_fork_in_child(self) -> None:
        writer = self._writer
        if writer is not None:
            writer.abandon()
            self._writer = None
            self._run_lock.release()
        self._lock = threading.RLock()
        self._closed_reason = (
            f"left to the parent process (this is a forked child, pid {os.getpid()})"
        )

    def _closed_error(self, what: str) -> UsageError:
        if self._closed_reason.startswith("left"):
            return UsageError(
                f"cannot {what} run {self._id}: it is {self._closed_reason}. "
                "Log from the process that called init(), or call localrun.init() in the child for a run of its own"
            )
        return UsageError(
            f"cannot {what} run {self._id}: it is already {self._closed_reason}. "
            f"Start a new run with localrun.init(), or continue this one with localrun.init(id={self._id!r}, resume='allow')"
        )

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish(exit_code=0 if exc_type is None else 1)


def _check_step(step: Any) -> int:
    if step.__class__ is int:
        return step
    try:
        import numbers

        if isinstance(step, numbers.Integral) and not isinstance(step, bool):
            return int(step)
    except TypeError:
        pass
    raise StepError(f"step must be a non-negative int, not {step!r} ({type(step).__name__})")


def _bad_commit(commit: Any, exc: Exception) -> ValueTypeError:
    # What is packed is plain but for what was passed as commit.
    return ValueTypeError(
        f"log(commit={short(commit)}) cannot be recorded ({exc}): pass commit=True, False or None"
    )


def _check_size(payload: bytes, what: str) -> None:
    """Refuse a large record over the size limit, or holding more values than a server takes."""
    if len(payload) > _MAX_RECORD_BYTES:
        raise _too_big(what, len(payload))
    import msgspec

    problem = contract.count_problem(msgspec.msgpack.decode(payload), what)
    if problem is not None:
        raise ValueTypeError(f"{problem}; nothing was recorded")


def _too_big(what: str, size_bytes: int) -> ValueTypeError:
    limit = _MAX_RECORD_BYTES
    return ValueTypeError(
        f"{what} would write a record of {size_bytes / 2**20:.1f} MiB ({size_bytes} bytes), over "
        f"the limit of {limit / 2**20:.0f} MiB ({limit} bytes) per record; nothing was recorded. "
        "Save a large value to a file and log it as media (Table, Html, Image...), or split it "
        "over several keys or calls"
    )


_RESERVED_WHY = {
    "_step": "the row's step, which localrun sets itself: pass log(data, step=...) instead",
    "_runtime": "the seconds since the run started, which localrun sets itself: log your "
    "value under another key",
}


def _refuse_reserved(data: dict) -> None:
    for key, why in _RESERVED_WHY.items():
        if key in data:
            raise ValueTypeError(
                f"log() was given {key!r}: {short(data[key])}, but {key!r} is {why}. Nothing was recorded"
            )


def _check_timestamp(value: Any) -> None:
    """A logged ``_timestamp`` becomes the row's time, as in wandb: it must be a time."""
    if not isinstance(value, (float, int)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueTypeError(
            f"log() was given '_timestamp': {short(value)}; '_timestamp' sets the row's time and must "
            "be a finite number of seconds since the epoch. Log your value under another key"
        )


def check_notes(value: Any) -> str | None:
    """``notes`` as a run keeps them: a str or None; anything else is refused."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    raise ValueTypeError(
        f"notes must be a str or None, not {type(value).__name__}: {value!r:.80}. Pass the text"
        + (", decoded (e.g. notes.decode())" if isinstance(value, (bytes, bytearray)) else "")
    )


def _as_dict(data: Any) -> dict:
    if isinstance(data, Mapping):
        return dict(data)
    raise ValueTypeError(
        f"log() takes a dict of metrics, like log({{'loss': 0.1}}), not {type(data).__name__}: {data!r:.80}"
    )


# --- config and summary ------------------------------------------------------------------------


class Config:
    """The run's configuration: item and attribute access, ``update``. Every change is recorded."""

    def __init__(self, run: Run):
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_items", {})

    def _set(self, changes: Mapping[str, Any]) -> None:
        changes = config_value(dict(changes))
        if changes:
            self._write(changes)

    def _write(self, changes: dict[str, Any]) -> None:
        """Record ``changes``, already plain (``values.config_value``)."""
        self._run._append(kinds.CONFIG, changes)
        self._items.update(changes)

    def _load(self, items: Mapping[str, Any]) -> None:
        """Fill from an earlier segment when resuming (no record: it is already on disk)."""
        self._items.update(items)

    def update(self, d: Any = None, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        items = _mapping_of(d) if d is not None else {}
        items.update(kwargs)
        self._set(items)

    def setdefaults(self, d: Mapping[str, Any]) -> None:
        self._set({k: v for k, v in _mapping_of(d).items() if k not in self._items})

    def __setitem__(self, key: str, value: Any) -> None:
        self._set({key: value})

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self._set({key: value})

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(
                f"config has no key {key!r}; it has {sorted(self._items)!r}"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def keys(self):
        return self._items.keys()

    def items(self):
        return self._items.items()

    def values(self):
        return self._items.values()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def __repr__(self) -> str:
        return f"Config({self._items!r})"


def _mapping_of(d: Any) -> dict[str, Any]:
    if isinstance(d, Mapping):
        return dict(d)
    if hasattr(d, "__dict__"):  # argparse.Namespace, absl flags, simple objects
        return {k: v for k, v in vars(d).items() if not k.startswith("_")}
    raise ValueTypeError(
        f"config takes a dict or an object with attributes (argparse.Namespace), not {type(d).__name__}"
    )


class Summary:
    """The run's summary: the last logged value of each key, unless set here.

    ``run.summary[k] = v`` is recorded and wins until ``k`` is logged again. Reading shows what
    this process logged last; the stored summary, which ``localrun show`` and sync read, is
    computed by replay with the full rules (``None`` never replaces a value, define_metric
    aggregates apply).
    """

    def __init__(self, run: Run):
        object.__setattr__(self, "_run", run)

    def _set(self, changes: dict[str, Any], deleted: list[str] = ()) -> None:
        check_keys(changes)
        run = self._run
        plain = normalize(changes, run._store, depth=-1)
        run._append(kinds.SUMMARY, plain, list(deleted))

    def update(self, d: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        items = dict(d or {})
        items.update(kwargs)
        if items:
            self._set(items)

    def __setitem__(self, key: str, value: Any) -> None:
        self._set({key: value})

    def __getitem__(self, key: str) -> Any:
        return self._run._summary_view()[key]

    def __delitem__(self, key: str) -> None:
        if key not in self._run._summary_view():
            raise KeyError(key)
        self._set({}, [key])

    def __setattr__(self, key: str, value: Any) -> None:
        self._set({key: value})

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._run._summary_view()[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._run._summary_view()

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._run._summary_view()))

    def __len__(self) -> int:
        return len(self._run._summary_view())

    def get(self, key: str, default: Any = None) -> Any:
        return self._run._summary_view().get(key, default)

    def keys(self):
        return dict(self._run._summary_view()).keys()

    def items(self):
        return dict(self._run._summary_view()).items()

    def values(self):
        return dict(self._run._summary_view()).values()

    def __repr__(self) -> str:
        return f"Summary({self._run._summary_view()!r})"
