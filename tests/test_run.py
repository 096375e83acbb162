"""The wandb-shaped Python API: init, log, config, summary, define_metric, finish, resume."""

import math
import os

import numpy as np
import pytest

import localrun
from localrun.sync import RunView

from .conftest import history


def test_runs_go_to_dir_then_env_then_dot_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = localrun.init(dir=str(tmp_path / "given"))
    assert os.path.dirname(run.dir) == str(tmp_path / "given")
    run.finish()
    monkeypatch.setenv("LOCALRUN_DIR", str(tmp_path / "fromenv"))
    run = localrun.init()
    assert os.path.dirname(run.dir) == str(tmp_path / "fromenv")
    run.finish()
    monkeypatch.delenv("LOCALRUN_DIR")
    run = localrun.init()
    assert os.path.dirname(run.dir) == "runs"
    assert os.path.isdir(tmp_path / "runs" / run.id)
    run.finish()


def test_init_sets_module_level_run_config_summary(runs):
    run = localrun.init(dir=runs, project="p", name="n", config={"lr": 0.1})
    assert localrun.run is run
    assert localrun.config.lr == 0.1 and localrun.config["lr"] == 0.1
    localrun.log({"loss": 1.0})
    localrun.summary["best"] = 3
    localrun.finish()
    assert localrun.run is None
    d = RunView(run.dir).to_json()
    assert (d["project"], d["name"], d["config"]) == ("p", "n", {"lr": 0.1})
    assert d["summary"]["best"] == 3 and d["summary"]["loss"] == 1.0


def test_run_attributes(runs):
    run = localrun.init(
        dir=runs,
        project="proj",
        name="nice",
        id="abc123",
        tags=["x"],
        group="g",
        job_type="train",
        notes="hi",
    )
    assert (run.id, run.name, run.project, run.dir) == (
        "abc123",
        "nice",
        "proj",
        os.path.join(runs, "abc123"),
    )
    run.finish()
    d = RunView(run.dir).to_json()
    assert (
        d["tags"] == ["x"] and d["group"] == "g" and d["job_type"] == "train" and d["notes"] == "hi"
    )


def test_log_before_init_raises_localrun_error():
    with pytest.raises(localrun.Error, match="before localrun.init"):
        localrun.log({"a": 1})


def test_config_before_init_raises_localrun_error():
    with pytest.raises(localrun.Error):
        localrun.config["lr"] = 1


def test_non_string_key_is_both_localrun_error_and_type_error(runs):
    run = localrun.init(dir=runs)
    with pytest.raises(localrun.Error) as err:
        run.log({1: 2.0})
    assert isinstance(err.value, TypeError) and isinstance(err.value, ValueError)
    assert "1" in str(err.value)
    run.log({"ok": 1})  # the run goes on
    run.finish()
    rows, _ = history(run.dir)
    assert rows == [{"_step": 0, "ok": 1}]


def test_log_of_non_dict_is_a_clear_error(runs):
    run = localrun.init(dir=runs)
    with pytest.raises(localrun.Error, match="dict"):
        run.log([1, 2])


def test_unstorable_value_names_its_key_and_writes_nothing(runs):
    run = localrun.init(dir=runs)
    with pytest.raises(localrun.Error, match="'bad'"):
        run.log({"good": 1, "bad": object()})
    run.log({"x": 1})
    run.finish()
    rows, _ = history(run.dir)
    assert rows == [{"_step": 0, "x": 1}]


def test_log_after_finish_raises(runs):
    run = localrun.init(dir=runs)
    run.finish()
    run.finish()  # twice is fine
    with pytest.raises(localrun.Error, match="finished"):
        run.log({"a": 1})


