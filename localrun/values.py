"""Turning what users log into what a record holds, within the value contract (contract.py).

``Encoder`` (at the end) is the one object that turns a run's calls into record payloads.
A ``log()`` call whose values are all exact str, int, float, bool or None is packed by
msgspec, directly. Every other call is looked at first: ``is_plain`` checks, by a table of
types, whether msgpack would pack the value as it is to a value within the contract (the
usual nested dict or list is); if not, ``normalize`` walks the value and returns its plain
form, which satisfies ``contract.value_problem``, or raises a ``localrun.Error`` naming the
key path and showing the value. Either is then packed with no hook at all, so nothing is
written that the contract (and so a server) would refuse.

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

import itertools
import math
import reprlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

from . import contract
from .blobs import BlobStore
from .clock import ELAPSED_CLOCK, Clock
from .clock import read as _read_clock
from .errors import KeyTypeError, ValueTypeError
from .media.base import KeyedMedia, Media
from .media.histogram import histogram_value
from .record import kinds
from .steps import StepCounter

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


#: How is_plain() takes a value of each type: 0 as it is (a plain scalar, or a subclass msgpack
#: packs to the bytes of the plain value: np.float64, an IntEnum, a str Enum), 1 a container to
#: look into, 2 not plain (normalize() must make it so). Learnt for each new type on first sight.
_PLAIN_KIND: dict[type, int] = {
    str: 0,
    int: 0,  # beyond 64 bits, msgpack refuses it: Encoder._pack_log() then normalizes
    float: 0,
    bool: 0,
    type(None): 0,
    dict: 1,
    list: 1,
    tuple: 1,
}


def _learn_kind(t: type) -> int:
    if issubclass(t, (str, int, float)) and not issubclass(t, bool):
        kind = 0
    elif issubclass(t, (dict, list, tuple)):
        kind = 1
    else:
        kind = 2
    _PLAIN_KIND[t] = kind
    return kind


def is_plain(value: dict | list | tuple, depth: int = -1) -> bool:
    """True if msgpack packs ``value`` (a dict, list or tuple ``depth`` containers deep), as it
    is, to a value within the contract: dicts with str keys, lists, tuples, str, int, float,
    bool and None (or subclasses msgpack packs alike), nested at most ``contract.MAX_DEPTH``
    deep; but for an int beyond 64 bits, which msgpack refuses. The usual value is such, and
    is then packed as it is, without the copy ``normalize()`` makes."""
    if depth >= _MAX_DEPTH:
        return False
    inner = depth + 1
    kinds = _PLAIN_KIND
    if isinstance(value, dict):
        for k, v in value.items():
            if type(k) is not str and not isinstance(k, str):
                return False
            kind = kinds.get(type(v))
            if kind == 0:
                continue
            if kind is None:
                kind = _learn_kind(type(v))
            if kind == 2 or (kind == 1 and not is_plain(v, inner)):
                return False
        return True
    for v in value:
        kind = kinds.get(type(v))
        if kind == 0:
            continue
        if kind is None:
            kind = _learn_kind(type(v))
        if kind == 2 or (kind == 1 and not is_plain(v, inner)):
            return False
    return True


def plain_log_data(
    data: dict, store: BlobStore, made: dict[int, Media] | None = None
) -> tuple[dict, list[tuple[str, dict]]]:
    """The plain form of a ``log()`` call's data (its keys are str already), with chart presets
    at its top level expanded. Returns the data and the ``(key, spec)`` of each chart record.

    Walks without building key paths; only a refused value is walked again, with them, for its
    error message (media objects cache their encoding, so nothing is encoded twice).
    """
    charts: list[tuple[str, dict]] = []
    try:
        return _top(data, store, made, charts, None), charts
    except (KeyTypeError, ValueTypeError):
        _top(data, store, made, [], "")  # raises again, naming the key path
        raise


def _top(data: dict, store: BlobStore, made: Any, charts: list, where: str | None) -> dict:
    out = {}
    scalars, scalar_of = _SCALARS, _SCALAR_OF
    for k, v in data.items():
        if type(k) is not str:
            k = str.__str__(k)  # a str subclass (check_keys refused every other type)
        tv = type(v)
        if tv in scalars or (tv is int and _MIN_INT <= v <= _MAX_INT):
            out[k] = v
            continue
        conv = scalar_of.get(tv)
        if conv is not None:
            out[k] = conv(v)
        elif isinstance(v, KeyedMedia):
            values, spec = v.expand(k, store)
            out.update(_dict(values, store, made, -1, where))
            charts.append((k, spec))
        else:
            out[k] = _normalize(v, store, made, 0, None if where is None else repr(k))
    return out


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
    try:
        return _normalize(value, store, made, depth, None)
    except (KeyTypeError, ValueTypeError):
        _normalize(value, store, made, depth, where)  # raises again, naming the key path
        raise


# The walk. ``where`` is the key path of ``value`` for error messages, or None while walking
# without building paths (the first walk: see normalize()). A plain scalar in a dict or list
# is taken inline, without a call; so is a scalar with one plain form (np.float64, an IntEnum,
# a str subclass), through the function _SCALAR_OF learns for its type.

_SCALARS = frozenset((str, float, bool, type(None)))
_SCALAR_OF: dict[type, Callable[[Any], Any] | None] = {}


def _normalize(value: Any, store: BlobStore, made: Any, depth: int, where: str | None) -> Any:
    t = type(value)
    if t in _SCALARS:
        return value
    if t is int:
        return value if _MIN_INT <= value <= _MAX_INT else float(value)
    if t is dict:
        return _dict(value, store, made, depth, where)
    if t is list or t is tuple:
        return _list(value, store, made, depth, where)
    try:
        conv = _SCALAR_OF[t]
    except KeyError:
        conv = _SCALAR_OF[t] = _scalar_function(t)
    if conv is not None:
        return conv(value)
    return _other(value, store, made, depth, where)


def _scalar_function(t: type) -> Callable[[Any], Any] | None:
    """The function giving the plain scalar of every value of type ``t``, if there is one."""
    if issubclass(t, str):
        return str.__str__  # np.str_, a str Enum: its text
    if issubclass(t, float):
        return float  # np.float64
    if issubclass(t, int) and not issubclass(t, bool):
        return _int  # an IntEnum
    if t.__module__ == "numpy":
        np = sys.modules["numpy"]
        if issubclass(t, np.floating):
            return float  # np.longdouble's item() is itself: the nearest float
        if issubclass(t, np.bool_):
            return bool
        if issubclass(t, np.integer) and not issubclass(t, np.timedelta64):
            return _int
    return None


def _int(value: Any) -> int | float:
    i = int(value)
    return i if _MIN_INT <= i <= _MAX_INT else float(i)  # beyond 64 bits: no exact form


def _dict(value: dict, store: BlobStore, made: Any, depth: int, where: str | None) -> dict:
    if depth >= _MAX_DEPTH:
        raise _too_deep(value, where)
    inner = depth + 1
    scalars, scalar_of = _SCALARS, _SCALAR_OF
    out = {}
    renamed = False
    for k, v in value.items():
        if type(k) is not str:
            k = _key_text(k, where)
            renamed = True
        tv = type(v)
        if tv in scalars or (tv is int and _MIN_INT <= v <= _MAX_INT):
            out[k] = v
            continue
        conv = scalar_of.get(tv)
        if conv is not None:
            out[k] = conv(v)
        elif where is None:
            out[k] = _normalize(v, store, made, inner, None)
        else:
            out[k] = _normalize(v, store, made, inner, f"{where}/{k}" if where else repr(k))
    if renamed and len(out) != len(value):
        raise _same_text(value, where)
    return out


def _list(value: list | tuple, store: BlobStore, made: Any, depth: int, where: str | None) -> Any:
    if depth >= _MAX_DEPTH:
        raise _too_deep(value, where)
    if value and isinstance(value[0], Media):
        kind = type(value[0])
        if all(type(v) is kind for v in value):
            combined = kind.combine(list(value), store)
            if combined is not None:
                return _normalize(combined, store, made, depth, where)
    inner = depth + 1
    scalars, scalar_of = _SCALARS, _SCALAR_OF
    out: list[Any] = []
    append = out.append
    for i, v in enumerate(value):
        tv = type(v)
        if tv in scalars or (tv is int and _MIN_INT <= v <= _MAX_INT):
            append(v)
            continue
        conv = scalar_of.get(tv)
        if conv is not None:
            append(conv(v))
        else:
            append(_normalize(v, store, made, inner, None if where is None else f"{where}[{i}]"))
    return out


def _other(value: Any, store: BlobStore, made: Any, depth: int, where: str | None) -> Any:
    """``_normalize`` for every type that is not a plain one nor a scalar with a plain form."""
    if isinstance(value, Media):
        return _normalize(value.to_json(store), store, made, depth, where)
    if isinstance(value, _BYTES):
        raise ValueTypeError(
            f"{where or 'value'}: {type(value).__name__} ({_short(value)}) cannot be logged. "
            "Decode it to a str, or save it as a file and log the file (e.g. as media)"
        )
    if isinstance(value, dict):
        return _dict(dict(value), store, made, depth, where)  # OrderedDict, defaultdict...
    if isinstance(value, (list, tuple)):
        return _list(list(value), store, made, depth, where)  # a namedtuple...
    try:
        plain = convert(value)
    except ValueTypeError as exc:
        media = as_media(value, made)
        if media is not None:
            return _normalize(media.to_json(store), store, made, depth, where)
        raise ValueTypeError(f"{where or 'value'}: {exc}") from None
    if type(plain) is type(value):  # no plainer form: do not walk it again
        raise ValueTypeError(f"{where or 'value'}: {_unstorable(value)}")
    return _normalize(plain, store, made, depth, where)


def _too_deep(value: Any, where: str | None) -> ValueTypeError:
    at = where or "value"
    at = at if len(at) <= 80 else at[:40] + "..." + at[-37:]
    return ValueTypeError(
        f"{at}: nested deeper than {_MAX_DEPTH} containers ({_short(value)}). "
        "Flatten it (e.g. 'a/b/c' keys), or log it as a string or a file"
    )


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


def _key_text(key: Any, where: str | None) -> str:
    text = key_text(key)
    if text is None:
        raise KeyTypeError(
            f"{where or 'a dict'}: the key {_short(key)} ({type(key).__name__}) cannot be stored. "
            f"Keys must be strings (an int, float, bool or None key is stored as its JSON text): "
            f"use e.g. {str(key)!r}"
        )
    return text


def _same_text(value: dict, where: str | None) -> KeyTypeError:
    seen: dict[str | None, Any] = {}
    for k in value:
        text = key_text(k)
        if text in seen:
            return KeyTypeError(
                f"{where or 'a dict'}: the keys {_short(seen[text])} and {_short(k)} are both stored "
                f"as {text!r}; keep one of them, or rename one"
            )
        seen[text] = k
    return KeyTypeError(f"{where or 'a dict'}: two keys are stored as the same text")


def check_keys(data: dict, call: str = "log()") -> None:
    """Raise KeyTypeError for the first key of ``data`` that is not a str (naming ``call``)."""
    for k in data:
        if k.__class__ is not str and not isinstance(k, str):
            raise KeyTypeError(
                f"{call} keys must be strings, but got {k!r} ({type(k).__name__}). "
                f"Use str keys, e.g. {{{str(k)!r}: ...}}"
            )


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


# --- the encoder: a call in, a record payload out ----------------------------------------------

#: The exact types (no subclasses) that msgspec and msgpack pack alike, to the same bytes. msgspec
#: packs more types than msgpack does (datetime, Enum, dataclasses, sets, ...), and differently
#: from what normalize() makes of them, so only a log() call whose values are all of these
#: types takes msgspec; every other call is made plain by normalize() and packed by msgpack.
_PLAIN = frozenset({str, int, float, bool, type(None)})
_MAX_RECORD_BYTES = contract.MAX_RECORD_BYTES
_COUNTED_ABOVE_BYTES = contract.COUNTED_ABOVE_BYTES
_LOG = kinds.LOG


class Encoder:
    """Turns a run's calls into record payloads: one per run, the only packer of its records.

    It stamps each record with its ``seq`` (counted from 1: START is 0) and its time (the
    run's ``Clock``), and packs it. ``log()`` takes a ``log()`` call: it checks the keys, makes
    the data plain unless it is already (the usual call), then packs: msgspec for plain values
    (2-3x faster than msgpack, the same bytes), msgpack with no ``default`` hook for the rest,
    so packing runs no Python code and a signal handler cannot log in the middle of a record.
    ``record()`` packs every other kind. All refuse a record over ``contract.MAX_RECORD_BYTES``
    (or holding more values than a server takes) before anything is written.
    """

    def __init__(self, store: BlobStore, clock: Clock):
        # Imported here, not at module level, to keep ``import localrun`` cheap.
        import msgpack
        import msgspec.msgpack

        self._store = store
        self._clock = clock
        self._clock_offset = clock.offset_s
        #: The records' seq numbers (START is 0); next() is atomic, so they stay unique.
        self.seqs = itertools.count(1)
        self._packer = msgpack.Packer()
        self._encode_plain = msgspec.msgpack.Encoder().encode

    def log(
        self, data: Any, step: int | None, commit: Any, counter: StepCounter
    ) -> tuple[bytes, list[tuple[str, dict]] | None]:
        """The payload of a ``log(data, step, commit)`` call (``step`` checked already), and
        the ``(key, spec)`` of its chart records. Refuses what the value contract does not allow.

        The record's ``writer_step`` is ``counter``'s step and its time the clock's, both read
        after the data is made plain: that may run the caller's code (media, ``__array__``),
        where a signal handler may log.
        """
        if data.__class__ is not dict:
            data = _as_dict(data)
        plain_types = _PLAIN
        plain = commit.__class__ in plain_types  # and step is None or an int
        for k, v in data.items():
            if k.__class__ is not str:
                check_keys(data)
                plain = False
            elif v.__class__ is not float and v.__class__ not in plain_types:  # most are floats
                plain = False
        # Keys replay stamps on every row (contract.RESERVED_KEYS): _step and _runtime are
        # refused; a call with _timestamp takes the long way, which checks it.
        if "_step" in data or "_runtime" in data or "_timestamp" in data:
            _refuse_reserved(data)
            plain = False
        charts = None
        if not plain:
            data, charts = self._plain_log_data(data)
        # The record's time: see clock.py (Clock.now(), inlined).
        t = self._clock_offset + _read_clock(ELAPSED_CLOCK)
        record = (_LOG, next(self.seqs), t, data, step, commit, counter.step)
        if plain:
            try:
                payload = self._encode_plain(record)
            except Exception:
                # An int past 64 bits, a lone surrogate: normalize() decides, as for any value
                # that is not plain.
                data = self._plain_log_data(data)[0]
                payload = self._pack_log((*record[:3], data, *record[4:]))
        else:
            payload = self._pack_log(record)
        if len(payload) > _COUNTED_ABOVE_BYTES:
            _check_size(payload, "this log() call")
        return payload, charts

    def record(self, kind: int, *fields: Any) -> bytes:
        """The payload of a record of any other kind, its fields plain already
        (``summary()`` makes a summary change so)."""
        payload = self._packer.pack((kind, next(self.seqs), self._clock.now(), *fields))
        if len(payload) > _COUNTED_ABOVE_BYTES:
            _check_size(payload, f"this {kinds.NAMES[kind]} change")
        return payload

    def summary(self, changes: dict) -> dict:
        """The plain form of a summary change (keys must be str, values any loggable value)."""
        check_keys(changes, "summary")
        return normalize(changes, self._store, depth=-1)

    def _plain_log_data(self, data: dict) -> tuple[dict, list[tuple[str, dict]]]:
        """The plain form of a ``log()`` call's data, and its chart records; refuses what the
        value contract does not allow (a ``_timestamp`` that is not a time included)."""
        charts: list[tuple[str, dict]]
        if is_plain(data):
            plain, charts = data, []  # packed as it is (the usual nested dict or list)
        else:
            plain, charts = plain_log_data(data, self._store, {})
        if "_timestamp" in plain:
            _check_timestamp(plain["_timestamp"])
        return plain, charts

    def _pack_log(self, record: tuple) -> bytes:
        try:
            return self._packer.pack(record)
        except UnicodeEncodeError:
            raise  # a lone surrogate in a str: refused as msgpack refuses it
        except OverflowError:
            pass  # an int beyond 64 bits, which is_plain() lets through: made a float below
        except (TypeError, ValueError) as exc:
            raise _bad_commit(record[5], exc) from None
        plain = plain_log_data(record[3], self._store, {})[0]
        try:
            return self._packer.pack((*record[:3], plain, *record[4:]))
        except UnicodeEncodeError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise _bad_commit(record[5], exc) from None


def _bad_commit(commit: Any, exc: Exception) -> ValueTypeError:
    # What is packed is plain but for what was passed as commit.
    return ValueTypeError(
        f"log(commit={short(commit)}) cannot be recorded ({exc}): pass commit=True, False or None"
    )


def _check_size(payload: bytes, what: str) -> None:
    """Refuse a large record over the size limit, or holding more values than a server takes."""
    if len(payload) > _MAX_RECORD_BYTES:
        raise _too_big(what, len(payload))
    import msgspec

    problem = contract.count_problem(msgspec.msgpack.decode(payload), what)
    if problem is not None:
        raise ValueTypeError(f"{problem}; nothing was recorded")


def _too_big(what: str, size_bytes: int) -> ValueTypeError:
    limit = _MAX_RECORD_BYTES
    return ValueTypeError(
        f"{what} would write a record of {size_bytes / 2**20:.1f} MiB ({size_bytes} bytes), over "
        f"the limit of {limit / 2**20:.0f} MiB ({limit} bytes) per record; nothing was recorded. "
        "Save a large value to a file and log it as media (Table, Html, Image...), or split it "
        "over several keys or calls"
    )


_RESERVED_WHY = {
    "_step": "the row's step, which localrun sets itself: pass log(data, step=...) instead",
    "_runtime": "the seconds since the run started, which localrun sets itself: log your "
    "value under another key",
}


def _refuse_reserved(data: dict) -> None:
    for key, why in _RESERVED_WHY.items():
        if key in data:
            raise ValueTypeError(
                f"log() was given {key!r}: {short(data[key])}, but {key!r} is {why}. Nothing was recorded"
            )


def _check_timestamp(value: Any) -> None:
    """A logged ``_timestamp`` becomes the row's time, as in wandb: it must be a time."""
    if not isinstance(value, (float, int)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueTypeError(
            f"log() was given '_timestamp': {short(value)}; '_timestamp' sets the row's time and must "
            "be a finite number of seconds since the epoch. Log your value under another key"
        )


def _as_dict(data: Any) -> dict:
    if isinstance(data, Mapping):
        return dict(data)
    raise ValueTypeError(
        f"log() takes a dict of metrics, like log({{'loss': 0.1}}), not {type(data).__name__}: {data!r:.80}"
    )
