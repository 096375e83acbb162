"""A run's history by column (``RunTable``): what charts and media panels read.

Rows come in once, in step order (``TableBuilder.add``); each numeric key becomes two packed
arrays, the rows it appears in and its values (8 bytes a value, not a Python float each), and
each media key a list of ``(step, value)``. A chart then needs no pass over the rows: its x
values are ``x_values(x)[rows]``.

A value is *numeric* when it is an int or a float (bool is not, as ``localrun show`` counts
it); *media* when it is a dict with a str ``_type``, or a non-empty list whose first item is
one (a list of images is one ``images/separated`` value; a list of other media a list of
values, docs/media.md); anything else is *other* (str, bool, None, plain lists and dicts).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np

X_COLUMNS = ("_step", "_runtime", "_timestamp")
_EMPTY_ROWS = np.zeros(0, dtype=np.int64)
_EMPTY_VALUES = np.zeros(0, dtype=np.float64)


def media_type(value: Any) -> str | None:
    """The ``_type`` of a media value (or of a list of them), else None."""
    t = type(value)
    if t is dict:
        mt = value.get("_type")
        return mt if type(mt) is str else None
    if t is list and value and type(value[0]) is dict:
        mt = value[0].get("_type")
        return mt if type(mt) is str else None
    return None


class RunTable:
    """A snapshot of a run's history, by column. Never changed once built: share it freely."""

    def __init__(
        self,
        steps: np.ndarray,
        runtime: np.ndarray,
        timestamp: np.ndarray,
        numbers: dict[str, tuple[np.ndarray, np.ndarray]],
        media: dict[str, list[tuple[int, Any]]],
        other: dict[str, list[int]],
        step_metric_names: Iterable[str] = (),
    ):
        self._steps = steps
        self._runtime = runtime
        self._timestamp = timestamp
        self.rows = int(steps.size)
        self.last_step = int(steps[-1]) if steps.size else None
        self._numbers = numbers
        self._media = media
        self._other = other  # key -> [count, first step, last step]
        self._step_metrics = [k for k in step_metric_names if k in numbers]
        self._info: dict | None = None
        self._dense: dict[str, np.ndarray] = {}
        self._ascending: dict[str, bool] = {}

    # Read-only, as the whole table is (IndexTable loads them lazily, as properties too).
    @property
    def steps(self) -> np.ndarray:
        return self._steps

    @property
    def runtime(self) -> np.ndarray:
        return self._runtime

    @property
    def timestamp(self) -> np.ndarray:
        return self._timestamp

    def is_numeric(self, key: str) -> bool:
        return key in self._numbers

    def step_metrics(self) -> list[str]:
        """Numeric keys that define_metric names as a step metric."""
        return list(self._step_metrics)

    def numbers(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(row indices, values)`` of a numeric key; empty arrays for any other key."""
        return self._numbers.get(key, (_EMPTY_ROWS, _EMPTY_VALUES))

    def values(self, key: str) -> np.ndarray:
        """The values of a numeric key (``numbers(key)[1]``)."""
        return self.numbers(key)[1]

    def dense(self, key: str) -> bool:
        """Whether the key has a value in every row (then its rows are 0, 1, 2, ...)."""
        return self.numbers(key)[0].size == self.rows

    def x_values(self, x: str) -> np.ndarray:
        """One float per row: ``_step``, ``_runtime``, ``_timestamp``, or a numeric key's value.

        A numeric key is carried forward to the rows after it (NaN before its first value), as
        wandb's ``step_sync`` fills a step metric into rows that do not log it.
        """
        if x == "_step":
            return self.steps.astype(np.float64)
        if x == "_runtime":
            return self.runtime
        if x == "_timestamp":
            return self.timestamp
        dense = self._dense.get(x)
        if dense is None:
            rows, values = self.numbers(x)
            dense = np.full(self.rows, np.nan)
            if rows.size:
                # Row i takes the value of the last row at or before i that logged the key.
                at = np.searchsorted(rows, np.arange(self.rows), side="right") - 1
                have = at >= 0
                dense[have] = values[at[have]]
            self._dense[x] = dense
        return dense

    def x_column(self, x: str) -> tuple[np.ndarray, bool]:
        """``(one value per row, ascending)``: ``x_values(x)``, except that ``_step`` stays
        int64; ``ascending`` is True when the values never go down and hold no NaN, so a key's
        x values are ``column[rows]`` in order, and a range of them is found by bisection."""
        if x == "_step":
            column = self.steps
        else:
            column = self.x_values(x)
        ascending = self._ascending.get(x)
        if ascending is None:
            ascending = self._ascending[x] = bool(
                column.size < 2 or (column[1:] >= column[:-1]).all()
            ) and not (column.dtype.kind == "f" and bool(np.isnan(column).any()))
        return column, ascending

    def media_items(self, key: str) -> list[tuple[int, Any]]:
        """``(step, value)`` for every media value of ``key``, in step order."""
        return self._media.get(key, [])

    def key_info(self) -> dict[str, dict]:
        """Every key but _step, _runtime and _timestamp: ``{"type", "types", "count",
        "first_step", "last_step"}``. ``types`` counts values by kind ("number", a media
        ``_type``, or "other"); ``type`` is the most frequent."""
        if self._info is not None:
            return self._info
        info: dict[str, dict] = {}

        def add(key: str, kind: str, count: int, first: int, last: int) -> None:
            e = info.get(key)
            if e is None:
                info[key] = {
                    "type": kind,
                    "types": {kind: count},
                    "count": count,
                    "first_step": first,
                    "last_step": last,
                }
                return
            e["types"][kind] = e["types"].get(kind, 0) + count
            e["count"] += count
            e["first_step"] = min(e["first_step"], first)
            e["last_step"] = max(e["last_step"], last)
            e["type"] = max(e["types"], key=e["types"].__getitem__)

        steps = self.steps
        for key, (rows, _) in self._numbers.items():
            if key not in X_COLUMNS:
                add(key, "number", int(rows.size), int(steps[rows[0]]), int(steps[rows[-1]]))
        for key, items in self._media.items():
            kinds: dict[str, int] = {}
            for _, v in items:
                mt = media_type(v) or "other"  # (never None: only media values are kept here)
                kinds[mt] = kinds.get(mt, 0) + 1
            for kind, n in kinds.items():
                add(key, kind, n, items[0][0], items[-1][0])
        for key, (n, first, last) in self._other.items():
            if key not in X_COLUMNS:
                add(key, "other", n, first, last)
        self._info = dict(sorted(info.items()))
        return self._info


class TableBuilder:
    """Takes history rows in step order; ``build()`` gives the ``RunTable``."""

    def __init__(self) -> None:
        self._n = 0
        self._rows: dict[str, array] = {}
        self._values: dict[str, array] = {}
        self._media: dict[str, list[tuple[int, Any]]] = {}
        self._other: dict[str, list[int]] = {}

    def add(self, rows: Iterable[dict]) -> None:
        # Once per value of the run: kept to a type test and two appends for a number.
        n = self._n
        rows_of, values_of = self._rows, self._values
        for row in rows:
            for k, v in row.items():
                t = type(v)
                if t is float or t is int:
                    r = rows_of.get(k)
                    if r is None:
                        r = rows_of[k] = array("q")
                        values_of[k] = array("d")
                    r.append(n)
                    values_of[k].append(v)
                else:
                    self._add_other(k, v, row.get("_step", n))
            n += 1
        self._n = n

    def _add_other(self, key: str, value: Any, step: int) -> None:
        if media_type(value) is not None:
            self._media.setdefault(key, []).append((step, value))
            return
        e = self._other.get(key)
        if e is None:
            self._other[key] = [1, step, step]
        else:
            e[0] += 1
            e[2] = step

    def build(self, step_metric_names: Iterable[str] = ()) -> RunTable:
        numbers = {
            k: (
                np.frombuffer(self._rows[k], dtype=np.int64),
                np.frombuffer(self._values[k], dtype=np.float64),
            )
            for k in self._rows
        }
        steps_rows, steps = numbers.pop("_step", (_EMPTY_ROWS, _EMPTY_VALUES))
        if steps_rows.size != self._n:
            raise ValueError("every history row must have an integer _step")
        steps = steps.astype(np.int64)

        def dense(key: str) -> np.ndarray:
            rows, values = numbers.pop(key, (_EMPTY_ROWS, _EMPTY_VALUES))
            out = np.full(self._n, np.nan)
            out[rows] = values
            return out

        return RunTable(
            steps,
            dense("_runtime"),
            dense("_timestamp"),
            numbers,
            self._media,
            self._other,
            step_metric_names,
        )


def step_metric_names(metrics: dict | None) -> list[str]:
    """The step metrics a run's ``define_metric`` specs name (``doc["metrics"]``), in order."""
    out: list[str] = []
    for spec in (metrics or {}).values():
        name = spec.get("step_metric") if type(spec) is dict else None
        if type(name) is str and name and name not in out:
            out.append(name)
    return out
