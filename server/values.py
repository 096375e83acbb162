"""What the server accepts as values, and checking bodies with bounded memory.

The value rules are the recorder's, from ``localrun.contract``: null, booleans, integers from
-2**63 to 2**64-1, floats, strings, arrays, and maps with string keys, nested at most
``MAX_DEPTH`` containers under a row's top-level key (or a document section's key). Whatever
``log()`` returned for is accepted; anything else (bytes, msgpack extension types such as
timestamps, integers beyond 64 bits from JSON, deeper nesting) would be stored and then break
every reader of the run, so it is refused with the contract's own words. The media files a
value names are found as everywhere else (``localrun.mediarefs``); the server also refuses
media references that try to leave the run (``names.check_media_path``).

Bounded work. A rows batch is stored as the msgpack it came in (``RowBatch.body``), so the
server needs from it only each row's step, that its values are values, and the media files it
names. ``check_batch`` never holds the batch decoded: a skip pass in C finds where each row
starts (one small ``msgspec.Raw`` per row; the row count was checked against the array header
before the body was even read), then pieces of at most ``PIECE_BYTES`` are decoded one after
another with a typed decoder that checks scalar rows in C, and dropped. A row that is not
scalars only is decoded alone: up to ``PIECE_BYTES`` with msgspec (a few tens of MB at most,
whatever those bytes hold; arrays and maps up to 8 deep are checked in C too), larger with a
counting decoder that gives up past ``max_values`` values. Documents are decoded the same way
(``decode_document``). So one request costs its body and a bounded few tens of MB, and each
decoding step is short: run in a worker thread, it lets the event loop answer other requests
between steps. (The skip pass is one C call: about 0.2 s for 64 MiB of one-byte values.)
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from dataclasses import dataclass
from types import GenericAlias
from typing import Any

import msgpack
import msgspec

from localrun.contract import (
    CONTAINER_WEIGHT,
    COUNTED_ABOVE_BYTES,
    MAX_DEPTH,
    MAX_INT,
    MAX_VALUES,
    MIN_INT,
    value_problem,
)
from localrun.mediarefs import blob_of, file_refs, media_values
from localrun.sync.protocol import JSON, MSGPACK

from .names import MAX_STEP, BadInput, check_media_path, check_sha256

#: Bytes of a body decoded in one step (a piece of rows, or one read of the counting decoder).
#: A row or document over this is counted: at most ``contract.MAX_VALUES`` values, each array or
#: map ``contract.CONTAINER_WEIGHT`` (the recorder refuses a record over the same count).
PIECE_BYTES = COUNTED_ABOVE_BYTES

_PLAIN = frozenset((str, int, float, bool, type(None)))
_PLAIN_NUMBERS = frozenset((float, bool, type(None)))  # no int: it may be out of range (JSON)
_INT_FLOAT = frozenset((int, float))
_CONTAINERS = frozenset((dict, list))


class _Outside(Exception):
    """A value outside the contract: the caller asks ``value_problem`` for the words."""


def _check_values(value, depth: int = 1) -> None:
    """Check the values inside container ``value``: raises ``_Outside`` for anything outside the
    contract (the caller words it with ``value_problem``).

    ``depth`` is how many containers deep ``value`` is, itself included: 1 for a row's value.
    """
    if depth > MAX_DEPTH:
        raise _Outside
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise _Outside
            t = type(v)
            if t is dict or t is list:
                _check_values(v, depth + 1)
            elif t not in _PLAIN or (t is int and not MIN_INT <= v <= MAX_INT):
                raise _Outside
    else:
        types = set(map(type, value))
        if types <= _PLAIN_NUMBERS or (
            types <= _INT_FLOAT and MIN_INT <= min(value) and max(value) <= MAX_INT
        ):
            return  # numbers only (a histogram's bins and counts): checked in C
        if types <= _CONTAINERS and depth < MAX_DEPTH and not any(value):
            return  # empty arrays and maps only
        for v in value:
            t = type(v)
            if t is dict or t is list:
                _check_values(v, depth + 1)
            elif t not in _PLAIN or (t is int and not MIN_INT <= v <= MAX_INT):
                raise _Outside


def media_refs(value, refs: set) -> None:
    """Add to ``refs`` the blob hashes the media values in ``value`` name.

    The references are found and read as everywhere else (``localrun.mediarefs``); the server
    first refuses (BadInput) a media value whose ``path`` or ``filenames`` entry tries to leave
    the run (``names.check_media_path``), whose ``sha256`` is not one, or whose ``filenames`` is
    not a list.
    """
    for media in media_values(value):
        path = media.get("path")
        if path is not None:
            check_media_path(path)
            sha = media.get("sha256")
            if sha is not None:
                check_sha256(sha)
        names = media.get("filenames")
        if names is not None:
            if type(names) is not list:
                raise BadInput(f"'filenames' must be a list of paths, not {type(names).__name__}")
            for name in names:
                check_media_path(name)
        for path, sha in file_refs(media):
            blob = blob_of(path, sha)
            if blob is not None:
                refs.add(blob)


def _refused(what: str, value, where: str, depth: int) -> BadInput:
    problem = value_problem(value, where, depth) or f"{where}: not a value docs/format.md has"
    return BadInput(f"{what} is not allowed: {problem}")


def check_row(row: object, refs: set, prev: int, media: bool = True, what: str = "a row") -> int:
    """Check one decoded row, after a row with step ``prev``; returns its step.

    The same order of checks as a whole batch: the row's shape, its step, then its values.
    """
    if type(row) is not dict:
        raise BadInput(f"a row must be an object, not {type(row).__name__}")
    step = row.get("_step")
    if type(step) is not int or not 0 <= step <= MAX_STEP:
        raise BadInput(f"a row's _step must be an integer from 0 to {MAX_STEP}, not {step!r}")
    if step <= prev:
        raise BadInput(f"steps must increase within a batch: {step} came after {prev}")
    for k, v in row.items():
        t = type(v)
        if type(k) is not str:
            raise BadInput(
                f"{what} is not allowed: the key {k!r} ({type(k).__name__}) is not a string"
            )
        if t in _PLAIN:
            if t is int and not MIN_INT <= v <= MAX_INT:
                raise _refused(what, v, repr(k), 0)
        elif t is dict or t is list:
            try:
                _check_values(v, 1)
            except _Outside:
                raise _refused(what, v, repr(k), 0) from None
            if media:
                media_refs(v, refs)
        else:
            raise _refused(what, v, repr(k), 0)
    return step


def check_body(value: object) -> object:
    """A structured body other than a document or rows: values inside the contract, or 400."""
    problem = value_problem(value, "the body", -1)
    if problem is not None:
        raise BadInput(f"the body is not allowed: {problem}")
    return value


def check_document(doc: object) -> set[str]:
    """Check a run document; returns the blob hashes it names. BadInput if it is not one.

    Its sections (``config``, ``summary``...) hold values under their keys, so a value there
    may nest ``MAX_DEPTH`` containers, as in a row.
    """
    if type(doc) is not dict:
        raise BadInput(
            "the run document must be an object (what `localrun show RUN --json` prints)"
        )
    try:
        _check_values(doc, -1)
    except _Outside:
        raise _refused("the run document", doc, "document", -2) from None
    refs: set = set()
    media_refs(doc, refs)
    return refs


# --- rows batches ------------------------------------------------------------------------------

_Scalar = int | float | str | bool | None
_decode_scalar_rows = msgspec.msgpack.Decoder(list[dict[str, _Scalar]]).decode
_decode_items = msgspec.msgpack.Decoder(list[msgspec.Raw]).decode  # each row's bytes, undecoded
_decode_any = msgspec.msgpack.Decoder().decode
_ROWS_SHAPE = "the body must be an array of rows, each an object with an integer _step"


@dataclass(frozen=True)
class Batch:
    """What ``check_batch`` found: the rows' steps, where each row starts, the blobs named."""

    steps: list[int]
    offsets: list[int]  # row i is body[offsets[i]:offsets[i + 1]]
    refs: set[str]


