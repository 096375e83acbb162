"""wandb's step/commit rules: one test per rule of the decision table, then property tests:
replay against a reference model, and the writer against replay (one rule, every path)."""

import contextlib
import io
import json
import os
import re
import signal
import sys
import traceback

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import localrun
from localrun.reader import RunView
from localrun.record.segment import SegmentReader
from localrun.replay import STAMPS, Replay
from localrun.steps import StepCounter

from .conftest import history


def rows_of(runs, calls, **init):
    run = localrun.init(dir=runs, **init)
    for data, kwargs in calls:
        run.log(data, **kwargs)
    run.finish()
    rows, view = history(run.dir)
    return rows, view


def test_no_step_default_commit_writes_a_row_per_call(runs):
    rows, _ = rows_of(runs, [({"a": 1}, {}), ({"a": 2}, {})])
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "a": 2}]


def test_commit_false_merges_into_the_next_row(runs):
    rows, _ = rows_of(runs, [({"a": 1}, {"commit": False}), ({"b": 2}, {})])
    assert rows == [{"_step": 0, "a": 1, "b": 2}]


def test_step_above_current_writes_pending_row_at_old_step_and_holds(runs):
    rows, _ = rows_of(
        runs, [({"a": 1}, {"commit": False}), ({"b": 2}, {"step": 5}), ({"c": 3}, {"step": 6})]
    )
    assert rows == [{"_step": 0, "a": 1}, {"_step": 5, "b": 2}, {"_step": 6, "c": 3}]


def test_explicit_step_with_commit_true_writes_now(runs):
    rows, _ = rows_of(runs, [({"a": 1}, {"step": 3, "commit": True}), ({"b": 2}, {})])
    assert rows == [{"_step": 3, "a": 1}, {"_step": 4, "b": 2}]


def test_step_equal_to_current_merges_and_last_write_wins(runs):
    rows, _ = rows_of(
        runs, [({"a": 1, "b": 1}, {"step": 2}), ({"a": 9}, {"step": 2}), ({"c": 0}, {"step": 3})]
    )
    assert rows == [{"_step": 2, "a": 9, "b": 1}, {"_step": 3, "c": 0}]


def test_step_below_current_is_dropped_and_reported(runs, capsys):
    rows, view = rows_of(
        runs, [({"a": 1}, {"step": 10}), ({"a": 2}, {"step": 4}), ({"a": 3}, {"step": 11})]
    )
    assert rows == [{"_step": 10, "a": 1}, {"_step": 11, "a": 3}]
    assert view.to_json()["dropped"] == [{"step": 4, "current_step": 10, "keys": ["a"]}]


def test_step_below_current_warns_at_log_time(runs, capsys, monkeypatch):
    monkeypatch.delenv("LOCALRUN_SILENT")
    run = localrun.init(dir=runs)
    run.log({"a": 1}, step=10)
    run.log({"a": 2}, step=4)
    run.finish()
    assert "Tried to log to step 4 that is less than the current step 10" in capsys.readouterr().err


def test_strict_steps_setting_raises_instead(runs):
    import pytest

    run = localrun.init(dir=runs, settings={"strict_steps": True})
    run.log({"a": 1}, step=10)
    with pytest.raises(localrun.Error) as err:
        run.log({"a": 2}, step=4)
    assert isinstance(err.value, ValueError)
    run.log({"a": 3}, step=11)
    run.finish()
    rows, view = history(run.dir)
    assert [r["_step"] for r in rows] == [10, 11]


def test_strict_steps_environment_variable(runs, monkeypatch):
    import pytest

    monkeypatch.setenv("LOCALRUN_STRICT_STEPS", "1")
    run = localrun.init(dir=runs)
    run.log({"a": 1}, step=3)
    with pytest.raises(localrun.Error):
        run.log({"a": 2}, step=1)


def test_no_step_joins_a_row_pending_from_an_explicit_step(runs):
    rows, _ = rows_of(runs, [({"a": 1}, {"step": 7}), ({"b": 2}, {}), ({"c": 3}, {})])
    assert rows == [{"_step": 7, "a": 1, "b": 2}, {"_step": 8, "c": 3}]


