"""``wandb.sdk.lib``: ``RunDisabled``, the type of wandb's run in ``mode="disabled"``.

Lightning checks ``isinstance(run, (Run, RunDisabled))``. It is localrun's disabled run where
localrun's: ``localrun.disabled.DisabledRun``, the run ``init(mode="disabled")`` returns.
"""

from __future__ import annotations

from typing import Any

from . import config_util as config_util


def __getattr__(name: str) -> Any:
    if name == "RunDisabled":
        from localrun.disabled import DisabledRun

        return DisabledRun
    raise AttributeError(f"module 'wandb.sdk.lib' has no attribute {name!r}")
