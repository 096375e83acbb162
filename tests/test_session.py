"""init() and the process around a run (issue 10, rows 2, 10, 11, 17 and 18): names a server
can hold, a kill at any instant inside init(), many processes creating one run at once, SIGTERM
whatever thread started the run, and a wall clock that steps back. Real processes throughout."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

import localrun
from localrun import rundir
from localrun.sync import RunView, find_runs

from .conftest import history, run_python

ENV = {**os.environ, "LOCALRUN_SILENT": "1"}


# --- row 2: project names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "project",
    ["exp: lr=0.1", "a/b", "a\\b", "q?x", "50%", "#1", ".hidden", " x", "x" * 129, "tab\there"],
)
def test_a_project_name_a_server_cannot_hold_is_refused_at_init(runs, project):
    from localrun.errors import InvalidNameError

    with pytest.raises(InvalidNameError) as err:
        localrun.init(dir=runs, project=project)
    assert isinstance(err.value, localrun.Error) and isinstance(err.value, ValueError)
    assert repr(project)[:20] in str(err.value)
    assert localrun.run is None
    assert not os.path.exists(runs) or os.listdir(runs) == []


def test_a_bad_project_from_the_environment_is_refused_and_names_it(runs, monkeypatch):
    from localrun.errors import InvalidNameError

    monkeypatch.setenv("WANDB_PROJECT", "team/exp")
    with pytest.raises(InvalidNameError, match=r"\$WANDB_PROJECT"):
        localrun.init(dir=runs)
    monkeypatch.setenv("WANDB_PROJECT", "exp 1 (lr=0.1)")
    run = localrun.init(dir=runs)
    assert run.project == "exp 1 (lr=0.1)"


# --- rows 10 and 11: init() is atomic; contended init is clear -----------------------------------

INIT_THEN_WAIT = r"""
import sys, time, localrun
sys.stdout.write("imported\n"); sys.stdout.flush()
localrun.init(dir=sys.argv[1], id=sys.argv[2], resume="allow")
sys.stdout.write("started\n"); sys.stdout.flush()
time.sleep(60)
"""


def test_a_kill_at_any_instant_inside_init_leaves_a_run_init_can_open(runs, slow, figures):
    rng = random.Random(10)
    kills = 300 if slow else 30
    outcomes = {"before init": 0, "inside init": 0, "after init": 0}
    made = []
    for i in range(kills):
        run_id = f"victim{i}"
        proc = subprocess.Popen(
            [sys.executable, "-c", INIT_THEN_WAIT, runs, run_id],
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        assert proc.stdout.readline() == "imported\n"
        time.sleep(rng.uniform(0, 0.02))  # a first init() takes 5-15 ms here
        proc.kill()
        rest = proc.stdout.read()
        proc.stdout.close()
        proc.wait()
        path = os.path.join(runs, run_id)
        temps = os.path.isdir(runs) and [n for n in os.listdir(runs) if n.startswith(".init-")]
        if "started" in rest:
            outcomes["after init"] += 1
        elif os.path.lexists(path) or temps:
            outcomes["inside init"] += 1
        else:
            outcomes["before init"] += 1
        run = localrun.init(dir=runs, id=run_id, resume="allow")  # never "not a run directory"
        run.log({"ok": i})
        run.finish()
        made.append(run_id)
        rows, view = history(path)
        assert rows == [{"_step": 0, "ok": i}] and view.to_json()["state"] == "finished"
        # Readers never list a run being created; a dead one's folder is gone once init() ran.
        assert sorted(os.path.basename(p) for p in find_runs(runs)) == sorted(made)
        leftovers = [n for n in os.listdir(runs) if n.startswith(".init-")]
        assert all(not os.path.exists(os.path.join(runs, n, "lock")) for n in leftovers)
    assert outcomes["inside init"] > 0, outcomes
    figures["init_kills"] = {"kills": kills, **outcomes, "unopenable": 0}


@pytest.mark.parametrize(
    "leftover",
    [
        [],  # mkdir done, nothing else
        ["segments/"],  # killed before run.json was written
        ["segments/", ".tmp-a1b2c3"],  # killed while writing run.json
        ["segments/", ".tmp-a1b2c3", "lock"],
    ],
    ids=["empty", "segments", "partial-run-json", "with-lock"],
)
def test_a_folder_an_older_init_left_half_made_becomes_the_run(runs, leftover):
    path = os.path.join(runs, "half")
    os.makedirs(path)
    for name in leftover:
        if name.endswith("/"):
            os.mkdir(os.path.join(path, name))
        else:
            with open(os.path.join(path, name), "w") as f:
                f.write('{"format": 1, "id": "ha')
    run = localrun.init(dir=runs, id="half", resume="allow")
    assert not run.resumed
    run.log({"a": 1})
    run.finish()
    rows, view = history(path)
    assert rows == [{"_step": 0, "a": 1}] and view.to_json()["state"] == "finished"
    assert rundir.read_run_json(path)["incarnation"]
    assert not [n for n in os.listdir(path) if n.startswith(".tmp-")]


def test_a_folder_that_holds_anything_else_is_still_not_taken_for_a_run(runs):
    path = os.path.join(runs, "mine")
    os.makedirs(os.path.join(path, "segments"))
    with open(os.path.join(path, "notes.txt"), "w") as f:
        f.write("my own file")
    with pytest.raises(localrun.errors.RunDirError, match="not a localrun run directory"):
        localrun.init(dir=runs, id="mine", resume="allow")
    with open(os.path.join(path, "notes.txt")) as f:
        assert f.read() == "my own file"


def test_a_dead_creators_temporary_folder_is_removed_and_a_live_ones_kept(runs):
    os.makedirs(runs)
    dead = os.path.join(runs, ".init-x.00000000")
    os.makedirs(os.path.join(dead, "segments"))
    open(os.path.join(dead, "lock"), "w").close()  # its flock went with its process
    live = os.path.join(runs, ".init-y.11111111")
    os.makedirs(live)
    holder = rundir.Lock.new(live)
    young = os.path.join(runs, ".init-z.22222222")  # no lock yet: its creator may be about to
    os.makedirs(young)
    try:
        localrun.init(dir=runs, id="new").finish()
        assert not os.path.exists(dead)
        assert os.path.exists(live) and os.path.exists(young)
        assert [os.path.basename(p) for p in find_runs(runs)] == ["new"]
    finally:
        holder.release()


CONTENDER = r"""
import os, sys, time, localrun
runs, run_id, barrier, done = sys.argv[1:5]
sys.stdout.write("ready\n"); sys.stdout.flush()
while not os.path.exists(barrier):
    time.sleep(0.0005)
