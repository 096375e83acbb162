"""The one reading interface of the viewer: what ``localrun ui`` and ``localrun serve`` implement.

A ``Source`` holds runs keyed by ``(project, run id)``, as the server keys them
(docs/protocol.md, "Names"). The read API (``api.py``) calls nothing else, so a second way of
storing runs only has to implement these methods; what each returns is the JSON the API
sends (docs/viewer.md), except ``series`` values, which are numpy arrays until ``api.py``
encodes them.

``TableSource`` implements ``keys``, ``series`` and ``media`` over a ``RunTable`` (a run's
history by column, ``table.py``): a subclass only says how to get a run's documents, its table,
its rows and its files. ``LocalSource`` (``local.py``) does so over run directories, its
tables from each run's index (``runindex.py``); the server can feed a ``ColumnStore``
(``columns.py``) from its stored rows and answer from its tables the same way
(``table_keys``, ``table_series``, ``table_media``).

Every method may be called from several threads at once.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Literal, NamedTuple

import numpy as np

from localrun.errors import Error

from .downsample import downsample, picks
from .table import X_COLUMNS, RunTable


class ReadError(Error):
    """A read request the viewer cannot answer; ``status`` is the HTTP status it becomes."""

    status = 400


class NotFoundError(ReadError, LookupError):
    """No such run, key or file."""

    status = 404


class RunRef(NamedTuple):
    """A run's key: ``(project, run id)``."""

    project: str
    run_id: str

    def __str__(self) -> str:
        return f"{self.project}/{self.run_id}"


class Series(NamedTuple):
    """One key's points, ready to draw: ``x`` ascending, ``y`` with NaN and +/-inf kept."""

    x: np.ndarray
    y: np.ndarray
    # points in the whole range asked for, before downsampling (the field hides tuple.count(),
    # which nothing calls on a Series: the name is the read API's)
    count: int  # type: ignore[assignment]
    sampled: bool  # True when downsampled (then about ``points`` of ``count`` are here)


MAX_POINTS = 100_000
MAX_MEDIA_ITEMS = 100_000


class Source(ABC):
    """Runs to look at. Every method raises ``NotFoundError`` for an unknown run."""

    @abstractmethod
    def list_runs(self) -> list[dict]:
        """Every run's document (as ``run()`` returns it), newest ``created_at`` first."""

    @abstractmethod
    def run(self, ref: RunRef) -> dict:
        """The run document, as ``localrun show RUN --json`` prints it (``state`` included)."""

    @abstractmethod
    def keys(self, ref: RunRef) -> dict:
        """``{"rows", "last_step", "x": [x axis names], "keys": {key: {"type", "types",
        "count", "first_step", "last_step"}}}``: see docs/viewer.md."""

    @abstractmethod
    def series(
        self,
        ref: RunRef,
        keys: Iterable[str],
        x: str = "_step",
        points: int = 2000,
        lo: float | None = None,
        hi: float | None = None,
    ) -> dict[str, Series]:
        """Each numeric key against ``x``, downsampled to about ``points`` (``downsample.py``).

        ``x`` is ``_step``, ``_runtime``, ``_timestamp`` or a numeric key (a define_metric step
        metric); ``lo``/``hi`` keep only points with ``lo <= x <= hi`` (and one beyond each
        edge). A key that is not numeric gives an empty series.
        """

    @abstractmethod
    def media(self, ref: RunRef, key: str, points: int | None = None) -> dict:
        """``{"key", "type", "count", "sampled", "items": [{"step", "value"}]}`` in step order;
        with ``points``, at most that many items, evenly spaced, first and last kept."""

    @abstractmethod
    def rows(self, ref: RunRef, after: int = -1, limit: int = 10_000) -> list[dict]:
        """Up to ``limit`` history rows with ``_step > after``, in step order."""

    @abstractmethod
    def open_file(self, ref: RunRef, path: str) -> str:
        """A readable filesystem path for the media file at ``path`` (relative to the run, as
        values name it: ``media/<sha256>.<ext>``). ``NotFoundError`` for anything else."""


class TableSource(Source):
    """``keys``, ``series`` and ``media`` answered from a run's ``RunTable``."""

    @abstractmethod
    def table(self, ref: RunRef) -> RunTable:
        """The run's history by column, as of now."""

    def keys(self, ref: RunRef) -> dict:
        return table_keys(self.table(ref))

    def series(self, ref, keys, x="_step", points=2000, lo=None, hi=None) -> dict[str, Series]:
        return table_series(self.table(ref), ref, keys, x, points, lo, hi)

    def media(self, ref: RunRef, key: str, points: int | None = None) -> dict:
        return table_media(self.table(ref), key, points)


