"""localrun.sync: read run directories back, replay them into history rows, push them to a remote.

Installed as ``localrun.sync`` (from the top-level ``sync/`` folder). It imports ``localrun``;
``localrun`` never imports it.
"""

from .reader import STATES, RunView, find_runs
from .replay import Replay

__all__ = ["STATES", "Replay", "RunView", "find_runs"]
