"""What the server accepts as values, and decoding a batch of rows fast enough for a million.

Only the value types of docs/format.md pass: null, booleans, 64-bit integers, floats, strings,
arrays, and maps with string keys. Anything else (bytes, msgpack extension types such as
timestamps, integers beyond 64 bits from JSON) would be stored and then break every reader of
the run, so it is refused, as are media references that try to leave the run.

Most rows hold scalars only (a step and a few metrics). ``decode_rows`` decodes those with a
typed msgspec decoder, which checks every value in C while it decodes (bytes, extension types
and non-string keys fail it), so ``check_rows`` skips them; a row that fails it (media, nested
values, or something to refuse) is decoded as it is and checked value by value in Python.
"""

from __future__ import annotations

import msgspec

from .names import MAX_STEP, SHA256, BadInput, check_media_path, check_sha256

_MAX_DEPTH = 64


_PLAIN = frozenset((str, int, float, bool, type(None)))
_PLAIN_NUMBERS = frozenset((float, bool, type(None)))  # no int: it may be out of range (JSON)
_INT_FLOAT = frozenset((int, float))
_MIN_INT, _MAX_INT = -(2**63), 2**64 - 1  # what msgpack (and so the format) can hold


def bad_value(value) -> BadInput:
    return BadInput(
        f"a value of type {type(value).__name__} ({repr(value)[:60]}) is not allowed: values are null, booleans, "
        "64-bit integers, floats, strings, arrays and maps with string keys (docs/format.md)"
    )


def media_refs(value, refs: set, depth: int = 0, media: bool = True) -> None:
    """Check the values inside ``value`` and collect the blob hashes its media references name.

    Only the value types of docs/format.md pass: anything else (bytes, msgpack extension types,
    integers beyond 64 bits from JSON) would be stored and then break every reader of the run.
    ``media`` False skips looking for media references (none can be there).
    """
    if depth > _MAX_DEPTH:
        raise BadInput(f"value nested deeper than {_MAX_DEPTH} levels")
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise BadInput(f"key {k!r} is not a string")
            t = type(v)
            if t is dict or t is list:
                media_refs(v, refs, depth + 1, media)
            elif t not in _PLAIN or (t is int and not _MIN_INT <= v <= _MAX_INT):
                raise bad_value(v)
        if media and "_type" in value:
            path = value.get("path")
            if path is not None:
                check_media_path(path)
                sha = value.get("sha256")
                if sha is not None:
                    refs.add(check_sha256(sha))
                else:  # media/<sha256>.<ext>: the name says which file it is
                    base = path.rsplit("/", 1)[-1].split(".", 1)[0]
                    if SHA256.match(base):
                        refs.add(base)
            names = value.get("filenames")
            if names is not None:
                if type(names) is not list:
                    raise BadInput(
                        f"'filenames' must be a list of paths, not {type(names).__name__}"
                    )
                for name in names:
                    check_media_path(name)
                    base = name.rsplit("/", 1)[-1].split(".", 1)[0]
                    if SHA256.match(base):
                        refs.add(base)
    else:
        types = set(map(type, value))
        if types <= _PLAIN_NUMBERS or (
            types <= _INT_FLOAT and _MIN_INT <= min(value) and max(value) <= _MAX_INT
        ):
            return  # numbers only (a histogram's bins and counts): checked in C
        for v in value:
            t = type(v)
            if t is dict or t is list:
                media_refs(v, refs, depth + 1, media)
            elif t not in _PLAIN or (t is int and not _MIN_INT <= v <= _MAX_INT):
                raise bad_value(v)


def check_rows(
    rows: list, may_hold_media: bool, unchecked: set[int] | None = None
) -> tuple[list[int], set]:
    """The rows' steps and the blobs they name; BadInput on anything off.

    Every value is checked against the types of docs/format.md (bytes and msgpack extension
    types are refused: stored, they would break every reader of the run). ``may_hold_media`` is
    False when the body has no ``_type`` (nor ``filenames``) anywhere: then no value can be a
    media reference, and nested values are only type-checked. With ``unchecked`` (from
    ``decode_rows``), only the values of the rows at those positions are checked: the others
    were checked while they were decoded. Either way the first bad row is the one reported.
    """
    steps = []
    refs: set = set()
    prev = -1
    known_keys = None  # rows mostly share one key set: check the keys once per set
    plain = _PLAIN
    for i, row in enumerate(rows):
        if type(row) is not dict:
            raise BadInput(f"a row must be an object, not {type(row).__name__}")
        step = row.get("_step")
        if type(step) is not int or not 0 <= step <= MAX_STEP:
            raise BadInput(f"a row's _step must be an integer from 0 to {MAX_STEP}, not {step!r}")
        if step <= prev:
            raise BadInput(f"steps must increase within a batch: {step} came after {prev}")
        prev = step
        steps.append(step)
        if unchecked is not None and i not in unchecked:
            continue
        keys = row.keys()
        if keys != known_keys:
            for k in keys:
                if type(k) is not str:
                    raise BadInput(f"row keys must be strings, not {k!r}")
            known_keys = keys
        for v in row.values():
            t = type(v)
            if t in plain:
                continue  # msgpack holds no integer beyond 64 bits
            if t is dict or t is list:
                media_refs(v, refs, 1, may_hold_media)
            else:
                raise bad_value(v)
    return steps, refs


# --- decoding ----------------------------------------------------------------------------------

_Scalar = int | float | str | bool | None
_decode_scalar_rows = msgspec.msgpack.Decoder(list[dict[str, _Scalar]]).decode
_decode_scalar_row = msgspec.msgpack.Decoder(dict[str, _Scalar]).decode
_decode_items = msgspec.msgpack.Decoder(list[msgspec.Raw]).decode  # each row's bytes, undecoded
_decode_any = msgspec.msgpack.Decoder().decode


def _not_msgpack(exc: Exception) -> BadInput:
    return BadInput(f"the body is not valid msgpack: {type(exc).__name__}: {str(exc)[:200]}")


def decode_rows(body: bytes, may_hold_media: bool) -> tuple[object, set[int] | None]:
    """Decode the body of a rows batch: ``(rows, unchecked)`` for ``check_rows``.

    ``unchecked`` holds the positions of the rows whose values are still to be checked: the
    others were decoded with the scalar-only type, so their keys are strings and their values
    scalars. None when the body is not an array: then nothing was checked. BadInput when the
    body is not msgpack.
    """
    if not may_hold_media:  # with media in the batch, the first image would fail this anyway
        try:
            return _decode_scalar_rows(body), set()
        except msgspec.ValidationError:
            pass  # not rows of scalars only, or not rows at all: row by row, below
        except Exception as exc:  # any decoding failure of untrusted bytes is the client's
            raise _not_msgpack(exc) from None
    try:
        items = _decode_items(body)
    except msgspec.ValidationError:  # not an array: decoded as is, check_rows says what is wrong
        items = None
    except Exception as exc:
        raise _not_msgpack(exc) from None
    try:
        if items is None:
            return _decode_any(body), None
        rows = []
        unchecked = set()
        for i, item in enumerate(items):
            try:
                rows.append(_decode_scalar_row(item))
            except msgspec.ValidationError:
                rows.append(_decode_any(item))
                unchecked.add(i)
    except Exception as exc:
        raise _not_msgpack(exc) from None
    return rows, unchecked
