"""localrun.sync: read run directories back, replay them into history rows, push them to a remote.

Installed as ``localrun.sync`` (from the top-level ``sync/`` folder). It imports ``localrun``;
``localrun`` never imports it.
"""

from .push import PushResult, push_run, push_runs
from .reader import STATES, RunView, find_runs
from .remote import Remote
from .replay import Replay

__all__ = ["STATES", "PushResult", "Remote", "Replay", "RunView", "find_runs", "push_run", "push_runs"]
