"""localrun.sync: push runs to a remote, read runs on a remote, verify runs.

Installed as ``localrun.sync`` (from the top-level ``sync/`` folder). It imports ``localrun``;
``localrun`` never imports it. Reading run directories back and replaying them into history
rows is ``localrun``'s own (``localrun/reader.py``, ``localrun/replay.py``): the names are
re-exported here, where they have always been imported from.
"""

from typing import TYPE_CHECKING

from localrun.reader import STATES, RunView, find_runs, resolve_path
from localrun.replay import Replay

if TYPE_CHECKING:
    from .push import PushResult, push_run, push_runs
    from .remote import Remote

# The pushing side needs httpx, which takes a tenth of a second to import: reading runs
# (show, export, verify) does not pay for it.
_LAZY = {"PushResult": "push", "push_run": "push", "push_runs": "push", "Remote": "remote"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'localrun.sync' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "STATES",
    "PushResult",
    "Remote",
    "Replay",
    "RunView",
    "find_runs",
    "push_run",
    "push_runs",
    "resolve_path",
]
