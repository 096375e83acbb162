"""Replay against a small model of wandb's rules, on random call sequences (hypothesis).

Replay has a fast path for the common ``log(data)`` call; this checks that rows and summary
come out the same as the rules say, whichever path a call takes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from localrun.sync import Replay

from localrun.record import kinds
from localrun.steps import StepCounter

calls = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(-5, 5), max_size=3),
        st.one_of(st.none(), st.integers(0, 12)),
        st.sampled_from([None, True, False]),
    ),
    max_size=40,
)


def model(segments):
    """Rows (without _runtime/_timestamp) and the last value of each key, by the rules alone."""
    counter = StepCounter()
    rows, latest = [], {}
    for seg in segments:
        pending = None
        for data, step, commit in seg:
            result = counter.advance(step, commit)
            if result is None:
                continue
            flush_at, write_at = result
            if flush_at is not None and pending is not None:
                rows.append({"_step": flush_at, **pending})
                pending = None
            pending = {**(pending or {}), **data}
            latest.update(data)
            if write_at is not None:
                rows.append({"_step": write_at, **pending})
                pending = None
        at = counter.close()
        if at is not None and pending is not None:
            rows.append({"_step": at, **pending})
    return rows, latest


def replay(segments):
    r = Replay()
    rows = []
    t = 1000.0
    for seg in segments:
        r.start_segment({"start_step": r.counter.step}, t)
        writer = StepCounter(r.counter.step)
        for seq, (data, step, commit) in enumerate(seg, start=1):
            t += 1.0
            rows += r.feed([kinds.LOG, seq, t, data, step, commit, writer.step])
            writer.advance(step, commit)
        rows += r.end_segment()
    strip = [{k: v for k, v in row.items() if k not in ("_runtime", "_timestamp")} for row in rows]
    return strip, {k: v for k, v in r.summary.items() if not k.startswith("_")}


@settings(max_examples=300, deadline=None)
@given(st.lists(calls, min_size=1, max_size=3))
def test_replay_follows_the_rules_on_every_path(segments):
    assert replay(segments) == model(segments)


def test_rows_carry_runtime_and_timestamp_after_the_data():
    r = Replay()
    r.start_segment({}, 100.0)
    (row,) = r.feed([kinds.LOG, 1, 102.5, {"x": 1}, None, None, 0])
    assert list(row) == ["_step", "x", "_runtime", "_timestamp"]
    assert row == {"_step": 0, "x": 1, "_runtime": 2.5, "_timestamp": 102.5}
