"""``init()`` and the module-level API: the current run, and the process hooks around it.

Hooks installed while a run is live:

- SIGTERM (what schedulers send on preemption): a ``signal`` record is written and fsynced,
  then the signal takes its normal course (the previous handler runs, or the process dies).
  Installed when localrun is imported on the main thread (so a run whose first ``init()`` is
  on another thread is covered), and again at each ``init()`` on the main thread.
- ``atexit``: a run the script never finished is finished, as failed if an exception ended it.
- ``os.register_at_fork``: a forked child never writes to its parent's segment.

``init()`` takes what job scripts set for wandb from the environment (``ENVIRONMENT``): an
argument passed to ``init()`` wins, then ``settings=``, then ``$LOCALRUN_*``, then ``$WANDB_*``,
as in wandb (where ``init()``'s arguments and settings win over the environment).
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import sys
import tempfile
import threading
from typing import Any, NoReturn

from . import contract, rundir, terminal
from .clock import Clock
from .config_summary import config_value, mapping_of
from .errors import (
    InvalidNameError,
    RunDirError,
    RunExistsError,
    RunNotFoundError,
    UsageError,
    ValueTypeError,
)
from .record import kinds
from .record.segment import SegmentWriter
from .replay import Replay
from .run import Run, check_notes

__version__ = "0.1.0"

# wandb.init arguments that wandb code passes and that mean nothing offline: accepted and
# kept in the segment header, so code runs unchanged.
_WANDB_ONLY_ARGS = {
    "entity",
    "reinit",
    "mode",
    "magic",
    "anonymous",
    "save_code",
    "sync_tensorboard",
    "monitor_gym",
    "allow_val_change",
    "config_exclude_keys",
    "config_include_keys",
    "force",
    "tensorboard",
    "resume_from",
    "fork_from",
}

#: init() argument -> the variables that stand for it when it is not passed, in order, and
#: the name wandb's Settings give it (``init(settings=...)``). README, "Modes and environment
#: variables".
ENVIRONMENT = {
    "mode": (("LOCALRUN_MODE", "WANDB_MODE"), "mode"),
    "silent": (terminal.SILENT_VARIABLES, "silent"),
    "dir": (("LOCALRUN_DIR", "WANDB_DIR"), "root_dir"),
    "project": (("LOCALRUN_PROJECT", "WANDB_PROJECT"), "project"),
    "entity": (("LOCALRUN_ENTITY", "WANDB_ENTITY"), "entity"),
    "name": (("LOCALRUN_NAME", "WANDB_NAME"), "run_name"),
    "notes": (("LOCALRUN_NOTES", "WANDB_NOTES"), "run_notes"),
    "tags": (("LOCALRUN_TAGS", "WANDB_TAGS"), "run_tags"),
    "id": (("LOCALRUN_RUN_ID", "WANDB_RUN_ID"), "run_id"),
    "resume": (("LOCALRUN_RESUME", "WANDB_RESUME"), "resume"),
    "group": (("LOCALRUN_RUN_GROUP", "WANDB_RUN_GROUP"), "run_group"),
    "job_type": (("LOCALRUN_JOB_TYPE", "WANDB_JOB_TYPE"), "run_job_type"),
}
#: wandb's modes. All but "disabled" record the run on local disk; "dryrun" is an old name
#: of "offline", "run" of "online", and "shared" (several writers to one run) records each
#: process's run as its own.
MODES = ("online", "offline", "disabled", "shared", "dryrun", "run")
_RESUME = (None, False, True, "allow", "must", "never", "auto")

_active: list[Run] = []
_state_lock = threading.RLock()
_hooks_installed = False
#: The SIGTERM handlers _on_sigterm was put in front of, oldest first (see _install_sigterm).
_previous_sigterm: list[Any] = []
_sigterm_depth = 0
_uncaught: list[BaseException] = []


class Settings:
    """Run settings, as ``wandb.Settings(...)``: any keyword is accepted and kept.

    ``init(settings=...)`` reads ``strict_steps`` (a step that goes backwards raises instead of
    warning), ``quiet``/``silent`` (no lines printed), and wandb's names of init()'s arguments
    (``mode``, ``project``, ``entity``, ``run_name``, ``run_notes``, ``run_tags``, ``run_id``,
    ``resume``, ``run_group``, ``run_job_type``, ``root_dir``), which win over the environment
    (``ENVIRONMENT``) and lose to the arguments themselves. ``run.settings`` is one of these,
    holding what init() resolved.
    """

    def __init__(self, **kwargs: Any):
        self.__dict__.update(kwargs)

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)


def _setting(settings: Any, key: str, default: Any = None) -> Any:
    if settings is None:
        return default
    if isinstance(settings, dict):
        return settings.get(key, default)
    return getattr(settings, key, default)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _resolved(arg: str, given: Any, settings: Any) -> tuple[Any, str | None]:
    """``(value, source)`` of an init() argument: ``given`` if passed (source None), else
    the setting of that name in ``settings``, else the first of its environment variables
    that is set (source ``"$VAR"``), else ``(None, None)``."""
    if given is not None:
        return given, None
    variables, setting = ENVIRONMENT[arg]
    value = _setting(settings, setting)
    if arg == "silent" and value is None:
        value = _setting(settings, "quiet")
    if value is not None:
        return value, f"settings.{setting}"
    for var in variables:
        text = os.environ.get(var)
        if text:
            return text, f"${var}"
    return None, None


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def _check_mode(mode: Any, source: str | None) -> str:
    text = mode.strip().lower() if isinstance(mode, str) else mode
    if text not in MODES:
        raise UsageError(
            f"mode={mode!r}{f' (from {source})' if source else ''} is not a mode: use one of "
            f"{', '.join(repr(m) for m in MODES)}. localrun records every mode but 'disabled' "
            "on local disk"
        )
    return text


def _check_resume(resume: Any, source: str | None) -> Any:
    if isinstance(resume, str) and source is not None:  # from the environment: text
        text = resume.strip().lower()
        resume = {"true": "auto", "1": "auto", "false": None, "0": None}.get(text, text)
    if resume not in _RESUME:
        raise UsageError(
            f"resume={resume!r}{f' (from {source})' if source else ''} is not understood: "
            "use 'allow', 'must', 'never', 'auto' or None"
        )
    return resume


def _tags(tags: Any, source: str | None) -> list[str]:
    """Tags as a run keeps them: a str is one tag (from the environment, comma separated)."""
    if not tags:
        return []
    if isinstance(tags, str):
        parts = tags.split(",") if source is not None and source.startswith("$") else [tags]
        return [t.strip() for t in parts if t.strip()]
    return [str(t) for t in tags]


def init(
    project: str | None = None,
    name: str | None = None,
    id: str | None = None,
    dir: str | os.PathLike | None = None,
    config: Any = None,
    tags: Any = None,
    group: str | None = None,
    job_type: str | None = None,
    notes: str | None = None,
    resume: bool | str | None = None,
    settings: Any = None,
    **kwargs: Any,
) -> Run:
    """Start (or resume) a run and make it the current one.

    Runs go into ``dir``, else ``$LOCALRUN_DIR``, else ``./runs``; each in a folder named by its
    id. ``resume="allow"`` continues run ``id`` if it exists; ``resume="must"`` requires it to.
    Reusing an existing ``id`` without ``resume`` is refused, and so is a run another live
    process is writing (RunLockedError). A run already current in this process is finished
    first, as wandb does.

    ``mode="disabled"`` (or ``$LOCALRUN_MODE``/``$WANDB_MODE``) writes nothing and returns a
    run whose calls are harmless (localrun/disabled.py); every other wandb mode records locally.
    An argument not passed is taken from ``settings=``, else from the environment: see
    ``ENVIRONMENT`` (``$WANDB_PROJECT``, ``$WANDB_RUN_ID``... each with a ``$LOCALRUN_`` twin
    that wins).

    Every argument is checked before anything is written: a project a server could not hold
    raises InvalidNameError, a config nested deeper than 64 or ``notes`` that are not a str
    ValueTypeError (see docs/format.md, "Values"). A new run is made whole, then renamed into
    place (docs/format.md, "Creating a run").
    """
    unknown = set(kwargs) - _WANDB_ONLY_ARGS
    if unknown:
        raise TypeError(f"init() got unexpected keyword argument(s) {sorted(unknown)!r}")
    mode, mode_from = _resolved("mode", kwargs.get("mode"), settings)
    mode = _check_mode(mode, mode_from) if mode is not None else None
    resume, resume_from = _resolved("resume", resume, settings)
    resume = _check_resume(resume, resume_from)
    id, id_from = _resolved("id", id, settings)
    project, project_from = _resolved("project", project or None, settings)
    name = _resolved("name", name, settings)[0]
    notes = _resolved("notes", notes, settings)[0]
    tags, tags_from = _resolved("tags", tags, settings)
    group = _resolved("group", group, settings)[0]
    job_type = _resolved("job_type", job_type, settings)[0]
    entity = _resolved("entity", kwargs.get("entity"), settings)[0]
    quiet = _flag(_resolved("silent", None, settings)[0])
    if mode == "disabled":
        return _disabled(
            id,
            project,
            name,
            notes,
            tags,
            tags_from,
            group,
            job_type,
            entity,
            config,
        )
    given_dir = dir if dir is not None else _setting(settings, "root_dir")
    with _state_lock:
        # $LOCALRUN_DIR, else $WANDB_DIR, when no dir is given (rundir.runs_root).
        root = rundir.runs_root(given_dir)
        run_id = rundir.check_run_id(id) if id is not None else rundir.new_run_id()
        path = os.path.join(root, run_id)
        strict = bool(_setting(settings, "strict_steps") or _env_flag("LOCALRUN_STRICT_STEPS"))
        # Everything the caller passed is checked before anything is written (or finished).
        given_project = project if project_from is None else None
        project = _check_project(project, project_from)
        meta = {
            "tags": _tags(tags, tags_from),
            "group": _plain(group),
            "job_type": _plain(job_type),
            "notes": check_notes(notes),
            **({"entity": _plain(entity)} if entity is not None else {}),
        }
        wandb_args = {k: _plain(v) for k, v in kwargs.items()}
        argv = [_text(a) for a in sys.argv]
        changes = config_value(mapping_of(config)) if config is not None else {}
        name = str(name) if name else None
        _check_size("init(config=...)", changes)
        _check_size("init()'s arguments (name, tags, notes...)", [name, meta, wandb_args, argv])
        # A run current in this process is finished only now, so a refused init() leaves it be.
        for previous in list(_active):
            previous.finish()
        new_name = name or rundir.friendly_name(root)
        clock = Clock()
        try:
            lock, resumed = _open_run(
                path,
                root,
                run_id,
                resume,
                {"id": run_id, "project": project, "name": new_name, "created_at": clock.start_s},
            )
        except (RunExistsError, RunNotFoundError) as exc:
            if id_from is None:
                raise
            raise type(exc)(
                f"{exc} (the id {run_id!r} comes from {id_from}"
                + (f", resume {resume!r} from {resume_from}" if resume_from else "")
                + ")"
            ) from None
        try:
            replay: Replay | None = None
            if resumed:
                stored = rundir.read_run_json(path)
                project = given_project or stored.get("project") or project
                name = name or (str(stored["name"]) if stored.get("name") else new_name)
                replay = _replayed(path)
            else:
                name = new_name
            header = {
                "format": kinds.FORMAT_VERSION,
                "run_id": run_id,
                "project": project,
                "name": name,
                **meta,
                "resumed": resumed,
                "start_step": replay.counter.step if replay is not None else 0,
                "time": clock.start_s,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "python": sys.version.split()[0],
                "localrun": __version__,
                "argv": argv,
                "strict_steps": strict,
                "wandb_args": wandb_args,
            }
            writer = SegmentWriter(rundir.next_segment_path(path), header)
        except BaseException:
            lock.release()
            raise
        run = Run(
            path=path,
            root=root,
            run_id=run_id,
            project=project,
            name=name,
            meta=meta,
            writer=writer,
            lock=lock,
            strict_steps=strict,
            quiet=quiet,
            resumed=resumed,
            replay=replay,
            clock=clock,
            on_finish=_forget,
            settings=_run_settings(
                mode or "offline", project, run_id, name, meta, resume, root, path, quiet, strict
            ),
            allow_val_change=bool(kwargs.get("allow_val_change")),
        )
        _activate(run)
        if changes:
            try:
                run.config.update(changes, allow_val_change=True)  # as wandb's init(config=)
            except BaseException:
                run.finish(exit_code=1, quiet=True)
                raise
    if not quiet:
        if mode in ("online", "run", "shared"):
            terminal.say(
                f"mode={mode!r}{f' (from {mode_from})' if mode_from else ''}: localrun records "
                "the run on local disk and sends nothing now; send it with localrun sync"
            )
        how = f"resumed at step {run.step}" if resumed else "started"
        terminal.say(
            f"run {run_id} ({name}) {how}, stored in {path}. Sync it later with: localrun sync {root}"
        )
    return run


def _run_settings(
    mode: str,
    project: str,
    run_id: str,
    name: str,
    meta: dict,
    resume: Any,
    root: str,
    path: str,
    quiet: bool,
    strict: bool,
) -> Settings:
    """``run.settings``: what init() resolved, under the names wandb's Settings use."""
    return Settings(
        mode=mode,
        project=project,
        entity=meta.get("entity"),
        run_id=run_id,
        run_name=name,
        run_notes=meta.get("notes"),
        run_tags=tuple(meta.get("tags") or ()),
        run_group=meta.get("group"),
        run_job_type=meta.get("job_type"),
        resume=resume,
        root_dir=root,
        sync_dir=path,
        files_dir=path,
        silent=quiet,
        quiet=quiet,
        strict_steps=strict,
        _offline=mode != "disabled",
        _noop=mode == "disabled",
    )


