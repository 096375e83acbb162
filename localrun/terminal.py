"""The few lines the recorder prints, all on stderr, all prefixed ``localrun:``."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    _write(f"localrun: {message}\n")


def warn(message: str) -> None:
    _write(f"localrun: WARNING {message}\n")


def _write(text: str) -> None:
    stream = sys.stderr
    if stream is None:  # pythonw, daemons
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass  # a closed stderr must never break training
