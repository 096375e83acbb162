"""Going on with a replay later: its state as plain data, and a segment read from a byte offset.

An index (``runindex.py``) keeps, beside the rows it has, where reading stopped in the last
segment and the replay's state at that point; when the segment grows it reads only the new
bytes and feeds them to the replay restored from that state, so the rows that come out are
those a replay of the whole run would give.

- ``replay_state(replay)`` / ``restore_replay(state)``: every attribute of a ``Replay`` as
  plain data (its step counter as ``[step, pending]``, its define_metric cache left out), and
  back. A state saved by another version of ``Replay`` (other attributes) is refused, so the
  index is rebuilt instead.
- ``SegmentPart(path, start)``: the sound records of a segment from byte ``start`` on, with the
  damage and torn tail found there, exactly as ``SegmentReader`` reads them from the start.
  From byte 0 it *is* a ``SegmentReader``; from a later offset it walks the frames with
  ``frame.scan`` and decodes them as the reader does. ``end`` is where to go on next time:
  the start of a torn tail, or the end of the file.
"""

from __future__ import annotations

import mmap
import os
import zlib
from collections.abc import Iterator
from typing import Any

from localrun.sync import Replay

from localrun.errors import CorruptRecordError
from localrun.record import kinds
from localrun.record.decode import LOG_FIRST_BYTE, decoder, log_decoder
from localrun.record.frame import Damage, Tail, scan
from localrun.record.segment import SegmentReader
from localrun.steps import StepCounter

_SKIP = ("_metric_of",)  # a cache, rebuilt on demand


def replay_state(replay: Replay) -> dict[str, Any]:
    """The replay's state as plain data (shared with the replay: encode it before feeding more)."""
    state = {}
    for name, value in vars(replay).items():
        if name in _SKIP:
            continue
        if type(value) is StepCounter:
            value = [value.step, value.pending]
        state[name] = value
    return state


def restore_replay(state: dict[str, Any]) -> Replay:
    """A ``Replay`` in ``state``; ValueError when the state is not one of this ``Replay``'s."""
    replay = Replay()
    names = [n for n in vars(replay) if n not in _SKIP]
    if type(state) is not dict or sorted(state) != sorted(names):
        raise ValueError("the saved replay state is of another version of localrun")
    for name in names:
        value = state[name]
        if type(getattr(replay, name)) is StepCounter:
            step, pending = value
            value = StepCounter(step, pending)
        setattr(replay, name, value)
    return replay


def replay_fingerprint() -> str:
    """A digest of the attribute names a replay state has: a state saved with other names is
    of another version of ``Replay``."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        names = ",".join(sorted(n for n in vars(Replay()) if n not in _SKIP))
        _FINGERPRINT = f"{zlib.crc32(names.encode()):08x}"
    return _FINGERPRINT


_FINGERPRINT: str | None = None


class SegmentPart:
    """Sound ``(offset, record)`` of one segment from byte ``start`` on; see the module doc."""

    def __init__(self, path: str, start: int = 0):
        self.path = path
        self.start = start
        self.damage: list[CorruptRecordError] = []
        self.tail: Tail | None = None
        self.size_bytes = 0  # the file's size when it was read
        self.end = start  # where to read from next time

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        if self.start == 0:
            reader = SegmentReader(self.path)
            yield from reader
            self.damage = reader.damage
            self.tail = reader.tail
            self.size_bytes = reader.size_bytes
            self.end = reader.tail.offset if reader.tail is not None else reader.size_bytes
            return
        try:
            f = open(self.path, "rb")
        except OSError as exc:
            self._report(self.start, f"cannot open: {exc.strerror or exc}")
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            self.size_bytes = size
            if size <= self.start:
                return  # nothing new (or the file is shorter: the caller checks sizes)
            mm = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
            try:
                yield from self._records(mm, size)
            finally:
                mm.close()

    def _report(self, offset: int, reason: str, size_bytes: int | None = None) -> None:
        self.damage.append(CorruptRecordError(self.path, offset, reason, size_bytes))

    def _records(self, mm, size: int) -> Iterator[tuple[int, Any]]:
        # As SegmentReader._records decodes each sound frame; frame.scan finds them (and the
        # damage and torn tail between them) by the same rules.
        decode = decoder()
        decode_log, not_a_log = log_decoder()
        self.end = size
        for item in scan(mm, self.start, size):
            if type(item) is Tail:
                self.tail = item
                self.end = item.offset
                return
            if type(item) is Damage:
                self._report(item.offset, item.reason, item.size_bytes)
                continue
            offset, payload = item
            length = len(payload)
            rec = None
            if length and payload[0] == LOG_FIRST_BYTE:
                try:
                    rec = decode_log(payload)
                except not_a_log:
                    pass
                except Exception as exc:  # any decoding failure of a checksummed payload
                    self._report(offset, f"undecodable record ({type(exc).__name__})", length)
                    continue
            if rec is None:
                try:
                    rec = decode(payload)
                except Exception as exc:  # any decoding failure of a checksummed payload
                    self._report(offset, f"undecodable record ({type(exc).__name__})", length)
                    continue
                if type(rec) is not list or len(rec) < 3 or type(rec[0]) is not int:
                    self._report(offset, "not a record", length)
                    continue
                need = kinds.MIN_LENGTH.get(rec[0])
                if need is not None and len(rec) < need:
                    self._report(offset, f"{kinds.NAMES[rec[0]]} record too short", length)
                    continue
            yield offset, rec