try:
    run = localrun.init(dir=runs, id=run_id, resume="allow")
except localrun.errors.RunLockedError:
    sys.stdout.write("locked\n"); sys.stdout.flush()
    sys.exit(0)
except Exception as exc:
    sys.stdout.write(f"error {type(exc).__name__}: {exc}\n"); sys.stdout.flush()
    sys.exit(0)
run.log({"owner": os.getpid()})
sys.stdout.write("owner\n"); sys.stdout.flush()
while not os.path.exists(done):
    time.sleep(0.001)
run.finish()
"""


def test_eight_processes_creating_one_run_get_one_owner_and_seven_locked(tmp_path, slow, figures):
    runs = str(tmp_path / "runs")
    rounds = 6 if slow else 2
    for round_ in range(rounds):
        run_id = f"new{round_}"
        barrier, done = str(tmp_path / f"go{round_}"), str(tmp_path / f"done{round_}")
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CONTENDER, runs, run_id, barrier, done],
                stdout=subprocess.PIPE,
                text=True,
                env=ENV,
            )
            for _ in range(8)
        ]
        for p in procs:
            assert p.stdout.readline() == "ready\n"
        open(barrier, "w").close()
        answers = sorted(p.stdout.readline().strip() for p in procs)
        open(done, "w").close()
        for p in procs:
            p.stdout.close()
            assert p.wait(timeout=60) == 0
        assert answers == ["locked"] * 7 + ["owner"], answers
        rows, view = history(os.path.join(runs, run_id))
        assert len(rows) == 1 and view.to_json()["state"] == "finished"
    figures["init_contention"] = {"rounds": rounds, "processes": 8, "owners_per_round": 1}


# --- row 17: SIGTERM whatever thread starts the run ----------------------------------------------


def test_sigterm_marks_a_run_preempted_when_its_first_init_ran_on_a_worker_thread(runs):
    code = r"""
