"""``wandb.sdk.wandb_run``: ``Run`` is ``localrun.Run``, so ``isinstance(run, Run)`` holds."""

from __future__ import annotations

from localrun.run import Run

__all__ = ["Run"]
