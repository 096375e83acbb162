"""Turning what users log into what a record holds.

The fast path is msgpack itself: str, int, float, bool, None, lists, tuples and dicts pack
natively (numpy.float64 is a float). (``Run.log`` packs a dict of only exact str, int, float,
bool and None values with msgspec instead, to the same bytes; msgspec never sees another type,
since it packs datetime, Enum, dataclasses and others natively, which this module refuses.) Anything else reaches ``Encoder.default``: numpy scalars
become Python numbers, numpy arrays a list (32 elements or fewer) or a histogram (more), as
wandb does, torch tensors likewise, and media objects write their files and become their JSON
value. A list of media is one value in wandb's format (``images/separated``), which msgpack's
hook cannot see, so a call that contained media is packed a second time through ``normalize``.
That second pass also expands chart presets (``log({"pr": plot.pr_curve(...)})`` stores the
table under ``"pr_table"`` and a chart record for ``"pr"``) and turns a matplotlib figure, or the
``pyplot`` module, into an Image.
"""

from __future__ import annotations

import math
import sys
import types
from typing import Any

from .blobs import BlobStore
from .errors import KeyTypeError, ValueTypeError
from .media.base import KeyedMedia, Media
from .media.histogram import histogram_value

MAX_LIST_ELEMENTS = 32


class Encoder:
    """msgpack ``default`` hook for one run; remembers whether it met a media object."""

    def __init__(self, store: BlobStore):
        self.store = store
        self.saw_media = False
        #: True while this encoder runs Python code in the middle of packing a record, where a
        #: signal handler may run and log (Run._pack then uses a packer of its own).
        self.busy = False
        #: Media made from other objects (a matplotlib figure) during one call, by id().
        self.made: dict[int, Media] = {}
        #: Chart records to write after the current log record: (key, spec) pairs.
        self.charts: list[tuple[str, dict]] = []

    def default(self, obj: Any) -> Any:
        self.busy = True
        try:
            if isinstance(obj, Media):
                self.saw_media = True
                return obj.to_json(self.store)
            try:
                return convert(obj)
            except ValueTypeError:
                media = as_media(obj, self.made)  # checked last: numpy values never pay for it
                if media is None:
                    raise
            self.saw_media = True
            return media.to_json(self.store)
        finally:
            self.busy = False


def as_media(obj: Any, made: dict[int, Media] | None = None) -> Media | None:
    """The media object wandb makes of ``obj`` (a matplotlib figure or ``pyplot`` -> Image), or None."""
    if not (isinstance(obj, types.ModuleType) or type(obj).__module__.startswith("matplotlib")):
        return None
    from .media.image import Image, is_matplotlib

    if not is_matplotlib(obj):
        return None
    if made is not None and id(obj) in made:
        return made[id(obj)]
    media = Image(obj)
    if made is not None:
        made[id(obj)] = media
    return media


def expand_log_data(
    data: dict, store: BlobStore, made: dict[int, Media] | None = None
) -> tuple[dict, list[tuple[str, dict]]]:
    """``normalize(data)`` for a log record, with chart presets at the top level expanded.

    Returns the plain data and the ``(key, spec)`` of each chart record to write.
    """
    charts: list[tuple[str, dict]] = []
    if any(isinstance(v, KeyedMedia) for v in data.values()):
        out: dict = {}
        for k, v in data.items():
            if isinstance(v, KeyedMedia) and isinstance(k, str):
                values, spec = v.expand(k, store)
                out.update(values)
                charts.append((k, spec))
            else:
                out[k] = v
        data = out
    return normalize(data, store, made=made), charts


def convert(obj: Any) -> Any:
    """A plain value for a non-native ``obj``; raises ValueTypeError when there is none."""
    module = type(obj).__module__
    if module == "numpy" or module.startswith("numpy."):
        np = sys.modules["numpy"]
        if isinstance(obj, np.ndarray):
            return array_value(obj)
        if isinstance(obj, np.generic):
            return obj.item()
    if module.startswith("torch"):
        return _torch_value(obj)
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if hasattr(obj, "__array__") and hasattr(obj, "shape"):  # jax, tensorflow, cupy...
        import numpy as np

        return array_value(np.asarray(obj))
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "size", 2) == 1:
        return obj.item()
    raise ValueTypeError(
        f"cannot log a value of type {type(obj).__module__}.{type(obj).__qualname__}: {_short(obj)}. "
        "Log numbers, strings, lists, dicts, numpy arrays or localrun media (Image, Histogram, ...)"
    )


def array_value(arr: Any) -> Any:
    """wandb's rule for arrays: 32 elements or fewer become a list, more a 64-bin histogram."""
    if arr.ndim == 0:
        return arr.item()
    if arr.size <= MAX_LIST_ELEMENTS:
        return arr.tolist()
    if arr.dtype.kind not in "biuf":
        raise ValueTypeError(
            f"cannot log a numpy array of dtype {arr.dtype} with {arr.size} elements: only numeric "
            "arrays of more than 32 elements can be logged (as a histogram)"
        )
    return histogram_value(arr)


def _torch_value(t: Any) -> Any:
    if hasattr(t, "detach"):
        arr = t.detach().cpu().numpy()
        return array_value(arr)
    raise ValueTypeError(f"cannot log a value of type {type(t).__qualname__}: {_short(t)}")


def normalize(
    value: Any, store: BlobStore, where: str = "", made: dict[int, Media] | None = None
) -> Any:
    """The plain form of ``value``, walking it fully; error messages name the key path."""
    t = type(value)
    if value is None or t in (str, int, float, bool):
        if t is int and not -(2**63) <= value < 2**64:
            return float(value)  # beyond 64 bits: msgpack has no exact form
        return value
    if isinstance(value, Media):
        return value.to_json(store)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise KeyTypeError(
                    f"keys must be strings, but {where or 'the dict'} has key {k!r} ({type(k).__name__}). "
                    f"Use str keys, e.g. {str(k)!r}"
                )
            out[k] = normalize(v, store, f"{where}/{k}" if where else repr(k), made)
        return out
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, Media) for v in value):
            kind = type(value[0])
            if all(type(v) is kind for v in value):
                combined = kind.combine(list(value), store)
                if combined is not None:
                    return combined
        return [normalize(v, store, f"{where}[{i}]", made) for i, v in enumerate(value)]
    if isinstance(value, (str, bytes)):
        return value
    try:
        plain = convert(value)
    except ValueTypeError as exc:
        media = as_media(value, made)
        if media is not None:
            return media.to_json(store)
        raise ValueTypeError(f"{where or 'value'}: {exc}") from None
    if isinstance(plain, (list, dict)):
        return normalize(plain, store, where, made)
    return plain


def check_keys(data: dict) -> None:
    """Raise KeyTypeError for the first key of ``data`` that is not a str."""
    for k in data:
        if k.__class__ is not str and not isinstance(k, str):
            raise KeyTypeError(
                f"log() keys must be strings, but got {k!r} ({type(k).__name__}). "
                f"Use str keys, e.g. {{{str(k)!r}: ...}}"
            )


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."


def is_number(v: Any) -> bool:
    return (type(v) is float or type(v) is int) and not (type(v) is float and math.isnan(v))
