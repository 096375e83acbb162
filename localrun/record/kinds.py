"""The record kinds, and the position of each field in a record.

A record is a msgpack array whose first three elements are always ``kind``, ``seq`` (its
number within the segment, from 0) and ``time`` (seconds since the epoch, float). The rest
depends on the kind; see docs/format.md. Readers ignore elements past the ones they know, so
a later format can append fields without breaking older readers.
"""

from __future__ import annotations

START = 0  # [0, seq, time, header: dict]                   first record of every segment
LOG = 1  # [1, seq, time, data: dict, step, commit, writer_step]
CONFIG = 2  # [2, seq, time, changes: dict]
SUMMARY = 3  # [3, seq, time, changes: dict, deleted: list[str]]
METRIC = 4  # [4, seq, time, name: str, spec: dict]            define_metric
META = 5  # [5, seq, time, changes: dict]                    name, tags, notes... set after init
SIGNAL = (
    6  # [6, seq, time, signum: int]                       SIGTERM seen: the job is being preempted
)
FINISH = 7  # [7, seq, time, exit_code: int, state: str, next_step: int]
CHART = 8  # [8, seq, time, key: str, spec: dict]              a chart preset logged under key
ARTIFACT = (
    9  # [9, seq, time, action: str, info: dict]       log_artifact ("log"), use_artifact ("use")
)
ALERT = (
    10  # [10, seq, time, title: str, text: str, level: str, wait_duration_s: float]  run.alert()
)

NAMES = {
    START: "start",
    LOG: "log",
    CONFIG: "config",
    SUMMARY: "summary",
    METRIC: "metric",
    META: "meta",
    SIGNAL: "signal",
    FINISH: "finish",
    CHART: "chart",
    ARTIFACT: "artifact",
    ALERT: "alert",
}

# How many elements each kind has at least; a shorter record is treated as damaged.
MIN_LENGTH = {
    START: 4,
    LOG: 7,
    CONFIG: 4,
    SUMMARY: 5,
    METRIC: 5,
    META: 4,
    SIGNAL: 4,
    FINISH: 6,
    CHART: 5,
    ARTIFACT: 5,
    ALERT: 7,
}

#: What a METRIC record's ``spec["summary"]`` may list (define_metric's ``summary=``).
METRIC_SUMMARIES = frozenset(("min", "max", "mean", "first", "last", "best", "none", "copy"))

FORMAT_VERSION = 1
