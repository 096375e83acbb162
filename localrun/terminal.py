"""The few lines the recorder prints, all on stderr, all prefixed ``localrun:``."""

from __future__ import annotations

import os
import sys


def say(message: str) -> None:
    _write(f"localrun: {message}\n")


def warn(message: str) -> None:
    _write(f"localrun: WARNING {message}\n")


#: What silences localrun's lines (and ``init()``'s), the first one set deciding.
SILENT_VARIABLES = ("LOCALRUN_SILENT", "WANDB_SILENT")


def _silent() -> bool:
    for var in SILENT_VARIABLES:
        text = os.environ.get(var)
        if text:
            return text.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return False


def termlog(
    string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True
) -> None:
    """Print a line as localrun's own (``wandb.termlog``), unless $LOCALRUN_SILENT or
    $WANDB_SILENT is set."""
    if _silent():
        return
    text = f"localrun: {string}" if prefix else str(string)
    _write(text + ("\n" if newline else ""))


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``termlog()`` of a warning (``wandb.termwarn``)."""
    termlog(f"WARNING {string}" if prefix else string, newline, repeat, prefix)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``termlog()`` of an error (``wandb.termerror``)."""
    termlog(f"ERROR {string}" if prefix else string, newline, repeat, prefix)


def _write(text: str) -> None:
    stream = sys.stderr
    if stream is None:  # pythonw, daemons
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass  # a closed stderr must never break training
