"""Reading what a media type was given as a file: a path, a path-like, or an open file.

An open file may be a text-mode file of binary content (the seeds log
``Object3D(open("sample.glb"))``), so a file object that names a file on disk is re-read
from that path in binary; one that does not (``io.BytesIO``) is read as it is.
"""

from __future__ import annotations

import io
import os
from typing import Any

from ..errors import MediaError, MediaTypeError


def is_path(obj: Any) -> bool:
    return isinstance(obj, (str, os.PathLike))


def is_file(obj: Any) -> bool:
    return hasattr(obj, "read") and callable(obj.read)


def read_source(obj: Any, who: str, arg: str = "data_or_path") -> tuple[bytes, str | None]:
    """The bytes of a path or open file, and the file name they came from (None if unknown)."""
    if is_path(obj):
        path = os.fspath(obj)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return _read_path(path, who, arg), path
    if is_file(obj):
        name = getattr(obj, "name", None)
        if isinstance(name, str) and os.path.isfile(name) and not isinstance(obj, io.BytesIO):
            return _read_path(name, who, arg), name
        try:
            data = obj.read()
        except (OSError, ValueError) as exc:
            raise MediaError(f"{who}: cannot read the file given as {arg}: {exc}") from exc
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MediaTypeError(
                f"{who}: {arg}.read() returned {type(data).__name__}, not bytes or str"
            )
        return bytes(data), name if isinstance(name, str) else None
    raise MediaTypeError(
        f"{who}: {arg} must be a path or an open file here, not {type(obj).__name__}"
    )


def _read_path(path: str, who: str, arg: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise MediaError(
            f"{who}: {arg} {path!r} does not exist. Pass the path of an existing file"
        ) from None
    except IsADirectoryError:
        raise MediaError(f"{who}: {arg} {path!r} is a directory. Pass the path of a file") from None
    except OSError as exc:
        raise MediaError(f"{who}: cannot read {arg} {path!r}: {exc.strerror or exc}") from exc


def extension(name: str | None, known: tuple[str, ...]) -> str | None:
    """The longest of ``known`` that ``name`` ends with (``pts.json`` before ``json``), lowercased."""
    if not name:
        return None
    lower = name.lower()
    for ext in sorted(known, key=len, reverse=True):
        if lower.endswith("." + ext):
            return ext
    return None


def file_extension(
    name: str | None, file_type: Any, known: tuple[str, ...], who: str, what: str
) -> str:
    """The format of a media file: from its name, else ``file_type=``; MediaError if neither fits."""
    ext = extension(name, known)
    if ext is None and file_type is not None:
        ext = str(file_type).lower().lstrip(".")
        if ext not in known:
            raise MediaError(
                f"{who}: file_type={file_type!r} is not supported; use one of {', '.join(known)}"
            )
    if ext is None:
        raise MediaError(
            f"{who}: {name or 'the file'} is not a supported {what}; pass one ending in "
            f"{', '.join('.' + f for f in known)} (or file_type= for an io.BytesIO)"
        )
    return ext
