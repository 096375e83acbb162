"""``wandb.sdk.lib.config_util``: ``ConfigError``, what changing a config value raises.

It is ``localrun.errors.ConfigError`` where localrun has that class (config.update of a changed
value without ``allow_val_change``), looked up when used; else a class nothing raises.
"""

from __future__ import annotations

from typing import Any

from localrun import Error, errors


class _NeverRaised(Error):
    """Stands for wandb's ConfigError in a localrun whose config raises none."""


def __getattr__(name: str) -> Any:
    if name == "ConfigError":
        return getattr(errors, "ConfigError", _NeverRaised)
    raise AttributeError(f"module 'wandb.sdk.lib.config_util' has no attribute {name!r}")
