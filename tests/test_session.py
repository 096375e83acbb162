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
