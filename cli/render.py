"""Small pieces of terminal rendering: sparklines over any number of points, value formatting."""

from __future__ import annotations

import datetime
import math
from typing import Any

from . import jsontext

BARS = "▁▂▃▄▅▆▇█"


class Series:
    """Keeps at most ``2 * width`` evenly spaced points of a metric, however many arrive."""

    __slots__ = ("width", "points", "stride", "_skip", "count", "min", "max", "last")

    def __init__(self, width: int = 16):
        self.width = width
        self.points: list[float] = []
        self.stride = 1
        self._skip = 0
        self.count = 0
        self.min = math.inf
        self.max = -math.inf
        self.last: float | None = None

    def add(self, v: float) -> None:
        self.count += 1
        self.last = v
        if v == v:  # not NaN
            if v < self.min:
                self.min = v
            if v > self.max:
                self.max = v
        self._skip += 1
        if self._skip < self.stride:
            return
        self._skip = 0
        self.points.append(v)
        if len(self.points) >= 2 * self.width:
            del self.points[1::2]
            self.stride *= 2

    def sparkline(self) -> str:
        pts = [p for p in self.points if math.isfinite(p)]
        if not pts:
            return ""
        # Average down to the width.
        n = len(pts)
        if n > self.width:
            size = n / self.width
            pts = [
                sum(pts[int(i * size) : max(int(i * size) + 1, int((i + 1) * size))])
                / max(1, len(pts[int(i * size) : max(int(i * size) + 1, int((i + 1) * size))]))
                for i in range(self.width)
            ]
        lo, hi = min(pts), max(pts)
        span = hi - lo
        if span == 0:
            return BARS[3] * len(pts)
        return "".join(
            BARS[min(len(BARS) - 1, int((p - lo) / span * (len(BARS) - 1) + 0.5))] for p in pts
        )


def fmt_value(v: Any, width: int = 60) -> str:
    """A value in at most ``width`` characters (a longer one is cut, ending in "…")."""
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.6g}"
    if isinstance(v, dict) and "_type" in v:
        return f"<{fmt_text(v['_type'], width - 2)}>"
    return fmt_text(v, width)


def fmt_text(v: Any, width: int = 60) -> str:
    """``str(v)``, cut to ``width`` characters; a value too deep or too odd for ``str()`` is
    shown as the start of its JSON text instead."""
    try:
        text = str(v)
    except Exception:  # RecursionError on a value nested deeper than repr follows
        text = jsontext.text(v, limit=width + 1)
    return text if len(text) <= width else text[: width - 1] + "…"


def fmt_key(k: Any) -> str:
    """A map key as text: a string as it is, any other key as its JSON text."""
    return k if type(k) is str else jsontext.key(k)


def fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    try:
        return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):  # not a time a clock can show
        return fmt_text(t, 30)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    try:
        seconds = int(seconds)
    except (TypeError, ValueError, OverflowError):  # NaN, an infinity, not a number
        return fmt_text(seconds, 30)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


#: The width of a table printed to something that is not a terminal (a pipe, a file): wide
#: enough that no cell is wrapped mid-word; the values themselves are already cut short.
PIPE_WIDTH = 4000


def console():
    """A rich console for stdout: the terminal's width on a terminal (or $COLUMNS when set);
    otherwise wide, so that ``localrun show | cat`` or ``| grep`` gets each row on one line."""
    import os
    import sys

    from rich.console import Console

    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return Console()
    return Console(width=PIPE_WIDTH)