import os, signal, sys, threading, time, localrun
started = threading.Event()
def work():
    run = localrun.init(dir=sys.argv[1], id="threaded")
    run.log({"a": 1})
    run.log({"b": 2}, commit=False)
    started.set()
    time.sleep(60)
threading.Thread(target=work, daemon=True).start()
started.wait()
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(60)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, runs], capture_output=True, text=True, env=ENV, timeout=60
    )
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    rows, view = history(os.path.join(runs, "threaded"))
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "b": 2}]
    assert view.to_json()["state"] == "preempted"


def test_with_no_run_sigterm_does_what_it_did_before_localrun_was_imported(tmp_path):
    die = "import os, signal, time, localrun\nos.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(60)"
    assert run_python(die, check=False).returncode == -signal.SIGTERM
    handled = (
        "import os, signal, localrun\n"
        "seen = []\n"
        "signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "assert seen == [signal.SIGTERM]\n"
    )
    run_python(handled)
    before = (
        "import os, signal\n"
        "seen = []\n"
        "signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))\n"
        "import localrun\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "assert seen == [signal.SIGTERM]\n"
    )
    run_python(before)
    ignored = "import os, signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nimport localrun\nos.kill(os.getpid(), signal.SIGTERM)\n"
    run_python(ignored)


def test_a_handler_that_chains_to_ours_does_not_loop(runs):
    code = f"""
import os, signal, sys, localrun
ours = signal.getsignal(signal.SIGTERM)
seen = []
def mine(s, f):
    seen.append(s)
    ours(s, f)  # the usual chaining: call what was there before
signal.signal(signal.SIGTERM, mine)
run = localrun.init(dir={runs!r}, id="chained")  # puts ours in front of mine again
run.log({{"a": 1}})
os.kill(os.getpid(), signal.SIGTERM)
"""
    proc = run_python(code, check=False)
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert RunView(os.path.join(runs, "chained")).to_json()["state"] == "preempted"


# --- row 18: the wall clock steps back ------------------------------------------------------------


def test_runtime_never_goes_back_when_the_wall_clock_does(runs):
    code = r"""
import sys, time, localrun
run = localrun.init(dir=sys.argv[1], id="clock")
for i in range(5):
    run.log({"i": i}); time.sleep(0.01)
real = time.time
time.time = lambda: real() - 3600  # an NTP step, a VM restored from a snapshot...
for i in range(5, 10):
    run.log({"i": i}); time.sleep(0.01)
run.summary["done"] = 1
run.finish()
"""
    subprocess.run([sys.executable, "-c", code, runs], check=True, env=ENV, timeout=60)
    rows = list(RunView(os.path.join(runs, "clock")).rows())
    runtimes = [r["_runtime"] for r in rows]
    stamps = [r["_timestamp"] for r in rows]
    assert [r["i"] for r in rows] == list(range(10))
    assert runtimes == sorted(runtimes) and runtimes[0] >= 0 and runtimes[-1] < 30, runtimes
    assert stamps == sorted(stamps) and abs(stamps[0] - time.time()) < 60
    assert RunView(os.path.join(runs, "clock")).to_json()["runtime"] >= runtimes[-1]


def test_records_carry_the_start_time_plus_monotonic_elapsed_time(runs):
    before = time.time()
    run = localrun.init(dir=runs)
    run.log({"a": 1})
    time.sleep(0.05)
    run.log({"a": 2})
    run.finish()
    rows = list(RunView(run.dir).rows())
    assert before - 1 <= rows[0]["_timestamp"] <= time.time() + 1
    assert 0.04 <= rows[1]["_runtime"] - rows[0]["_runtime"] < 5
    with open(os.path.join(run.dir, "run.json")) as f:
        assert abs(json.load(f)["created_at"] - before) < 5


