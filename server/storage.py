"""The storage interface the server's handlers use, and how to open the default one.

Handlers talk to a ``Storage`` only; the embedded SQLite backend (``sqlite.py``) is the
default, and a PostgreSQL backend can be added behind the same few methods. Media bytes are
not in here: they are content-addressed files (``blobs.py``), kept beside the database.

Rows are stored as the msgpack bytes of one history row each, keyed by ``(run, _step)``:
appending a row whose step is already stored is a no-op, which is what makes a replayed
batch harmless.
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RunInfo:
    """What storage knows about one run besides its rows."""

    project: str
    run_id: str
    created_at: float | None
    updated_at: float | None
    rows: int
    last_step: int | None
    doc: bytes | None  # msgpack of the run document (config, summary, state...), as last set


class Storage(abc.ABC):
    """Runs, their rows and their documents. Every method is one transaction."""

    @abc.abstractmethod
    def upsert_run(self, project: str, run_id: str, created_at: float | None) -> tuple[RunInfo, bool]:
        """Create the run if it is new; return it and whether it was created."""

    @abc.abstractmethod
    def get_run(self, project: str, run_id: str) -> RunInfo | None:
        """The run, or None."""

    @abc.abstractmethod
    def list_runs(self) -> list[RunInfo]:
        """Every run, by project then id."""

    @abc.abstractmethod
    def append_rows(self, project: str, run_id: str, rows: list[tuple[int, bytes]]) -> tuple[int, RunInfo]:
        """Store ``(step, packed row)`` pairs; steps already stored are skipped.

        Returns how many were new, and the run after. KeyError for an unknown run.
        """

    @abc.abstractmethod
    def read_rows(self, project: str, run_id: str, after: int, limit: int) -> list[bytes]:
        """Up to ``limit`` packed rows with ``_step > after``, in step order."""

    @abc.abstractmethod
    def set_doc(self, project: str, run_id: str, doc: bytes) -> RunInfo:
        """Replace the run's document. KeyError for an unknown run."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the backend."""


def open_storage(data_dir: str) -> Storage:
    """The default storage in ``data_dir``: SQLite in ``runs.sqlite``."""
    from .sqlite import SQLiteStorage

    os.makedirs(data_dir, exist_ok=True)
    return SQLiteStorage(os.path.join(data_dir, "runs.sqlite"))