def rows_in_header(head: bytes) -> int | None:
    """How many rows the array header at the start of a rows body declares.

    None when ``head`` is too short to say. BadInput when the body is not a msgpack array.
    """
    n, _ = _array_header(head)
    return n


def _array_header(buf) -> tuple[int | None, int]:
    if not buf:
        return None, 0
    first = buf[0]
    if 0x90 <= first <= 0x9F:
        return first & 0x0F, 1
    if first in (0xDC, 0xDD):
        size = 3 if first == 0xDC else 5
        if len(buf) < size:
            return None, size
        return int.from_bytes(buf[1:size], "big"), size
    raise BadInput(_ROWS_SHAPE)


_array_head = msgpack.Packer().pack_array_header


def _undecodable(exc: BaseException) -> BadInput:
    if isinstance(exc, (RecursionError, msgpack.StackError)):
        return BadInput(
            f"a value is nested deeper than {MAX_DEPTH} containers: flatten it, or log it as a string"
        )
    return BadInput(f"the body is not valid msgpack: {type(exc).__name__}: {str(exc)[:200]}")


def check_batch(body, max_values: int = MAX_VALUES) -> Batch:
    """Check a rows body (a msgpack array of rows) without keeping it decoded.

    Every row must be a map with string keys, an integer ``_step`` from 0 to 2**63-1, steps
    increasing, values inside the contract and media paths inside the run; the first bad row is
    the one reported (BadInput). A row over ``PIECE_BYTES`` holding more than ``max_values``
    values gets 413. The row count is the caller's to check, from the header, before reading.
    """
    n, at = _array_header(body)
    if n is None:
        raise BadInput("the body is not valid msgpack: it ends inside the array header")
    try:
        items = _decode_items(body)
    except Exception as exc:  # any decoding failure of untrusted bytes is the client's
        raise _undecodable(exc) from None
    offsets = list(itertools.accumulate(map(len, items), initial=at))
    del items
    steps: list[int] = []
    refs: set = set()
    prev = -1
    i = 0
    with memoryview(body) as view:
        while i < n:
            # Rows i..j-1 are at most PIECE_BYTES together: one step of the typed decoder.
            j = max(i + 1, bisect.bisect_right(offsets, offsets[i] + PIECE_BYTES, i + 1, n + 1) - 1)
            if offsets[j] - offsets[i] > PIECE_BYTES:
                good = 0  # one row over PIECE_BYTES by itself
            else:
                piece = _array_head(j - i) + view[offsets[i] : offsets[j]]
                # dicts, or _StepOnly when only the steps were still needed; a step that is not
                # an int in (prev, MAX_STEP] makes check_row raise.
                rows: list[Any]
                row: Any
                step: Any
                try:
                    rows = _decode_scalar_rows(piece)
                    good = j - i
                except msgspec.ValidationError as exc:
                    # The rows before the one it stopped at are scalars only: their steps are
                    # all that is still needed from them.
                    good = _failed_at(exc)
                    rows = _decode_steps(_array_head(good) + view[offsets[i] : offsets[i + good]])
                del piece
                for row in rows:
                    step = row.get("_step") if type(row) is dict else row.step
                    if type(step) is not int or not prev < step <= MAX_STEP:
                        check_row({"_step": step}, refs, prev)  # says what is wrong with it
                    steps.append(step)
                    prev = step
                del rows
            if i + good < j:
                # Row k is not scalars only, or is over PIECE_BYTES: checked by itself.
                k = i + good
                prev = _check_one(body, view, offsets[k], offsets[k + 1], k, prev, refs, max_values)
                steps.append(prev)
                j = k + 1
            i = j
    return Batch(steps, offsets, refs)


