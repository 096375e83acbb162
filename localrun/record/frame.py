"""Framing: how records sit in a segment file, and how a reader finds them again.

A segment is ``MAGIC`` followed by frames. A frame is::

    length   u32 little-endian   bytes of payload
    crc      u32 little-endian   zlib.crc32 of the payload
    payload  msgpack             one record

A reader walks frames from the start. A frame whose length runs past the end of the file, or
whose checksum fails, is either a torn tail (the writer died mid-write: the expected end after a
crash) or damage. The reader tells them apart by looking for a valid frame after it: if one
exists, the bytes in between were damage and are reported; if none does, the file ends in a
torn tail, which is not an error.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAGIC = b"LRSEG\x00\x01\n"
HEADER = struct.Struct("<II")
HEADER_SIZE = HEADER.size
# A record is one log() call; media live in their own files. The writer refuses a record over
# contract.MAX_RECORD_BYTES (16 MiB); readers accept up to 64 MiB, above that, so every record
# ever written is read, and a damaged length field cannot send the reader on a long walk.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024


def frame(payload: bytes) -> bytes:
    """Return the bytes to append for one record payload."""
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


@dataclass(frozen=True)
class Damage:
    """Bytes the reader had to skip: ``size_bytes`` from ``offset``."""

    offset: int
    size_bytes: int
    reason: str


@dataclass(frozen=True)
class Tail:
    """A torn tail: ``size_bytes`` at ``offset`` that never became a whole frame."""

    offset: int
    size_bytes: int


def _valid_at(buf, pos: int, end: int) -> bytes | None:
    """The payload of the frame at ``pos`` if it is whole and its checksum holds, else None."""
    if pos + HEADER_SIZE > end:
        return None
    length, crc = HEADER.unpack_from(buf, pos)
    start = pos + HEADER_SIZE
    if length > MAX_PAYLOAD_BYTES or start + length > end:
        return None
    payload = buf[start : start + length]
    if zlib.crc32(payload) != crc:
        return None
    return payload


# A record is a msgpack array, so a payload's first byte is one of these (fixarray, array 16,
# array 32). Looking for a frame only where its payload could begin makes skipping damage a
# search in C: past 64 MiB of damaged bytes in about 0.1 s instead of 10 s of trying every
# offset. (The first frame of a segment follows MAGIC; a zero-length frame holds no record.)
_PAYLOAD_START = re.compile(rb"[\x90-\x9f\xdc\xdd]")


def _resync(buf, pos: int, end: int) -> int:
    """The offset of the next valid frame after ``pos``, or -1 if there is none."""
    search = _PAYLOAD_START.search
    at = pos + 1 + HEADER_SIZE
    while True:
        found = search(buf, at, end)
        if found is None:
            return -1
        candidate = found.start() - HEADER_SIZE
        if _valid_at(buf, candidate, end) is not None:
            return candidate
        at = found.start() + 1


def scan(buf, start: int = 0, end: int | None = None) -> Iterator[tuple[int, Any] | Damage | Tail]:
    """Yield ``(offset, payload)`` for each valid frame in ``buf[start:end]``, and ``Damage``/``Tail``.

    ``buf`` is anything sliceable that ``struct`` and ``zlib`` read (``bytes``, ``mmap``,
    ``memoryview``); offsets are positions in it. A payload is ``buf``'s slice: a copy for
    ``bytes`` or ``mmap``, a view for a ``memoryview`` (what the segment reader passes, so a
    payload is checked and decoded in place). Never raises on any input.

    The one frame walker: the segment reader runs it once per record of a run (a million times
    for a million-row run), so a sound frame takes the loop's first branch, with no call.
    """
    end = len(buf) if end is None else end
    unpack = HEADER.unpack_from
    crc32 = zlib.crc32
    limit = end - HEADER_SIZE
    pos = start
    while pos < end:
        if pos <= limit:
            length, crc = unpack(buf, pos)
            stop = pos + HEADER_SIZE + length
            if length <= MAX_PAYLOAD_BYTES and stop <= end:
                payload = buf[pos + HEADER_SIZE : stop]
                if crc32(payload) == crc:
                    yield pos, payload
                    pos = stop
                    continue
        nxt = _resync(buf, pos, end)
        if nxt < 0:
            yield Tail(pos, end - pos)
            return
        yield Damage(pos, nxt - pos, _reason(buf, pos, end))
        pos = nxt


def _reason(buf, pos: int, end: int) -> str:
    if pos + HEADER_SIZE > end:
        return "frame header cut short"
    length, _ = HEADER.unpack_from(buf, pos)
    if length > MAX_PAYLOAD_BYTES:
        return f"impossible length {length}"
    if pos + HEADER_SIZE + length > end:
        return f"length {length} runs past the next record"
    return "checksum mismatch"
