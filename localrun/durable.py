"""Files written whole or not at all, and made durable: the one write-then-rename and fsync.

A file is written under a temporary name (``.tmp-*``) in the folder it goes to, or in a
folder of temporary files on the same filesystem, then renamed to its name: a rename is
atomic, so a reader never sees half a file under its final name, and a process killed at any
point leaves the whole file or none (at most a temporary file, which readers skip by its name).

When it reaches the disk: ``sync=True`` fsyncs the file before the rename, so the name never
points at bytes a power loss can take back; ``sync_folder=True`` fsyncs the folder after it,
so the new name itself survives one. A caller writing many files fsyncs each folder once at
the end instead (``fsync_path``); the recorder's media files are fsynced later, in a batch,
before any record that names them (``blobs.py``).

Used by run.json (``rundir.py``), media files (``blobs.py``), sync cursors
(``localrun.sync.cursor``) and the server's blobs (``localrun.server.blobs``).
"""

from __future__ import annotations

import errno
import os
import tempfile

#: Names of files being written: readers ignore them, and a writer killed mid-way leaves one.
TEMP_PREFIX = ".tmp-"
#: What a full disk, a quota or a file size limit looks like as an ``OSError``.
DISK_FULL_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if e is not None
)


def write(
    path: str,
    data: bytes,
    *,
    mode: int = 0o644,
    sync: bool = True,
    sync_folder: bool = False,
    temp_dir: str | None = None,
) -> None:
    """Write ``data`` to ``path``, whole or not at all (see the module's docstring).

    The temporary file is made in ``temp_dir`` (default: ``path``'s folder, which must exist)
    with permissions ``mode``. On any failure it is removed and the error raised.
    """
    fd, tmp = temp_file(temp_dir or os.path.dirname(path) or ".", mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise
    if sync_folder:
        fsync_path(os.path.dirname(path) or ".", strict=True)


def temp_file(folder: str, mode: int = 0o600) -> tuple[int, str]:
    """A new temporary file in ``folder``, open for writing, with permissions ``mode``:
    ``(file descriptor, path)``. Write it, close it, then ``replace`` it into place."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    try:
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        discard(tmp)
        raise
    return fd, tmp


def replace(tmp: str, path: str, *, sync: bool = True, sync_folder: bool = False) -> None:
    """Rename the finished file ``tmp`` (written by the caller) to ``path``: ``write``'s last
    steps, with the same ``sync`` and ``sync_folder``. The caller removes ``tmp`` on failure."""
    if sync:
        fsync_path(tmp, strict=True)
    os.replace(tmp, path)
    if sync_folder:
        fsync_path(os.path.dirname(path) or ".", strict=True)


def fsync_path(path: str, *, strict: bool = False) -> None:
    """fsync a file or folder by name. Errors are ignored (the next write reports them)
    unless ``strict``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if strict:
            raise
        return
    try:
        os.fsync(fd)
    except OSError:
        if strict:
            raise
    finally:
        os.close(fd)


def discard(tmp: str) -> None:
    """Remove a temporary file that will not be renamed (already gone is fine)."""
    try:
        os.unlink(tmp)
    except OSError:
        pass
