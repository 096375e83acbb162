"""The writer's clock: the time every record carries.

A record's ``time`` is the wall clock read once, at ``init()``, plus the time elapsed since on
a monotonic clock that keeps counting while the machine is suspended (``CLOCK_BOOTTIME`` on
Linux; ``CLOCK_MONOTONIC`` elsewhere). A wall clock stepped back (or forward) while a run is
being written then moves none of its records: ``_runtime`` never goes backwards or below zero,
and ``_timestamp`` stays the start time plus the time elapsed. See docs/format.md, "Time".
"""

from __future__ import annotations

import time

#: The clock elapsed time is read from (an id for ``time.clock_gettime``).
ELAPSED_CLOCK: int = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)
try:
    time.clock_gettime(ELAPSED_CLOCK)
except OSError:  # a kernel without CLOCK_BOOTTIME
    ELAPSED_CLOCK = time.CLOCK_MONOTONIC

read = time.clock_gettime


class Clock:
    """One writer's clock, started at construction. ``now()`` is seconds since the epoch."""

    __slots__ = ("start_s", "offset_s")

    def __init__(self) -> None:
        #: The wall clock when the clock started.
        self.start_s = time.time()
        #: Added to the elapsed clock's reading to give the record time. ``Encoder.log`` reads it
        #: inline (``offset_s + read(ELAPSED_CLOCK)``), saving a call on the hot path.
        self.offset_s = self.start_s - read(ELAPSED_CLOCK)

    def now(self) -> float:
        return self.offset_s + read(ELAPSED_CLOCK)