def _check_one(body, view, start, end, k, prev, refs, max_values) -> int:
    """Check the row at ``body[start:end]`` (position ``k``) after step ``prev``; its step."""
    media = body.find(b"_type", start, end) >= 0 or body.find(b"filenames", start, end) >= 0
    raw = view[start:end]
    what = f"the row at position {k} of the batch"
    if len(raw) > PIECE_BYTES:
        return check_row(decode_counted(raw, max_values), refs, prev, media, what)
    try:
        row = _decode_nested_row(raw)
    except msgspec.ValidationError:  # something to refuse, or nested deeper: checked in Python
        try:
            row = _decode_any(raw)
        except Exception as exc:  # any decoding failure of untrusted bytes is the client's
            raise _undecodable(exc) from None
        return check_row(row, refs, prev, media, what)
    if media:  # values checked in C; the media references are still to find and check
        return check_row(row, refs, prev, media, what)
    step = row.get("_step")
    if type(step) is not int or not prev < step <= MAX_STEP:
        check_row({"_step": step}, refs, prev)  # says what is wrong with it
    return step


def _nested(levels: int) -> Any:
    """``_Scalar | list[...] | dict[str, ...]``, ``levels`` deep: a type made at run time, so
    written with ``GenericAlias`` (``list[value]`` is the same object) for the type checker."""
    value: Any = _Scalar
    for _ in range(levels):
        value = _Scalar | GenericAlias(list, (value,)) | GenericAlias(dict, (str, value))
    return value


# Rows with arrays and maps up to 8 deep (nearly all), checked in C as they are decoded.
_decode_nested_row = msgspec.msgpack.Decoder(GenericAlias(dict, (str, _nested(8)))).decode


class _StepOnly(msgspec.Struct):
    step: _Scalar = msgspec.field(default=None, name="_step")


_decode_steps = msgspec.msgpack.Decoder(list[_StepOnly]).decode
_AT_ROW = re.compile(r"`\$\[(\d+)\]")


def _failed_at(exc: msgspec.ValidationError) -> int:
    """Which row of a piece the typed decoder stopped at (0 when its message does not say)."""
    match = _AT_ROW.search(str(exc))
    return int(match.group(1)) if match else 0


# --- documents and other structured bodies --------------------------------------------------