def test_values_numbers_nan_inf_numpy_and_big_ints(runs):
    run = localrun.init(dir=runs)
    run.log(
        {
            "i64": 2**63 - 1,
            "u64": 2**64 - 1,
            "neg": -(2**63),
            "huge": 2**70,
            "nan": float("nan"),
            "inf": float("inf"),
            "ninf": -math.inf,
            "f32": np.float32(0.5),
            "i8": np.int8(-3),
            "u64np": np.uint64(2**64 - 1),
            "b": np.bool_(True),
            "small": np.arange(32),
            "text": "hé",
            "nested": {"a": [1, 2, {"b": None}]},
            "tuple": (1, 2),
        }
    )
    run.finish()
    (row,), _ = history(run.dir)
    assert row["i64"] == 2**63 - 1 and row["u64"] == 2**64 - 1 and row["neg"] == -(2**63)
    assert row["huge"] == float(2**70)
    assert math.isnan(row["nan"]) and row["inf"] == math.inf and row["ninf"] == -math.inf
    assert row["f32"] == 0.5 and type(row["f32"]) is float
    assert row["i8"] == -3 and type(row["i8"]) is int
    assert row["u64np"] == 2**64 - 1 and row["b"] is True
    assert row["small"] == list(range(32))
    assert (
        row["text"] == "hé"
        and row["nested"] == {"a": [1, 2, {"b": None}]}
        and row["tuple"] == [1, 2]
    )


def test_array_over_32_elements_becomes_a_64_bin_histogram(runs):
    run = localrun.init(dir=runs)
    data = np.random.default_rng(0).normal(size=1000)
    run.log({"w": data})
    run.finish()
    (row,), _ = history(run.dir)
    h = row["w"]
    assert h["_type"] == "histogram" and len(h["bins"]) == 65 and len(h["values"]) == 64
    assert sum(h["values"]) == 1000
    counts, edges = np.histogram(data, bins=64)
    assert h["values"] == counts.tolist() and np.allclose(h["bins"], edges)


def test_config_item_attribute_update_and_namespace(runs):
    import argparse

    run = localrun.init(dir=runs, config=argparse.Namespace(lr=0.1, layers=3))
    run.config.update({"batch": 32})
    run.config["opt"] = "adam"
    run.config.dropout = 0.5
    assert run.config.lr == 0.1 and run.config["batch"] == 32 and "opt" in run.config
    assert dict(run.config.items()) == {
        "lr": 0.1,
        "layers": 3,
        "batch": 32,
        "opt": "adam",
        "dropout": 0.5,
    }
    run.finish()
    assert RunView(run.dir).to_json()["config"] == {
        "lr": 0.1,
        "layers": 3,
        "batch": 32,
        "opt": "adam",
        "dropout": 0.5,
    }


def test_summary_is_last_logged_value_and_none_never_updates(runs):
    run = localrun.init(dir=runs)
    run.log({"loss": 3.0})
    run.log({"loss": 1.0})
    run.log({"loss": None})
    run.finish()
    s = RunView(run.dir).to_json()["summary"]
    assert s["loss"] == 1.0
    assert s["_step"] == 2


def test_explicit_summary_wins_until_logged_again(runs):
    run = localrun.init(dir=runs)
    run.log({"acc": 0.5, "loss": 2.0})
    run.summary["acc"] = 0.99
    run.summary.update({"loss": 0.1})
    run.log({"loss": 1.5})
    run.finish()
    s = RunView(run.dir).to_json()["summary"]
    assert s["acc"] == 0.99 and s["loss"] == 1.5
    assert run.summary["acc"] == 0.99


def test_define_metric_summaries(runs):
    run = localrun.init(dir=runs)
    run.define_metric("loss", summary="min")
    run.define_metric("acc", summary="max")
    run.define_metric("lr", summary="mean")
    run.define_metric("first_*", summary="first")
    run.define_metric("hidden_metric", summary="none")
    run.define_metric("both", summary="min,last")
    for loss, acc, lr in [(3.0, 0.1, 1.0), (1.0, 0.9, 2.0), (2.0, 0.5, 3.0)]:
        run.log(
            {"loss": loss, "acc": acc, "lr": lr, "first_x": loss, "hidden_metric": 1, "both": loss}
        )
    run.finish()
    s = RunView(run.dir).to_json()["summary"]
    assert s["loss"] == {"min": 1.0}
    assert s["acc"] == {"max": 0.9}
    assert s["lr"] == {"mean": 2.0}
    assert s["first_x"] == {"first": 3.0}
    assert "hidden_metric" not in s
    assert s["both"] == {"min": 1.0, "last": 2.0}


def test_define_metric_rejects_unknown_summary(runs):
    run = localrun.init(dir=runs)
    with pytest.raises(localrun.Error, match="median"):
        run.define_metric("loss", summary="median")


def test_module_level_define_metric(runs):
    localrun.init(dir=runs)
    localrun.define_metric("loss", summary="max")
    localrun.log({"loss": 1})
    localrun.log({"loss": 5})
    path = localrun.run.dir
    localrun.finish()
    assert RunView(path).to_json()["summary"]["loss"] == {"max": 5}


