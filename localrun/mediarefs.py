"""The media files a value names: the one walk that finds them, for everything that reads values.

A media value is a dict with a ``_type`` (docs/media.md), anywhere in a logged value, config
or summary, or in a media file holding values (a table's cells). It names its files, relative
to the run directory, by ``path`` (with the file's ``sha256`` beside it) and by the entries of
``filenames``. Files are stored as ``media/<sha256>.<ext>`` (``blobs.py``), so a file's name
also says which content it is: a reference's file is the ``sha256`` beside it, else the hash
its name starts with (``blob_of``), as docs/protocol.md says. Nothing here knows any one media
type: new types are carried as long as they keep to that shape (docs/format.md).

Sync uploads the files a value names, verify checks them, the server requires them before it
stores a row (and refuses references that try to leave the run: its own checks) and the viewer
serves them; each finds them with ``media_values`` and ``file_refs``. The walk keeps its own
stack, so a value nested deeper than Python recurses is walked all the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: A sha256 as values and names carry it: 64 lowercase hex digits.
SHA256 = re.compile(r"[0-9a-f]{64}")
_HASHED_NAME = re.compile(r"([0-9a-f]{64})(?:\.|$)")
_CONTAINERS = frozenset((dict, list))


def hash_in_name(name: str) -> str | None:
    """The sha256 a media file's name starts with (``<sha256>.<ext>``), else None."""
    m = _HASHED_NAME.match(name)
    return m.group(1) if m else None


def media_values(value: Any) -> Iterator[dict]:
    """Every media value (a dict with ``_type``) in ``value``, ``value`` itself included, in
    the order they appear (a value before the values inside it)."""
    if type(value) not in _CONTAINERS:
        return
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        v = pop()
        if type(v) is dict:
            if "_type" in v:
                yield v
            items = reversed(v.values())  # pushed last to first: walked first to last
        else:
            items = reversed(v)
        for x in items:
            t = type(x)
            if t is dict or t is list:
                push(x)


def file_refs(media: dict) -> Iterator[tuple[str, str | None]]:
    """The files one media value names: ``(path, sha256 beside it or None)`` for its ``path``
    and each entry of ``filenames``. References that are not strings are skipped."""
    path = media.get("path")
    if type(path) is str:
        sha = media.get("sha256")
        yield path, sha if type(sha) is str else None
    names = media.get("filenames")
    if type(names) is list:
        for name in names:
            if type(name) is str:
                yield name, None


def blob_of(path: str, sha256: str | None) -> str | None:
    """The content a reference names: the ``sha256`` beside it, else the hash its file name
    starts with; None when neither says."""
    if sha256 is not None:
        return sha256
    return hash_in_name(path.rsplit("/", 1)[-1])


def files_named(value: Any, found: dict[str, str] | None = None) -> dict[str, str]:
    """``{sha256: path relative to the run}`` for every media file ``value`` names (added to
    ``found`` when given)."""
    found = {} if found is None else found
    for media in media_values(value):
        for path, sha in file_refs(media):
            blob = blob_of(path, sha)
            if blob is not None:
                found[blob] = path
    return found
