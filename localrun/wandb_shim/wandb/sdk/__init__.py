"""``wandb.sdk``: the inner modules integrations import names from.

``wandb.sdk.init``, ``.login``, ``.setup``... are the top-level ``wandb`` names, looked up when
used; ``wandb.sdk.lib`` and ``wandb.sdk.wandb_run`` are modules here.
"""

from __future__ import annotations

import sys
from typing import Any

from . import lib, wandb_run


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    return getattr(sys.modules[__name__.rpartition(".")[0]], name)


__all__ = ["lib", "wandb_run"]