def test_a_refused_init_leaves_the_current_run_logging(runs):
    from localrun.errors import InvalidNameError

    run = localrun.init(dir=runs, id="current")
    run.log({"a": 1})
    with pytest.raises(InvalidNameError):
        localrun.init(dir=runs, project="a/b")
    with pytest.raises(localrun.errors.ValueTypeError):
        localrun.init(dir=runs, notes=b"x")
    with pytest.raises(localrun.errors.RunDirError):
        localrun.init(dir=runs, id="../up")
    assert localrun.run is run
    run.log({"a": 2})
    run.finish()
    rows, _ = history(run.dir)
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "a": 2}]
    assert sorted(os.listdir(runs)) == ["current"]


# --- wandb's modes and environment (issue 13, item 2) ---------------------------------------------


def test_disabled_mode_writes_nothing_and_every_call_is_harmless(tmp_path, monkeypatch):
    import pickle

    monkeypatch.chdir(tmp_path)
    run = localrun.init(mode="disabled", config={"lr": 0.1}, project="p")
    assert localrun.run is run and localrun.config is run.config and localrun.summary is run.summary
    assert isinstance(run, localrun.Run) and run.disabled and run.offline is False
    assert (run.project, run.step, run.url, run.get_url(), run.get_project_url()) == (
        "p",
        0,
        None,
        None,
        None,
    )
    localrun.log({"a": 1, "x": {"y": "z"}})
    assert run.summary["a"] == 1 and localrun.summary["x"].y == "z"
    run.summary["nested"] = {"level": 3}
    assert run.summary.nested.level == 3
    with pytest.raises(KeyError):
        run.summary["missing"]
    run.config.update({"b": 2})
    assert run.config.lr == 0.1 and run.config.b == 2
    with pytest.raises(localrun.ConfigError):
        run.config.update({"lr": 0.5})
    assert run.define_metric("m", summary="min").name == "m"
    localrun.define_metric("loss")
    run.alert("t", "x")
    run.mark_preempting()
    run.pin_config_keys(["lr"])
    assert run.log_artifact("artifact").wait() is not None
    run.use_artifact("artifact")
    assert run.save("x") is False and run.display() is False
    run.name, run.tags, run.notes = "n", ["t"], "notes"
    assert (run.name, run.tags, run.notes) == ("n", ("t",), "notes")
    assert run.settings.mode == "disabled"
    pickle.dumps(run)
    assert os.path.isdir(run.dir) and not os.listdir(run.dir)  # a temporary folder
    # Every public attribute can be read, and every method called without arguments.
    for symbol in [s for s in dir(run) if not s.startswith("_") and s != "log"]:
        value = getattr(run, symbol)
        if callable(value) and not isinstance(value, (localrun.Config, dict)):
            value()
    with pytest.raises(AttributeError):
        _ = run.no_such_attribute
    localrun.finish()
    assert localrun.run is None
    assert os.listdir(tmp_path) == []  # no runs folder, no run directory


@pytest.mark.parametrize("var", ["WANDB_MODE", "LOCALRUN_MODE"])
def test_disabled_from_the_environment_writes_nothing(tmp_path, monkeypatch, var):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(var, "disabled")
    with localrun.init(dir=str(tmp_path / "runs")) as run:
        run.log({"a": 1})
    assert run.disabled and not os.path.exists(tmp_path / "runs")
    assert localrun.run is None


