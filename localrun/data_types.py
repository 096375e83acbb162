"""``localrun.data_types``: the media types under the module name wandb gives them
(``from wandb import data_types``; ``data_types.Node``, ``data_types.box3d``). Each name is
``localrun``'s own, imported on first use."""

from __future__ import annotations

from typing import Any

_NAMES = (
    "Audio",
    "Bokeh",
    "Classes",
    "Edge",
    "Graph",
    "Histogram",
    "Html",
    "Image",
    "Molecule",
    "Node",
    "Object3D",
    "Plotly",
    "Table",
    "Video",
    "box3d",
)
__all__ = [*_NAMES]  # noqa: PLE0605 (imported on first use, by __getattr__)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'localrun.data_types' has no attribute {name!r}")
    import localrun

    value = getattr(localrun, name)
    globals()[name] = value
    return value
