"""What a run may hold: the one definition of valid names, keys, values, nesting and record size.

The recorder refuses, at the call, anything outside this contract (``init``, ``log``,
``config``, ``summary``, ``notes``, ``tags``), and a server accepts everything inside it, so
whatever ``log()`` returned for can be synced. Both sides import these rules from here; a
server may still refuse more from clients that are not localrun (a body over its size limit,
say). docs/format.md, "Values", says the same in prose.

Values (after the recorder has turned numpy scalars, arrays and media objects into plain
data): ``None``, ``bool``, ``int`` from -2**63 to 2**64-1, ``float`` (NaN and the infinities
included), ``str``, lists, and dicts whose keys are ``str``; nested at most ``MAX_DEPTH``
containers deep under a top-level key. Not values: bytes, any other type, and keys of any
other type.

The checks here return a problem as text (or None), not an exception: the recorder raises its
own error (``localrun.ValueTypeError`` and friends), the server answers 400, and sync reports
the row. Each text names where the problem is (``'a/b'[3]``) and what was there.
"""

from __future__ import annotations

import re
from typing import Any

#: Containers a value may nest under its top-level key: ``{"k": [[1]]}`` nests 2.
MAX_DEPTH = 64
#: The largest record one call may write, packed (a ``log()`` call's data and its envelope).
#: Readers accept frames up to ``record.frame.MAX_PAYLOAD_BYTES``, which is larger.
MAX_RECORD_BYTES = 16 * 1024 * 1024
#: A record (a row, a document) packed into more than this many bytes is counted, and may hold
#: at most MAX_VALUES values: each list item, dict key and dict value counts 1, each list or
#: dict CONTAINER_WEIGHT more. What a server decodes stays within a few tens of MB that way.
COUNTED_ABOVE_BYTES = 256 * 1024
MAX_VALUES = 500_000
CONTAINER_WEIGHT = 8
#: Integers a record can hold exactly (msgpack's range).
MIN_INT, MAX_INT = -(2**63), 2**64 - 1
#: Keys of a history row that replay sets itself: a logged value may not use them.
RESERVED_KEYS = frozenset(("_step", "_runtime", "_timestamp"))

#: A run id names the run's folder and its URL on a server.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # fullmatch: no newline after it
RUN_ID_RULE = (
    "1-128 letters, digits, '_', '-' or '.', starting with a letter or digit, with no '..'"
)
#: A project is free text, but for the characters that would be ambiguous in a URL path
#: (wandb refuses the same ones at init).
PROJECT = re.compile(r"[^/\\#?%:.\s\x00-\x1f\x7f][^/\\#?%:\x00-\x1f\x7f]{0,127}")
PROJECT_RULE = "1-128 characters, none of / \\ # ? % : or control characters, not starting with '.' or a space, no trailing space"

#: An artifact's name (wandb's rule): it names a file in the runs root and a path segment on a
#: server. Not "." or "..".
ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
ARTIFACT_NAME_RULE = "1-128 letters, digits, '_', '-' or '.' (not '.' or '..')"
#: An artifact version's alias (``latest``, ``best``): no '/' or ':' (wandb's rule), no control
#: characters, and not ``v<number>``, which names a version.
ALIAS = re.compile(r"[^/:\x00-\x1f\x7f]{1,128}")
ALIAS_RULE = "1-128 characters, no '/', ':' or control characters, and not v<number> (a version)"
_VERSION = re.compile(r"v[0-9]+")

_SCALARS = frozenset((str, float, bool, type(None)))


def run_id_problem(run_id: object) -> str | None:
    """Why ``run_id`` is not a usable run id, or None."""
    if type(run_id) is not str or not RUN_ID.fullmatch(run_id) or ".." in run_id:
        return f"run id {_short(run_id)} is not allowed: use {RUN_ID_RULE}"
    return None


