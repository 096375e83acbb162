"""A run's files: what the script keeps with the run, as wandb keeps its run's ``files/``.

::

    <run>/files/<path>    the files, each under the path it was saved as
    <run>/files.json      {"format": 1, "files": {<path>: {"sha256", "size", "policy"}}}: what
                          each file held when it was saved (written whole, by rename)

A file gets there two ways. ``run.save(glob, base_path=, policy=)`` copies what the glob
matches, as wandb does: ``"now"`` copies it at once; ``"live"`` (the default) at once and
again at ``finish()`` if it changed; ``"end"`` at ``finish()`` only. And a file the script
writes into ``run.dir`` itself (the run's folder: ``os.path.join(run.dir, "model.h5")``) is
taken at ``finish()``: every entry of the run's folder that the format does not name
(``rundir.FORMAT_NAMES``, or a name starting with ``.``) is hard-linked into ``files/``
(copied where a link cannot be made), folders whole. ``run.log_code(root)`` saves source
files (``*.py`` by default) under ``files/code/``.

Copies are streamed (a multi-GB checkpoint is never read whole into memory), hashed as they
are copied, and renamed into place whole. ``localrun verify`` checks each file against
``files.json``; ``localrun sync`` sends each file content-addressed (each once per server)
with the run's list of files (docs/protocol.md, "Run files").
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import threading
from collections.abc import Callable
from typing import Any

from . import durable, rundir
from .errors import RunDirError, ValueTypeError

FILES_DIR = rundir.FILES_DIR
FILES_JSON = rundir.FILES_JSON
POLICIES = ("live", "now", "end")
CODE_DIR = "code"
_CHUNK = 1 << 20


def check_file_path(path: Any) -> str | None:
    """Why ``path`` cannot name a run file, or None: it must be relative, ``/``-separated,
    with no empty, ``.`` or ``..`` part, no backslash or NUL, at most 1024 characters. The
    server checks names with this same rule."""
    if type(path) is not str or not path:
        return f"a run file's path must be a non-empty str, not {str(path)[:80]!r}"
    if (
        len(path) > 1024
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        return (
            f"run file path {path[:200]!r} is not allowed: it must be relative, like "
            "'model.h5' or 'checkpoints/last.ckpt', with no '..', '.' or empty part"
        )
    return None


def read_manifest(run_dir: str) -> dict[str, dict]:
    """``files.json``'s files, ``{path: {"sha256", "size", "policy"}}``; {} when there is none.
    RunDirError when it cannot be read."""
    path = os.path.join(run_dir, FILES_JSON)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RunDirError(f"cannot read {path}: {exc}") from exc
    files = doc.get("files") if type(doc) is dict else None
    if type(files) is not dict:
        raise RunDirError(f"{path} holds no files object: it is damaged")
    return {
        k: v
        for k, v in files.items()
        if check_file_path(k) is None and type(v) is dict and type(v.get("sha256")) is str
    }


def list_files(run_dir: str) -> list[str]:
    """The paths of the files under ``files/`` (``/``-separated, sorted); temporary files
    (``.tmp-*``) left by a writer killed mid-copy are skipped."""
    top = os.path.join(run_dir, FILES_DIR)
    found = []
    for folder, dirs, names in os.walk(top):
        dirs.sort()
        rel = os.path.relpath(folder, top)
        for name in sorted(names):
            if name.startswith(durable.TEMP_PREFIX):
                continue
            path = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
            if check_file_path(path) is None and os.path.isfile(os.path.join(folder, name)):
                found.append(path)
    return found


def hash_file(path: str) -> tuple[str, int]:
    """``(sha256 hex, size)`` of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class RunFiles:
    """The files of one live run (``Run.save``, ``Run.log_code``, and ``finish()``)."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.top = os.path.join(run_dir, FILES_DIR)
        self.lock = threading.Lock()
        self.manifest = read_manifest(run_dir)
        #: Files to copy (again) at finish: ``{path in files/: (source, policy, (size, mtime))}``.
        self.pending: dict[str, tuple[str, str, tuple[int, int] | None]] = {}

    # --- save ----------------------------------------------------------------------------------

    def save(self, glob_str: Any, base_path: Any = None, policy: str = "live") -> list[str]:
        """wandb's ``run.save``: the files ``glob_str`` matches, kept with the run under their
        path relative to ``base_path``; returns where they are (in ``files/``)."""
        if isinstance(glob_str, bytes):
            glob_str = glob_str.decode()
        if glob_str is None:
            return []
        if not isinstance(glob_str, (str, os.PathLike)):
            raise ValueTypeError(
                f"save() takes a path or glob (str), not {type(glob_str).__name__}: {glob_str!r:.80}"
            )
        glob_str = os.fspath(glob_str)
        if policy not in POLICIES:
            raise ValueTypeError(
                f"save(policy={policy!r}) is not a policy: use 'live' (copied now and again at "
                "finish() if changed), 'now' (copied now) or 'end' (copied at finish())"
            )
        if glob_str.startswith(("gs://", "s3://", "http://", "https://")):
            raise ValueTypeError(
                f"save({glob_str!r}): that is a URL, and save() keeps local files. Download it "
                "first, then save the local copy"
            )
        full = os.path.abspath(glob_str)
        if base_path is None:
            # As wandb: a relative glob keeps its path from the working folder; an absolute
            # one keeps only its last folder and the name.
            base = (
                os.getcwd()
                if not os.path.isabs(glob_str)
                else os.path.dirname(os.path.dirname(full))
            )
        else:
            base = os.path.abspath(os.fspath(base_path))
        rel_glob = os.path.relpath(full, base)
        if rel_glob == "." or rel_glob.split(os.sep)[0] == "..":
            raise ValueTypeError(
                f"save({glob_str!r}, base_path={base!r}): the glob may not walk above the base "
                "path, nor be the base path itself. Give a base_path the files are under"
            )
        if rel_glob.split(os.sep)[0] == "*":
            raise ValueTypeError(
                f"save({glob_str!r}): the glob may not start with '*' relative to the base path "
                f"{base!r}. Pass base_path= to name the folder the paths are kept from"
            )
        saved = []
        for source in sorted(glob.glob(os.path.join(glob.escape(base), rel_glob))):
            if not os.path.isfile(source):
                continue
            rel = os.path.relpath(source, base).replace(os.sep, "/")
            if check_file_path(rel) is not None:
                continue
            if os.path.realpath(source).startswith(os.path.realpath(self.top) + os.sep):
                continue  # already one of the run's files
            with self.lock:
                if policy == "end":
                    self.pending[rel] = (source, policy, None)
                else:
                    self._copy(source, rel, policy)
                    if policy == "live":
                        self.pending[rel] = (source, policy, _stamp(source))
                    else:
                        self.pending.pop(rel, None)
                    self._write_manifest()
            saved.append(os.path.join(self.top, *rel.split("/")))
        return saved

    def log_code(
        self,
        root: str = ".",
        include_fn: Callable[..., bool] | None = None,
        exclude_fn: Callable[..., bool] | None = None,
    ) -> list[str]:
        """wandb's ``run.log_code``: the source files under ``root`` (``*.py`` unless
        ``include_fn(path, root)`` says otherwise; ``exclude_fn(path, root)`` leaves files
        out, and by default folders named ``.*``, ``__pycache__``, ``node_modules`` and
        virtual environments) saved under ``files/code/``, as they are now."""
        root = os.path.abspath(root)
        include = include_fn or (lambda path, root=None: path.endswith(".py"))
        saved = []
        # Not into the runs (the folder of runs, when it is under root) nor into a virtual
        # environment or a cache.
        skip = {os.path.realpath(self.run_dir), os.path.realpath(os.path.dirname(self.run_dir))}
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in ("__pycache__", "node_modules", "site-packages")
                and not os.path.isfile(os.path.join(folder, d, "pyvenv.cfg"))
                and os.path.realpath(os.path.join(folder, d)) not in skip
            )
            for name in sorted(names):
                path = os.path.join(folder, name)
                if not _call(include, path, root) or (
                    exclude_fn is not None and _call(exclude_fn, path, root)
                ):
                    continue
                rel = CODE_DIR + "/" + os.path.relpath(path, root).replace(os.sep, "/")
                if check_file_path(rel) is not None or not os.path.isfile(path):
                    continue
                with self.lock:
                    self._copy(path, rel, "now")
                saved.append(os.path.join(self.top, *rel.split("/")))
        if saved:
            with self.lock:
                self._write_manifest()
        return saved

    # --- finish --------------------------------------------------------------------------------

    def finish(self) -> None:
        """Copy the ``live`` files that changed and the ``end`` ones, take what the script
        wrote into the run's folder, and write ``files.json``. A source that is gone is
        skipped (its last copy, if any, stays)."""
        with self.lock:
            changed = False
            for rel, (source, policy, stamp) in sorted(self.pending.items()):
                try:
                    if policy == "end" or _stamp(source) != stamp or rel not in self.manifest:
                        self._copy(source, rel, policy)
                        changed = True
                except FileNotFoundError:
                    continue
            self.pending.clear()
            changed |= self._adopt()
            if changed:
                self._write_manifest()

    def _adopt(self) -> bool:
        """Link what the script wrote into the run's folder (not the format's own names) into
        ``files/``; whether there was any."""
        try:
            entries = sorted(os.scandir(self.run_dir), key=lambda e: e.name)
        except OSError:
            return False
        taken = False
        for entry in entries:
            if entry.name in rundir.FORMAT_NAMES or entry.name.startswith("."):
                continue
            if entry.is_file(follow_symlinks=True):
                sources = [(entry.path, entry.name)]
            elif entry.is_dir(follow_symlinks=False):
                sources = []
                for folder, dirs, names in os.walk(entry.path):
                    dirs.sort()
                    for name in sorted(names):
                        path = os.path.join(folder, name)
                        rel = os.path.relpath(path, self.run_dir).replace(os.sep, "/")
                        sources.append((path, rel))
            else:
                continue
            for path, rel in sources:
                if check_file_path(rel) is not None or not os.path.isfile(path):
                    continue
                try:
                    self._link(path, rel)
                except FileNotFoundError:
                    continue
                taken = True
        return taken

    # --- copies --------------------------------------------------------------------------------

    def _target(self, rel: str) -> str:
        target = os.path.join(self.top, *rel.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        return target

    def _copy(self, source: str, rel: str, policy: str) -> None:
        """Copy ``source`` to ``files/<rel>``, hashing it on the way; whole or not at all."""
        target = self._target(rel)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = durable.temp_file(os.path.dirname(target), 0o644)
        try:
            try:
                with open(source, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            durable.replace(tmp, target)
        except BaseException:
            durable.discard(tmp)
            raise
        self.manifest[rel] = {"sha256": digest.hexdigest(), "size": size, "policy": policy}

    def _link(self, source: str, rel: str) -> None:
        """``files/<rel>`` as a hard link to ``source`` (a copy where a link cannot be made)."""
        target = self._target(rel)
        sha, size = hash_file(source)
        known = self.manifest.get(rel)
        if known is not None and known.get("sha256") == sha and os.path.isfile(target):
            return
        tmp = os.path.join(os.path.dirname(target), f"{durable.TEMP_PREFIX}link-{os.getpid()}")
        durable.discard(tmp)
        try:
            os.link(source, tmp)
            durable.replace(tmp, target, sync=False)
        except OSError:
            durable.discard(tmp)
            self._copy(source, rel, "end")
            return
        self.manifest[rel] = {"sha256": sha, "size": size, "policy": "end"}

    def _write_manifest(self) -> None:
        doc = {"format": 1, "files": dict(sorted(self.manifest.items()))}
        durable.write(
            os.path.join(self.run_dir, FILES_JSON),
            json.dumps(doc, indent=1).encode(),
            sync_folder=True,
        )


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _call(fn: Callable[..., bool], path: str, root: str) -> bool:
    """wandb's include_fn/exclude_fn take ``(path, root)``; older ones take ``(path)``."""
    try:
        return bool(fn(path, root))
    except TypeError:
        return bool(fn(path))
