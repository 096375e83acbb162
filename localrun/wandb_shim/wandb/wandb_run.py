"""``wandb.wandb_run``, the old home of ``Run`` that Lightning imports: ``localrun.Run``."""

from __future__ import annotations

from localrun.run import Run

__all__ = ["Run"]
