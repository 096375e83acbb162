"""Plotly: a plotly figure (or its dict, or a matplotlib figure plotly can convert) stored as
its JSON, as wandb's ``plotly-file``. plotly is optional: needed only to pass a figure object
or a matplotlib figure; a dict needs nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import MediaError, MediaTypeError
from .base import Media

if TYPE_CHECKING:
    from ..blobs import BlobStore


class Plotly(Media):
    """A plotly chart, logged as wandb's ``plotly-file``: ``media/<sha256>.plotly.json`` holds
    the figure's JSON (``{"data": [...], "layout": {...}}``), which plotly.js draws.

    ``Plotly(val)``: a ``plotly.graph_objects.Figure``, a dict of one, or a matplotlib figure
    (or ``matplotlib.pyplot``) without images, converted with plotly's ``mpl_to_plotly``.
    """

    _type = "plotly-file"

    def __init__(self, val: Any):
        from .image import is_matplotlib

        if is_matplotlib(val):
            if _has_images(val):
                raise MediaError(
                    "Plotly(): plotly cannot convert a matplotlib figure holding images (imshow). "
                    "Log it as an image instead: localrun.Image(fig)"
                )
            val = _mpl_to_plotly(val)
        if isinstance(val, dict):
            figure = val
        elif type(val).__module__.startswith("plotly") and hasattr(val, "to_plotly_json"):
            figure = val.to_plotly_json()
        else:
            raise MediaTypeError(
                "Plotly() takes a plotly figure, a dict of one, or a matplotlib figure convertible "
                f"to plotly, not {type(val).__name__}"
            )
        try:
            self._json = json.dumps(figure, default=_plain, separators=(",", ":"), allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise MediaTypeError(f"Plotly(): the figure cannot be written as JSON: {exc}") from None

    @classmethod
    def make_plot_media(cls, val: Any) -> Media:
        """What wandb makes of a chart: an Image for a matplotlib figure holding images, else
        a Plotly."""
        from .image import Image, is_matplotlib

        if is_matplotlib(val) and _has_images(val):
            return Image(val)
        return cls(val)

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        return {"_type": "plotly-file", **store.put(self._json.encode("utf-8"), "plotly.json")}

    def __repr__(self) -> str:
        return f"<localrun.Plotly {len(self._json)} bytes of JSON>"


def _figure(obj: Any) -> Any:
    import types

    return obj.gcf() if isinstance(obj, types.ModuleType) else obj


def _has_images(obj: Any) -> bool:
    return any(len(ax.images) > 0 for ax in _figure(obj).axes)


def _mpl_to_plotly(obj: Any) -> Any:
    try:
        from plotly.tools import mpl_to_plotly
    except ImportError:
        raise MediaError(
            "Plotly(): converting a matplotlib figure needs plotly: pip install plotly "
            "(or log the figure as localrun.Image(fig))"
        ) from None
    return mpl_to_plotly(_figure(obj))


def _plain(obj: Any) -> Any:
    """JSON for what a figure holds besides plain values: numpy arrays and scalars, dates."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "to_plotly_json"):
        return obj.to_plotly_json()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")
