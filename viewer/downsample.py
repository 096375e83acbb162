"""Min/max downsampling: a series of a million points drawn from about 2,000, spikes kept.

The points (x ascending) are cut into ``points // 2`` buckets of equal count. Each bucket
keeps its smallest and its largest finite value, at their own x, in x order: a one-point spike
survives, where picking every n-th point (or TensorBoard's reservoir sampling) would drop it.
Non-finite values are never averaged away either: each bucket also keeps its first NaN, its
first +inf and its first -inf, so a chart can mark them. The first and last points are always
kept, so the line reaches both ends.

``lo``/``hi`` narrow the series to an x range first (zooming in), keeping one point beyond
each edge so the line runs to the edge of the chart; when what is left has at most ``points``
points, it comes back whole: full resolution.
"""

from __future__ import annotations

import numpy as np


def downsample(
    x: np.ndarray,
    y: np.ndarray,
    points: int,
    lo: float | None = None,
    hi: float | None = None,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """``(x, y, count, sampled)``: ``count`` points were in range; ``sampled`` if some were left out.

    ``x`` must be ascending and finite; ``y`` may hold NaN and +/-inf. ``points`` >= 2.
    """
    if lo is not None or hi is not None:
        start = 0 if lo is None else int(np.searchsorted(x, lo, side="left"))
        stop = x.size if hi is None else int(np.searchsorted(x, hi, side="right"))
        start, stop = max(0, start - 1), min(x.size, stop + 1)
        x, y = x[start:stop], y[start:stop]
    idx = picks(y, points)
    if idx is None:
        return x, y, int(x.size), False
    return x[idx], y[idx], int(x.size), True


def picks(y: np.ndarray, points: int) -> np.ndarray | None:
    """The indices of ``y`` that ``downsample`` keeps, ascending; None when it keeps them all
    (``y`` has at most ``points`` values)."""
    n = int(y.size)
    if n <= points:
        return None
    buckets = max(1, points // 2)
    size = -(-n // buckets)  # ceil(n / buckets)
    buckets = -(-n // size)
    full = n // size  # buckets without padding
    finite = np.isfinite(y)
    if finite.all():
        # The common case, without copies: each bucket's first smallest and first largest.
        whole = y[: full * size].reshape(full, size)
        base = np.arange(full) * size
        keep = [base + whole.argmin(axis=1), base + whole.argmax(axis=1)]
        if full < buckets:
            rest = y[full * size :]
            keep.append(np.array([full * size + rest.argmin(), full * size + rest.argmax()]))
        keep.append(np.array([0, n - 1]))
        return np.unique(np.concatenate(keep))
    pad = buckets * size - n
    low = np.where(finite, y, np.inf)
    high = np.where(finite, y, -np.inf)
    if pad:
        low = np.concatenate([low, np.full(pad, np.inf)])
        high = np.concatenate([high, np.full(pad, -np.inf)])
    low = low.reshape(buckets, size)
    high = high.reshape(buckets, size)
    base = np.arange(buckets) * size
    i_low = low.argmin(axis=1)
    i_high = high.argmax(axis=1)
    has_finite = np.isfinite(low[np.arange(buckets), i_low])
    keep = [base[has_finite] + i_low[has_finite], base[has_finite] + i_high[has_finite]]
    odd = np.flatnonzero(~finite)
    v = y[odd]
    kind = np.where(np.isnan(v), 0, np.where(v > 0, 1, 2))
    _, first = np.unique((odd // size) * 3 + kind, return_index=True)
    keep.append(odd[first])
    keep.append(np.array([0, n - 1]))
    return np.unique(np.concatenate(keep))
