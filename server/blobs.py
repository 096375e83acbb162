"""Media bytes on the server: content-addressed files ``blobs/<sh>/<sha256>`` in the data folder.

An upload streams into a temporary file in ``blobs/tmp/`` while its sha256 is computed; only
when the hash matches the name the client gave, and the size is within the limit, is the file
fsynced and renamed into place. So a blob under its final name is always whole and always what
its name says, and an interrupted or hostile upload leaves nothing behind.

Folders are 0700 and files 0600 (``disk.py``). A bundle (many small files in one msgpack map)
is decoded without copying the files out of the body: each entry is a view into it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
from collections.abc import AsyncIterator

import msgspec
from starlette.concurrency import run_in_threadpool

from localrun import durable

from .disk import FILE_MODE, FOLDER_MODE, private_folder, tighten
from .names import BadInput, check_sha256

_WRITERS = 4  # worker threads writing one bundle's files


class BlobDir:
    def __init__(self, root: str):
        self.root = private_folder(root)
        self.tmp = private_folder(os.path.join(root, "tmp"))
        for name in os.listdir(root):
            folder = os.path.join(root, name)
            if len(name) == 2 and stat.S_IMODE(os.stat(folder).st_mode) != FOLDER_MODE:
                # Made by an older server with the umask's modes: its files are looked at once.
                os.chmod(folder, FOLDER_MODE)
                for entry in os.scandir(folder):
                    tighten(entry.path, FILE_MODE)
        # Left over by a server killed mid-upload: never named, never acknowledged.
        for name in os.listdir(self.tmp):
            try:
                os.unlink(os.path.join(self.tmp, name))
            except OSError:
                pass

    def path(self, sha256: str) -> str:
        check_sha256(sha256)
        return os.path.join(self.root, sha256[:2], sha256)

    def has(self, sha256: str) -> bool:
        return os.path.exists(self.path(sha256))

    def missing(self, hashes: list[str]) -> list[str]:
        return [h for h in dict.fromkeys(hashes) if not self.has(h)]

    async def put_stream(
        self, sha256: str, chunks: AsyncIterator[bytes], max_bytes: int
    ) -> tuple[int, bool]:
        """Store the bytes of ``chunks`` as blob ``sha256``; returns ``(size, stored)``.

        ``stored`` is False when the blob was already there (the upload is then read and
        checked all the same, and dropped). BadInput on a hash mismatch or an oversized body.
        """
        final = self.path(sha256)
        tmp: str | None
        fd, tmp = durable.temp_file(self.tmp, FILE_MODE)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as f:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise BadInput(
                            f"blob is larger than the server's limit of {max_bytes} bytes",
                            status=413,
                        )
                    digest.update(chunk)
                    f.write(chunk)
            if digest.hexdigest() != sha256:
                raise BadInput(
                    f"the uploaded bytes hash to {digest.hexdigest()}, not {sha256}: "
                    "the media file is damaged or was changed after it was logged",
                    status=400,
                )
            if os.path.exists(final):
                return size, False
            # fsync in a worker thread: other uploads and requests go on meanwhile.
            await run_in_threadpool(self._commit, tmp, final)
            tmp = None
            return size, True
        finally:
            if tmp is not None:
                durable.discard(tmp)

    async def put_many(self, blobs: object) -> list[str]:
        """Store a bundle ``{sha256: bytes}`` (or views of bytes); returns the hashes that were new.

        Every hash is checked before anything is written, so a bundle with one bad file stores
        nothing. The files are written and fsynced in worker threads, side by side.
        """
        if type(blobs) is not dict:
            raise BadInput("a bundle must be a map of sha256 to bytes")
        for sha, data in blobs.items():
            check_sha256(sha)
            if type(data) not in (bytes, memoryview):
                raise BadInput(f"the bundle's entry {sha} must be bytes, not {type(data).__name__}")
            actual = hashlib.sha256(data).hexdigest()
            if actual != sha:
                raise BadInput(
                    f"the bundle's file {sha} hashes to {actual}: it is damaged or was changed after it was logged"
                )
        new = [sha for sha in blobs if not os.path.exists(self.path(sha))]
        # A few worker threads write and fsync a share of the files each, and each folder is
        # fsynced once at the end instead of once per file: a thousand small files took a
        # thread hop and two fsyncs apiece, most of a sync's first half second.
        shares = [new[i::_WRITERS] for i in range(min(_WRITERS, len(new)))]
        written = await asyncio.gather(
            *(run_in_threadpool(self._write_all, share, blobs) for share in shares)
        )
        folders = sorted(set[str]().union(*written))
        await asyncio.gather(
            *(
                run_in_threadpool(_fsync_dirs, folders[i::_WRITERS])
                for i in range(min(_WRITERS, len(folders)))
            )
        )
        return new

    def _write_all(self, hashes: list[str], blobs: dict) -> set[str]:
        """Write and fsync each file, then rename it into place; returns the folders to fsync."""
        folders = set()
        for sha in hashes:
            final = self.path(sha)
            folders.add(self._folder_of(final))
            durable.write(final, blobs[sha], mode=FILE_MODE, temp_dir=self.tmp)
        return folders

    def _commit(self, tmp: str, final: str) -> None:
        """fsync the finished upload ``tmp``, rename it to ``final``, fsync its folder."""
        self._folder_of(final)
        durable.replace(tmp, final, sync_folder=True)

    @staticmethod
    def _folder_of(final: str) -> str:
        """The folder of blob file ``final``, made (private) if it is missing."""
        folder = os.path.dirname(final)
        if not os.path.isdir(folder):
            private_folder(folder)
        return folder


_decode_entries = msgspec.msgpack.Decoder(dict[str, msgspec.Raw]).decode
_BIN_HEADER = {0xC4: 2, 0xC5: 3, 0xC6: 5}  # msgpack bin 8/16/32: bytes of header


def _kind(first: int) -> str:
    """What a msgpack value that starts with byte ``first`` is, in words."""
    if 0xA0 <= first <= 0xBF or first in (0xD9, 0xDA, 0xDB):
        return "a string"
    if 0x80 <= first <= 0x8F or first in (0xDE, 0xDF):
        return "a map"
    if 0x90 <= first <= 0x9F or first in (0xDC, 0xDD):
        return "an array"
    if first in (0xCA, 0xCB):
        return "a float"
    if first in (0xC0, 0xC2, 0xC3):
        return "null or a boolean"
    if first <= 0x7F or first >= 0xE0 or 0xCC <= first <= 0xD3:
        return "an integer"
    return "an extension type"


def bundle_size(head: bytes) -> int | None:
    """How many files the map header at the start of a bundle declares (None: not a map, or
    too few bytes to say)."""
    if not head:
        return None
    first = head[0]
    if 0x80 <= first <= 0x8F:
        return first & 0x0F
    size = {0xDE: 3, 0xDF: 5}.get(first)
    if size is None or len(head) < size:
        return None
    return int.from_bytes(head[1:size], "big")


def decode_bundle(body) -> dict[str, memoryview]:
    """A bundle body: ``{sha256: the file's bytes}`` as views into ``body`` (nothing copied)."""
    try:
        entries = _decode_entries(body)
    except msgspec.ValidationError:
        raise BadInput("a bundle must be a map of sha256 to bytes") from None
    except Exception as exc:  # any decoding failure of untrusted bytes is the client's
        raise BadInput(
            f"the body is not valid msgpack: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    bundle = {}
    for sha, raw in entries.items():
        view = memoryview(raw)
        header = _BIN_HEADER.get(view[0])
        if header is None:
            raise BadInput(f"the bundle's entry {sha} must be bytes, not {_kind(view[0])}")
        bundle[sha] = view[header:]
    return bundle


def _fsync_dirs(folders: list[str]) -> None:
    for folder in folders:
        durable.fsync_path(folder, strict=True)
