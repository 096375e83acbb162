"""Run: the object a training script holds while a run is recorded.

``Run.log`` is the hot path. It reaches the file in three steps: the run's ``Encoder``
(values.py) checks the call and packs one msgpack record, the step rule
(``StepCounter``, steps.py) places it, and ``SegmentWriter.append`` puts it into the OS with one
``os.write``. Everything else a run knows (rows, summary, state) is derived from the records
by replay (replay.py), so ``log()`` keeps no history in memory: reading ``run.summary`` replays
the records this run wrote since it last looked, into the replay of the run's earlier
segments that ``init(resume=...)`` made.

A run's config and summary objects are in config_summary.py; its ``watch()`` hooks in
watcher.py (a ``Watcher`` held by the run). The session (session.py) makes runs, and hears of
each one's end through the ``on_finish`` callback it passes in.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import terminal
from .blobs import BlobStore
from .clock import Clock
from .config_summary import Config, Summary
from .errors import Error, StepError, UsageError, ValueTypeError
from .metric import Metric, check_metric
from .record import kinds
from .record.segment import SegmentReader, SegmentWriter
from .replay import STAMPS, Replay
from .rundir import Lock
from .steps import BACKWARDS_WARNING, DROPPED, StepCounter
from .values import Encoder

if TYPE_CHECKING:
    from .disabled import DisabledSummary
    from .runfiles import RunFiles
    from .watcher import Watcher

_MAX_STEP_WARNINGS = 20


class Run:
    """One run being recorded. Made by ``localrun.init()``; see its docstring for arguments.

    ``replay`` is the replay of the run's earlier segments when it is resumed (None for a new
    run): the step, config and summary go on from there. ``on_finish`` is called with the run
    once it has finished (the session forgets it then).
    """

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
        strict_steps: bool,
        quiet: bool,
        resumed: bool,
        replay: Replay | None = None,
        clock: Clock | None = None,
        on_finish: Callable[[Run], None] | None = None,
        settings: Any = None,
        allow_val_change: bool = False,
    ):
        self._path = path
        self._root = root
        self._id = run_id
        self._project = project
        self._name = name
        self._meta = meta
        self._writer: SegmentWriter | None = writer
        self._run_lock = lock
        replay = replay if replay is not None else Replay()
        self._replay = replay  # this run's records are fed to it as run.summary is read
        self._steps = StepCounter(replay.counter.step)
        self._starting_step = replay.counter.step
        self._strict = strict_steps
        self._quiet = quiet
        self.resumed = resumed
        self._on_finish = on_finish
        # Re-entrant: a signal handler may log while this thread is inside log().
        self._lock = threading.RLock()
        self._store = BlobStore(path, sync_later=True)
        # Media files reach the disk before the records naming them.
        writer.before_sync = self._store.sync
        self._clock = clock = clock or Clock()
        self._encoder = encoder = Encoder(self._store, clock)
        self._encode_log = encoder.log  # bound once: log() calls it on every call
        self._segment_path = writer.path
        self._replayed_upto = 0  # bytes of this run's segment fed to the replay so far
        self._written = 0  # bytes of the segment when it was closed (or left to a parent)
        self._summary: dict[str, Any] | None = None  # the replay's summary, as last read
        self._step_warnings = 0
        self._signalled = False
        self._closed_reason = "finished"
        self._start_time = clock.start_s
        self._watcher: Watcher | None = None  # made by the first watch() or unwatch()
        self._files: RunFiles | None = None  # made by the first save() or at finish()
        self._settings = settings  # session.Settings: what init() resolved (run.settings)
        self.config = Config(self, replay.config, allow_val_change)
        self.summary: Summary | DisabledSummary = Summary(self)  # a disabled run's: a dict

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

    @property
    def starting_step(self) -> int:
        """The step this process started at (0, or where a resumed run went on)."""
        return self._starting_step

    # --- what wandb code asks of a run, offline ----------------------------------------------

    @property
    def offline(self) -> bool:
        """True: a run is recorded on local disk, nothing is sent while it runs (``localrun
        sync`` sends it later), whatever ``mode`` said."""
        return True

    @property
    def disabled(self) -> bool:
        """False: this run is recorded (``init(mode="disabled")`` returns a DisabledRun)."""
        return False

    @property
    def settings(self) -> Any:
        """The settings ``init()`` resolved (mode, project, run_id, root_dir, files_dir...),
        as a copy: changing it changes nothing."""
        from .session import Settings

        s = self._settings
        return Settings(**(vars(s) if s is not None else {}))

    @property
    def url(self) -> None:
        """None, as for wandb's offline runs: a run has a URL once synced (``localrun sync``
        prints it)."""
        return None

    project_url = sweep_url = url

    def get_url(self) -> None:
        """None, as ``url``."""
        return None

    def get_project_url(self) -> None:
        """None, as ``url``."""
        return None

    def get_sweep_url(self) -> None:
        return None

    @property
    def sweep_id(self) -> None:
        return None

    def project_name(self) -> str:
        """The project (wandb's older spelling of ``run.project``)."""
        return self._project

    def display(self, height: int = 420, hidden: bool = False) -> bool:
        """False: there is no run page to show in a notebook while the run is offline (wandb's
        returns False outside Jupyter too). ``localrun ui`` shows runs in a browser."""
        return False

    def alert(
        self,
        title: str,
        text: str,
        level: Any = None,
        wait_duration: Any = None,
    ) -> None:
        """Record an alert in the run (an ``alert`` record) and print it on stderr.

        Checked as wandb checks it: ``level`` is ``"INFO"`` (default), ``"WARN"``, ``"ERROR"``
        or a ``localrun.AlertLevel``; ``wait_duration`` is seconds or a ``timedelta``. Readers
        list alerts: ``localrun show RUN --json`` (``alerts``), ``RunView.replay.alerts``.
        """
        from .alerts import check_alert

        title, text, level_text, seconds = check_alert(title, text, level, wait_duration)
        self._append(kinds.ALERT, title, text, level_text, seconds)
        if not self._quiet:
            terminal.say(f"alert [{level_text}] {title}: {text}")

    def mark_preempting(self) -> None:
        """Say this run may be preempted: if the process then dies without finishing, the run
        reads as ``preempted`` instead of ``crashed`` (a ``signal`` record with signum 0). A
        run that goes on to finish reads as finished."""
        self._append(kinds.SIGNAL, 0)

    def pin_config_keys(self, keys: Any = ()) -> None:
        """Record which config keys to show first (a ``meta`` change, ``pinned_config_keys``);
        calling it again replaces the list, as wandb's."""
        self._append_meta({"pinned_config_keys": [str(k) for k in keys]})

    def _label(self, code: str | None = None, repo: str | None = None, **kwargs: Any) -> None:
        """wandb's note of which integration made the run (``code="transformers_trainer"``),
        sent to its server as telemetry: integrations call it, and here it records nothing."""

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
            if step is not None:
                step = _check_step(step)
            counter = self._steps
            payload, charts = self._encode_log(data, step, commit, counter)
            cur = counter.step
            pending = counter.pending
            if step is None and (commit is None or commit is True):
                counter.next()  # the rule's common case
                dropped = False
            else:
                dropped = counter.advance(step, commit) is DROPPED
                if dropped and self._strict:
                    raise self._strict_error(step, cur, data)
            try:
                writer.append(payload)
            except BaseException:
                counter.step, counter.pending = cur, pending
                raise
            if dropped:
                self._warn_backwards(step, cur)
            if charts:
                for key, spec in charts:
                    writer.append(self._encoder.record(kinds.CHART, key, spec))
        finally:
            lock.release()

    def _strict_error(self, step: int | None, cur: int, data: Mapping[str, Any]) -> StepError:
        return StepError(
            f"{BACKWARDS_WARNING.format(step=step, current=cur)} Nothing was recorded for keys "
            f"{sorted(data)!r}. Log with step >= the current step, or turn strict_steps off to "
            "record and drop"
        )

    def _warn_backwards(self, step: int | None, cur: int) -> None:
        """A call recorded whose step went backwards: replay drops it, as wandb does."""
        self._step_warnings += 1
        if self._step_warnings <= _MAX_STEP_WARNINGS:
            terminal.warn(BACKWARDS_WARNING.format(step=step, current=cur))
            if self._step_warnings == _MAX_STEP_WARNINGS:
                terminal.warn(
                    "further warnings about steps going backwards are not shown for this run"
                )

    def _append(self, kind: int, *fields: Any) -> None:
        """Append a record other than log(): config, summary, metric, meta."""
        with self._lock:
            writer = self._writer
            if writer is None:
                raise self._closed_error("change")
            writer.append(self._encoder.record(kind, *fields))

    def _append_meta(self, changes: dict) -> None:
        self._append(kinds.META, changes)

    def _record_config(self, changes: dict[str, Any]) -> None:
        """Record a config change, already plain (``config_summary.config_value``)."""
        self._append(kinds.CONFIG, changes)

    def _record_summary(self, changes: dict[str, Any], deleted: list[str]) -> None:
        self._append(kinds.SUMMARY, self._encoder.summary(changes), deleted)

    # --- the summary, replayed -----------------------------------------------------------------

    def _summary_now(self) -> dict[str, Any]:
        """The summary replay makes of the records so far, without the last row's stamps.

        ``log()`` keeps no summary (it would cost every call): the records this run appended
        since the last read are read back from its segment and fed to the run's replay, with
        the rules of the stored summary (a dropped call and a ``None`` never replace a value,
        ``summary[k] = v`` wins until ``k`` is logged again, define_metric aggregates apply).
        """
        with self._lock:
            writer = self._writer
            written = writer.size if writer is not None else self._written
            summary = self._summary
            if written != self._replayed_upto or summary is None:
                summary = self._catch_up()
            return summary

    def _catch_up(self) -> dict[str, Any]:
        """Feed the replay this run's records it has not seen yet (lock held)."""
        replay = self._replay
        reader = SegmentReader(self._segment_path, self._replayed_upto)
        records: Any = iter(reader)
        first = None
        if self._replayed_upto == 0:  # the segment's first read: its START begins it
            first = next(records, None)
            if first is not None:
                replay.begin(first[1])
                records = itertools.chain((first,), records)
        if first is not None or self._replayed_upto:
            for _ in replay.feed_all(records, keep_rows=False):
                pass
        # Only a record being written right now (a signal handler's) can be cut: read it next time.
        self._replayed_upto = reader.end
        explicit = replay.explicit
        self._summary = summary = {
            k: v for k, v in replay.summary.items() if k not in STAMPS or k in explicit
        }
        return summary

    def define_metric(
        self,
        name: str,
        step_metric: str | Metric | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
        objective: str | None = None,
    ) -> Metric:
        """Say how a metric is summarised and plotted, as wandb's ``define_metric``.

        ``name`` may end in ``*`` (``"train/*"``) and names nested keys with dots
        (``"val.acc"``; ``"val\\.acc"`` for a key with a dot); ``step_metric`` is the metric
        to plot against, filled into rows that log ``name`` without it while ``step_sync``
        (default True with a step_metric); ``summary`` is a comma separated list of
        min, max, mean, first, last, best, copy, none. Arguments are checked as wandb checks
        them (localrun.metric). Returns the ``Metric``.
        """
        metric = check_metric(
            name,
            step_metric,
            step_sync,
            hidden,
            summary,
            goal if goal is not None else objective,
            overwrite,
        )
        self._append(kinds.METRIC, name, metric.spec())
        return metric

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
        if self._writer is None:
            raise self._closed_error("watch a model in")
        return self._watching().watch(models, criterion, log, log_freq, idx, log_graph)

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks ``watch()`` put on ``models``, or on every model when None."""
        self._watching().unwatch(models)

    def _watching(self) -> Watcher:
        """The run's Watcher (its hooks on models), made on first use."""
        with self._lock:
            if self._watcher is None:
                from .watcher import Watcher  # torch is imported only when a model is watched

                self._watcher = Watcher(self)
            return self._watcher

    # --- artifacts (localrun/artifacts/recording.py) -------------------------------------------

    def log_artifact(self, artifact_or_path, name=None, type=None, aliases=None, tags=None):
        """Store an Artifact (or the file or folder at a path) as a new version; returns it.
        ``aliases`` (default ``["latest"]``; ``latest`` is always added) move to it."""
        from .artifacts import recording

        return recording.log_artifact(self, artifact_or_path, name, type, aliases, tags)

    def use_artifact(self, artifact_or_name, type=None, aliases=None, use_as=None):
        """The artifact version ``"name:alias"`` / ``"name:v3"`` / ``"project/name"`` names in
        the runs root (or an Artifact, logged first if it is a draft), recorded as used."""
        from .artifacts import recording

        return recording.use_artifact(self, artifact_or_name, type, aliases, use_as)

    def log_model(self, path, name=None, aliases=None) -> None:
        """Log the file or folder at ``path`` as an artifact of type ``model``."""
        from .artifacts import recording

        recording.log_model(self, path, name, aliases)

    def use_model(self, name: str) -> str | None:
        """Use model artifact ``name`` and download it; returns its path (the file, if one;
        None from a disabled run)."""
        from .artifacts import recording

        return recording.use_model(self, name)

    # --- ending --------------------------------------------------------------------------------

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run: write the final record, fsync, release the run. Safe to call twice.

        Hooks put on models by ``watch()`` are removed first: a model that outlives its run
        logs nothing.
        """
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.unwatch()
        try:
            if self._writer is not None:
                self._keep_files()
            state = self._close(exit_code)
        finally:
            if self._on_finish is not None:
                self._on_finish(self)
        if state is not None and not (self._quiet or quiet):
            terminal.say(f"run {self._id} {state}; stored in {self._path}")

    # --- files ---------------------------------------------------------------------------------

    def save(
        self,
        glob_str: str | os.PathLike | None = None,
        base_path: str | None = None,
        policy: str = "live",
    ) -> list[str] | bool:
        """Keep the files ``glob_str`` matches with the run, as wandb's ``run.save``: under
        ``files/`` in the run's folder, by their path relative to ``base_path`` (default: the
        working folder for a relative glob; the file's own folder for an absolute one).
        ``policy``: ``"live"`` copies now and again at ``finish()`` if changed, ``"now"`` once
        now, ``"end"`` at ``finish()``. Returns the copies' paths (a disabled run: False, as
        wandb's). ``localrun sync`` sends them; see localrun/runfiles.py."""
        if self._writer is None:
            raise self._closed_error("save files to")
        return self._run_files().save(glob_str, base_path, policy)

    def log_code(
        self,
        root: str | None = ".",
        name: str | None = None,
        include_fn: Callable[..., bool] | None = None,
        exclude_fn: Callable[..., bool] | None = None,
    ) -> list[str] | None:
        """Save the source files under ``root`` (``*.py`` unless ``include_fn(path, root)``
        says otherwise; ``exclude_fn`` leaves some out) under ``files/code/``, as wandb's
        ``run.log_code`` does (there, a code artifact). Returns the copies' paths."""
        if self._writer is None:
            raise self._closed_error("save code to")
        return self._run_files().log_code(root or ".", include_fn, exclude_fn)

    def _run_files(self) -> RunFiles:
        from .runfiles import RunFiles

        if self._files is None:
            self._files = RunFiles(self._path)
        return self._files

    def _keep_files(self) -> None:
        """At finish: the files save() will copy then, and what the script wrote into run.dir."""
        try:
            self._run_files().finish()
        except (OSError, Error) as exc:  # the run still finishes; its records matter most
            terminal.warn(f"run {self._id}: could not keep its files: {exc}")

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
                writer.append(self._encoder.record(kinds.FINISH, code, state, counter.step))
            finally:
                self._written = writer.size
                try:
                    writer.close()
                finally:
                    self._run_lock.release()
            return state

    def _on_signal(self, signum: int) -> None:
        """SIGTERM arrived (a scheduler preempting the job): record it and make it durable.

        Called by the session's handler."""
        self._signalled = True
        writer = self._writer
        if writer is None:
            return
        # The signal may interrupt log() in this very thread while it holds the lock, so write
        # without it: one os.write per record keeps records whole, and seq ids stay unique.
        try:
            writer.append(self._encoder.record(kinds.SIGNAL, int(signum)))
            writer.sync()
        except Exception:
            pass

    def _after_fork_in_child(self) -> None:
        """In a forked child (called by the session): the run is the parent's, not this
        process's, to write."""
        writer = self._writer
        if writer is not None:
            writer.abandon()
            self._written = writer.size
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