class _TooMany(Exception):
    pass


class _Reader:
    """A file over a buffer, read a piece at a time: the counting decoder's C loop comes back
    to Python for each piece, so other threads (the event loop) get their turn."""

    def __init__(self, buf):
        self.view = memoryview(buf)
        self.at = 0

    def read(self, n: int) -> bytes:
        chunk = bytes(self.view[self.at : self.at + n])
        self.at += len(chunk)
        return chunk


def count_values(max_values: int):
    """The msgpack hooks that count values and stop past ``max_values``.

    Each array item, map key and map value counts one, and each array or map
    ``CONTAINER_WEIGHT`` more (an empty map costs a Python process eight times what a float in
    an array does), so what a count allows decodes to a few tens of MB at most.
    """
    count = 0

    def on_list(value):
        nonlocal count
        count += len(value) + CONTAINER_WEIGHT
        if count > max_values:
            raise _TooMany
        return value

    def on_map(value):
        nonlocal count
        count += 2 * len(value) + CONTAINER_WEIGHT
        if count > max_values:
            raise _TooMany
        return value

    return on_list, on_map


def _too_many(max_values: int) -> BadInput:
    return BadInput(
        f"a row or document of over {max_values:,} values is over the server's limit (each array "
        f"item, map key and map value counts 1, each array or map {CONTAINER_WEIGHT}): log a large "
        "table or array as a file",
        status=413,
    )


def decode_counted(buf, max_values: int = MAX_VALUES) -> object:
    """Decode msgpack ``buf``, giving up (413) past ``max_values`` values, a piece at a time."""
    on_list, on_map = count_values(max_values)
    size = max(len(buf), 1)
    unpacker = msgpack.Unpacker(
        _Reader(buf),
        read_size=min(PIECE_BYTES, size),
        max_buffer_size=size,
        raw=False,
        strict_map_key=False,
        list_hook=on_list,
        object_hook=on_map,
        max_array_len=max_values,
        max_map_len=max_values // 2,
    )
    try:
        value = unpacker.unpack()
    except _TooMany:
        raise _too_many(max_values) from None
    except ValueError as exc:
        if "exceeds max_" in str(exc):  # a header declaring too many items, refused before
            raise _too_many(max_values) from None
        raise _undecodable(exc) from None
    except Exception as exc:  # any decoding failure of untrusted bytes is the client's
        raise _undecodable(exc) from None
    if unpacker.tell() != len(buf):
        raise BadInput(
            f"the body is not valid msgpack: {len(buf) - unpacker.tell()} bytes after its end"
        )
    return value


# JSON: what can start or separate a value, outside strings, is what can make a value.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[{,:]')


def _json_values(body, max_values: int) -> int:
    """At least what a JSON body counts as values (as ``count_values``), up to ``max_values + 1``."""
    weights = ((b"[", CONTAINER_WEIGHT), (b"{", CONTAINER_WEIGHT), (b",", 1), (b":", 1))
    rough = sum(body.count(c) * w for c, w in weights)
    if rough <= max_values:
        return rough
    # Over, counting brackets and commas inside strings too: count again, strings skipped.
    count = 0
    for match in itertools.islice(_JSON_TOKENS.finditer(body), 2 * max_values + 2):
        token = match.group()
        if len(token) == 1:
            count += 1 if token in b",:" else CONTAINER_WEIGHT
            if count > max_values:
                break
    return count


def decode_document(body, ctype: str, max_values: int = MAX_VALUES) -> object:
    """Decode a structured body: msgpack (``application/msgpack``) or JSON, with bounded memory.

    A body of up to ``PIECE_BYTES`` is decoded in one step (its size bounds what it decodes
    to); a larger msgpack body counts its values as it is decoded, a larger JSON body before.
    Over ``max_values``: 413. Not decodable: 400. Another type: 415.
    """
    if ctype == MSGPACK:
        if len(body) <= PIECE_BYTES:
            try:
                return _decode_any(body)
            except Exception as exc:  # any decoding failure of untrusted bytes is the client's
                raise _undecodable(exc) from None
        return decode_counted(body, max_values)
    if ctype in (JSON, ""):
        if len(body) > PIECE_BYTES and _json_values(body, max_values) > max_values:
            raise _too_many(max_values)
        try:
            return json.loads(body)
        except RecursionError:
            raise _undecodable(RecursionError()) from None
        except Exception as exc:  # any decoding failure of untrusted bytes is the client's
            raise BadInput(
                f"the body is not valid JSON: {type(exc).__name__}: {str(exc)[:200]}"
            ) from None
    raise BadInput(
        f"unsupported Content-Type {ctype!r}: send {MSGPACK} or {JSON}",
        status=415,
    )
