"""A run's history by column, kept on disk: the derived cache the charts are read from.

A ``ColumnStore`` takes history rows in step order (``update()``, then ``add(rows)`` and
``commit(state)``) and gives back an ``IndexTable``: a ``RunTable`` whose arrays are memory
maps of the files, so a chart of a million points reads 8 bytes a point from the page cache
and nothing is replayed. Whoever feeds it (a run directory's segments, ``runindex.py``; the
server's stored rows) keeps its own resume point in ``state``, committed atomically with the
rows it covers. docs/format.md, "The index", describes the files:

::

    <folder>/                 a run's ``index/`` (or wherever the feeder keeps it)
      head                    what the columns hold, and the feeder's state (replaced by rename)
      lock                    flock()ed by the one process updating the store
      <generation>/           the column files, one folder per rebuild
        steps runtime timestamp   one int64 / float64 per row
        <n>.r  <n>.v          numeric key n: the rows it appears in (int64; none while it is in
                              every row), its values (float64)
        media                 media values: frames of [key, step, value] (msgpack)

Rules that keep it safe to share:

- Files only grow, and bytes below the head's *final* counts are never written again; a
  commit writes its rows past them, then renames a new ``head`` into place. A reader that took
  the old head reads what it said; a process killed mid-update leaves the old head.
- Rows past *final*, up to *visible*, are provisional (a live writer's pending row, which its
  next call may still change): shown, but written over by the next update.
- Each column's bytes carry a crc32 in the head, checked once per process before they are
  used; the head carries its own. A column that is short, missing or fails its check raises
  ``IndexDamaged``: the feeder rebuilds (into a new generation folder) and nothing is lost.
- A folder that cannot be written (read-only filesystem) raises ``IndexUnwritable`` from
  ``update()``; ``ColumnStore(None)`` keeps the same columns in memory instead.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import mmap
import os
import stat
import struct
import threading
import zlib
from array import array
from collections.abc import Iterable
from typing import Any

import msgpack
import numpy as np

from localrun import durable
from localrun.errors import Error

from .table import X_COLUMNS, RunTable, media_type

VERSION = 1
HEAD = "head"
#: The index column that counts media values per key (not the run's media folder).
MEDIA_COLUMN = "media"
LOCK = "lock"
HEAD_MAGIC = b"LRIDX\x00\x01\n"
_HEAD_FRAME = struct.Struct("<II")  # payload length, crc32
MAX_HEAD_BYTES = 256 * 1024 * 1024
FLUSH_ROWS = 1 << 16  # rows buffered in memory before they go to the files
BLOCK_ROWS = 4096  # rows of the same numeric keys gathered before numpy makes them columns
_NUMERIC = frozenset((float, int))
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
_X_FILES = {"_step": "steps", "_runtime": "runtime", "_timestamp": "timestamp"}
_INT64 = np.dtype("<i8")
_FLOAT64 = np.dtype("<f8")


class IndexDamaged(Error):
    """The index does not hold what its head says (a file short, missing or changed): rebuild it."""


class IndexStale(IndexDamaged):
    """A live run's provisional rows changed under the head that was read: another process is
    committing newer rows. Read the head again."""


class IndexUnwritable(Error):
    """The index folder cannot be written (a read-only filesystem, no permission)."""


# --- encoding: the head is msgpack with a few extension types --------------------------------

_SET, _TUPLE, _FROZENSET = 1, 2, 3


def _default(obj: Any) -> Any:
    if type(obj) is tuple:
        return msgpack.ExtType(_TUPLE, pack(list(obj)))
    if type(obj) is set:
        return msgpack.ExtType(_SET, pack(list(obj)))
    if type(obj) is frozenset:
        return msgpack.ExtType(_FROZENSET, pack(list(obj)))
    raise TypeError(f"cannot keep a {type(obj).__name__} in the index")


def _ext(code: int, data: bytes) -> Any:
    items = unpack(data)
    if code == _TUPLE:
        return tuple(items)
    if code == _SET:
        return set(items)
    if code == _FROZENSET:
        return frozenset(items)
    raise ValueError(f"unknown extension type {code} in the index")


def pack(obj: Any) -> bytes:
    """msgpack that keeps what replay holds: NaN, bytes, datetimes, tuples, sets, any map keys.

    Raises TypeError (or OverflowError, for an int beyond 64 bits) for anything else.
    """
    return msgpack.packb(obj, use_bin_type=True, datetime=True, strict_types=True, default=_default)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(
        data, raw=False, strict_map_key=False, timestamp=3, ext_hook=_ext, use_list=True
    )


def encode_head(head: dict) -> bytes:
    payload = pack(head)
    return HEAD_MAGIC + _HEAD_FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def decode_head(data: bytes) -> dict:
    """The head in ``data``; IndexDamaged when it is not one whole, checked head."""
    start = len(HEAD_MAGIC) + _HEAD_FRAME.size
    if len(data) < start or data[: len(HEAD_MAGIC)] != HEAD_MAGIC:
        raise IndexDamaged("the index head does not start as one")
    length, crc = _HEAD_FRAME.unpack_from(data, len(HEAD_MAGIC))
    payload = data[start:]
    if len(payload) != length or zlib.crc32(payload) != crc:
        raise IndexDamaged("the index head fails its checksum")
    try:
        head = unpack(payload)
    except Exception as exc:  # any decoding failure of a checksummed payload
        raise IndexDamaged(f"the index head does not decode ({type(exc).__name__})") from exc
    if type(head) is not dict or head.get("version") != VERSION:
        raise IndexDamaged("the index head is of another version")
    for name in ("gen", "ids", "final", "visible", "state"):
        if name not in head:
            raise IndexDamaged(f"the index head has no {name!r}")
    return head


# --- where the bytes live -------------------------------------------------------------------


class _Disk:
    """Column files in a generation folder."""

    def __init__(self, folder: str):
        self.folder = folder
        self._fds: dict[str, int] = {}
        self._maps: dict[str, mmap.mmap] = {}
        self._lock = threading.Lock()

    def write(self, name: str, offset: int, data) -> None:
        fd = self._fds.get(name)
        if fd is None:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            fd = self._fds[name] = os.open(os.path.join(self.folder, name), flags, 0o644)
        view = memoryview(data).cast("B")
        while view.nbytes:
            n = os.pwrite(fd, view, offset)
            view, offset = view[n:], offset + n

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def buffer(self, name: str, nbytes: int):
        """A read-only buffer of at least ``nbytes`` of the file; IndexDamaged if it is shorter."""
        if nbytes == 0:
            return b""
        with self._lock:
            mm = self._maps.get(name)
            if mm is not None and len(mm) >= nbytes:
                if mm.size() < nbytes:  # cut short under us: touching the map would SIGBUS
                    del self._maps[name]
                    raise IndexDamaged(f"the index file {name} was cut short")
                return mm
            path = os.path.join(self.folder, name)
            try:
                with open(path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    if size < nbytes:
                        raise IndexDamaged(
                            f"the index file {name} holds {size} bytes, not {nbytes}"
                        )
                    # Mapped whole, its pages mapped at once (MAP_POPULATE): a column is
                    # read whole (checked, then bucketed), and one call beats a fault a page.
                    mm = mmap.mmap(f.fileno(), size, flags=_MAP_FLAGS, prot=mmap.PROT_READ)
            except OSError as exc:
                raise IndexDamaged(f"cannot read the index file {name}: {exc}") from exc
            self._maps[name] = mm
            return mm

    def still_there(self, name: str, nbytes: int) -> None:
        mm = self._maps.get(name)
        if nbytes and mm is not None and mm.size() < nbytes:
            raise IndexDamaged(f"the index file {name} was cut short")

    def crc(self, name: str, start: int, stop: int, value: int) -> int:
        """crc32 of the file's bytes [start, stop), continuing from ``value``."""
        if stop <= start:
            return value
        with memoryview(self.buffer(name, stop)) as view:
            return zlib.crc32(view[start:stop], value)


