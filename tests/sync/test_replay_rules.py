"""Replay against a small model of wandb's rules, on random call sequences (hypothesis).

Replay has a fast path for the common ``log(data)`` call; this checks that rows and summary
come out the same as the rules say, whichever path a call takes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localrun.record import kinds
from localrun.steps import StepCounter
from localrun.sync import Replay

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


# --- issue 10, rows 5 and 18: what replay stamps on a row wins over what old data holds ---------


def _old_run(tmp_path, records):
    """A run directory holding ``records`` (data, time offset) as an older localrun wrote them:
    log() refuses _step and _runtime now, and its times never go back."""
    import msgpack

    import localrun

    run = localrun.init(dir=str(tmp_path), id="old", settings={"quiet": True})
    start = run.start_time
    for data, dt in records:
        record = (kinds.LOG, next(run._encoder.seqs), start + dt, data, None, None, run.step)
        run._writer.append(msgpack.packb(record))
        run._steps.step += 1
    run.finish(quiet=True)
    return run.dir


def test_a_logged_step_never_overrides_the_rows_step(tmp_path):
    from localrun.sync import RunView

    path = _old_run(
        tmp_path,
        [({"x": 0}, 1.0), ({"_step": 5, "x": 1}, 2.0), ({"x": 2}, 3.0), ({"_step": 0}, 4.0)],
    )
    rows = list(RunView(path).rows())
    assert [r["_step"] for r in rows] == [0, 1, 2, 3]
    assert [list(r)[0] for r in rows] == ["_step"] * 4  # the step is still the first column
    assert RunView(path).to_json()["summary"]["_step"] == 3
    logged = list(RunView(path).logged())
    assert all("_step" not in r or r["_step"] == i for i, r in enumerate(logged))
    # feed() record by record (lists, not the reader's tuples) stamps the same
    r = Replay()
    r.start_segment({}, 100.0)
    out = r.feed([kinds.LOG, 1, 101.0, {"_step": 7, "a": 1}, None, None, 0])
    out += r.feed([kinds.LOG, 2, 102.0, {"_step": 9, "a": 2}, None, False, 1])
    out += r.feed([kinds.LOG, 3, 103.0, {"b": 2}, None, None, 1])
    assert [(row["_step"], row["a"]) for row in out] == [(0, 1), (1, 2)]


def test_runtime_is_never_negative_for_records_older_than_their_segment(tmp_path):
    from localrun.sync import RunView

    # A wall clock set back while an older localrun wrote: times before the segment's start.
    path = _old_run(tmp_path, [({"x": 0}, 1.0), ({"x": 1}, -3600.0), ({"x": 2}, 2.0)])
    for view_rows in (RunView(path).rows(), iter(fed_rows(path))):
        rows = list(view_rows)
        assert [r["x"] for r in rows] == [0, 1, 2]
        assert all(r["_runtime"] >= 0.0 for r in rows), rows
    r = Replay()
    r.start_segment({}, 100.0)
    (row,) = r.feed([kinds.LOG, 1, 40.0, {"a": 1}, 3, True, 0])  # the general path
    assert row["_runtime"] == 0.0 and row["_timestamp"] == 40.0


def fed_rows(path):
    """The rows feed() makes record by record (lists, so never the reader's fast path)."""
    import os

    from localrun.record.segment import SegmentReader

    r = Replay()
    for name in sorted(os.listdir(os.path.join(path, "segments"))):
        records = [list(rec) for _, rec, _ in SegmentReader(os.path.join(path, "segments", name))]
        r.start_segment(records[0][3], records[0][2])
        for rec in records:
            yield from r.feed(rec)
        yield from r.end_segment()


@pytest.mark.parametrize(
    "records",
    [
        [[3, 1, 1.0, {}, [[1]]]],  # a summary record deleting an unhashable key
        [[4, 1, 1.0, "a", {"summary": "min"}], [1, 2, 1.0, {"a": 1.0}, None, None, 0]],
        [[4, 1, 1.0, "a", {"summary": ["n"]}], [1, 2, 1.0, {"a": 1.0}, None, None, 0]],
        [[1, 1, "x", {"a": 1}, None, None, 0]],  # a time that is not a number
        [[1, 1, None, {"a": 1}, 3, True, 0]],
        [[4, 1, 1.0, "*", {"summary": ["min"]}], [1, 2, 1.0, {1: 1.0}, None, None, 0]],
    ],
)
def test_replay_applies_odd_records_without_raising(records):
    """Records no recorder writes, but a damaged or hand-made segment can hold: replay applies
    what it can and never raises, so no reader has to guard it."""
    replay = Replay()
    replay.start_segment({}, 1.0)
    rows = []
    for rec in records:
        rows += replay.feed(rec)
    rows += replay.end_segment()
    assert isinstance(replay.summary, dict)
    for row in rows:
        assert type(row["_step"]) is int and type(row["_timestamp"]) is float