def test_empty_log_still_makes_a_row(runs):
    rows, _ = rows_of(runs, [({}, {}), ({"a": 1}, {})])
    assert rows == [{"_step": 0}, {"_step": 1, "a": 1}]


def test_pending_row_is_written_at_finish(runs):
    rows, _ = rows_of(runs, [({"a": 1}, {}), ({"b": 2}, {"commit": False})])
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "b": 2}]


def test_rows_carry_timestamp_and_runtime(runs):
    import time

    before = time.time()
    run = localrun.init(dir=runs)
    run.log({"a": 1})
    run.finish()
    from localrun.sync import RunView

    (row,) = list(RunView(run.dir).rows())
    assert before <= row["_timestamp"] <= time.time()
    assert isinstance(row["_timestamp"], float)
    assert 0 <= row["_runtime"] < 60


def test_keys_with_slashes_are_kept_as_given(runs):
    rows, _ = rows_of(runs, [({"train/loss": 1, "a/b/c": 2}, {})])
    assert rows == [{"_step": 0, "train/loss": 1, "a/b/c": 2}]


# --- property: any sequence of calls replays like a small reference model of the rules ---------


def reference(calls):
    """The rules, written out plainly and independently of localrun.steps."""
    step, pending, rows, dropped = 0, None, [], []
    for data, kw in calls:
        s, commit = kw.get("step"), kw.get("commit")
        if s is not None and s < step:
            dropped.append({"step": s, "current_step": step, "keys": list(data)})
            continue
        if s is not None and s > step:
            if pending is not None:
                rows.append({"_step": step, **pending})
            pending = None
            step = s
        pending = {**(pending or {}), **data}
        flush = commit if commit is not None else (s is None)
        if flush:
            rows.append({"_step": step, **pending})
            pending = None
            step += 1
    if pending is not None:
        rows.append({"_step": step, **pending})
    return rows, dropped


calls_strategy = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(["a", "b", "c", "x/y"]), st.integers(-5, 5), max_size=3),
        st.fixed_dictionaries(
            {},
            optional={"step": st.integers(0, 12), "commit": st.booleans()},
        ),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(calls=calls_strategy)
def test_replay_matches_reference_model(tmp_path_factory, calls):
    runs = str(tmp_path_factory.mktemp("runs"))
    rows, view = rows_of(runs, calls)
    want_rows, want_dropped = reference(calls)
    assert rows == want_rows
    assert view.to_json()["dropped"] == want_dropped


# --- property: the writer and replay run one rule, and every fast path gives the plain rows ------
#
# Random calls, in segments that end with finish() or with the writer killed (SIGKILL, in a
# forked child), each resumed by init(id, resume="allow"). Then: the backwards-step warnings
# every writer printed are exactly the calls replay drops; the writer's step after each call is
# StepCounter.advance()'s (log() takes StepCounter.next() for the common call); the rows, the
# summary and the document of every fast path (RunView.rows() with the reader's checked
# records, logged(), scan(), run.summary on a resumed run) equal feed()'s, record by record.

_keys = st.sampled_from(["a", "b", "c"])
# None (and an int commit) make a record the reader's decoder does not check: feed()'s path.
_values = st.one_of(st.integers(-5, 5), st.floats(-1, 1), st.none())
_log_ops = st.tuples(
    st.just("log"),
    st.dictionaries(_keys, _values, max_size=3),
    st.one_of(st.none(), st.integers(0, 12)),
    st.sampled_from([None, None, True, False, 0, 1]),
)
_other_ops = st.one_of(
    st.tuples(st.just("summary"), _keys, st.integers(0, 9)),
    st.tuples(
        st.just("metric"), _keys, st.sampled_from(["min", "max", "mean", "first,last", "none"])
    ),
)
# At most 20 calls a writer: log() prints its first 20 warnings only.
_segments = st.lists(
    st.tuples(
        st.lists(st.one_of(_log_ops, _log_ops, _log_ops, _other_ops), max_size=20),
        st.sampled_from(["finish", "finish", "kill"]),
    ),
    min_size=1,
    max_size=4,
)
_WARNING = re.compile(r"Tried to log to step (\d+) that is less than the current step (\d+)\.")


