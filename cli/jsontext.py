"""JSON text of any value a reader can meet, for the commands that print values.

The commands encode with msgspec or the json module first; this module is where a value goes
when they cannot: a run written by an older localrun, or by hand, can hold what JSON has no
word for. The rules, the same for ``show``, ``show --json`` and ``export``:

- a map key that is not a string is written as its own JSON text: ``1`` as ``"1"``, ``None``
  as ``"null"``, an array key ``(1, 2)`` as ``"[1,2]"`` (as the json module writes int, float,
  bool and None keys; two keys may then read the same, and both are kept, as the json module
  keeps them);
- bytes are written as base64 text, a timestamp as ISO 8601 text, anything else as ``str()``;
- NaN and the infinities as ``NaN``, ``Infinity`` and ``-Infinity``, as the json module
  writes and reads them;
- nesting of any depth: the encoder here keeps its own stack, it does not recurse.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from json.encoder import encode_basestring
from typing import Any

#: How deep the commands let Python recurse (the json module, repr, msgspec's decoder): deep
#: enough for the thousand-deep values older recorders wrote; far below what exhausts the
#: C stack.
RECURSION_LIMIT = 5000

_COMPACT = (",", ":")


@contextlib.contextmanager
def deep_values() -> Iterator[None]:
    """Within it, the decoders and the json module follow values nested up to
    ``RECURSION_LIMIT`` (Python's limit is raised, and put back after)."""
    before = sys.getrecursionlimit()
    if before >= RECURSION_LIMIT:
        yield
        return
    sys.setrecursionlimit(RECURSION_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def dumps(obj: Any, indent: int | None = None, separators: tuple[str, str] | None = None) -> str:
    """``json.dumps(obj, ensure_ascii=False, indent=..., separators=...)``, for any value.

    The json module is tried first (it is fast, and for JSON data the text is the same);
    what it cannot write goes through ``text()``.
    """
    try:
        return json.dumps(
            obj, ensure_ascii=False, indent=indent, separators=separators, default=_refuse
        )
    except (TypeError, ValueError, RecursionError):
        return text(obj, indent=indent, separators=separators)


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def text(
    obj: Any,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    limit: int | None = None,
) -> str:
    """The JSON text of ``obj`` by the rules above, formatted as ``json.dumps`` formats it.

    With ``limit``, stops once the text is at least that long (for a preview) and returns
    the text so far, cut to ``limit`` characters.
    """
    if separators is None:
        separators = (",", ": ") if indent is not None else (", ", ": ")
    item_sep, key_sep = separators
    pad = None if indent is None else " " * indent
    parts: list[str] = []
    size = 0
    stack: list[list] = []  # [iterator over the container, is a dict, items written so far]
    value = obj
    while True:
        # Write ``value``: a scalar whole, a container's opening (its items come next).
        t = type(value)
        if t is dict or (t is not list and t is not tuple and isinstance(value, dict)):
            if value:
                piece = "{"
                stack.append([iter(value.items()), True, 0])
            else:
                piece = "{}"
        elif t is list or t is tuple or isinstance(value, (list, tuple)):
            if value:
                piece = "["
                stack.append([iter(value), False, 0])
            else:
                piece = "[]"
        else:
            piece = scalar(value)
        parts.append(piece)
        size += len(piece)
        if limit is not None and size >= limit:
            return "".join(parts)[:limit]
        # Find the next value to write, closing the containers that are done.
        while stack:
            top = stack[-1]
            it, is_dict, n = top
            item: Any = next(it, _END)
            depth = len(stack)
            if item is _END:
                stack.pop()
                piece = (
                    ("}" if is_dict else "]")
                    if pad is None
                    else ("\n" + pad * (depth - 1) + ("}" if is_dict else "]"))
                )
                parts.append(piece)
                size += len(piece)
                continue
            top[2] = n + 1
            lead = (item_sep if n else "") + ("" if pad is None else "\n" + pad * depth)
            if is_dict:
                k, value = item
                piece = lead + encode_basestring(key(k)) + key_sep
            else:
                value = item
                piece = lead
            parts.append(piece)
            size += len(piece)
            break
        else:
            out = "".join(parts)
            return out if limit is None else out[:limit]


_END = object()


def scalar(v: Any) -> str:
    """The JSON text of a value that is not a list or a dict."""
    t = type(v)
    if t is str:
        return encode_basestring(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if t is float or isinstance(v, float):
        if v != v:
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return float.__repr__(v)
    if t is int or isinstance(v, int):
        return int.__repr__(v)
    return encode_basestring(plain_text(v))


def plain_text(v: Any) -> str:
    """A value JSON has no word for, as text: bytes as base64, a timestamp in ISO 8601."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(v).decode("ascii")
    if hasattr(v, "isoformat"):
        try:
            return v.isoformat()
        except Exception:  # not a date after all: its str() below
            pass
    if isinstance(v, str):
        return v
    try:
        return str(v)
    except Exception:  # a value whose str() fails still gets a name
        return f"<{type(v).__name__}>"


def key(k: Any) -> str:
    """A map key as text: a string as it is, anything else as its JSON text."""
    if type(k) is str:
        return k
    if k is None or type(k) in (bool, int, float):
        return scalar(k)
    if isinstance(k, (list, tuple)):
        return text(k, separators=_COMPACT)
    return plain_text(k)