def _disabled(
    id: Any,
    project: Any,
    name: Any,
    notes: Any,
    tags: Any,
    tags_from: str | None,
    group: Any,
    job_type: Any,
    entity: Any,
    config: Any,
) -> Run:
    """``init(mode="disabled")``: a run that writes nothing (localrun/disabled.py), made the
    current one; a run already current is left as it is (wandb leaves it too)."""
    from .disabled import DisabledRun

    run_id = str(id) if id is not None else rundir.new_run_id()
    meta = {
        "tags": _tags(tags, tags_from),
        "group": _plain(group),
        "job_type": _plain(job_type),
        "notes": notes,
        "entity": _plain(entity),
    }
    run = DisabledRun(
        run_id=run_id,
        project=str(project) if project else None,
        name=str(name) if name else None,
        meta=meta,
        config=mapping_of(config) if config is not None else {},
        settings=None,
        on_finish=_forget,
    )
    run._settings = _run_settings(
        "disabled",
        run.project,
        run_id,
        run.name,
        run._meta,
        None,
        tempfile.gettempdir(),
        "",
        True,
        False,
    )
    with _state_lock:
        m = _module()
        m.run, m.config, m.summary = run, run.config, run.summary
    return run


def _open_run(
    path: str, root: str, run_id: str, resume: Any, new_meta: dict
) -> tuple[rundir.Lock, bool]:
    """Open run ``path`` (held by this process from here on): ``(lock, resumed)``.

    A new run is made whole beside its place and renamed into it (rundir.create), so another
    process sees no run or a whole run whose lock is held. Losing that race, or a run that
    appears meanwhile, goes the resume path: RunExistsError without resume, RunLockedError
    while its creator lives. A folder an older localrun left half made (rundir.is_leftover) is
    made into the new run.
    """
    for _ in range(10):  # each round is a change made by another process meanwhile
        if rundir.is_run_dir(path):
            if resume in (None, False, "never"):
                raise RunExistsError(
                    f"a run with id {run_id!r} already exists in {root}. "
                    f"Pass resume='allow' to continue it, or choose another id"
                )
            return rundir.Lock(path), True
        if resume == "must":
            raise RunNotFoundError(
                f"resume='must' but there is no run {run_id!r} in {root}. "
                f"Check the id and dir (runs are in {os.path.abspath(root)})"
            )
        try:
            if os.path.lexists(path):
                if not rundir.is_leftover(path):
                    if rundir.is_run_dir(path):
                        continue  # another process's run was renamed into place just now
                    raise RunDirError(
                        f"{path} exists but is not a localrun run directory. Choose another id or dir"
                    )
                lock = rundir.adopt(path, new_meta)
                if lock is None:
                    continue
                return lock, False
            return rundir.create(path, new_meta), False
        except FileExistsError:
            continue  # created by another process just now: look again
        except OSError as exc:
            raise RunDirError(
                f"cannot create the run directory {path}: {exc.strerror or exc}"
                f"{f' ({exc.filename})' if exc.filename and exc.filename != path else ''}. "
                "Pass dir= (or set LOCALRUN_DIR) to a writable folder"
            ) from exc
    raise RunDirError(
        f"{path} kept changing while this process tried to open it (other processes are "
        "creating and removing it). Try again, or choose another id"
    )


