"""Segment files: one per writer process, appended to and never rewritten.

The writer puts each record into the OS with one ``os.write`` before ``log()`` returns, so a
record survives ``kill -9`` of the process the moment the call returns. A background thread
calls ``fsync`` at most a second after the last write, and ``close()`` calls it once more, so a
record survives a power loss about a second later (see docs/format.md, "Durability").
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
import zlib
from collections.abc import Callable, Iterator

import msgpack

from ..errors import DiskFullError, Error
from . import kinds
from .decode import LOG_FIRST_BYTE, log_decoder, record_decoder
from .frame import HEADER, MAGIC, Damage, Tail, frame, scan

FSYNC_INTERVAL_S = 1.0
_header = HEADER.pack
_crc32 = zlib.crc32
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _disk_error(path: str, exc: OSError) -> Error:
    if exc.errno in _FULL:
        return DiskFullError(
            exc.errno,
            f"cannot write to {path}: the disk is full ({os.strerror(exc.errno)}). "
            "Everything logged before this call is safe; free some space and log again",
        )
    return Error(
        f"cannot write to {path}: {exc.strerror or exc}. Check that the run directory still exists and is writable"
    )


class SegmentWriter:
    """Appends framed records to a new segment file, and keeps it synced to disk."""

    def __init__(self, path: str, header: dict, fsync_interval_s: float = FSYNC_INTERVAL_S):
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise _disk_error(path, exc) from exc
        self._size = 0
        self._dirty = False
        self._closed = False
        self._broken: str | None = None
        #: Called before every fsync of the segment: the run's media store makes the media
        #: files it wrote durable first, so a record fsynced never names a file that is not.
        self.before_sync: Callable[[], None] | None = None
        self._write(MAGIC + frame(msgpack.packb([kinds.START, 0, header["time"], header])))
        self.sync()
        fsync_path(os.path.dirname(path))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._sync_loop, args=(fsync_interval_s,), name="localrun-fsync", daemon=True
        )
        self._thread.start()

    @property
    def size(self) -> int:
        """Bytes of the segment written so far (whole records only)."""
        return self._size

    def append(self, payload: bytes) -> None:
        """Append one record payload; it is in the OS (safe from ``kill -9``) when this returns."""
        if self._broken is not None:
            raise Error(self._broken)
        # frame() and _write(), inlined: this runs once per log() call.
        data = _header(len(payload), _crc32(payload)) + payload
        try:
            written = os.write(
                self._fd, data
            )  # looked up per call: tests stub os.write for disk-full
        except OSError as exc:
            self._undo_partial()
            raise _disk_error(self.path, exc) from exc
        if written != len(data):
            self._short_write()
        self._size += written
        self._dirty = True

    def _write(self, data: bytes) -> None:
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            self._undo_partial()
            raise _disk_error(self.path, exc) from exc
        if written != len(data):
            self._short_write()
        self._size += written
        self._dirty = True

    def _short_write(self) -> None:
        # A short write to a regular file means the disk filled up mid-record. Cut the
        # partial frame off so the file stays a clean sequence of whole records.
        self._undo_partial()
        raise _disk_error(self.path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    def _undo_partial(self) -> None:
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            pass  # the reader treats the leftover as a torn tail

    def sync(self) -> None:
        """fsync the segment now (after ``before_sync``, if set)."""
        self._dirty = False
        if self.before_sync is not None:
            self.before_sync()
        os.fsync(self._fd)

    def _sync_loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                if os.fstat(self._fd).st_nlink == 0:
                    # Writes to a deleted file succeed and vanish with it: stop taking them.
                    self._broken = (
                        f"the segment file {self.path} was deleted while the run was being written "
                        "(was the run directory removed?). Nothing more can be recorded to it; "
                        "start a new run with localrun.init()"
                    )
                    return
                if self._dirty:
                    self.sync()
            except OSError:
                return  # the next write reports the problem to the caller

    def close(self) -> None:
        """Stop the sync thread, fsync and close. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        try:
            self.sync()
        finally:
            os.close(self._fd)

    def abandon(self) -> None:
        """Close the descriptor without touching the file (in a forked child)."""
        self._closed = True
        try:
            os.close(self._fd)
        except OSError:
            pass


