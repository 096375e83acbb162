"""define_metric as wandb's: the Metric it returns, the arguments it refuses, and what it does
to the summary and the rows (nested keys, escaped dots, step_sync), live and replayed alike
(issue 14, "Run" and "Summary during the run"). Cases follow wandb's own tests
(tests/unit_tests/test_wandb_define_metric.py, tests/system_tests/test_core/test_metric_full.py)."""

from __future__ import annotations

import math
import os

import pytest

import localrun
from localrun.sync import RunView

from .conftest import history


def test_define_metric_returns_a_metric_object(runs):
    run = localrun.init(dir=runs)
    step = run.define_metric("globalstep")
    m = run.define_metric("val", step_metric=step)  # a Metric names its step metric too
    assert (m.name, m.step_metric, m.step_sync, m.hidden, m.summary, m.goal, m.overwrite) == (
        "val",
        "globalstep",
        True,  # the default when a step metric is given
        None,
        None,
        None,
        None,
    )
    assert run.define_metric("v3", step_metric="s", step_sync=False).step_sync is False
    assert run.define_metric("h", hidden=True).hidden is True
    assert run.define_metric("s", summary="min,max").summary == ("min", "max")
    assert not run.define_metric("s2", summary="").summary
    assert run.define_metric("g", goal="maximize").goal == "maximize"
    assert run.define_metric("g2", goal="min").goal == "minimize"
    assert run.define_metric("o", summary="max", overwrite=True).overwrite is True
    assert isinstance(m, localrun.Metric)
    assert m["name"] == "val" and m["step_metric"] == "globalstep"  # as the dict it was
    run.finish()


@pytest.mark.parametrize(
    "name, kwargs, says",
    [
        ("", {}, "needs a metric name"),
        ("junk", {"step_metric": 1}, "step_metric=1"),
        ("*invalidprefix", {}, "'*' may only end a name"),
        ("a*b", {}, "'*' may only end a name"),
        ("metric", {"summary": "doesnotexist"}, "doesnotexist"),
        ("metric", {"goal": "nothing"}, "goal='nothing'"),
        ("metric", {"hidden": "yes"}, "hidden='yes'"),
        ("metric", {"step_sync": 1}, "step_sync=1"),
        ("metric", {"summary": ["min"]}, "summary=['min']"),
    ],
)
def test_define_metric_refuses_what_wandb_refuses_and_records_nothing(runs, name, kwargs, says):
    run = localrun.init(dir=runs)
    with pytest.raises(localrun.Error) as err:
        run.define_metric(name, **kwargs)
    assert says in str(err.value)
    run.finish()
    assert RunView(run.dir).to_json()["metrics"] == {}


@pytest.mark.parametrize(
    "summary, expected", [("min", 1), ("max", 8), ("last", 3), ("mean", 4), ("first", 1)]
)
def test_the_live_summary_is_the_aggregate(runs, summary, expected):
    run = localrun.init(dir=runs)
    run.define_metric("val", summary=summary)
    for v in (1, 8, 3):
        run.log({"val": v})
    assert run.summary["val"][summary] == expected  # while the run is live
    run.finish()
    assert RunView(run.dir).to_json()["summary"]["val"] == {summary: expected}


def test_aggregates_skip_strings_as_wandb_does(runs):
    run = localrun.init(dir=runs)
    run.define_metric("val", summary="min,max,mean")
    for v in (1, "oops a string", 3):
        run.log({"val": v})
    assert run.summary["val"] == {"min": 1, "max": 3, "mean": 2}
    run.finish()


def test_nested_metrics_aggregate_by_path(runs):
    run = localrun.init(dir=runs)
    run.define_metric("this.that", summary="min,max")
    for v in (3, 2, 4):
        run.log({"this": {"that": v, "other": v}})
    assert run.summary["this"] == {"that": {"min": 2, "max": 4}, "other": 4}
    run.finish()
    assert RunView(run.dir).to_json()["summary"]["this"] == {
        "that": {"min": 2, "max": 4},
        "other": 4,
    }


def test_escaped_dots_name_a_key_with_a_dot(runs):
    run = localrun.init(dir=runs)
    run.define_metric("test\\this\\.that", summary="min")
    run.define_metric("a\\.b", summary="max")
    run.define_metric("c.d", summary="max")  # nested c -> d: not the key "c.d"
    for v in (3, 2, 4):
        run.log({"test\\this.that": v, "a.b": v, "c.d": v})
    s = dict(run.summary)
    assert s["test\\this.that"] == {"min": 2} and s["a.b"] == {"max": 4} and s["c.d"] == 4
    run.finish()


def test_a_prefix_metric_aggregates_nested_values_and_not_underscore_keys(runs):
    run = localrun.init(dir=runs)
    run.define_metric("*", summary="min,max")
    for v in (3, 2, 4):
        run.log({"this": {"that": v}, "_hidden": v})
    assert run.summary["this"] == {"that": {"min": 2, "max": 4}}
    assert run.summary["_hidden"] == 4
    run.finish()