def _check_project(project: Any, source: str | None) -> str:
    """The project a new run gets: ``project`` (resolved by ``_resolved``: from ``source``,
    None for init()'s argument), else ``uncategorized``; InvalidNameError for a name a server
    could not hold."""
    if not project:
        return "uncategorized"
    problem = contract.project_problem(project)
    if problem is not None:
        raise InvalidNameError(
            f"init(): {problem}"
            + (f" (it comes from {source})" if source is not None else "")
            + ". Name the project e.g. 'exp-lr-0.1'; put settings in config"
        )
    return project


def _text(value: str) -> str:
    """``value`` with any byte the OS gave undecoded (a lone surrogate) replaced: packable."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _check_size(what: str, value: Any) -> None:
    """Refuse ``value`` if it cannot be a record: too big, or not packable."""
    import msgpack

    try:
        size = len(msgpack.packb(value))
    except UnicodeEncodeError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueTypeError(f"{what} cannot be recorded: {exc}") from None
    if size > contract.MAX_RECORD_BYTES - 64 * 1024:  # room for the rest of the record
        raise ValueTypeError(
            f"{what} would take {size / 2**20:.1f} MiB in a record, over the limit of "
            f"{contract.MAX_RECORD_BYTES / 2**20:.0f} MiB per record. Keep large values in files"
        )


def _plain(v: Any) -> Any:
    return v if v is None or isinstance(v, (str, int, float, bool)) else str(v)


def _replayed(path: str) -> Replay:
    """The replay of a run's segments so far: where a resumed run goes on (its step, config
    and summary), by the very rules that make its rows."""
    from .reader import RunView

    return RunView(path).scan().replay


# --- the current run ---------------------------------------------------------------------------


def _module():
    return sys.modules["localrun"]


def _activate(run: Run) -> None:
    _active.append(run)
    _install_hooks()
    m = _module()
    m.run = run
    m.config = run.config
    m.summary = run.summary


def _forget(run: Run) -> None:
    with _state_lock:
        if run in _active:
            _active.remove(run)
        m = _module()
        if getattr(m, "run", None) is run:
            m.run = _active[-1] if _active else None
            if m.run is None:
                m.config = m._preinit_config
                m.summary = m._preinit_summary
            else:
                m.config, m.summary = m.run.config, m.run.summary


def current() -> Run:
    run = _module().run
    if run is None:
        raise UsageError(
            "no run is active: call localrun.init() before localrun.log() (and after finish(), init() again)"
        )
    return run


def log(
    data: dict, step: int | None = None, commit: bool | None = None, sync: bool | None = None
) -> None:
    """Log ``data`` to the current run; see ``Run.log``."""
    run = _module().run
    if run is None:
        raise UsageError(
            "localrun.log() was called before localrun.init(). Call localrun.init() first"
        )
    run.log(data, step, commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if there is one."""
    run = _module().run
    if run is not None:
        run.finish(exit_code, quiet)


