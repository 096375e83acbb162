"""Finding the media files a value names, whatever the media type.

A media value is a dict with ``_type`` and file references relative to the run directory:
``path`` (with its ``sha256``) or ``filenames`` (a list). Media files are stored as
``media/<sha256>.<ext>``, so a file's hash is also in its name. Nothing here knows any one
media type: new types are carried as long as they keep to that shape (docs/format.md).
"""

from __future__ import annotations

import os
import re

from localrun.errors import SyncError

MEDIA_DIR = "media"
_HASHED_NAME = re.compile(r"^([0-9a-f]{64})(\.|$)")


def hash_in_name(name: str) -> str | None:
    """The sha256 a media file's name starts with (``<sha256>.<ext>``), else None."""
    m = _HASHED_NAME.match(name)
    return m.group(1) if m else None


def collect(value, found: dict[str, str], depth: int = 0) -> None:
    """Add ``{sha256: path relative to the run}`` for every media file ``value`` names."""
    if depth > 64:
        return
    if type(value) is dict:
        if "_type" in value:
            path = value.get("path")
            if type(path) is str:
                sha = value.get("sha256")
                if type(sha) is not str:
                    m = _HASHED_NAME.match(path.rsplit("/", 1)[-1])
                    sha = m.group(1) if m else None
                if sha is not None:
                    found[sha] = path
            names = value.get("filenames")
            if type(names) is list:
                for name in names:
                    m = _HASHED_NAME.match(name.rsplit("/", 1)[-1]) if type(name) is str else None
                    if m:
                        found[m.group(1)] = name
        for v in value.values():
            if type(v) is dict or type(v) is list:
                collect(v, found, depth + 1)
    elif type(value) is list:
        for v in value:
            if type(v) is dict or type(v) is list:
                collect(v, found, depth + 1)


def path_in_run(run_dir: str, rel: str) -> str:
    """Where ``rel`` is inside ``run_dir`` (the file may be missing); SyncError if outside."""
    full = os.path.normpath(os.path.join(run_dir, rel))
    root = os.path.normpath(run_dir)
    if os.path.isabs(rel) or not full.startswith(root + os.sep):
        raise SyncError(
            f"{run_dir} names media file {rel!r}, which is outside the run directory; it cannot be synced"
        )
    return full


def local_file(run_dir: str, rel: str) -> str:
    """The file ``rel`` names inside ``run_dir``; SyncError if it is missing or points outside."""
    full = path_in_run(run_dir, rel)
    if not os.path.isfile(full):
        raise SyncError(
            f"{run_dir} names media file {rel!r}, which is missing from the run directory. "
            "Copy the run's media/ folder along with it, then sync again"
        )
    return full
