"""``run.alert()``: alerts are recorded in the run (an ``alert`` record, docs/format.md).

wandb sends an alert to Slack or e-mail; offline, localrun records it, prints it on stderr
(unless the run is quiet), and readers list it: ``localrun show RUN --json`` has ``alerts``,
and a synced run's document carries them to the server.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

from .errors import UsageError, ValueTypeError


class AlertLevel(str, enum.Enum):
    """The level of an alert, as ``wandb.AlertLevel``."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def check_alert(
    title: Any, text: Any, level: Any, wait_duration: Any
) -> tuple[str, str, str, float]:
    """``(title, text, level, wait_duration_s)`` of an ``alert()`` call, checked as wandb does."""
    level = level or AlertLevel.INFO
    level_text = level.value if isinstance(level, AlertLevel) else level
    if level_text not in AlertLevel._value2member_map_:
        raise UsageError(
            f"alert(level={level!r}): level must be one of 'INFO', 'WARN', 'ERROR' "
            "(or localrun.AlertLevel.INFO...)"
        )
    wait: Any = wait_duration or datetime.timedelta(minutes=1)  # duck-typed below
    if isinstance(wait, (int, float)) and not isinstance(wait, bool):
        seconds = float(wait)
    elif callable(getattr(wait, "total_seconds", None)):
        seconds = float(wait.total_seconds())
    else:
        raise ValueTypeError(
            f"alert(wait_duration={wait_duration!r}): pass seconds (int or float) or a "
            "datetime.timedelta"
        )
    for what, value in (("title", title), ("text", text)):
        if not isinstance(value, str):
            raise ValueTypeError(
                f"alert(): {what} must be a str, not {type(value).__name__}: {value!r:.80}"
            )
    return str.__str__(title), str.__str__(text), level_text, seconds