def define_metric(name: str, step_metric: str | None = None, **kwargs: Any) -> Any:
    """``define_metric`` on the current run; see ``Run.define_metric``."""
    return current().define_metric(name, step_metric, **kwargs)


def log_artifact(
    artifact_or_path: Any,
    name: str | None = None,
    type: str | None = None,
    aliases: Any = None,
    tags: Any = None,
):
    """``log_artifact`` on the current run; see ``Run.log_artifact``."""
    return current().log_artifact(artifact_or_path, name, type, aliases, tags)


def use_artifact(
    artifact_or_name: Any, type: str | None = None, aliases: Any = None, use_as: str | None = None
):
    """``use_artifact`` on the current run; see ``Run.use_artifact``."""
    return current().use_artifact(artifact_or_name, type, aliases, use_as)


def log_model(path: Any, name: str | None = None, aliases: Any = None) -> None:
    """``log_model`` on the current run; see ``Run.log_model``."""
    current().log_model(path, name, aliases)


def use_model(name: str) -> str | None:
    """``use_model`` on the current run; see ``Run.use_model``."""
    return current().use_model(name)


def save(
    glob_str: Any = None, base_path: str | None = None, policy: str = "live"
) -> list[str] | bool:
    """``save`` on the current run; see ``Run.save``."""
    return current().save(glob_str, base_path, policy)