def test_context_manager_finishes_and_marks_exception_as_failed(runs):
    with localrun.init(dir=runs) as run:
        run.log({"a": 1})
    assert RunView(run.dir).to_json()["state"] == "finished"
    with pytest.raises(RuntimeError):
        with localrun.init(dir=runs) as run2:
            run2.log({"a": 1})
            raise RuntimeError("boom")
    assert RunView(run2.dir).to_json()["state"] == "failed"


def test_finish_with_exit_code_marks_failed(runs):
    run = localrun.init(dir=runs)
    run.finish(exit_code=3)
    d = RunView(run.dir).to_json()
    assert d["state"] == "failed" and d["exit_code"] == 3


def test_live_run_reads_as_running(runs):
    run = localrun.init(dir=runs)
    run.log({"a": 1})
    assert RunView(run.dir).to_json()["state"] == "running"
    run.finish()


def test_reusing_an_id_without_resume_is_refused(runs):
    localrun.init(dir=runs, id="same").finish()
    with pytest.raises(localrun.Error, match="resume='allow'"):
        localrun.init(dir=runs, id="same")


def test_resume_must_fails_for_a_missing_run(runs):
    with pytest.raises(localrun.Error, match="no run 'ghost'"):
        localrun.init(dir=runs, id="ghost", resume="must")


def test_resume_allow_continues_steps_config_and_summary(runs):
    run = localrun.init(dir=runs, id="r1", project="p", config={"lr": 1})
    run.log({"a": 1})
    run.log({"a": 2})
    run.log({"b": 3}, commit=False)
    run.finish()
    run = localrun.init(dir=runs, id="r1", resume="allow")
    assert run.resumed and run.project == "p" and run.config.lr == 1
    assert run.step == 3
    run.log({"a": 4})
    run.finish()
    rows, view = history(run.dir)
    assert [r["_step"] for r in rows] == [0, 1, 2, 3]
    assert rows[2] == {"_step": 2, "b": 3} and rows[3] == {"_step": 3, "a": 4}
    d = view.to_json()
    assert d["segments"] == 2 and d["state"] == "finished" and d["config"] == {"lr": 1}
    assert d["runtime"] >= 0 and rows  # runtime spans both segments


def test_resume_allow_creates_a_run_that_does_not_exist(runs):
    run = localrun.init(dir=runs, id="fresh", resume="allow")
    assert not run.resumed
    run.finish()


def test_resume_of_a_live_run_is_refused(runs):
    run = localrun.init(dir=runs, id="busy")
    from localrun.errors import RunLockedError
    from localrun.rundir import Lock

    with pytest.raises(RunLockedError, match="another live process"):
        Lock(run.dir)
    run.finish()


def test_bad_run_id_is_refused(runs):
    with pytest.raises(localrun.Error, match="not usable"):
        localrun.init(dir=runs, id="../escape")


def test_second_init_finishes_the_first_run(runs):
    first = localrun.init(dir=runs)
    second = localrun.init(dir=runs)
    assert first.finished and localrun.run is second
    second.finish()


def test_init_prints_where_the_run_is_and_how_to_sync(runs, capsys, monkeypatch):
    monkeypatch.delenv("LOCALRUN_SILENT")
    run = localrun.init(dir=runs)
    err = capsys.readouterr().err
    assert run.dir in err and f"localrun sync {runs}" in err
    run.finish(quiet=True)


def test_wandb_only_init_arguments_are_accepted(runs):
    run = localrun.init(
        dir=runs,
        entity="me",
        reinit=True,
        mode="offline",
        save_code=False,
        settings=localrun.Settings(x=1),
    )
    assert run.entity == "me"
    run.finish()
    with pytest.raises(TypeError, match="nonsense"):
        localrun.init(dir=runs, nonsense=1)


def test_log_accepts_deprecated_sync_argument(runs):
    run = localrun.init(dir=runs)
    run.log({"a": 1}, sync=False)
    localrun.log({"a": 2}, sync=True)
    run.finish()
    rows, _ = history(run.dir)
    assert len(rows) == 2