def table_keys(t: RunTable) -> dict:
    """``Source.keys`` over a ``RunTable``."""
    return {
        "rows": t.rows,
        "last_step": t.last_step,
        "x": list(X_COLUMNS) + [k for k in t.step_metrics() if k not in X_COLUMNS],
        "keys": t.key_info(),
    }


def table_media(t: RunTable, key: str, points: int | None = None) -> dict:
    """``Source.media`` over a ``RunTable``."""
    items = t.media_items(key)
    count = len(items)
    sampled = False
    if points is not None and count > points:
        sampled = True
        picked = np.unique(np.linspace(0, count - 1, num=points).round().astype(np.int64))
        items = [items[i] for i in picked.tolist()]
    kinds = t.key_info().get(key, {}).get("types", {})
    media_types = [k for k in kinds if k not in ("number", "other")]
    return {
        "key": key,
        "type": media_types[0] if media_types else None,
        "count": count,
        "sampled": sampled,
        "items": [{"step": s, "value": v} for s, v in items],
    }


def table_series(
    t: RunTable,
    ref: RunRef,
    keys: Iterable[str],
    x: str = "_step",
    points: int = 2000,
    lo: float | None = None,
    hi: float | None = None,
) -> dict[str, Series]:
    """``Source.series`` over a ``RunTable``.

    When the x column never goes down (``_step`` always; ``_runtime`` and ``_timestamp``
    nearly always), nothing is copied but the points kept: the range is found by bisecting the
    column and the key's rows, and only the kept rows' x values are looked up. Otherwise the
    key's x values are gathered, NaN ones dropped, and sorted. Both give the same points.
    """
    if x not in X_COLUMNS and not t.is_numeric(x):
        raise ReadError(
            f"x={x!r} is not an x axis of run {ref}: use _step, _runtime, _timestamp or a numeric key"
        )
    column, ascending = t.x_column(x)
    out = {}
    for key in keys:
        if not ascending:
            key_rows, values = t.numbers(key)
            xv = column[key_rows].astype(np.float64)
            known = ~np.isnan(xv)
            if not known.all():
                xv, values = xv[known], values[known]
            if xv.size > 1 and bool((xv[1:] < xv[:-1]).any()):
                order = np.argsort(xv, kind="stable")
                xv, values = xv[order], values[order]
            out[key] = Series(*downsample(xv, values, points, lo, hi))
            continue
        # column[rows] ascends with rows: the points with x >= lo are those whose row is at
        # or after the first row with x >= lo (and likewise for hi), so bisect twice. A key
        # in every row has rows 0, 1, 2, ...: they need not be read at all.
        values = t.values(key)
        rows = None if t.dense(key) else t.numbers(key)[0]
        n = int(values.size)
        start, stop = 0, n
        if lo is not None:
            first = _bisect(column, lo, "left")
            start = max(0, (first if rows is None else int(np.searchsorted(rows, first))) - 1)
        if hi is not None:
            last = _bisect(column, hi, "right")
            stop = min(n, (last if rows is None else int(np.searchsorted(rows, last))) + 1)
        stop = max(start, stop)
        y = values[start:stop]
        idx = picks(y, points)
        at = np.arange(start, stop) if idx is None else start + idx
        sel_rows = at if rows is None else rows[at]
        sel_y = y if idx is None else y[idx]
        xs = column[sel_rows].astype(np.float64)
        out[key] = Series(xs, np.array(sel_y, dtype=np.float64), stop - start, idx is not None)
    return out


def _bisect(column: np.ndarray, bound: float, side: Literal["left", "right"]) -> int:
    """``np.searchsorted(column, bound, side)``, without turning an int column into floats."""
    if column.dtype.kind == "i":
        info = np.iinfo(column.dtype)
        edge = math.ceil(bound) if side == "left" else math.floor(bound)
        if edge < info.min:
            return 0
        if edge > info.max:
            return int(column.size)
        return int(np.searchsorted(column, np.int64(edge), side=side))
    return int(np.searchsorted(column, bound, side=side))


def newest_first(docs: list[dict]) -> list[dict]:
    """Documents sorted by ``created_at``, newest first (those without one last)."""

    def when(d: dict) -> float:
        c: Any = d.get("created_at")  # (the type test below is one the checker cannot follow)
        return -c if type(c) in (int, float) and math.isfinite(c) else math.inf

    return sorted(docs, key=when)


def nonfinite_as_strings(value: Any) -> Any:
    """``value`` with every NaN, inf and -inf float replaced by "NaN", "Infinity", "-Infinity"."""
    t = type(value)
    if t is float:
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if t is dict:
        return {k: nonfinite_as_strings(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [nonfinite_as_strings(v) for v in value]
    return value
