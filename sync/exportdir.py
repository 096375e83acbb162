"""What exports to another tool's folder format share: the output folder, the run's media files,
and the optional package each needs.

``localrun export RUN --format wandb|tensorboard -o DIR`` writes a folder another tool reads
(``wandb_offline.py``, ``tensorboard_events.py``). The folder must be new or empty, so an export
never mixes with an earlier one. A run is read through ``RunView`` (a run directory) or
``RemoteRunView`` (a run's URL on a server): ``MediaFiles`` reads the files its values name
from either, a local run's from its ``media/`` folder, a remote run's by hash from the server.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from typing import Any

from localrun.errors import ExportError, SyncError
from localrun.mediarefs import blob_of, file_refs, media_values

#: Media values whose file holds more values (a table's cells can hold images).
_TABLE_TYPES = frozenset(("table-file", "joined-table", "partitioned-table"))


def need(module: str, extra: str) -> Any:
    """Import ``module``, the optional package an export needs, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExportError(
            f"this export needs the {extra!r} package, which is not installed ({exc}). "
            f"Install it with: pip install 'localrun[{extra}]'"
        ) from None


def prepare(out_dir: str) -> str:
    """Make ``out_dir`` (and its parents) unless it exists; refuse one that is a file or holds
    anything, so an export never mixes with what was there."""
    out_dir = os.fspath(out_dir)
    if os.path.isdir(out_dir):
        entries = os.listdir(out_dir)
        if entries:
            shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
            raise ExportError(
                f"{out_dir} is not empty (it holds {shown}). Export into a new or empty folder, "
                "e.g. -o " + os.path.join(out_dir, "export")
            )
        return out_dir
    if os.path.exists(out_dir):
        raise ExportError(f"{out_dir} is a file; -o takes a folder to export into (new or empty)")
    os.makedirs(out_dir)
    return out_dir


class MediaFiles:
    """The media files a run's values name, read from the run (a folder or a server).

    ``missing`` lists ``(path, reason)`` for each named file that could not be read; the
    exports carry the value all the same and report the file.
    """

    def __init__(self, view) -> None:
        self.view = view
        self.local = isinstance(view.path, str) and os.path.isdir(view.path)
        self.missing: list[tuple[str, str]] = []
        self._tables: dict[str, Any] = {}

    def read(self, path: str, sha256: str | None = None) -> bytes | None:
        """The bytes of the file a value names (``path`` relative to the run), or None (noted
        in ``missing``) when it cannot be read."""
        try:
            plain = os.path.normpath(path)
            if os.path.isabs(path) or plain == ".." or plain.startswith(".." + os.sep):
                raise OSError(f"{path!r} leaves the run directory")
            if self.local:
                root = os.path.realpath(self.view.path)
                full = os.path.realpath(os.path.join(root, path))
                if not full.startswith(root + os.sep):
                    raise OSError(f"{path!r} leaves the run directory")
                with open(full, "rb") as f:
                    return f.read()
            blob = blob_of(path, sha256)
            if blob is None:
                raise OSError("its name is not a sha256, so the server cannot be asked for it")
            return self.view.remote.get_blob(blob)
        except (OSError, SyncError) as exc:
            self.missing.append((path, getattr(exc, "strerror", None) or str(exc)))
            return None

    def table(self, value: dict) -> Any:
        """The JSON a table value's file holds (None when it cannot be read or parsed)."""
        path = value.get("path")
        if type(path) is not str:
            return None
        if path not in self._tables:
            data = self.read(
                path, value.get("sha256") if type(value.get("sha256")) is str else None
            )
            try:
                self._tables[path] = json.loads(data) if data is not None else None
            except ValueError as exc:
                self.missing.append((path, f"not JSON: {exc}"))
                self._tables[path] = None
        return self._tables[path]

    def refs(self, value: Any) -> Iterator[tuple[str, str | None]]:
        """Every ``(path, sha256 or None)`` a value names, and those its tables' cells name."""
        for media in media_values(value):
            yield from file_refs(media)
            if media.get("_type") in _TABLE_TYPES:
                cells = self.table(media)
                if cells is not None:
                    for inner in media_values(cells):
                        yield from file_refs(inner)