def log_code(root: str | None = ".", name: str | None = None, include_fn=None, exclude_fn=None):
    """``log_code`` on the current run; see ``Run.log_code``."""
    return current().log_code(root, name, include_fn, exclude_fn)


def alert(title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
    """``alert`` on the current run; see ``Run.alert``."""
    current().alert(title, text, level, wait_duration)


def mark_preempting() -> None:
    """``mark_preempting`` on the current run, if there is one; see ``Run.mark_preempting``."""
    from . import run

    if run is not None:
        run.mark_preempting()


def login(
    key: str | None = None, relogin: bool | None = None, host: str | None = None, **kwargs: Any
) -> bool:
    """wandb code calls ``wandb.login()`` first; offline there is nothing to log in to.

    Returns True and records nothing, so such code runs unchanged. Credentials for a sync
    server go to ``localrun sync --token`` (or ``$LOCALRUN_TOKEN``) instead.
    """
    return True


# --- process hooks -----------------------------------------------------------------------------


_exit_codes: list[object] = []  # what sys.exit() was called with, in this process


def _install_hooks() -> None:
    global _hooks_installed
    _install_sigterm(at_init=True)  # again at each init: a handler set since is chained to
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    previous_excepthook = sys.excepthook

    def excepthook(exc_type, exc, tb):
        _uncaught.append(exc)
        previous_excepthook(exc_type, exc, tb)

    sys.excepthook = excepthook
    # A script that ends with sys.exit(N) is a run that ended with N (as wandb records it):
    # atexit does not see the code, so the call is wrapped to note it, then goes on as before.
    previous_exit = sys.exit

    def exit(code: sys._ExitCode = None) -> NoReturn:  # typeshed's type for sys.exit's code
        _exit_codes.append(code)
        previous_exit(code)

    sys.exit = exit
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _install_sigterm(at_init: bool) -> None:
    """Put ``_on_sigterm`` in front of SIGTERM's current handler (on the main thread only:
    Python installs signal handlers from there alone).

    Called when localrun is imported, so a run whose first init() is on another thread is
    covered too; there it takes the place of the default action or of a Python handler only
    (one installed by C code is left alone), and with no active run it acts exactly as what it
    replaced. Called again at each init() on the main thread, as before: a handler installed
    since is then chained to.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        current = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):
        return
    if current is _on_sigterm or current == signal.SIG_IGN:
        return  # ignored: the process will not be preempted by it
    if current is None and not at_init:
        return  # installed by C code: not ours to wrap before a run asks for it
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return
    _previous_sigterm.append(current)


def _on_sigterm(signum, frame) -> None:
    global _sigterm_depth
    depth = _sigterm_depth
    if depth == 0:
        for run in list(_active):
            run._on_signal(signum)
    # The handler this one replaced; a handler that saved this one as its own previous and
    # calls it (a chain) gets, one level down, the one before it, and so on.
    chain = _previous_sigterm
    previous = chain[-1 - depth] if depth < len(chain) else signal.SIG_DFL
    if callable(previous):
        _sigterm_depth = depth + 1
        try:
            previous(signum, frame)
        finally:
            _sigterm_depth = depth
        return
    # Default action: die of SIGTERM, as the scheduler expects.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _exit_code() -> int:
    """The process's exit status as far as Python knows it: 1 after an uncaught exception,
    else what the last ``sys.exit()`` was given (None 0, an int itself, anything else 1)."""
    if _uncaught:
        return 1
    if not _exit_codes:
        return 0
    code = _exit_codes[-1]
    if code is None:
        return 0
    return code if type(code) is int else 1


def _at_exit() -> None:
    code = _exit_code()
    for run in list(_active):
        try:
            run.finish(exit_code=code)
        except Exception as exc:  # at exit, report and go on to the next run
            terminal.warn(f"could not finish run {run.id}: {exc}")


def _after_fork_in_child() -> None:
    for run in list(_active):
        run._after_fork_in_child()
    _active.clear()


_install_sigterm(at_init=False)
