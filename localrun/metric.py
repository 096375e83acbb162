"""``Metric``: what ``define_metric()`` returns, and the checks it makes of its arguments.

As wandb's: ``name`` is a metric name or a prefix ending in ``*`` (``"train/*"``; ``*`` only
at the end), dots in it are nested keys (``"val.acc"`` is ``{"val": {"acc": ...}}``) unless
escaped (``"val\\\\.acc"`` is the key ``"val.acc"``), ``summary`` is a comma separated list of
``min, max, mean, first, last, best, copy, none``, ``goal`` starts with ``min`` or ``max``,
and ``step_sync`` defaults to True when a ``step_metric`` is given. A bad argument raises
UsageError (wandb raises its ``wandb.Error``) and records nothing.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError
from .record.kinds import METRIC_SUMMARIES

_GOALS = {"min": "minimize", "max": "maximize"}


class Metric:
    """One ``define_metric()`` call, as wandb's ``wandb_metric.Metric``."""

    def __init__(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: tuple[str, ...] | list[str] | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ):
        self._name = name
        self._step_metric = step_metric
        self._step_sync = step_sync if step_sync is not None else step_metric is not None
        self._hidden = hidden
        self._summary = tuple(summary) if summary is not None else None
        self._goal = goal[:3].lower() if goal else None
        self._overwrite = overwrite

    @property
    def name(self) -> str:
        return self._name

    @property
    def step_metric(self) -> str | None:
        return self._step_metric

    @property
    def step_sync(self) -> bool | None:
        return self._step_sync

    @property
    def hidden(self) -> bool | None:
        return self._hidden

    @property
    def summary(self) -> tuple[str, ...] | None:
        return self._summary

    @property
    def goal(self) -> str | None:
        """``"minimize"``, ``"maximize"`` or None."""
        return _GOALS.get(self._goal) if self._goal else None

    @property
    def overwrite(self) -> bool | None:
        return self._overwrite

    def spec(self) -> dict[str, Any]:
        """The ``spec`` of the METRIC record (docs/format.md)."""
        spec: dict[str, Any] = {}
        if self._step_metric:
            spec["step_metric"] = self._step_metric
        if self._step_sync and self._step_metric:
            spec["step_sync"] = True
        elif self._step_sync is False:
            spec["step_sync"] = False
        if self._hidden:
            spec["hidden"] = True
        if self._summary:
            spec["summary"] = list(self._summary)
        if self._goal:
            spec["goal"] = _GOALS[self._goal]
        if self._overwrite:
            spec["overwrite"] = True
        return spec

    def __getitem__(self, key: str) -> Any:
        """``metric["summary"]``...: define_metric returned a dict before it returned a Metric
        (``{"name": ..., **spec}``), and code written then keeps working."""
        return {"name": self._name, **self.spec()}[key]

    def __repr__(self) -> str:
        return f"<localrun.Metric {self._name!r} {self.spec()!r}>"


def check_metric(
    name: Any,
    step_metric: Any = None,
    step_sync: Any = None,
    hidden: Any = None,
    summary: Any = None,
    goal: Any = None,
    overwrite: Any = None,
) -> Metric:
    """The Metric a ``define_metric()`` call makes; UsageError for an argument wandb refuses."""
    call = f"define_metric({name!r})"
    if not name:
        raise UsageError(f"define_metric() needs a metric name, not {name!r}. Pass e.g. 'val/loss'")
    if isinstance(step_metric, Metric):
        step_metric = step_metric.name
    for arg, value, kind in (
        ("name", name, str),
        ("step_metric", step_metric, str),
        ("step_sync", step_sync, bool),
        ("hidden", hidden, bool),
        ("summary", summary, str),
        ("goal", goal, str),
        ("overwrite", overwrite, bool),
    ):
        if value is not None and not isinstance(value, kind):
            raise UsageError(
                f"{call}: {arg}={value!r} is a {type(value).__name__}; it must be a "
                f"{kind.__name__}"
                + (" (the name of the metric to plot against)" if arg == "step_metric" else "")
            )
    stripped = name[:-1] if name.endswith("*") else name
    if "*" in stripped:
        raise UsageError(
            f"{call}: '*' may only end a name (a prefix, as 'train/*'), not stand inside it. "
            "Define each metric, or use the prefix they share"
        )
    parts: list[str] | None = None
    if summary:
        parts = [p.strip().lower() for p in summary.split(",") if p.strip()]
        bad = [p for p in parts if p not in METRIC_SUMMARIES]
        if bad or not parts:
            raise UsageError(
                f"{call}: summary={summary!r} names unknown aggregates {bad or [summary]!r}. "
                f"Use one or more of {', '.join(sorted(METRIC_SUMMARIES))}, comma separated"
            )
    if goal is not None and goal[:3].lower() not in _GOALS:
        raise UsageError(f"{call}: goal={goal!r} is not understood; use 'minimize' or 'maximize'")
    return Metric(name, step_metric, step_sync, hidden, parts, goal, overwrite)


def metric_path(name: str) -> tuple[str, ...]:
    """The nested keys a metric name stands for, as wandb splits it: at each dot not escaped
    with a backslash (``"a.b"`` is ``("a", "b")``, ``"a\\\\.b"`` is ``("a.b",)``). A backslash
    before anything else is kept."""
    if "." not in name:
        return (name,)
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in name:
        if escaped:
            current.append("." if ch == "." else "\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if escaped:
        current.append("\\")
    if current:
        parts.append("".join(current))
    return tuple(parts)
