"""wandb's step/commit rules: one test per rule of the decision table, then a property test."""

from hypothesis import given, settings
from hypothesis import strategies as st

import localrun

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
