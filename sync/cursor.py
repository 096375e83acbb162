"""The sync cursor: how far one run has been acknowledged by one remote.

Kept in the run directory as ``sync/<remote>.json`` (docs/format.md reserves ``sync/``; the
recorder never writes there), written atomically after each acknowledged batch. ``last_step``
is the highest ``_step`` the remote acknowledged; rows are sent in step order, so every row at
or below it is on the remote. ``synced`` is set only once everything of a finished run was
acknowledged, with the segment sizes it was read at (``segments``), so a re-sync of an
unchanged run can say "up to date" without replaying it.

``as_project`` and ``as_id`` are the project and run id the run has *on that remote* when they
are not its own (``localrun sync --project`` / ``--as``): set once, every later sync to that
remote uses them. ``lost`` names the media files the last sync could not send (missing,
damaged, too large), so the next one tries them again even when no row names them anew.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field

from localrun.errors import SyncError
from localrun.rundir import write_json_atomic

SYNC_DIR = "sync"


@dataclass
class Cursor:
    url: str
    last_step: int | None = None
    rows: int = 0
    synced: bool = False
    segments: dict[str, int] = field(default_factory=dict)
    as_project: str | None = None
    as_id: str | None = None
    lost: dict[str, str] = field(default_factory=dict)  # {sha256: path} not sent last time

    @staticmethod
    def file_for(run_dir: str, url: str) -> str:
        """``sync/<host>-<port>-<hash>.json``: readable, and unique per remote URL."""
        parts = re.sub(r"[^A-Za-z0-9.-]+", "-", url.split("://", 1)[-1]).strip("-")[:60]
        digest = hashlib.sha256(url.encode()).hexdigest()[:10]
        return os.path.join(run_dir, SYNC_DIR, f"{parts}-{digest}.json")

    @classmethod
    def load(cls, run_dir: str, url: str) -> Cursor:
        """The cursor for ``url``, or a fresh one. A damaged cursor file counts as none: the
        remote ignores rows it already has, so starting over is slow but never wrong."""
        try:
            with open(cls.file_for(run_dir, url), encoding="utf-8") as f:
                data = json.load(f)
            cursor = cls(
                url=url,
                last_step=data["last_step"] if type(data.get("last_step")) is int else None,
                rows=int(data.get("rows") or 0),
                synced=data.get("synced") is True,
                segments={str(k): int(v) for k, v in (data.get("segments") or {}).items()},
                as_project=_name(data.get("as_project")),
                as_id=_name(data.get("as_id")),
                lost={str(k): str(v) for k, v in (data.get("lost") or {}).items()},
            )
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            return cls(url=url)
        return cursor

    def save(self, run_dir: str) -> None:
        path = self.file_for(run_dir, self.url)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json_atomic(path, asdict(self))


def _name(value: object) -> str | None:
    return value if type(value) is str and value else None


class SyncLock:
    """Held while one ``localrun sync`` pushes a run to one remote (``sync/<remote>.lock``).

    A login node syncing a shared folder on a loop can start a sync before the last one
    ended; two syncs of one run to one remote would race on its cursor. The second is
    refused at once; the kernel drops the lock however the holder dies.
    """

    def __init__(self, run_dir: str, url: str):
        self.path = Cursor.file_for(run_dir, url)[: -len(".json")] + ".lock"
        self._fd = -1

    def __enter__(self) -> SyncLock:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = -1
            raise SyncError(
                f"another localrun sync is pushing {os.path.dirname(os.path.dirname(self.path))} to this server "
                "right now; this one leaves it alone. Run it again once that one has finished"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