def fsync_path(path: str) -> None:
    """fsync a file or folder by name; errors are ignored (the next write reports them)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- reading ---------------------------------------------------------------------------------

_RELEASE_BYTES = 64 * 1024 * 1024


class SegmentReader:
    """Reads one segment: yields ``(offset, record, checked)`` for every sound record.

    ``record`` is a tuple, the record's msgpack array as decoded (``decode.py``). ``checked``
    is True for a sound ``log()`` record whose field types the decoder checked (see
    ``decode.log_decoder()``), False for any other record, which its reader checks itself.

    Whatever had to be skipped is collected in ``damage`` (a list of
    ``CorruptRecordError``); a torn tail is kept in ``tail`` and is not damage. The reader sees
    the file as it was when iteration began, so reading a live segment gives a consistent prefix.
    ``start`` is the offset of a frame to begin at (where an earlier read of the same segment
    stopped), 0 for the beginning of the file.
    """

    def __init__(self, path: str, start: int = 0):
        self.path = path
        self.start = start
        self.damage: list = []
        self.tail: Tail | None = None
        self.header: dict | None = None
        self.size_bytes = 0

    @property
    def end(self) -> int:
        """After reading: the offset just past the last whole frame (where a later read of a
        growing segment starts)."""
        return self.tail.offset if self.tail is not None else max(self.size_bytes, self.start)

    def _report(self, offset: int, reason: str, size_bytes: int | None = None) -> None:
        from ..errors import CorruptRecordError

        self.damage.append(CorruptRecordError(self.path, offset, reason, size_bytes))

    def __iter__(self) -> Iterator[tuple[int, tuple, bool]]:
        try:
            f = open(self.path, "rb")
        except OSError as exc:
            self._report(0, f"cannot open: {exc.strerror or exc}")
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            self.size_bytes = size
            if size <= self.start:
                return
            mm = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
            view = memoryview(mm)  # payloads are checked and decoded in place, not copied out
            try:
                yield from self._records(mm, view, size)
            finally:
                view.release()
                try:
                    mm.close()
                except BufferError:
                    pass  # a caller still holds a view; the mapping goes with it

    def _records(self, mm, view: memoryview, size: int) -> Iterator[tuple[int, tuple, bool]]:
        start = self.start
        if start == 0:
            start = len(MAGIC)
            if size < start:
                self.tail = Tail(0, size)
                return
            if mm[:start] != MAGIC:
                self._report(0, f"not a localrun segment (starts with {mm[:start]!r})", start)
        released = 0
        decode, not_a_record = record_decoder()
        decode_log, not_a_log = log_decoder()
        log_first_byte = LOG_FIRST_BYTE
        min_length = kinds.MIN_LENGTH
        for item in scan(view, start, size):
            if type(item) is not tuple:
                if isinstance(item, Tail):
                    self.tail = item
                elif isinstance(item, Damage):
                    self._report(item.offset, item.reason, item.size_bytes)
                continue
            offset, payload = item
            if payload and payload[0] == log_first_byte:
                try:
                    rec = decode_log(payload)  # a sound log record, checked in C
                except not_a_log:
                    rec = None  # valid msgpack, but not that: decoded again below
                except Exception as exc:  # any decoding failure of a checksummed payload
                    self._report(offset, f"undecodable record ({type(exc).__name__})", len(payload))
                    continue
                if rec is not None:
                    yield offset, rec, True
                    if offset - released > _RELEASE_BYTES and hasattr(mm, "madvise"):
                        released = _release(mm, released, offset)
                    continue
            try:
                rec = decode(payload)
            except not_a_record:
                self._report(offset, "not a record", len(payload))
                continue
            except Exception as exc:  # any decoding failure of a checksummed payload
                self._report(offset, f"undecodable record ({type(exc).__name__})", len(payload))
                continue
            if len(rec) < 3 or type(rec[0]) is not int:
                self._report(offset, "not a record", len(payload))
                continue
            kind = rec[0]
            need = min_length.get(kind)
            if need is not None and len(rec) < need:
                self._report(offset, f"{kinds.NAMES[kind]} record too short", len(payload))
                continue
            if kind == kinds.START and self.header is None and type(rec[3]) is dict:
                self.header = rec[3]
            yield offset, rec, False
            if offset - released > _RELEASE_BYTES and hasattr(mm, "madvise"):
                released = _release(mm, released, offset)


def _release(mm, released: int, offset: int) -> int:
    """Keep memory flat on huge segments: drop the pages already read (up to ``offset``)."""
    upto = offset - offset % mmap.PAGESIZE
    mm.madvise(mmap.MADV_DONTNEED, released, upto - released)
    return upto
