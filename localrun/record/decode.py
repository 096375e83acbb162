"""Decoding record payloads, for readers.

Readers decode every record of a run (a million for a million-row run), so they use msgspec's
msgpack decoder, written in C: about a third of the time of ``msgpack.unpackb`` for a typical
``log()`` record, with the same result for everything the recorder writes (maps with any keys,
arrays as lists, bin as bytes). It is imported on first use, never by ``import localrun``.

Records hold no msgpack extension types (docs/format.md). A payload that has one was not
written by localrun, and decoding it fails like any other undecodable payload; the one
exception is msgpack's own timestamp type (-1), which msgspec turns into a ``datetime``
before any hook sees it. Readers pass such a value on as it is (export writes it as an ISO
8601 string; a server refuses it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_decode: Callable[[Any], Any] | None = None
_decode_log: Callable[[Any], Any] | None = None

#: The first byte of a ``log()`` record's payload: a msgpack array of 7 elements (no other
#: kind has 7). Such a payload is first decoded by ``log_decoder()``.
LOG_FIRST_BYTE = 0x97


def _refuse_ext(code: int, data: memoryview) -> Any:
    raise ValueError(f"msgpack extension type {code} (records hold none)")


def decoder() -> Callable[[Any], Any]:
    """The function that decodes one payload (``bytes`` or a buffer) into its record.

    It raises on anything that is not one whole msgpack value (truncated, trailing bytes,
    invalid UTF-8 in a string, an extension type other than the timestamp).
    """
    global _decode
    if _decode is None:
        import msgspec

        _decode = msgspec.msgpack.Decoder(ext_hook=_refuse_ext).decode
    return _decode


def log_decoder() -> tuple[Callable[[Any], tuple], type[Exception]]:
    """The function that decodes one sound ``log()`` record, and the error it raises for a
    payload that is valid msgpack but not that.

    A sound log record comes out as a *tuple* ``(1, seq, time, data, step, commit,
    writer_step)``, its types checked in C: ``time`` a float (an integer time becomes one),
    ``data`` a dict with str keys and no None value (nor bytes) at its top level, ``step`` an
    int or None, ``commit`` a bool or None, ``writer_step`` an int. Readers that see a tuple skip their own checks; anything else
    (the error) is decoded again by ``decoder()`` into a list and checked the long way.
    """
    global _decode_log
    import msgspec

    if _decode_log is None:
        from typing import Literal

        value = int | float | str | bool | list | dict
        shape = tuple[Literal[1], int, float, dict[str, value], int | None, bool | None, int]
        _decode_log = msgspec.msgpack.Decoder(shape, ext_hook=_refuse_ext).decode
    return _decode_log, msgspec.ValidationError


def decode(payload: Any) -> Any:
    """Decode one payload; see ``decoder()``."""
    return decoder()(payload)