def test_bad_config_at_init_is_refused_before_anything_is_written(runs):
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(localrun.Error, match="nested deeper than 64"):
        localrun.init(dir=runs, id="badcfg", config={"layers": deep})
    assert localrun.run is None
    assert not os.path.exists(os.path.join(runs, "badcfg"))


def test_a_signal_handler_may_log_while_log_is_running(runs):
    import signal

    run = localrun.init(dir=runs)
    previous = signal.signal(signal.SIGUSR1, lambda s, f: run.log({"from_handler": 1}))
    try:
        for i in range(2000):
            run.log({"i": i})
            if i == 1000:
                signal.raise_signal(signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    run.finish()
    rows, _ = history(run.dir)
    assert sum(1 for r in rows if "from_handler" in r) == 1 and len(rows) == 2001


def test_define_metric_twice_adds_summaries_as_wandb_does(runs):
    run = localrun.init(dir=runs)
    run.define_metric("loss", summary="min")
    run.define_metric("loss", summary="max")
    run.define_metric("acc", summary="best", goal="maximize")
    for loss in (3.0, 1.0, 2.0):
        run.log({"loss": loss, "acc": -loss})
    run.finish()
    s = RunView(run.dir).to_json()["summary"]
    assert s["loss"] == {"min": 1.0, "max": 3.0}
    assert s["acc"] == {"best": -1.0}


def test_login_is_accepted_offline_and_touches_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert localrun.login() is True and localrun.login(key="x" * 40, relogin=True) is True
    assert list(tmp_path.iterdir()) == []


def test_run_summary_reads_back_with_replays_rules(runs):
    run = localrun.init(dir=runs)
    run.log({"loss": 2.0, "acc": 0.1})
    run.log({"loss": None})
    assert run.summary["loss"] == 2.0  # None never replaces a value
    run.log({"loss": 1.0}, step=5)
    run.log({"loss": 9.0}, step=1)  # dropped: its step went backwards
    assert run.summary["loss"] == 1.0
    run.summary["acc"] = 0.99
    assert run.summary.acc == 0.99 and "acc" in run.summary
    run.log({"acc": 0.5})
    assert run.summary["acc"] == 0.5  # logged again: the logged value wins
    del run.summary["acc"]
    assert "acc" not in run.summary
    run.finish()
    assert run.summary["loss"] == 1.0 and dict(run.summary.items()) == {"loss": 1.0}
    assert RunView(run.dir).to_json()["summary"]["loss"] == 1.0


# --- issue 11: run.summary, a resumed run and the step are replay's --------------------------


def test_run_summary_applies_define_metric_during_the_run(runs):
    run = localrun.init(dir=runs)
    run.define_metric("loss", summary="min")
    run.define_metric("acc", summary="max,last")
    for loss, acc in [(3.0, 0.1), (1.0, 0.9), (2.0, 0.5)]:
        run.log({"loss": loss, "acc": acc})
    assert run.summary["loss"] == {"min": 1.0}
    assert run.summary["acc"] == {"max": 0.9, "last": 0.5}
    run.finish()
    stored = RunView(run.dir).to_json()["summary"]
    stamps = ("_step", "_runtime", "_timestamp")
    assert dict(run.summary.items()) == {k: v for k, v in stored.items() if k not in stamps}


def test_a_resumed_runs_summary_and_step_are_replays(runs):
    run = localrun.init(dir=runs, id="r")
    run.log({"a": 1.0, "b": 2.0})
    run.log({"a": None}, commit=False)
    run.summary["c"] = 3
    run.finish()
    run = localrun.init(dir=runs, id="r", resume="allow")
    assert dict(run.summary.items()) == {"a": 1.0, "b": 2.0, "c": 3}  # None replaces nothing
    assert run.step == 2
    run.finish()


def test_a_resumed_run_goes_on_after_log_records_lost_before_its_finish(runs):
    from localrun.record.segment import SegmentReader

    run = localrun.init(dir=runs, id="lost")
    for i in range(5):
        run.log({"a": i})
    run.finish()
    (seg,) = [
        os.path.join(run.dir, "segments", n) for n in os.listdir(os.path.join(run.dir, "segments"))
    ]
    last_log = [offset for offset, rec, _ in SegmentReader(seg) if rec[0] == 1][-1]
    with open(seg, "r+b") as f:  # damage the last log record: its row is lost
        f.seek(last_log + 10)
        byte = f.read(1)
        f.seek(last_log + 10)
        f.write(bytes([byte[0] ^ 0xFF]))
    run = localrun.init(dir=runs, id="lost", resume="allow")
    assert run.step == 5  # the finish record says where the writer stood
    run.log({"a": 5})
    run.finish()
    rows, _ = history(run.dir)
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 5]


