"""Decoding record payloads, for readers.

Readers decode every record of a run (a million for a million-row run), so they use msgspec's
msgpack decoder, written in C: about a third of the time of ``msgpack.unpackb`` for a typical
``log()`` record, with the same values for everything the recorder writes (maps with any keys,
arrays inside a record as lists, bin as bytes). It is imported on first use, never by
``import localrun``.

Every record comes out as a *tuple* (the msgpack array), whichever decoder made it. A payload
that starts as a 7-element array (``LOG_FIRST_BYTE``) is first tried as a sound ``log()``
record, its field types checked in C (``log_decoder()``); the reader says so with the record
(``checked``), and replay takes its inline path for it. Anything else is decoded by
``record_decoder()`` and checked by whoever reads it.

Records hold no msgpack extension types (docs/format.md). A payload that has one was not
written by localrun, and decoding it fails like any other undecodable payload; the one
exception is msgpack's own timestamp type (-1), which msgspec turns into a ``datetime``
before any hook sees it. Readers pass such a value on as it is (export writes it as an ISO
8601 string; a server refuses it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_decode: Callable[[Any], tuple] | None = None
_decode_log: Callable[[Any], tuple] | None = None

#: The first byte of a ``log()`` record's payload: a msgpack array of 7 elements (no other
#: kind has 7). Such a payload is first decoded by ``log_decoder()``.
LOG_FIRST_BYTE = 0x97


def _refuse_ext(code: int, data: memoryview) -> Any:
    raise ValueError(f"msgpack extension type {code} (records hold none)")


def record_decoder() -> tuple[Callable[[Any], tuple], type[Exception]]:
    """The function that decodes one payload (``bytes`` or a buffer) into its record, a tuple,
    and the error it raises for a payload that is one msgpack value but not an array.

    It raises other errors for anything that is not one whole msgpack value (truncated,
    trailing bytes, invalid UTF-8 in a string, an extension type other than the timestamp).
    """
    global _decode
    import msgspec

    if _decode is None:
        _decode = msgspec.msgpack.Decoder(tuple, ext_hook=_refuse_ext).decode
    return _decode, msgspec.ValidationError


def log_decoder() -> tuple[Callable[[Any], tuple], type[Exception]]:
    """The function that decodes one sound ``log()`` record, and the error it raises for a
    payload that is valid msgpack but not that.

    A sound log record is ``(1, seq, time, data, step, commit, writer_step)`` with its types
    checked in C: ``time`` a float (an integer time becomes one), ``data`` a dict with str keys
    and no None value (nor bytes) at its top level, ``step`` an int or None, ``commit`` a bool
    or None, ``writer_step`` an int. Anything else (the error) is decoded again by
    ``record_decoder()``, unchecked.
    """
    global _decode_log
    import msgspec

    if _decode_log is None:
        from typing import Literal

        value = int | float | str | bool | list | dict
        shape = tuple[Literal[1], int, float, dict[str, value], int | None, bool | None, int]
        _decode_log = msgspec.msgpack.Decoder(shape, ext_hook=_refuse_ext).decode
    return _decode_log, msgspec.ValidationError
