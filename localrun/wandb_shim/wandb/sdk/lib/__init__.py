"""``wandb.sdk.lib``: ``RunDisabled``, the type of wandb's run in ``mode="disabled"``.

Lightning checks ``isinstance(run, (Run, RunDisabled))``. It is localrun's disabled run where
localrun has one (``localrun.RunDisabled``), looked up when used; else a class no run is.
"""

from __future__ import annotations

from typing import Any

import localrun

from . import config_util as config_util


class _NoDisabledRun:
    """Stands for wandb's RunDisabled in a localrun without a disabled mode."""


def __getattr__(name: str) -> Any:
    if name == "RunDisabled":
        return getattr(localrun, "RunDisabled", _NoDisabledRun)
    raise AttributeError(f"module 'wandb.sdk.lib' has no attribute {name!r}")
