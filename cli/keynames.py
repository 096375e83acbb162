"""What ``--keys`` says when it names a key a run does not have: the names, and the close ones.

When no name matches, the command fails (exit 1) before printing anything; when some do, it
prints what they select and warns on stderr of the others.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import click

from localrun.errors import RunDirError

from .render import fmt_key

#: Keys listed when no key of the run is close to a missing one.
LISTED = 10


def missing_keys(
    names: list[str], missing: list[str], keys: Iterable[Any], how: str
) -> RunDirError | None:
    """What to say of ``--keys`` names (``names``, of which ``missing`` match none of
    ``keys``, the run's): None when all match; when none does, the error to raise (nothing
    would be shown); when some do, a warning is printed on stderr and None returned."""
    if not missing:
        return None
    error = missing_keys_error(missing, keys, how)
    if len(missing) < len(set(names)):
        click.echo(f"localrun: warning: {error}", err=True)
        return None
    return error


def missing_keys_error(missing: list[str], keys: Iterable[Any], how: str) -> RunDirError:
    """The error for ``--keys`` names (``missing``) that match none of ``keys`` (the run's);
    ``how`` says how --keys reads its names."""
    what = ", ".join(repr(k) for k in missing)
    key = "key" if len(missing) == 1 else "keys"
    return RunDirError(f"this run has no {key} {what} ({how}). {close_keys(missing, keys)}")


def close_keys(missing: list[str], keys: Iterable[Any], listed: int = LISTED) -> str:
    """``Close: ...``, the keys of ``keys`` nearest to the names ``missing`` (a key under a
    prefix first: ``train/acc`` for ``acc``, then those spelled alike); else the first
    ``listed`` of them ("" for 0)."""
    names = sorted({k if type(k) is str else fmt_key(k) for k in keys})
    names = [k for k in names if not k.startswith("_")]
    close: list[str] = []
    for k in missing:
        under = [n for n in names if n.rsplit("/", 1)[-1] == k.rsplit("/", 1)[-1]][:3]
        for c in under + difflib.get_close_matches(k, names, n=3, cutoff=0.6):
            if c not in close:
                close.append(c)
    if close:
        return f"Close: {', '.join(close)}"
    if not listed:
        return ""
    more = f" and {len(names) - listed:,} more" if len(names) > listed else ""
    return f"Its keys: {', '.join(names[:listed]) or 'none'}{more}"
