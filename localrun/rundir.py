"""The run directory: where a run lives on disk, its lock, its segments.

::

    runs/                     the folder of runs: init(dir=...), else $LOCALRUN_DIR, else
                              $WANDB_DIR, else ./runs
      <run id>/
        run.json              written once at creation: format, id, project, name, created_at,
                              incarnation (random: tells this run from another with its id)
        lock                  held (flock) by the one live writer; readers test it for "running"
        segments/000001.lrs   one per writer process, in order; see record/segment.py
        media/<sha256>.<ext>  content-addressed media files; see blobs.py
        files/<path>          the run's files (run.save(), what the script wrote into run.dir),
        files.json            and what each held; see runfiles.py
      .init-<run id>.<random>/   a run being created: made whole, with its lock held, then
                                 renamed to <run id> (readers skip it; see create())

docs/format.md is the full specification.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import random
import re
import socket
import string
import tempfile
import time
import uuid

from . import contract, durable
from .blobs import MEDIA_DIR
from .errors import FormatVersionError, RunDirError, RunLockedError
from .record.kinds import FORMAT_VERSION

RUN_JSON = "run.json"
LOCK = "lock"
SEGMENTS = "segments"
SEGMENT_SUFFIX = ".lrs"
DEFAULT_ROOT = "runs"
#: The run's files (runfiles.py): the folder, and what each file held.
FILES_DIR = "files"
FILES_JSON = "files.json"
#: The names the format gives inside a run directory (with sync's cursors, ``sync/``, and the
#: viewer's cache, ``index/``). Anything else a script writes into ``run.dir``, but a name
#: starting with ``.``, is one of the run's files (runfiles.py).
FORMAT_NAMES = frozenset(
    {RUN_JSON, LOCK, SEGMENTS, MEDIA_DIR, "sync", "index", FILES_DIR, FILES_JSON}
)
#: Names of runs being created, in the folder of runs (a run id never starts with a dot).
TEMP_PREFIX = ".init-"
#: A temporary folder with no lock file yet is left alone this long (its creator may be
#: between making it and locking it); one whose lock is free is removed at once.
STALE_UNLOCKED_S = 3600.0

_SEGMENT = re.compile(r"^(\d{6,})\.lrs$")


def runs_root(dir: str | os.PathLike | None, environ: dict | None = None) -> str:
    """The folder runs go into: ``dir``, else ``$LOCALRUN_DIR``, else ``$WANDB_DIR`` (its
    wandb twin, which job scripts set), else ``./runs``."""
    env = os.environ if environ is None else environ
    if dir is not None:
        return os.fspath(dir)
    return env.get("LOCALRUN_DIR") or env.get("WANDB_DIR") or DEFAULT_ROOT


def new_run_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(random.SystemRandom().choice(alphabet) for _ in range(8))


def check_run_id(run_id: str) -> str:
    if contract.run_id_problem(run_id) is not None:
        raise RunDirError(
            f"run id {run_id!r:.80} is not usable as a folder name: use {contract.RUN_ID_RULE}"
        )
    return run_id


def is_run_dir(path: str) -> bool:
    """True for a run directory: a folder with a run.json that is not a run being created."""
    if os.path.basename(os.path.normpath(path)).startswith(TEMP_PREFIX):
        return False
    return os.path.isfile(os.path.join(path, RUN_JSON))


def read_run_json(path: str) -> dict:
    """The run.json of ``path``; RunDirError when it is missing or unreadable."""
    p = os.path.join(path, RUN_JSON)
    try:
        with open(p, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise RunDirError(
            f"{path} is not a localrun run directory (it has no {RUN_JSON})"
        ) from None
    except (OSError, ValueError) as exc:
        raise RunDirError(
            f"cannot read {p}: {exc}. The run's metadata file is damaged or unreadable"
        ) from exc
    if not isinstance(meta, dict):
        raise RunDirError(f"{p} is damaged: expected a JSON object")
    fmt = meta.get("format", 1)
    if not isinstance(fmt, int) or fmt > FORMAT_VERSION:
        raise FormatVersionError(
            f"{path} was written with run format {fmt!r}; this localrun reads format 1 to {FORMAT_VERSION}. "
            "Upgrade localrun (pip install -U localrun)"
        )
    return meta


def write_json_atomic(path: str, obj: dict) -> None:
    """``obj`` as JSON at ``path``, whole or not at all, fsynced (``durable.write``)."""
    durable.write(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def create(path: str, meta: dict) -> Lock:
    """Make a new run directory at ``path`` and return its lock, held by this process.

    The run is made whole in a temporary folder beside it (``.init-<id>.<random>``: segments/,
    run.json with a new incarnation, and the lock, already flock()ed), then renamed into
    place. So ``path`` is either absent or a complete run whose lock is held from its first
    instant: a kill at any moment leaves at most a temporary folder, removed by a later
    create() once its lock is free, and of two processes creating the same run, one renames
    first and the other finds a live run. FileExistsError if something is at ``path``.
    """
    parent = os.path.dirname(path) or "."
    try:
        os.makedirs(parent, exist_ok=True)
    except FileExistsError:  # the parent exists, as something other than a folder
        raise NotADirectoryError(errno.ENOTDIR, "it exists and is not a folder", parent) from None
    remove_stale_temps(parent)
    while True:
        tmp = os.path.join(parent, f"{TEMP_PREFIX}{os.path.basename(path)}.{os.urandom(4).hex()}")
        try:
            os.mkdir(tmp)
            break
        except FileExistsError:
            continue
    lock = None
    try:
        lock = Lock.new(tmp)
        os.mkdir(os.path.join(tmp, SEGMENTS))
        meta = {"incarnation": new_incarnation(), **meta}
        write_json_atomic(os.path.join(tmp, RUN_JSON), {"format": FORMAT_VERSION, **meta})
        durable.fsync_path(tmp)
        try:
            os.rename(tmp, path)  # replaces an empty folder; fails on anything else
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise FileExistsError(exc.errno, "it already exists", path) from None
            raise
        lock.path = os.path.join(path, LOCK)
        durable.fsync_path(parent)
        return lock
    except BaseException:
        if lock is not None:
            lock.release()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise


def is_leftover(path: str) -> bool:
    """True if ``path`` is what a localrun killed inside ``init()`` left, before it made
    folders whole first (create()): a folder with no run.json and no record, holding at most an
    empty segments/, a lock file and a partly written run.json (``.tmp-*``)."""
    try:
        names = os.listdir(path)
    except OSError:
        return False
    for name in names:
        if name == SEGMENTS:
            try:
                if os.listdir(os.path.join(path, SEGMENTS)):
                    return False
            except OSError:
                return False
        elif name != LOCK and not name.startswith(durable.TEMP_PREFIX):
            return False
    return True


def adopt(path: str, meta: dict) -> Lock | None:
    """Make the leftover at ``path`` (see is_leftover()) a new run; returns its lock, held.

    RunLockedError if another process holds the folder's lock (it is adopting it too). None if
    the folder turned out to be a run by the time the lock was taken (another process made it
    one and ended): the caller opens it as a run.
    """
    lock = Lock(path)
    try:
        if is_run_dir(path):
            lock.release()
            return None
        if not is_leftover(path):
            raise RunDirError(
                f"{path} exists but is not a localrun run directory. Choose another id or dir"
            )
        for name in os.listdir(path):
            if name.startswith(durable.TEMP_PREFIX):
                try:
                    os.unlink(os.path.join(path, name))
                except OSError:
                    pass
        os.makedirs(os.path.join(path, SEGMENTS), exist_ok=True)
        meta = {"incarnation": new_incarnation(), **meta}
        write_json_atomic(os.path.join(path, RUN_JSON), {"format": FORMAT_VERSION, **meta})
        durable.fsync_path(path)
        return lock
    except BaseException:
        lock.release()
        raise


def remove_stale_temps(root: str) -> None:
    """Remove the temporary folders of runs whose creation was cut short (see create()).

    Only provably dead ones: whose lock file is there and free (its creator has died), or
    that have had no lock file for ``STALE_UNLOCKED_S``.
    """
    try:
        entries = [e for e in os.scandir(root) if e.name.startswith(TEMP_PREFIX)]
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            state = _lock_state(os.path.join(entry.path, LOCK))
            if state == "held":
                continue
            if state == "absent" and time.time() - entry.stat().st_mtime < STALE_UNLOCKED_S:
                continue
            if state in ("free", "absent"):
                import shutil

                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            continue


def _lock_state(path: str) -> str:
    """``held``, ``free``, ``absent`` or ``unknown`` (cannot tell: leave it be)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return "absent"
    except OSError:
        return "unknown"
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return "held"
    except OSError:
        return "unknown"
    finally:
        os.close(fd)
    return "free"


