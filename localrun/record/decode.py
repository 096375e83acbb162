"""Decoding record payloads, for readers.

Readers decode every record of a run (a million for a million-row run), so they use msgspec's
msgpack decoder, written in C: about a third of the time of ``msgpack.unpackb`` for a typical
``log()`` record, with the same result for everything the recorder writes (maps with any keys,
arrays as lists, bin as bytes). The recorder itself never imports msgspec: its import would
cost every training script ~20 ms, and writing does not need it.

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


def decode(payload: Any) -> Any:
    """Decode one payload; see ``decoder()``."""
    return decoder()(payload)
