"""Turning what users log into what a record holds, within the value contract (contract.py).

The fast path is not here: ``Run.log`` packs a dict whose values are all exact str, int,
float, bool or None with msgspec, directly. Every other call comes here first: ``normalize``
walks the value and returns its plain form, which satisfies ``contract.value_problem``, or
raises a ``localrun.Error`` naming the key path and showing the value. It is then packed with
no hook at all, so nothing is written that the contract (and so a server) would refuse.

- numpy scalars become Python numbers (``np.longdouble`` and every numpy float a float); numpy
  arrays a list (32 elements or fewer) or a histogram (more), as wandb does; torch tensors
  likewise; sets a list; int and float subclasses (``IntEnum``, ``np.float64``) plain numbers;
  integers beyond 64 bits floats.
- media objects write their files and become their JSON value. A list of media is one value
  in wandb's format (``images/separated``); chart presets at the top level of a ``log()``
  (``log({"pr": plot.pr_curve(...)})``) store the table under ``"pr_table"`` and a chart record
  for ``"pr"``; a matplotlib figure, or the ``pyplot`` module, becomes an Image.
- a key that is not a str, inside a value: an int, float, bool or None key becomes the text
  ``json.dumps`` makes of it (``1`` -> ``"1"``, ``True`` -> ``"true"``), as wandb stores it;
  any other key type is refused (KeyTypeError), and so are two keys of one dict that become
  the same text.
- refused (ValueTypeError): bytes, bytearray, memoryview, ``np.bytes_``, ``np.void`` and
  anything else with no plain form; containers nested deeper than ``contract.MAX_DEPTH``.
"""

from __future__ import annotations

import math
import reprlib
import sys
import types
from collections.abc import Mapping
from typing import Any

from . import contract
from .blobs import BlobStore
from .errors import KeyTypeError, ValueTypeError
from .media.base import KeyedMedia, Media
from .media.histogram import histogram_value

MAX_LIST_ELEMENTS = 32
_MAX_DEPTH = contract.MAX_DEPTH
_MIN_INT, _MAX_INT = contract.MIN_INT, contract.MAX_INT
_BYTES = (bytes, bytearray, memoryview)


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
    return normalize(data, store, made=made, depth=-1), charts


def convert(obj: Any) -> Any:
    """A plain value (or a list or dict to walk further) for ``obj``, which is none of the
    types ``normalize`` handles itself; raises ValueTypeError when there is none."""
    module = type(obj).__module__
    if module == "numpy" or module.startswith("numpy."):
        np = sys.modules["numpy"]
        if isinstance(obj, np.ndarray):
            return array_value(obj)
        if isinstance(obj, np.generic):
            return _numpy_scalar(obj, np)
    if module.startswith("torch"):
        return _torch_value(obj)
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if hasattr(obj, "__array__") and hasattr(obj, "shape"):  # jax, tensorflow, cupy...
        import numpy as np

        return array_value(np.asarray(obj))
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "size", 2) == 1:
        return obj.item()
    raise _unstorable(obj)


def _numpy_scalar(obj: Any, np: Any) -> Any:
    if isinstance(obj, np.floating):
        return float(obj)  # np.longdouble's item() is itself: stored as the nearest float
    if not isinstance(obj, (np.void, np.bytes_)):
        value = obj.item()
        if type(value) in (int, float, bool, str):
            return value
    raise _unstorable(obj)


def _unstorable(obj: Any) -> ValueTypeError:
    return ValueTypeError(
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
    value: Any,
    store: BlobStore,
    where: str = "",
    made: dict[int, Media] | None = None,
    depth: int = 0,
) -> Any:
    """The plain form of ``value`` (``depth`` containers deep already), walking it fully.

    The result satisfies ``contract.value_problem``; anything that cannot is refused with a
    ``localrun.Error`` whose message names the key path (``where``) and shows the value. A
    top-level dict of a record is walked at depth -1, so its values are at depth 0.
    """
    t = type(value)
    if t is str or t is float or t is bool or value is None:
        return value
    if t is int:
        if not _MIN_INT <= value <= _MAX_INT:
            return float(value)  # beyond 64 bits: msgpack has no exact form
        return value
    if t is dict or t is list or t is tuple:
        pass
    elif isinstance(value, Media):
        return normalize(value.to_json(store), store, where, made, depth)
    elif isinstance(value, str):
        return str.__str__(value)  # a str subclass (np.str_, a str Enum): its text
    elif isinstance(value, _BYTES):
        raise ValueTypeError(
            f"{where or 'value'}: {type(value).__name__} ({_short(value)}) cannot be logged. "
            "Decode it to a str, or save it as a file and log the file (e.g. as media)"
        )
    elif isinstance(value, float):
        return float(value)  # np.float64 and other float subclasses
    elif isinstance(value, int):
        return normalize(int(value), store, where, made, depth)  # an IntEnum: its number
    elif isinstance(value, dict):
        value = dict(value)  # OrderedDict, defaultdict...
    elif isinstance(value, (list, tuple)):
        value = list(value)  # a namedtuple...
    else:
        try:
            plain = convert(value)
        except ValueTypeError as exc:
            media = as_media(value, made)
            if media is not None:
                return normalize(media.to_json(store), store, where, made, depth)
            raise ValueTypeError(f"{where or 'value'}: {exc}") from None
        if type(plain) is type(value):  # no plainer form: do not walk it again
            raise ValueTypeError(f"{where or 'value'}: {_unstorable(value)}")
        return normalize(plain, store, where, made, depth)
    if depth >= _MAX_DEPTH:
        at = where if len(where) <= 80 else where[:40] + "..." + where[-37:]
        raise ValueTypeError(
            f"{at or 'value'}: nested deeper than {_MAX_DEPTH} containers ({_short(value)}). "
            "Flatten it (e.g. 'a/b/c' keys), or log it as a string or a file"
        )
    inner = depth + 1
    if type(value) is dict:
        out = {}
        renamed = False
        for k, v in value.items():
            if type(k) is not str:
                k = _key_text(k, where)
                renamed = True
            out[k] = normalize(v, store, f"{where}/{k}" if where else repr(k), made, inner)
        if renamed and len(out) != len(value):
            raise _same_text(value, where)
        return out
    if value and all(isinstance(v, Media) for v in value):
        kind = type(value[0])
        if all(type(v) is kind for v in value):
            combined = kind.combine(list(value), store)
            if combined is not None:
                return normalize(combined, store, where, made, depth)
    return [normalize(v, store, f"{where}[{i}]", made, inner) for i, v in enumerate(value)]


