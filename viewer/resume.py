"""Going on with a replay later: its state as plain data.

An index (``runindex.py``) keeps, beside the rows it has, where reading stopped in the last
segment and the replay's state at that point; when the segment grows it reads only the new
bytes (``SegmentReader(path, start=...)``) and feeds them to the replay restored from that
state, so the rows that come out are those a replay of the whole run would give.

- ``replay_state(replay)`` / ``restore_replay(state)``: every attribute of a ``Replay`` as
  plain data (its step counter as ``[step, pending]``, its define_metric caches left out), and
  back. A state saved by another version of ``Replay`` (other attributes) is refused, so the
  index is rebuilt instead.
"""

from __future__ import annotations

import zlib
from typing import Any

from localrun.steps import StepCounter
from localrun.sync import Replay

_SKIP = Replay.CACHES  # caches, rebuilt on demand


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