def new_incarnation() -> str:
    """A fresh incarnation id: 32 random hex digits."""
    return uuid.uuid4().hex


def incarnation(meta: dict) -> str:
    """The run's incarnation: what tells it from another run with the same project and id.

    Made at random when the run directory is created, and kept in run.json: the same on
    resume and when the folder is copied elsewhere. A run made before localrun kept one gets
    one derived from its id and creation time, the same on every read.
    """
    value = meta.get("incarnation")
    if type(value) is str and value:
        return value
    basis = f"{meta.get('id')}\0{meta.get('created_at')!r}".encode()
    return "legacy-" + hashlib.sha256(basis).hexdigest()[:32]


def segment_paths(path: str) -> list[str]:
    """The run's segment files, in the order they were written."""
    folder = os.path.join(path, SEGMENTS)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = sorted((int(m.group(1)), n) for n in names if (m := _SEGMENT.match(n)))
    return [os.path.join(folder, n) for _, n in found]


def next_segment_path(path: str) -> str:
    existing = segment_paths(path)
    m = _SEGMENT.match(os.path.basename(existing[-1])) if existing else None
    last = int(m.group(1)) if m else 0
    return os.path.join(path, SEGMENTS, f"{last + 1:06d}{SEGMENT_SUFFIX}")


class Lock:
    """The writer's exclusive hold on a run directory, for as long as the process lives.

    An flock is released by the kernel when the process dies, however it dies, which is what
    lets a reader tell ``running`` from ``crashed``.
    """

    def __init__(self, path: str):
        self.path = os.path.join(path, LOCK)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise RunDirError(
                f"cannot open {self.path}: {exc.strerror or exc}. Is the run directory writable?"
            ) from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(self._fd)
            os.close(self._fd)
            raise RunLockedError(
                f"run {path} is being written by another live process{holder}. "
                "Wait for it to finish, or start a new run with a different id"
            ) from None
        self._write_holder()

    @classmethod
    def new(cls, folder: str) -> Lock:
        """The lock of a folder being made: created under a temporary name, locked, then
        renamed to ``lock``, so a ``lock`` file that is there and free means its holder died."""
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".lock-")
        try:
            os.fchmod(fd, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self = cls.__new__(cls)
            self._fd = fd
            self.path = os.path.join(folder, LOCK)
            self._write_holder()
            os.rename(tmp, self.path)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return self

    def _write_holder(self) -> None:
        os.ftruncate(self._fd, 0)
        os.pwrite(
            self._fd,
            json.dumps(
                {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}
            ).encode(),
            0,
        )

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f" (pid {info['pid']} on {info['host']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def is_locked(path: str) -> bool:
    """True while a live process holds the run's lock (the run is being written)."""
    try:
        fd = os.open(os.path.join(path, LOCK), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


_ADJECTIVES = (
    "amber brisk calm dapper eager fancy gentle hardy icy jolly keen lively mellow noble olive "
    "proud quiet rapid silent sunny tidy vivid witty young zesty bold crisp dry fresh golden"
).split()
_NOUNS = (
    "river meadow cloud forest harbor island lake moon ocean pine rain shadow sky snow star "
    "stone sun thunder valley wave wind dawn dust fire frost glade hill leaf moss peak"
).split()


def friendly_name(root: str) -> str:
    """A wandb-style name like ``brisk-river-7``: two words and the run's number in the folder."""
    try:
        count = sum(1 for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    except OSError:
        count = 0
    rnd = random.Random()
    return f"{rnd.choice(_ADJECTIVES)}-{rnd.choice(_NOUNS)}-{count + 1}"