def test_the_localrun_mode_wins_over_wandb_mode_and_the_argument_over_both(runs, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("LOCALRUN_MODE", "offline")
    run = localrun.init(dir=runs)
    assert not run.disabled and os.path.isdir(run.dir)
    run.finish()
    monkeypatch.delenv("LOCALRUN_MODE")
    run = localrun.init(dir=runs, mode="offline")
    assert not run.disabled
    run.finish()
    assert localrun.init(dir=runs, settings={"mode": "disabled"}).disabled


def test_disabled_run_leaves_the_live_run_current_again_when_it_finishes(runs):
    live = localrun.init(dir=runs)
    off = localrun.init(mode="disabled")
    assert localrun.run is off
    off.finish()
    assert localrun.run is live and not live.finished
    live.finish()


@pytest.mark.parametrize("mode", ["offline", "online", "dryrun", "run", "shared", "OFFLINE"])
def test_every_other_mode_records_locally(runs, mode):
    run = localrun.init(dir=runs, mode=mode)
    run.log({"a": 1})
    run.finish()
    assert history(run.dir)[0] == [{"_step": 0, "a": 1}]


def test_online_mode_says_once_that_the_run_is_recorded_locally(runs, monkeypatch, capsys):
    monkeypatch.delenv("LOCALRUN_SILENT")
    monkeypatch.setenv("WANDB_MODE", "online")
    localrun.init(dir=runs).finish()
    err = capsys.readouterr().err
    assert err.count("mode='online' (from $WANDB_MODE)") == 1 and "localrun sync" in err


@pytest.mark.parametrize("where", ["argument", "environment"])
def test_an_invalid_mode_names_the_allowed_ones(runs, monkeypatch, where):
    if where == "environment":
        monkeypatch.setenv("WANDB_MODE", "airplane")
        call = {}
    else:
        call = {"mode": "airplane"}
    with pytest.raises(localrun.Error) as err:
        localrun.init(dir=runs, **call)
    text = str(err.value)
    assert "'airplane'" in text and "'offline'" in text and "'disabled'" in text
    assert ("$WANDB_MODE" in text) == (where == "environment")
    assert not os.path.exists(runs)


def test_wandb_variables_fill_what_init_is_not_given(tmp_path, monkeypatch):
    root = str(tmp_path / "wandb-dir")
    for var, value in {
        "WANDB_DIR": root,
        "WANDB_PROJECT": "proj",
        "WANDB_ENTITY": "team",
        "WANDB_NAME": "nice",
        "WANDB_NOTES": "some notes",
        "WANDB_TAGS": "a, b,c",
        "WANDB_RUN_ID": "fixedid",
        "WANDB_RUN_GROUP": "grp",
        "WANDB_JOB_TYPE": "train",
    }.items():
        monkeypatch.setenv(var, value)
    run = localrun.init()
    assert run.dir == os.path.join(root, "fixedid")
    assert (run.project, run.entity, run.name, run.notes, run.tags) == (
        "proj",
        "team",
        "nice",
        "some notes",
        ("a", "b", "c"),
    )
    assert (run.group, run.job_type, run.id) == ("grp", "train", "fixedid")
    run.finish()
    d = RunView(run.dir).to_json()
    assert (d["project"], d["name"], d["tags"], d["group"], d["job_type"], d["notes"]) == (
        "proj",
        "nice",
        ["a", "b", "c"],
        "grp",
        "train",
        "some notes",
    )
    # WANDB_RESUME lets the same job script continue the run with the same id.
    monkeypatch.setenv("WANDB_RESUME", "allow")
    again = localrun.init()
    assert again.resumed and again.id == "fixedid"
    again.finish()


def test_localrun_twins_win_over_wandb_variables_and_arguments_over_both(tmp_path, monkeypatch):
    pairs = {
        "DIR": ("DIR", str(tmp_path / "w"), str(tmp_path / "l")),
        "PROJECT": ("PROJECT", "wp", "lp"),
        "ENTITY": ("ENTITY", "we", "le"),
        "NAME": ("NAME", "wn", "ln"),
        "NOTES": ("NOTES", "wno", "lno"),
        "TAGS": ("TAGS", "wt", "lt1,lt2"),
        "RUN_ID": ("RUN_ID", "wid", "lid"),
        "RUN_GROUP": ("RUN_GROUP", "wg", "lg"),
        "JOB_TYPE": ("JOB_TYPE", "wj", "lj"),
    }
    for suffix, wandb_value, localrun_value in pairs.values():
        monkeypatch.setenv(f"WANDB_{suffix}", wandb_value)
        monkeypatch.setenv(f"LOCALRUN_{suffix}", localrun_value)
    run = localrun.init()
    assert run.dir == os.path.join(str(tmp_path / "l"), "lid")
    assert (run.project, run.entity, run.name, run.notes, run.tags) == (
        "lp",
        "le",
        "ln",
        "lno",
        ("lt1", "lt2"),
    )
    assert (run.group, run.job_type) == ("lg", "lj")
    run.finish()
    given = localrun.init(
        dir=str(tmp_path / "a"),
        project="ap",
        entity="ae",
        name="an",
        notes="ano",
        tags=["at"],
        id="aid",
        group="ag",
        job_type="aj",
    )
    assert given.dir == os.path.join(str(tmp_path / "a"), "aid")
    assert (given.project, given.entity, given.name, given.notes, given.tags) == (
        "ap",
        "ae",
        "an",
        "ano",
        ("at",),
    )
    assert (given.group, given.job_type) == ("ag", "aj")
    given.finish()


def test_wandb_silent_silences_and_localrun_silent_wins(runs, monkeypatch, capsys):
    monkeypatch.delenv("LOCALRUN_SILENT")
    monkeypatch.setenv("WANDB_SILENT", "true")
    localrun.init(dir=runs).finish()
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("LOCALRUN_SILENT", "0")
    localrun.init(dir=runs).finish()
    assert "started" in capsys.readouterr().err


def test_wandb_resume_must_and_a_bad_value_are_understood(runs, monkeypatch):
    monkeypatch.setenv("WANDB_RESUME", "must")
    monkeypatch.setenv("WANDB_RUN_ID", "nothere")
    with pytest.raises(localrun.errors.RunNotFoundError):
        localrun.init(dir=runs)
    monkeypatch.setenv("WANDB_RESUME", "sometimes")
    with pytest.raises(localrun.Error, match=r"'sometimes' \(from \$WANDB_RESUME\)"):
        localrun.init(dir=runs)


def test_a_single_tag_string_is_one_tag(runs):
    run = localrun.init(dir=runs, tags="baseline")
    assert run.tags == ("baseline",)
    run.finish()


def test_run_settings_say_what_init_resolved(runs, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run = localrun.init(dir=runs, project="p", id="sid")
    s = run.settings
    assert (s.mode, s.project, s.run_id, s.root_dir, s.files_dir) == (
        "offline",
        "p",
        "sid",
        runs,
        run.dir,
    )
    s.project = "changed"  # a copy
    assert run.settings.project == "p"
    run.finish()


def test_a_run_id_from_the_environment_is_named_when_the_run_exists(runs, monkeypatch):
    monkeypatch.setenv("WANDB_RUN_ID", "same")
    localrun.init(dir=runs).finish()
    with pytest.raises(localrun.errors.RunExistsError, match=r"comes from \$WANDB_RUN_ID"):
        localrun.init(dir=runs)


@pytest.mark.parametrize(
    ("ending", "status", "state", "exit_code"),
    [
        ("sys.exit(7)", 7, "failed", 7),
        ("sys.exit(0)", 0, "finished", 0),
        ("sys.exit()", 0, "finished", 0),
        ("sys.exit('out of data')", 1, "failed", 1),
        ("pass", 0, "finished", 0),
    ],
)
def test_a_script_s_sys_exit_code_is_the_run_s_exit_code(runs, ending, status, state, exit_code):
    code = (
        "import sys, localrun\n"
        f"run = localrun.init(dir={runs!r}, id='ends')\n"
        "run.log({'a': 1})\n"
        f"{ending}\n"
    )
    proc = run_python(code, check=False)
    assert proc.returncode == status, proc.stderr
    _, view = history(os.path.join(runs, "ends"))
    doc = view.to_json()
    assert (doc["state"], doc["exit_code"]) == (state, exit_code)
