"""``wandb.util``: the helper scripts call themselves, ``generate_id`` (a new run id)."""

from __future__ import annotations

import random
import string

_ALPHABET = string.ascii_lowercase + string.digits


def generate_id(length: int = 8) -> str:
    """A new random run id (lowercase letters and digits), as ``wandb.util.generate_id``."""
    return "".join(random.SystemRandom().choice(_ALPHABET) for _ in range(length))


__all__ = ["generate_id"]