def test_commit_given_as_an_int_steps_as_replay_reads_it(runs):
    run = localrun.init(dir=runs)
    run.log({"a": 1}, commit=0)  # falsy: merged into the next row, as replay reads it
    run.log({"b": 2})
    assert run.step == 1
    run.finish()
    rows, _ = history(run.dir)
    assert rows == [{"_step": 0, "a": 1, "b": 2}]


# --- issue 10, row 3: a record is at most contract.MAX_RECORD_BYTES ---------------------------


def test_a_record_over_the_size_limit_is_refused_at_the_call_and_the_run_goes_on(runs):
    from localrun import contract
    from localrun.record.frame import MAX_PAYLOAD_BYTES

    assert contract.MAX_RECORD_BYTES < MAX_PAYLOAD_BYTES  # what log() wrote, readers read
    run = localrun.init(dir=runs)
    run.log({"a": 1})
    size = os.path.getsize(os.path.join(run.dir, "segments", "000001.lrs"))
    with pytest.raises(localrun.errors.ValueTypeError) as err:
        run.log({"s": "x" * 70_000_000})
    message = str(err.value)
    assert "70000" in message and "16 MiB" in message and "file" in message and "split" in message
    assert isinstance(err.value, ValueError)
    with pytest.raises(localrun.errors.ValueTypeError, match="16 MiB"):
        run.log({"many": ["y" * 1000] * 20_000})  # not plain: the other packing path
    with pytest.raises(localrun.errors.ValueTypeError, match="summary change.*16 MiB"):
        run.summary["s"] = "x" * (contract.MAX_RECORD_BYTES + 1)
    with pytest.raises(localrun.errors.ValueTypeError, match="config change.*16 MiB"):
        run.config["s"] = "x" * (contract.MAX_RECORD_BYTES + 1)
    assert os.path.getsize(os.path.join(run.dir, "segments", "000001.lrs")) == size
    assert run.step == 1
    run.log({"b": 2})
    run.finish()
    rows, view = history(run.dir)
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "b": 2}] and view.damage == []


def test_a_record_just_under_the_size_limit_is_written_and_read_back(runs):
    from localrun import contract

    run = localrun.init(dir=runs)
    big = "x" * (contract.MAX_RECORD_BYTES - 1024)
    run.log({"s": big})
    run.finish()
    (row,), view = history(run.dir)
    assert row["s"] == big and view.damage == [] and view.torn_tails == 0


# --- issue 10, row 5: the keys replay stamps on every row -------------------------------------


@pytest.mark.parametrize("key", ["_step", "_runtime"])
def test_a_logged_step_or_runtime_key_is_refused_at_the_call(runs, key):
    run = localrun.init(dir=runs)
    run.log({"a": 1})
    for data in ({key: 5}, {key: 1.5, "x": 1.0}, {key: [1], "x": np.float32(1)}):
        with pytest.raises(localrun.errors.ValueTypeError, match=f"'{key}'"):
            run.log(data)
    assert run.step == 1
    run.log({"a": 2, "nested": {key: 1}})  # only the top level is the row's
    run.finish()
    rows, view = history(run.dir)
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "a": 2, "nested": {key: 1}}]
    from localrun import contract

    assert all(contract.row_problem(r) is None for r in RunView(run.dir).rows())