def key_text(key: Any) -> str | None:
    """The text ``json.dumps`` makes of a non-str dict key (int, float, bool, None), or None."""
    if isinstance(key, str):
        return str.__str__(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        if math.isnan(key):
            return "NaN"
        if math.isinf(key):
            return "Infinity" if key > 0 else "-Infinity"
        return float.__repr__(key)
    if isinstance(key, int):
        return int.__repr__(key)
    return None


def _key_text(key: Any, where: str) -> str:
    text = key_text(key)
    if text is None:
        raise KeyTypeError(
            f"{where or 'a dict'}: the key {_short(key)} ({type(key).__name__}) cannot be stored. "
            f"Keys must be strings (an int, float, bool or None key is stored as its JSON text): "
            f"use e.g. {str(key)!r}"
        )
    return text


def _same_text(value: dict, where: str) -> KeyTypeError:
    seen: dict[str, Any] = {}
    for k in value:
        text = key_text(k)
        if text in seen:
            return KeyTypeError(
                f"{where or 'a dict'}: the keys {_short(seen[text])} and {_short(k)} are both stored "
                f"as {text!r}; keep one of them, or rename one"
            )
        seen[text] = k
    return KeyTypeError(f"{where or 'a dict'}: two keys are stored as the same text")


def check_keys(data: dict) -> None:
    """Raise KeyTypeError for the first key of ``data`` that is not a str."""
    for k in data:
        if k.__class__ is not str and not isinstance(k, str):
            raise KeyTypeError(
                f"log() keys must be strings, but got {k!r} ({type(k).__name__}). "
                f"Use str keys, e.g. {{{str(k)!r}: ...}}"
            )


def config_value(value: Any, where: str = "config", depth: int = -1) -> Any:
    """What config stores for ``value``: plain data as is, keys of any type as text, and
    anything else as its ``str()`` (wandb's rule). Refuses only nesting deeper than
    ``contract.MAX_DEPTH`` (ValueTypeError)."""
    t = type(value)
    if t is str or t is float or t is bool or value is None:
        return value
    if t is int:
        return value if _MIN_INT <= value <= _MAX_INT else float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return config_value(int(value), where, depth)
    if isinstance(value, (Mapping, list, tuple)):
        if depth >= _MAX_DEPTH:
            raise ValueTypeError(
                f"{where}: nested deeper than {_MAX_DEPTH} containers ({_short(value)}). "
                "Flatten it, or store it as a string"
            )
        if isinstance(value, (list, tuple)):
            return [config_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        out = {}
        for k, v in value.items():
            text = key_text(k)
            k = str(k) if text is None else text
            if k in out:
                raise KeyTypeError(
                    f"{where}: two keys are stored as {k!r} (config keys are stored as text); "
                    "keep one of them, or rename one"
                )
            out[k] = config_value(v, f"{where}.{k}", depth + 1)
        return out
    module = type(value).__module__
    if module == "numpy" or module.startswith("torch"):
        try:
            plain = value.tolist() if hasattr(value, "tolist") else value.item()
        except Exception:
            plain = value
        if type(plain) is not type(value):
            return config_value(plain, where, depth)
        if module == "numpy" and isinstance(value, sys.modules["numpy"].floating):
            return float(value)  # np.longdouble: its tolist() is itself
    return str(value)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60


def short(obj: Any) -> str:
    """``repr(obj)``, cut to about 80 characters; a container only a few levels deep (a value
    nested a thousand deep has no repr)."""
    if isinstance(obj, (dict, list, tuple, set, frozenset)):
        return _REPR.repr(obj)
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."


_short = short


def is_number(v: Any) -> bool:
    return (type(v) is float or type(v) is int) and not (type(v) is float and math.isnan(v))
