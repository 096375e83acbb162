"""The storage interface the server's handlers use, and how to open the default one.

Handlers talk to a ``Storage`` only; the embedded SQLite backend (``sqlite.py``) is the
default, and a PostgreSQL backend can be added behind the same few methods. Media bytes are
not in here: they are content-addressed files (``blobs.py``), kept beside the database.

Rows arrive in batches, in increasing ``_step`` order, and a run's stored rows are always a
prefix of its history: a row whose step is at or below the run's last stored step is already
there, so storage drops it. That is what makes a replayed batch a no-op. A backend may store
a batch as it came (the SQLite one keeps each batch's msgpack as one chunk).
"""

from __future__ import annotations

import abc
import bisect
import os
from dataclasses import dataclass

import msgpack


class UnknownRunError(KeyError):
    """Raised by storage for a run it does not hold (the server answers 404)."""


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


@dataclass(frozen=True)
class RowBatch:
    """Checked rows, steps strictly increasing; ``body`` is their msgpack array as received.

    The server does not keep rows decoded: it passes ``rows`` None and ``offsets``, where row
    ``i`` starts in ``body`` (``offsets[i]``; the last entry is where the array ends), so a
    tail of the batch is a slice of ``body``. Without offsets, ``rows`` (decoded) is repacked.
    """

    steps: list[int]
    rows: list[dict] | None
    body: bytes
    offsets: list[int] | None = None

    def after(self, step: int) -> RowBatch:
        """The rows with ``_step > step``."""
        i = bisect.bisect_right(self.steps, step)
        if i == 0:
            return self
        if self.offsets is None:
            return RowBatch(self.steps[i:], self.rows[i:], msgpack.packb(self.rows[i:]))
        n = len(self.steps) - i
        head = _PACKER.pack_array_header(n)
        start = self.offsets[i]
        return RowBatch(
            self.steps[i:],
            None,
            head + self.body[start:],
            [o - start + len(head) for o in self.offsets[i:]],
        )


_PACKER = msgpack.Packer()


class Storage(abc.ABC):
    """Runs, their rows and their documents. Every method is one transaction."""

    @abc.abstractmethod
    def upsert_run(
        self, project: str, run_id: str, created_at: float | None
    ) -> tuple[RunInfo, bool]:
        """Create the run if it is new; return it and whether it was created."""

    @abc.abstractmethod
    def get_run(self, project: str, run_id: str) -> RunInfo | None:
        """The run, or None."""

    @abc.abstractmethod
    def list_runs(self) -> list[RunInfo]:
        """Every run, by project then id."""

    @abc.abstractmethod
    def append_rows(self, project: str, run_id: str, batch: RowBatch) -> tuple[int, RunInfo]:
        """Store the rows of ``batch`` above the run's last stored step, in one transaction.

        Returns how many were new, and the run after. UnknownRunError for an unknown run.
        """

    @abc.abstractmethod
    def read_rows(self, project: str, run_id: str, after: int, limit: int) -> list[dict]:
        """Up to ``limit`` rows with ``_step > after``, in step order."""

    @abc.abstractmethod
    def set_doc(self, project: str, run_id: str, doc: bytes) -> RunInfo:
        """Replace the run's document. UnknownRunError for an unknown run."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the backend."""


def open_storage(data_dir: str) -> Storage:
    """The default storage in ``data_dir`` (made 0700): SQLite in ``runs.sqlite``."""
    from .disk import private_folder
    from .sqlite import SQLiteStorage

    private_folder(data_dir)
    return SQLiteStorage(os.path.join(data_dir, "runs.sqlite"))
