"""Histogram: binned counts, stored inline in the record (no file)."""

from __future__ import annotations

from typing import Any

from ..errors import MediaError, MediaTypeError
from .base import Media

MAX_BINS = 512


def _np():
    import numpy

    return numpy


def histogram_value(values: Any, num_bins: int = 64) -> dict[str, Any]:
    """wandb's histogram JSON for an array-like of numbers: ``{"_type", "bins", "values"}``.

    NaN and infinities are left out of the counts (numpy cannot bin them).
    """
    np = _np()
    if type(values).__module__.startswith("torch"):
        values = values.detach().cpu().numpy()
    try:
        arr = np.asarray(values)
        if arr.dtype.kind not in "iuf":
            arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise MediaTypeError(
            f"Histogram needs a sequence of numbers as sequence, not {type(values).__name__}: {exc}"
        ) from exc
    arr = arr.ravel()
    try:
        counts, edges = np.histogram(arr, bins=num_bins)
    except ValueError:
        # NaN or an infinity makes the range not finite: bin the finite values only (one
        # extra pass, paid only by arrays that hold such values).
        counts, edges = np.histogram(arr[np.isfinite(arr)], bins=num_bins)
    return {"_type": "histogram", "bins": edges.tolist(), "values": counts.tolist()}


class Histogram(Media):
    """A histogram of ``sequence``, or a ready ``np.histogram`` result (``np_histogram``).

    ``Histogram(np.histogram(data))`` works too: a (counts, edges) pair passed positionally is
    taken as ``np_histogram``, as the seed documents show.
    """

    _type = "histogram"

    def __init__(self, sequence: Any = None, np_histogram: Any = None, num_bins: int = 64):
        if np_histogram is None and _is_np_histogram(sequence):
            sequence, np_histogram = None, sequence
        if not isinstance(num_bins, int) or isinstance(num_bins, bool) or num_bins < 1:
            raise MediaError(f"Histogram num_bins must be a positive int, not {num_bins!r}")
        if num_bins > MAX_BINS:
            raise MediaError(
                f"Histogram num_bins={num_bins} is over the limit of {MAX_BINS}; pass num_bins<={MAX_BINS}"
            )
        if np_histogram is not None:
            self._value = _from_np_histogram(np_histogram)
        elif sequence is not None:
            self._value = histogram_value(sequence, num_bins)
        else:
            raise MediaError(
                "Histogram() needs sequence (numbers to bin) or np_histogram=(counts, bin_edges); both were None"
            )
        if len(self._value["values"]) > MAX_BINS:
            raise MediaError(
                f"Histogram has {len(self._value['values'])} bins, over the limit of {MAX_BINS}; "
                "re-bin it with fewer bins"
            )

    @property
    def bins(self) -> list[float]:
        return self._value["bins"]

    @property
    def histogram(self) -> list[float]:
        return self._value["values"]

    def _encode(self, store) -> dict[str, Any]:
        return dict(self._value)


def _is_np_histogram(obj: Any) -> bool:
    if not isinstance(obj, tuple) or len(obj) != 2:
        return False
    counts, edges = obj
    try:
        return len(edges) == len(counts) + 1
    except TypeError:
        return False


def _from_np_histogram(obj: Any) -> dict[str, Any]:
    np = _np()
    try:
        counts, edges = obj
        counts = np.asarray(counts).ravel()
        edges = np.asarray(edges, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise MediaTypeError(
            f"np_histogram must be a (counts, bin_edges) pair like np.histogram returns, not {type(obj).__name__}"
        ) from exc
    if len(edges) != len(counts) + 1:
        raise MediaError(
            f"np_histogram has {len(counts)} counts and {len(edges)} bin edges; "
            "there must be exactly one more edge than counts"
        )
    return {"_type": "histogram", "bins": edges.tolist(), "values": counts.tolist()}
