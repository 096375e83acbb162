"""Content-addressed media files inside a run directory.

A media file is stored as ``media/<sha256>.<ext>``: the same bytes logged any number of
times, under any key or step, cost one file. A file is complete before any record names it:
written to a temporary file in the same folder, then renamed into place (``durable.write``: a
reader never sees half a file under its final name, and a process killed at any point leaves
either the whole file or none). Values name the files; ``mediarefs.py`` finds them there.

When it reaches the disk: with ``sync_later=False`` the file is fsynced before the rename. A
run uses ``sync_later=True``: the rename happens at once and ``sync()`` fsyncs the files written
since the last call, then the folder; the run's segment writer calls it before each fsync of
the segment (at most a second after a write, and at finish), so a record is never fsynced
before the media files it names. This keeps an fsync (a millisecond or more per file, far more
on network filesystems) off the training loop, and gives media the records' power-loss promise.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading

from . import durable
from .durable import fsync_path
from .errors import DiskFullError, Error, MediaError

#: The folder of a run's media files, and the start of every media path in its values.
MEDIA_DIR = "media"
_EXT = re.compile(r"^[a-z0-9][a-z0-9.]{0,15}$")


class BlobStore:
    """The media files of one run directory."""

    def __init__(self, run_dir: str, sync_later: bool = False):
        self.run_dir = run_dir
        self.dir = os.path.join(run_dir, MEDIA_DIR)
        self._made = os.path.isdir(self.dir)
        self._sync_later = sync_later
        self._unsynced: list[str] = []
        self._lock = threading.Lock()

    def put(self, data: bytes, ext: str) -> dict:
        """Store ``data``; return ``{"path", "sha256", "size"}`` with ``path`` relative to the run."""
        return self._store(hashlib.sha256(data).hexdigest(), ext, data)

    def put_file(self, src: str, ext: str) -> dict:
        """Store a copy of the file at ``src``, byte for byte."""
        try:
            with open(src, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise MediaError(
                f"cannot read {src!r}: {exc.strerror or exc}. Pass an existing, readable file"
            ) from exc
        return self.put(data, ext)

    def sync(self) -> None:
        """fsync every file written since the last call, then the media folder (its new names).

        Errors are not raised: this runs on the segment's sync thread, and a file that cannot
        be synced is no reason to stop syncing the records.
        """
        with self._lock:
            paths, self._unsynced = self._unsynced, []
        if not paths:
            return
        for path in paths:
            fsync_path(path)
        fsync_path(self.dir)

    def path_of(self, sha256: str, ext: str) -> str:
        return os.path.join(self.dir, f"{sha256}.{ext}")

    def _store(self, sha256: str, ext: str, data: bytes) -> dict:
        ext = ext.lower().lstrip(".")
        if not _EXT.match(ext):
            raise MediaError(
                f"bad media file extension {ext!r}: use letters and digits, like 'png'"
            )
        name = f"{sha256}.{ext}"
        final = os.path.join(self.dir, name)
        if not os.path.exists(final):
            self._write(final, data)
        return {"path": f"{MEDIA_DIR}/{name}", "sha256": sha256, "size": len(data)}

    def _write(self, final: str, data: bytes) -> None:
        if not self._made:
            os.makedirs(self.dir, exist_ok=True)
            self._made = True
            fsync_path(self.run_dir)  # the new media/ entry itself; once per run
        try:
            durable.write(final, data, sync=not self._sync_later)
            if self._sync_later:
                with self._lock:
                    self._unsynced.append(final)
        except OSError as exc:
            if exc.errno in durable.DISK_FULL_ERRNOS:
                raise DiskFullError(
                    exc.errno,
                    f"cannot write media file {final}: the disk is full. "
                    "Everything logged before this call is safe; free some space and log again",
                ) from exc
            raise Error(f"cannot write media file {final}: {exc.strerror or exc}") from exc