def project_problem(project: object) -> str | None:
    """Why ``project`` is not a usable project name, or None."""
    if (
        type(project) is not str
        or not PROJECT.fullmatch(project)
        or ".." in project
        or project != project.strip()
    ):
        return f"project {_short(project)} is not allowed: use {PROJECT_RULE}"
    return None


def artifact_name_problem(name: object) -> str | None:
    """Why ``name`` is not a usable artifact name, or None."""
    if type(name) is not str or not ARTIFACT_NAME.fullmatch(name) or name in (".", ".."):
        return f"artifact name {_short(name)} is not allowed: use {ARTIFACT_NAME_RULE}"
    return None


def alias_problem(alias: object) -> str | None:
    """Why ``alias`` is not a usable artifact alias, or None."""
    if type(alias) is not str or not ALIAS.fullmatch(alias) or _VERSION.fullmatch(alias):
        return f"alias {_short(alias)} is not allowed: use {ALIAS_RULE}"
    return None


def version_number(text: object) -> int | None:
    """The number of a version written ``v<number>`` (``"v3"`` is 3), else None."""
    if type(text) is str and _VERSION.fullmatch(text) and len(text) < 20:
        return int(text[1:])
    return None


def value_problem(value: Any, where: str = "value", depth: int = 0) -> str | None:
    """Why ``value`` (a plain value, ``depth`` containers deep already) breaks the contract, or None.

    Walks without recursion, so a value nested a thousand deep is reported, not a RecursionError.
    """
    stack = [(value, where, depth)]
    pop, push = stack.pop, stack.append
    while stack:
        v, at, d = pop()
        t = type(v)
        if t in _SCALARS:
            continue
        if t is int:
            if not MIN_INT <= v <= MAX_INT:
                return f"{at}: the integer {_short(v)} is beyond 64 bits; log it as a float or a string"
            continue
        if t is dict or t is list:
            if d >= MAX_DEPTH:
                at = at if len(at) <= 80 else at[:40] + "..." + at[-37:]
                return f"{at}: nested deeper than {MAX_DEPTH} containers; flatten it, or log it as a string"
            if t is dict:
                for k, item in v.items():
                    if type(k) is not str:
                        return f"{at}: the key {_short(k)} ({type(k).__name__}) is not a string; use str keys"
                    push((item, f"{at}/{k}", d + 1))
            else:
                for i, item in enumerate(v):
                    push((item, f"{at}[{i}]", d + 1))
            continue
        if t is bytes or t is bytearray or t is memoryview:
            return f"{at}: {t.__name__} ({_short(v)}) cannot be stored; decode it to a str, or log it as a file"
        return (
            f"{at}: a value of type {t.__module__}.{t.__qualname__} ({_short(v)}) cannot be stored"
        )
    return None


def count_problem(value: Any, where: str = "this record") -> str | None:
    """Why ``value`` holds too many values for a record over ``COUNTED_ABOVE_BYTES``, or None.

    Counts as a server does (see ``MAX_VALUES``) and stops as soon as the count is over.
    """
    count = 0
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        v = pop()
        t = type(v)
        if t is dict:
            count += 2 * len(v) + CONTAINER_WEIGHT
            for item in v.values():
                if type(item) is dict or type(item) is list:
                    push(item)
        elif t is list:
            count += len(v) + CONTAINER_WEIGHT
            for item in v:
                if type(item) is dict or type(item) is list:
                    push(item)
        if count > MAX_VALUES:
            return (
                f"{where} holds over {MAX_VALUES:,} values (each list item, dict key and dict value "
                f"counts 1, each list or dict {CONTAINER_WEIGHT}), more than a server takes in one "
                "record: save it to a file and log it as media (a Table, say), or split it over calls"
            )
    return None


def row_problem(row: dict) -> str | None:
    """Why a history row (as replay makes it, with ``_step``) breaks the contract, or None."""
    for k, v in row.items():
        if type(k) is not str:
            return f"the key {_short(k)} ({type(k).__name__}) is not a string"
        problem = value_problem(v, repr(k), 0)
        if problem is not None:
            return problem
    return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