def _write(runs, ops):
    """One writer: resume run "p" and apply ``ops``; returns the run and, after each log(),
    its step and the step StepCounter.advance() gives for the same calls."""
    run = localrun.init(dir=runs, id="p", resume="allow", settings={"quiet": True})
    model = StepCounter(run.step)
    steps = []
    for op in ops:
        if op[0] == "log":
            _, data, step, commit = op
            run.log(data, step=step, commit=commit)
            model.advance(step, commit)
            steps.append([run.step, model.step])
        elif op[0] == "summary":
            run.summary[op[1]] = op[2]
        else:
            run.define_metric(op[1], summary=op[2])
    return run, steps


def _finished(runs, ops):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        run, steps = _write(runs, ops)
        run.finish()
    return err.getvalue(), steps


def _killed(runs, ops, work):
    """The writer in a forked child, killed with SIGKILL after its last call."""
    err_path, out_path = os.path.join(work, "stderr"), os.path.join(work, "steps.json")
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            sys.stderr = open(err_path, "w", buffering=1)
            _, steps = _write(runs, ops)
            with open(out_path, "w") as f:
                json.dump(steps, f)
        except BaseException:
            with open(out_path, "w") as f:
                json.dump({"error": traceback.format_exc()}, f)
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    with open(out_path) as f:
        steps = json.load(f)
    assert not isinstance(steps, dict), steps["error"]
    with open(err_path) as f:
        return f.read(), steps


def _plain(path):
    """feed() record by record (unchecked, as lists): the plain path."""
    replay, rows = Replay(), []
    for seg in sorted(os.listdir(os.path.join(path, "segments"))):
        records = [list(rec) for _, rec, _ in SegmentReader(os.path.join(path, "segments", seg))]
        replay.begin(records[0])
        for rec in records:
            rows += replay.feed(rec)
        rows += replay.end_segment()
    return rows, replay


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(segments=_segments)
def test_the_writer_warns_of_exactly_the_calls_replay_drops(tmp_path_factory, segments):
    work = str(tmp_path_factory.mktemp("one-rule"))
    runs = os.path.join(work, "runs")
    warned = []
    for ops, end in segments:
        err, steps = _finished(runs, ops) if end == "finish" else _killed(runs, ops, work)
        assert all(writer == rule for writer, rule in steps), steps
        warned += [(int(s), int(c)) for s, c in _WARNING.findall(err)]
    # A last resume: its run.summary is the live replay's, and it goes on where replay ends.
    run = localrun.init(dir=runs, id="p", resume="allow", settings={"quiet": True})
    live_summary, live_step = dict(run.summary.items()), run.step
    run.finish()

    plain_rows, plain = _plain(run.dir)
    view = RunView(run.dir)
    rows = list(view.rows())
    assert warned == [(d["step"], d["current_step"]) for d in view.replay.dropped]
    assert view.replay.dropped == plain.dropped
    assert repr(rows) == repr(plain_rows)
    logged = list(RunView(run.dir).logged())
    own = lambda r: [(k, v) for k, v in r.items() if k not in STAMPS]  # noqa: E731
    assert repr([own(r) for r in logged]) == repr([own(r) for r in plain_rows])
    assert repr(view.replay.summary) == repr(plain.summary)
    assert repr(RunView(run.dir).scan().to_json()) == repr(view.to_json())
    assert repr(live_summary) == repr({k: v for k, v in plain.summary.items() if k not in STAMPS})
    assert live_step == plain.counter.step


def test_next_is_advance_for_the_common_call():
    for step, pending in [(0, False), (7, True), (3, False)]:
        a, b = StepCounter(step, pending), StepCounter(step, pending)
        assert a.advance(None, None) == (None, b.next())
        assert (a.step, a.pending) == (b.step, b.pending)
