"""``wandb.util``: the helper scripts call themselves, ``generate_id`` (a new run id)."""

from __future__ import annotations

from localrun.rundir import new_run_id


def generate_id(length: int = 8) -> str:
    """A new random run id of ``length`` lowercase letters and digits, as
    ``wandb.util.generate_id``: made of localrun's own run ids."""
    return "".join(new_run_id() for _ in range(-(-length // 8)))[:length]


__all__ = ["generate_id"]