def test_a_logged_timestamp_is_the_rows_time_as_in_wandb(runs):
    import time

    run = localrun.init(dir=runs)
    run.log({"x": 1, "_timestamp": 1_600_000_000.5})
    run.log({"x": 2})
    run.log({"x": 3, "_timestamp": np.float64(1_600_000_100)}, commit=False)
    run.log({"y": 3})  # the last call merged into a row gives its time: this one's own
    run.log({"x": 4, "_timestamp": 1_600_000_100}, commit=False)
    run.log({"z": 4, "_timestamp": 1_600_000_200})
    for bad in ("yesterday", None, float("nan"), True, [1.0]):
        with pytest.raises(localrun.errors.ValueTypeError, match="_timestamp"):
            run.log({"_timestamp": bad})
    run.finish()
    rows = list(RunView(run.dir).rows())
    assert [r["_step"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["_timestamp"] == 1_600_000_000.5
    assert abs(rows[1]["_timestamp"] - time.time()) < 60
    assert abs(rows[2]["_timestamp"] - time.time()) < 60 and rows[2]["x"] == 3
    assert rows[3]["_timestamp"] == 1_600_000_200 and rows[3]["x"] == 4
    assert all(0 <= r["_runtime"] < 60 for r in rows)  # _runtime is the run's own clock
    assert RunView(run.dir).to_json()["summary"]["_timestamp"] == 1_600_000_200


# --- what wandb code asks of a run (issue 14, "Run") ----------------------------------------------


def test_alert_is_recorded_and_read_back(runs, monkeypatch, capsys):
    import datetime

    monkeypatch.delenv("LOCALRUN_SILENT")
    run = localrun.init(dir=runs)
    run.alert("loss is nan", "at step 3", level=localrun.AlertLevel.ERROR)
    run.alert("slow", "epoch took long", "WARN", wait_duration=datetime.timedelta(minutes=5))
    run.alert("note", "plain")
    with pytest.raises(localrun.Error, match="'LOUD'"):
        run.alert("x", "y", level="LOUD")
    with pytest.raises(localrun.Error, match="wait_duration"):
        run.alert("x", "y", wait_duration="soon")
    assert "alert [ERROR] loss is nan: at step 3" in capsys.readouterr().err
    run.finish()
    alerts = RunView(run.dir).to_json()["alerts"]
    assert [(a["title"], a["text"], a["level"]) for a in alerts] == [
        ("loss is nan", "at step 3", "ERROR"),
        ("slow", "epoch took long", "WARN"),
        ("note", "plain", "INFO"),
    ]
    assert all(type(a["time"]) is float for a in alerts)
    quiet = localrun.init(dir=runs)
    quiet.finish()
    assert "alerts" not in RunView(quiet.dir).to_json()  # documents without alerts as before


def test_url_and_friends_are_none_offline_as_wandb_offline(runs):
    run = localrun.init(dir=runs, project="p")
    assert (run.url, run.get_url(), run.project_url, run.get_project_url()) == (None,) * 4
    assert (run.sweep_url, run.get_sweep_url(), run.sweep_id) == (None, None, None)
    assert run.offline is True and run.disabled is False
    assert run.display() is False and run.project_name() == "p" and run.starting_step == 0
    run.finish()


def test_mark_preempting_makes_a_killed_run_preempted_and_a_finished_one_finished(runs):
    from .conftest import run_python

    code = (
        "import os, signal, localrun\n"
        f"run = localrun.init(dir={runs!r}, id='pre')\n"
        "run.log({'a': 1})\n"
        "run.mark_preempting()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    run_python(code, check=False)
    assert RunView(os.path.join(runs, "pre")).to_json()["state"] == "preempted"
    run = localrun.init(dir=runs)
    run.mark_preempting()
    run.finish()
    assert RunView(run.dir).to_json()["state"] == "finished"


def test_pin_config_keys_is_recorded_and_replaced(runs):
    run = localrun.init(dir=runs, config={"lr": 0.1, "model": "gpt2"})
    run.pin_config_keys(["lr"])
    run.pin_config_keys(["model", "lr"])
    run.finish()
    assert RunView(run.dir).scan().replay.meta["pinned_config_keys"] == ["model", "lr"]


def test_termlog_prints_unless_silent(monkeypatch, capsys):
    monkeypatch.delenv("LOCALRUN_SILENT")
    localrun.termlog("hello")
    localrun.termwarn("careful")
    assert capsys.readouterr().err == "localrun: hello\nlocalrun: WARNING careful\n"
    monkeypatch.setenv("WANDB_SILENT", "true")
    localrun.termlog("hello")
    assert capsys.readouterr().err == ""


def test_starting_step_is_where_this_process_began(runs):
    run = localrun.init(dir=runs, id="s")
    run.log({"a": 1})
    run.log({"a": 2})
    run.finish()
    run = localrun.init(dir=runs, id="s", resume="allow")
    run.log({"a": 3})
    assert run.summary["a"] == 3  # (reading the summary replays this run's records)
    assert (run.starting_step, run.step) == (2, 3)
    run.finish()