@pytest.mark.parametrize("name", ["m", "*"])
def test_overwrite_replaces_an_earlier_definition(runs, name):
    run = localrun.init(dir=runs)
    run.define_metric(name, summary="min")
    run.define_metric(name, summary="max", overwrite=False)
    run.log({"m": 1})
    assert run.summary["m"] == {"min": 1, "max": 1}
    run.define_metric(name, summary="max", overwrite=True)
    run.log({"m": 2})
    assert run.summary["m"] == {"max": 2}
    run.finish()


def _log_sync_step(run):
    # wandb's test_metric_sync_step, call for call
    run.log(dict(val=2, val2=5, mystep=1))
    run.log(dict(mystep=3))
    run.log(dict(val=8))
    run.log(dict(val2=8))
    run.log(dict(val=3, mystep=5))


def test_step_sync_fills_the_step_metric_into_rows_that_lack_it(runs):
    run = localrun.init(dir=runs)
    run.define_metric("val", summary="min", step_metric="mystep", step_sync=True)
    _log_sync_step(run)
    assert run.summary["val"] == {"min": 2} and run.summary["mystep"] == 5
    run.finish()
    rows, view = history(run.dir)
    assert rows[0]["val"] == 2 and rows[0]["mystep"] == 1
    assert rows[1]["mystep"] == 3
    assert rows[2]["val"] == 8 and rows[2]["mystep"] == 3  # filled in
    assert "mystep" not in rows[3]  # val2 has no step metric
    assert rows[4]["val"] == 3 and rows[4]["mystep"] == 5
    s = view.to_json()["summary"]
    assert (s["val"], s["val2"], s["mystep"]) == ({"min": 2}, 8, 5)


def test_no_step_sync_leaves_rows_as_logged(runs):
    run = localrun.init(dir=runs)
    run.define_metric("val", summary="min", step_metric="mystep", step_sync=False)
    _log_sync_step(run)
    run.finish()
    rows, _ = history(run.dir)
    assert rows[2]["val"] == 8 and "mystep" not in rows[2]


def test_step_sync_by_default_with_a_prefix_and_before_any_step_value(runs):
    run = localrun.init(dir=runs)
    run.define_metric("val/*", step_metric="epoch")
    run.log({"val/loss": 1.0})  # no epoch logged yet: 0, as wandb's
    run.log({"epoch": 2, "train": 1})
    run.log({"val/loss": 0.5}, commit=False)  # through the pending row, not the fast path
    run.log({"val/acc": 0.9})
    run.log({"val/loss": 0.4, "epoch": 7})
    run.finish()
    rows, _ = history(run.dir)
    assert [r.get("epoch") for r in rows] == [0, 2, 2, 7]


def test_step_sync_rows_are_the_same_read_back_after_a_resume(runs):
    run = localrun.init(dir=runs, id="r")
    run.define_metric("val", step_metric="epoch")
    run.log({"epoch": 1})
    run.finish()
    run = localrun.init(dir=runs, id="r", resume="allow")
    run.log({"val": 1.0})
    run.finish()
    rows, _ = history(run.dir)
    assert rows[-1] == {"_step": 1, "val": 1.0, "epoch": 1}


def test_nan_keeps_min_as_wandb_does(runs):
    run = localrun.init(dir=runs)
    run.define_metric("val", summary="min")
    run.log({"val": math.nan})
    run.log({"val": 4})
    assert math.isnan(run.summary["val"]["min"])
    run.finish()


def test_a_saved_replay_state_goes_on_with_nested_aggregates_and_step_sync(runs):
    # The viewer's index saves a replay's state as msgpack and goes on from it later
    # (viewer/resume.py): what define_metric derives must survive that, or be rebuilt.
    from localrun.record.segment import SegmentReader
    from localrun.sync import Replay
    from localrun.viewer.columns import pack, unpack
    from localrun.viewer.resume import replay_state, restore_replay

    run = localrun.init(dir=runs)
    run.define_metric("this.that", summary="min,max")
    run.define_metric("val", step_metric="epoch")
    run.define_metric("p/*", summary="mean")
    for i in range(10):
        run.log({"this": {"that": i % 4}, "val": i, "p/x": i, **({"epoch": i} if i % 3 else {})})
    run.finish()
    records = list(SegmentReader(os.path.join(run.dir, "segments", "000001.lrs")))

    def replayed(split):
        replay, rows = Replay(), []
        replay.begin(records[0][1])
        rows += replay.feed_all(records[:split])
        replay = restore_replay(unpack(pack(replay_state(replay))))
        rows += replay.feed_all(records[split:])
        return rows, replay.summary

    whole = replayed(0)
    for split in (3, 7, len(records) - 1):
        assert replayed(split) == whole
    assert whole[1]["this"] == {"that": {"min": 0, "max": 3}} and whole[1]["p/x"] == {"mean": 4.5}
    assert [r.get("epoch") for r in whole[0]] == [0, 1, 2, 2, 4, 5, 5, 7, 8, 8]