class _Memory:
    """Column bytes in growable buffers, for a run whose folder cannot be written."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def write(self, name: str, offset: int, data) -> None:
        data = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
        end = offset + data.size
        buf = self._bufs.get(name)
        if buf is None or buf.size < end:
            # A new buffer, the old one left to the snapshots that still read it.
            grown = np.zeros(max(end, 2 * (0 if buf is None else buf.size), 4096), dtype=np.uint8)
            if buf is not None:
                grown[: min(buf.size, offset)] = buf[: min(buf.size, offset)]
            self._bufs[name] = buf = grown
        buf[offset:end] = data

    def close(self) -> None:
        pass

    def buffer(self, name: str, nbytes: int):
        if nbytes == 0:
            return b""
        buf = self._bufs.get(name)
        if buf is None or buf.size < nbytes:
            raise IndexDamaged(f"the index column {name} holds less than the head says")
        return buf

    def still_there(self, name: str, nbytes: int) -> None:
        pass

    def crc(self, name: str, start: int, stop: int, value: int) -> int:
        return zlib.crc32(self.buffer(name, stop)[start:stop], value)


# --- the store ------------------------------------------------------------------------------


def _empty_part() -> dict:
    return {
        "rows": 0,
        "last_step": None,
        "cols": {},  # file name -> [items (bytes for media), crc32 of those]
        "num": {},  # numeric key -> [count, first step, last step]
        MEDIA_COLUMN: {},  # media key -> [{kind: count}, first step, last step]
        "other": {},  # other key -> [count, first step, last step]
        # x column -> [ascending with no NaN so far, its last value]; _step strictly ascending
        "sorted": {"_step": [True, None], "_runtime": [True, None], "_timestamp": [True, None]},
    }


class ColumnStore:
    """The columns of one run: in ``folder`` (created when first updated), or in memory (None)."""

    def __init__(self, folder: str | None):
        self.folder = folder
        self._head: dict | None = None
        self._head_id: tuple | None = None
        self._mems: dict[str, _Memory] | None = {} if folder is None else None
        self._disks: dict[str, _Disk] = {}
        self._verified: dict[tuple[str, str], tuple[int, int]] = {}  # (gen, file) -> (n, crc)
        self._media: dict[str, tuple[int, dict]] = {}  # gen -> (final bytes parsed, items)
        self._lock = threading.Lock()

    @property
    def in_memory(self) -> bool:
        return self._mems is not None

    @property
    def disk_folder(self) -> str:
        """``folder``, for the code that runs only for a store on disk."""
        if self.folder is None:
            raise AssertionError("a ColumnStore in memory has no folder")
        return self.folder

    def _files(self, gen: str) -> _Disk | _Memory:
        if self._mems is not None:
            m = self._mems.get(gen)
            if m is None:
                raise IndexDamaged("the index in memory was rebuilt since")
            return m
        d = self._disks.get(gen)
        if d is None:
            d = self._disks[gen] = _Disk(os.path.join(self.disk_folder, gen))
        return d

    # --- reading the head ---------------------------------------------------------------------

    def head(self) -> dict | None:
        """The head last committed (read again from disk when it was replaced), or None when
        there is none yet. Raises IndexDamaged when the head file is there but broken."""
        if self._mems is not None:
            return self._head
        path = os.path.join(self.disk_folder, HEAD)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | os.O_NOFOLLOW)
        except FileNotFoundError:
            self._head, self._head_id = None, None
            return None
        except OSError as exc:
            raise IndexDamaged(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            st = os.fstat(fd)
            ident = (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns)
            with self._lock:
                if ident == self._head_id and self._head is not None:
                    return self._head
            if st.st_size > MAX_HEAD_BYTES:
                raise IndexDamaged(f"{path} is {st.st_size} bytes: too large to be a head")
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        head = decode_head(b"".join(chunks))
        with self._lock:
            self._head, self._head_id = head, ident
        return head

    def table(self, head: dict, step_metric_names: Iterable[str] = ()) -> IndexTable:
        """The rows ``head`` says are visible, as a ``RunTable``."""
        return IndexTable(self, head, step_metric_names)

    # --- checked column arrays ----------------------------------------------------------------

    def column(self, head: dict, name: str, dtype: np.dtype) -> np.ndarray:
        """The visible items of column file ``name``, checked against their crc32 once."""
        cols = head["visible"]["cols"]
        n, crc = cols.get(name, (0, 0))
        nbytes = n * dtype.itemsize
        self._check(head, name, nbytes, crc)
        files = self._files(head["gen"])
        buf = files.buffer(name, nbytes)
        return np.frombuffer(buf, dtype=dtype, count=n)

    def still_there(self, head: dict, name: str, dtype: np.dtype) -> None:
        """IndexDamaged if a file an array maps was cut short since (touching it would SIGBUS)."""
        n = head["visible"]["cols"].get(name, (0, 0))[0]
        self._files(head["gen"]).still_there(name, n * dtype.itemsize)

    def _check(self, head: dict, name: str, nbytes: int, crc: int) -> None:
        """Check the bytes of ``name`` up to ``nbytes`` hash to ``crc``: the final part once per
        process (it never changes), the provisional part past it each time."""
        if self._mems is not None or nbytes == 0:
            return
        gen = head["gen"]
        final_n, final_crc = head["final"]["cols"].get(name, (0, 0))
        itemsize = 1 if name == MEDIA_COLUMN else 8
        final_bytes = final_n * itemsize
        files = self._files(gen)
        key = (gen, name)
        done = self._verified.get(key)
        if done is None or done[0] > final_bytes:
            done = (0, 0)
        if done[0] < final_bytes:
            got = files.crc(name, done[0], final_bytes, done[1])
            if got != final_crc:
                raise IndexDamaged(f"the index file {name} fails its checksum")
            self._verified[key] = (final_bytes, final_crc)
        elif done[1] != final_crc:
            raise IndexDamaged(f"the index file {name} fails its checksum")
        if nbytes > final_bytes and files.crc(name, final_bytes, nbytes, final_crc) != crc:
            raise IndexStale(f"the provisional rows of the index file {name} changed")

    def media(self, head: dict) -> dict[str, list[tuple[int, Any]]]:
        """Every visible media value, by key: ``[(step, value)]`` in step order."""
        gen = head["gen"]
        final_b = head["final"]["cols"].get(MEDIA_COLUMN, (0, 0))[0]
        vis_b = head["visible"]["cols"].get(MEDIA_COLUMN, (0, 0))[0]
        with self._lock:
            done, items = self._media.get(gen, (0, {}))
        if done > final_b:
            done, items = 0, {}
        counts = {k: sum(v[0].values()) for k, v in head["visible"][MEDIA_COLUMN].items()}
        if vis_b == 0:
            return {}
        self._check(head, MEDIA_COLUMN, vis_b, head["visible"]["cols"][MEDIA_COLUMN][1])
        buf = self._files(gen).buffer(MEDIA_COLUMN, vis_b)
        if done < final_b:
            items = {k: list(v) for k, v in items.items()}
            _parse_media(buf, done, final_b, items)
            with self._lock:
                self._media[gen] = (final_b, items)
        out = {k: v[: counts.get(k, 0)] for k, v in items.items()}
        if vis_b > final_b:
            tail: dict[str, list] = {}
            try:
                _parse_media(buf, final_b, vis_b, tail)
            except IndexDamaged as exc:  # checked above: written over since
                raise IndexStale(str(exc)) from exc
            for k, v in tail.items():
                out[k] = out.get(k, []) + v
        return out

    # --- writing ------------------------------------------------------------------------------

    def update(self) -> Update:
        """Take the store for updating (blocks while another process updates it); use as a
        context manager. Raises IndexUnwritable when the folder cannot be written."""
        return Update(self)

    def _lock_folder(self) -> int:
        """flock the store's lock file (creating the folder); returns the descriptor."""
        folder = self.disk_folder
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise IndexUnwritable(f"cannot use {self.folder}: {exc.strerror or exc}") from exc
        if st is not None and not stat.S_ISDIR(st.st_mode):  # a symlink or a file
            raise IndexUnwritable(f"{self.folder} is not a folder the index can use")
        try:
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, LOCK)
            while True:
                fd = os.open(
                    path,
                    os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                    0o644,
                )
                fcntl.flock(fd, fcntl.LOCK_EX)
                # The folder may have been deleted (and made again) while we waited: hold the
                # lock of the file that is there now.
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(path))
                except FileNotFoundError:
                    same = False
                if same:
                    return fd
                os.close(fd)
                os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT):
                raise IndexUnwritable(
                    f"cannot write the index in {self.folder}: {exc.strerror or exc}"
                ) from exc
            raise IndexUnwritable(f"cannot use {self.folder}: {exc.strerror or exc}") from exc

    def _publish(self, head: dict) -> None:
        if self._mems is not None:
            self._head = head
            return
        try:
            data = encode_head(head)
        except (TypeError, OverflowError, ValueError) as exc:
            raise IndexUnwritable(f"the index cannot keep this run's values ({exc})") from exc
        path = os.path.join(self.disk_folder, HEAD)
        # Written whole or not at all; not fsynced: the index is rebuilt from the segments.
        durable.write(path, data, sync=False)
        st = os.stat(path)  # no one else replaces it: we hold the lock
        with self._lock:
            self._head = head
            self._head_id = (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns)
            # What this process wrote needs no check when it reads it back.
            for name, (n, crc) in head["final"]["cols"].items():
                self._verified[(head["gen"], name)] = (n * (1 if name == MEDIA_COLUMN else 8), crc)

    def _tidy(self, gen: str) -> None:
        """Under the lock: remove generation folders and head files no head points to."""
        if self._mems is not None:
            for old in [g for g in self._mems if g != gen]:
                del self._mems[old]
            return
        import shutil

        for entry in os.scandir(self.folder):
            if entry.name in (HEAD, LOCK, gen):
                continue
            try:
                if entry.name.startswith(durable.TEMP_PREFIX):
                    os.unlink(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                    d = self._disks.pop(entry.name, None)
                    if d is not None:
                        d.close()
            except OSError:
                pass


def _parse_media(buf, start: int, stop: int, into: dict[str, list]) -> None:
    pos = start
    while pos + 8 <= stop:
        length, crc = _HEAD_FRAME.unpack_from(buf, pos)
        end = pos + 8 + length
        if end > stop:
            raise IndexDamaged("a media frame of the index runs past its end")
        payload = bytes(buf[pos + 8 : end])
        if zlib.crc32(payload) != crc:
            raise IndexDamaged("a media frame of the index fails its checksum")
        key, step, value = unpack(payload)
        into.setdefault(key, []).append((step, value))
        pos = end
    if pos != stop:
        raise IndexDamaged("the media file of the index ends inside a frame")


class Update:
    """One update of a store, holding its lock: ``add()`` final rows, ``set_tail()`` the
    provisional ones, ``commit(state)``. Leaving the ``with`` block without a commit changes
    nothing a reader sees."""

    def __init__(self, store: ColumnStore):
        self.store = store
        self._fd = -1
        self.head: dict | None = None
        self._gen = ""
        self._ids: dict[str, int] = {}
        self._part = _empty_part()
        self._final: dict | None = None
        self._files: _Disk | _Memory | None = None
        self._reset_buffers()

    def __enter__(self) -> Update:
        store = self.store
        if store._mems is None:
            self._fd = store._lock_folder()
        try:
            try:
                self.head = store.head()
            except IndexDamaged:
                self.head = None
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._files is not None:
            self._files.close()
        self._release()

    def _release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # --- where to start -----------------------------------------------------------------------

    def resume(self) -> None:
        """Go on from the committed head's final rows (``self.head`` must be set)."""
        head = self.head
        assert head is not None, "Update.resume() needs the committed head"
        if self.store._mems is None and not os.path.isdir(
            os.path.join(self.store.disk_folder, head["gen"])
        ):
            raise IndexDamaged(f"the index folder {head['gen']} is gone")
        self._gen = head["gen"]
        self._ids = dict(head["ids"])
        self._part = copy.deepcopy(head["final"])
        self._open_files()

    def reset(self) -> None:
        """Start over, in a new generation folder: the rows added are the whole history."""
        self._gen = os.urandom(6).hex()
        self._ids = {}
        self._part = _empty_part()
        store = self.store
        if store._mems is None:
            try:
                os.mkdir(os.path.join(store.disk_folder, self._gen))
            except OSError as exc:
                raise IndexUnwritable(
                    f"cannot write the index in {store.folder}: {exc.strerror or exc}"
                ) from exc
        else:
            store._mems[self._gen] = _Memory()
        self._open_files()

    def _open_files(self) -> None:
        store = self.store
        if store._mems is not None:
            self._files = store._files(self._gen)
        else:
            self._files = _Disk(os.path.join(store.disk_folder, self._gen))

    @property
    def rows(self) -> int:
        """Rows added so far (final ones, and any tail set)."""
        return self._part["rows"] + self._n

    @property
    def last_step(self) -> int | None:
        """The step of the last row added (after ``resume()``: of the last row committed), or
        None when there is none: a feeder goes on with the rows after it."""
        if self._n:
            self._flush()
        return self._part["last_step"]

    # --- rows in ------------------------------------------------------------------------------

    def _reset_buffers(self) -> None:
        self._n = 0
        self._rows: dict[str, array] = {}  # values taken one by one (a row of mixed values)
        self._values: dict[str, array] = {}
        self._chunks: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}  # from blocks
        self._block_keys: tuple | None = None
        self._block: list[tuple] = []
        self._block_start = 0
        self._media_buf = bytearray()

    def add(self, rows: Iterable[dict]) -> None:
        """History rows, in step order, each with an integer ``_step``."""
        # This runs once per row of a run. Consecutive rows with the same keys, all numbers
        # (the common row), are gathered as tuples and turned into columns by numpy a block
        # at a time; any other row goes value by value, as TableBuilder does.
        n = self._n
        base = self._part["rows"]
        numeric = _NUMERIC.issuperset
        block = self._block
        block_keys = self._block_keys
        for row in rows:
            keys = tuple(row)
            values = tuple(row.values())
            if keys == block_keys and numeric(map(type, values)):
                block.append(values)
                if len(block) >= BLOCK_ROWS:  # to columns now: the tuples hold Python floats
                    self._close_block()
                    self._block_keys = block_keys
                    self._block_start = base + n + 1
            else:
                self._close_block()
                if numeric(map(type, values)):
                    block_keys = self._block_keys = keys
                    self._block_start = base + n
                    block.append(values)
                else:
                    block_keys = None
                    self._add_one(row, base + n)
            n += 1
            if n >= FLUSH_ROWS:
                self._n = n
                self._flush()
                n, base = 0, self._part["rows"]
                block, block_keys = self._block, None
        self._n = n

    def _close_block(self) -> None:
        block = self._block
        if not block:
            return
        table = np.array(block, dtype=np.float64)  # as array("d").append would convert them
        rows = np.arange(self._block_start, self._block_start + len(block), dtype=np.int64)
        chunks = self._chunks
        keys = self._block_keys
        assert keys is not None  # set with the block's first row
        for j, key in enumerate(keys):
            chunks.setdefault(key, []).append((rows, table[:, j]))
        block.clear()
        self._block_keys = None

    def _add_one(self, row: dict, at: int) -> None:
        rows_of, values_of = self._rows, self._values
        for k, v in row.items():
            t = type(v)
            if t is float or t is int:
                r = rows_of.get(k)
                if r is None:
                    r = rows_of[k] = array("q")
                    values_of[k] = array("d")
                r.append(at)
                values_of[k].append(v)
            else:
                self._add_other(k, v, row.get("_step", at))

    def _columns(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The buffered numbers by key: ``(rows, values)``, rows ascending."""
        self._close_block()
        out = {}
        for key in [*self._chunks, *(k for k in self._rows if k not in self._chunks)]:
            parts = self._chunks.get(key, [])
            if key in self._rows:
                parts = parts + [
                    (
                        np.frombuffer(self._rows[key], dtype=np.int64),
                        np.frombuffer(self._values[key], dtype=np.float64),
                    )
                ]
            if len(parts) == 1:
                out[key] = parts[0]
                continue
            rows = np.concatenate([p[0] for p in parts])
            values = np.concatenate([p[1] for p in parts])
            if rows.size > 1 and bool((rows[1:] < rows[:-1]).any()):
                order = np.argsort(rows, kind="stable")
                rows, values = rows[order], values[order]
            out[key] = (rows, values)
        return out

    def _add_other(self, key: str, value: Any, step: int) -> None:
        part = self._part
        kind = media_type(value)
        if kind is not None:
            payload = pack([key, step, value])
            self._media_buf += _HEAD_FRAME.pack(len(payload), zlib.crc32(payload)) + payload
            e = part[MEDIA_COLUMN].get(key)
            if e is None:
                part[MEDIA_COLUMN][key] = [{kind: 1}, step, step]
            else:
                e[0][kind] = e[0].get(kind, 0) + 1
                e[2] = step
            return
        e = part["other"].get(key)
        if e is None:
            part["other"][key] = [1, step, step]
        else:
            e[0] += 1
            e[2] = step

    def _write(self, name: str, data, itemsize: int) -> None:
        cols = self._part["cols"]
        n, crc = cols.get(name, (0, 0))
        raw = memoryview(data).cast("B")
        assert self._files is not None  # opened by resume() or reset()
        self._files.write(name, n * itemsize, raw)
        cols[name] = [n + raw.nbytes // itemsize, zlib.crc32(raw, crc)]

    def _flush(self) -> None:
        n = self._n
        part = self._part
        if n == 0 and not self._media_buf:
            return
        base = part["rows"]
        columns = self._columns()
        step_rows, step_values = columns.pop("_step", (None, None))
        if step_rows is None or step_values is None or step_rows.size != n:
            raise ValueError("every history row must have an integer _step")
        steps = step_values.astype(_INT64)
        self._write("steps", steps, 8)
        ok, last = part["sorted"]["_step"]
        if ok and n:
            ok = bool(
                (last is None or steps[0] > last) and (n < 2 or (steps[1:] > steps[:-1]).all())
            )
            part["sorted"]["_step"] = [ok, int(steps[-1])]
        for key in ("_runtime", "_timestamp"):
            dense = np.full(n, np.nan)
            got = columns.pop(key, None)
            if got is not None:
                dense[got[0] - base] = got[1]
            self._write(_X_FILES[key], dense, 8)
            ok, last = part["sorted"][key]
            if ok and n:
                ok = bool(
                    not np.isnan(dense).any()
                    and (last is None or dense[0] >= last)
                    and (n < 2 or bool((dense[1:] >= dense[:-1]).all()))
                )
                part["sorted"][key] = [ok, float(dense[-1])]
        num = part["num"]
        ids = self._ids
        cols = part["cols"]
        for key, (rows, values) in columns.items():
            i = ids.get(key)
            if i is None:
                i = ids[key] = len(ids)
            e = num.get(key)
            # A key in every row so far has rows 0, 1, 2, ...: its rows file is left out (most
            # keys of most runs: 8 bytes a value saved) until a row goes without it.
            count = 0 if e is None else e[0]
            if f"{i}.r" in cols or count != base or rows.size != n:
                if f"{i}.r" not in cols and count:
                    self._write(f"{i}.r", np.arange(count, dtype=np.int64), 8)
                self._write(f"{i}.r", rows, 8)
            self._write(f"{i}.v", np.ascontiguousarray(values), 8)
            first, last = int(steps[rows[0] - base]), int(steps[rows[-1] - base])
            if e is None:
                num[key] = [int(rows.size), first, last]
            else:
                e[0] += int(rows.size)
                e[2] = last
        if self._media_buf:
            self._write(MEDIA_COLUMN, self._media_buf, 1)
        part["rows"] = base + n
        if n:
            part["last_step"] = int(steps[-1])
        self._reset_buffers()

    def set_tail(self, rows: Iterable[dict]) -> None:
        """Rows that may still change (a live writer's pending row): shown until the next
        update, which writes over them. Call once, after the last ``add()``."""
        self._flush()
        self._final = copy.deepcopy(self._part)
        self.add(rows)
        self._flush()

    def commit(self, state: Any) -> dict:
        """Publish what was added, with the feeder's ``state``; returns the new head."""
        self._flush()
        final = self._final if self._final is not None else self._part
        head = {
            "version": VERSION,
            "gen": self._gen,
            "ids": self._ids,
            "final": final,
            "visible": self._part,
            "state": state,
        }
        store = self.store
        store._publish(head)
        store._tidy(self._gen)
        return head


# --- the table ------------------------------------------------------------------------------


class IndexTable(RunTable):
    """A ``RunTable`` over a store's committed head: its arrays map the column files, each
    opened (and checked) the first time it is read."""

    def __init__(self, store: ColumnStore, head: dict, step_metric_names: Iterable[str] = ()):
        # RunTable.__init__ is not called: its arrays are loaded lazily here.
        self.store = store
        self.head = head
        vis = head["visible"]
        self.rows = int(vis["rows"])
        self.last_step = vis["last_step"]
        self._num = vis["num"]
        self._ids = head["ids"]
        self._step_metrics = [k for k in step_metric_names if k in self._num]
        self._numbers = {}  # RunTable's numbers: every key here is in the files instead
        self._media = {}
        self._other = {}
        self._info = None
        self._dense = {}
        self._ascending = {}
        self._columns: dict[str, np.ndarray] = {}
        self._media_items: dict[str, list] | None = None
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def _column(self, name: str, dtype: np.dtype, count: int) -> np.ndarray:
        a = self._columns.get(name)
        if a is None:
            with self._lock:
                lock = self._loading.setdefault(name, threading.Lock())
            with lock:  # one thread checks a column; another asking for it waits
                a = self._columns.get(name)
                if a is None:
                    a = self.store.column(self.head, name, dtype)
                    if a.size != count:
                        raise IndexDamaged(
                            f"the index column {name} holds {a.size} values, not {count}"
                        )
                    self._columns[name] = a
                    return a
        self.store.still_there(self.head, name, dtype)
        return a

    def prefetch(self, keys: int = 32) -> threading.Thread:
        """Check (and map) the x columns and the first ``keys`` numeric keys, in sorted order
        (the charts a run's page shows first), in a background thread: checking reads each
        column once, which the page's first request for series need not wait for."""

        def load() -> None:
            try:
                _ = self.steps
                for key in sorted(k for k in self._num if k not in X_COLUMNS)[:keys]:
                    self.values(key)
                    if not self.dense(key):
                        self.numbers(key)
            except Exception:  # a damaged column is found again, and rebuilt, when asked for
                pass

        thread = threading.Thread(target=load, name="localrun-index-prefetch", daemon=True)
        thread.start()
        return thread

    @property
    def steps(self) -> np.ndarray:
        return self._column("steps", _INT64, self.rows)

    @property
    def runtime(self) -> np.ndarray:
        return self._column("runtime", _FLOAT64, self.rows)

    @property
    def timestamp(self) -> np.ndarray:
        return self._column("timestamp", _FLOAT64, self.rows)

    def is_numeric(self, key: str) -> bool:
        return key in self._num

    def values(self, key: str) -> np.ndarray:
        if key not in self._num:
            return super().values(key)
        return self._column(f"{self._ids[key]}.v", _FLOAT64, self._num[key][0])

    def dense(self, key: str) -> bool:
        e = self._num.get(key)
        return e is not None and e[0] == self.rows

    def numbers(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        if key not in self._num:
            return super().numbers(key)
        name = f"{self._ids[key]}.r"
        if name not in self.head["visible"]["cols"]:  # in every row: no rows file
            return np.arange(self._num[key][0], dtype=np.int64), self.values(key)
        return self._column(name, _INT64, self._num[key][0]), self.values(key)

    def x_column(self, x: str) -> tuple[np.ndarray, bool]:
        if x in _X_FILES:
            column = self.steps if x == "_step" else self.x_values(x)
            return column, bool(self.head["visible"]["sorted"][x][0])
        return super().x_column(x)

    def media_items(self, key: str) -> list[tuple[int, Any]]:
        with self._lock:
            if self._media_items is None:
                self._media_items = self.store.media(self.head)
        return self._media_items.get(key, [])

    def key_info(self) -> dict[str, dict]:
        if self._info is not None:
            return self._info
        vis = self.head["visible"]
        info: dict[str, dict] = {}
        for key, (count, first, last) in vis["num"].items():
            if key not in X_COLUMNS:
                info[key] = {
                    "type": "number",
                    "types": {"number": count},
                    "count": count,
                    "first_step": first,
                    "last_step": last,
                }

        def add(key: str, kind: str, count: int, first: int, last: int) -> None:
            e = info.get(key)
            if e is None:
                info[key] = {
                    "type": kind,
                    "types": {kind: count},
                    "count": count,
                    "first_step": first,
                    "last_step": last,
                }
                return
            e["types"][kind] = e["types"].get(kind, 0) + count
            e["count"] += count
            e["first_step"] = min(e["first_step"], first)
            e["last_step"] = max(e["last_step"], last)
            e["type"] = max(e["types"], key=e["types"].__getitem__)

        # In RunTable.key_info's order: numbers, media, other (it breaks ties of "type").
        for key, (kinds, first, last) in vis[MEDIA_COLUMN].items():
            for kind, count in kinds.items():
                add(key, kind, count, first, last)
        for key, (count, first, last) in vis["other"].items():
            if key not in X_COLUMNS:
                add(key, "other", count, first, last)
        self._info = dict(sorted(info.items()))
        return self._info
