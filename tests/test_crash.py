"""Real processes, killed for real: what survives SIGKILL, SIGTERM, and concurrent writers."""

import os
import random
import signal
import subprocess
import sys
import time

import localrun
from localrun.sync import RunView

from .conftest import history, run_python

WRITER = r"""
import sys, localrun
run = localrun.init(dir=sys.argv[1], id="victim")
i = 0
while True:
    run.log({"i": i, "x": i * 0.5})
    # Tell the parent this log() returned: whatever it reads here must survive the kill.
    sys.stdout.write(f"{i}\n"); sys.stdout.flush()
    i += 1
"""


def start_writer(runs, code=WRITER):
    env = {**os.environ, "LOCALRUN_SILENT": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code, runs], stdout=subprocess.PIPE, text=True, env=env
    )


def test_every_returned_log_survives_sigkill_at_random_moments(runs, slow, figures):
    rng = random.Random(1)
    kills = 100 if slow else 30
    confirmed_total = lost_total = 0
    for attempt in range(kills):
        target = os.path.join(runs, f"k{attempt}")
        proc = start_writer(target)
        deadline = time.time() + rng.uniform(0.05, 0.4)
        confirmed = -1
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            confirmed = int(line)
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read().split()
        proc.stdout.close()
        proc.wait()
        if rest:
            confirmed = int(rest[-1])  # lines printed before the kill landed
        rows, view = history(os.path.join(target, "victim"))
        got = [r["i"] for r in rows]
        lost_total += sum(1 for i in range(confirmed + 1) if i >= len(got) or got[i] != i)
        confirmed_total += confirmed + 1
        assert got[: confirmed + 1] == list(range(confirmed + 1)), attempt
        assert got == list(range(len(got)))  # in order, no gaps, nothing invented
        assert [r["_step"] for r in rows] == got
        assert view.to_json()["state"] == "crashed"
        assert view.damage == []
    figures["sigkill"] = {
        "kills": kills,
        "confirmed_rows": confirmed_total,
        "rows_lost": lost_total,
    }


def test_sigterm_marks_the_run_preempted_and_flushes_the_pending_row(runs):
    code = r"""
import os, signal, sys, localrun
run = localrun.init(dir=sys.argv[1], id="pre")
run.log({"a": 1})
run.log({"b": 2}, commit=False)
os.kill(os.getpid(), signal.SIGTERM)
run.log({"never": 1})
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, runs],
        capture_output=True,
        text=True,
        env={**os.environ, "LOCALRUN_SILENT": "1"},
    )
    assert proc.returncode == -signal.SIGTERM  # the signal took its normal course
    rows, view = history(os.path.join(runs, "pre"))
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "b": 2}]
    assert view.to_json()["state"] == "preempted"


def test_sigterm_with_a_python_handler_calls_it_and_finish_records_preempted(runs):
    code = r"""
import os, signal, sys, localrun
seen = []
signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))
run = localrun.init(dir=sys.argv[1], id="graceful")
run.log({"a": 1})
os.kill(os.getpid(), signal.SIGTERM)
assert seen == [signal.SIGTERM]
run.log({"saved_checkpoint": 1})
run.finish()
"""
    run_python(code.replace("sys.argv[1]", repr(runs)))
    rows, view = history(os.path.join(runs, "graceful"))
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "saved_checkpoint": 1}]
    assert view.to_json()["state"] == "preempted"


def test_uncaught_exception_marks_the_run_failed(runs):
    proc = run_python(
        f"import localrun\nrun = localrun.init(dir={runs!r}, id='oops')\nrun.log({{'a': 1}})\nraise SystemError('x')",
        check=False,
    )
    assert proc.returncode == 1
    assert RunView(os.path.join(runs, "oops")).to_json()["state"] == "failed"


def test_script_that_never_calls_finish_is_finished_at_exit(runs):
    run_python(f"import localrun\nlocalrun.init(dir={runs!r}, id='lazy')\nlocalrun.log({{'a': 1}})")
    d = RunView(os.path.join(runs, "lazy")).to_json()
    assert d["state"] == "finished" and d["rows"] == 1


def test_two_processes_log_concurrently_into_two_runs(runs):
    code = r"""
import sys, localrun
run = localrun.init(dir=sys.argv[1], id=sys.argv[2])
for i in range(2000):
    run.log({"i": i, "who": sys.argv[2]})
run.finish()
"""
    env = {**os.environ, "LOCALRUN_SILENT": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, runs, name], env=env)
        for name in ("left", "right")
    ]
    assert [p.wait() for p in procs] == [0, 0]
    for name in ("left", "right"):
        rows, view = history(os.path.join(runs, name))
        assert [r["i"] for r in rows] == list(range(2000))
        assert {r["who"] for r in rows} == {name}
        assert view.to_json()["state"] == "finished"


def test_crashed_run_resumes_after_its_last_row(runs):
    proc = start_writer(runs)
    for _ in range(50):
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.stdout.close()
    proc.wait()
    path = os.path.join(runs, "victim")
    before = len(history(path)[0])
    run = localrun.init(dir=runs, id="victim", resume="allow")
    assert run.step == before
    run.log({"i": -1})
    run.finish()
    rows, view = history(path)
    assert rows[-1] == {"_step": before, "i": -1}
    assert view.to_json()["state"] == "finished"


def test_forked_child_cannot_write_to_the_parents_segment(runs):
    run = localrun.init(dir=runs)
    run.log({"a": 1})
    pid = os.fork()
    if pid == 0:  # child
        try:
            run.log({"child": 1})
            code = 1
        except localrun.Error as exc:
            code = 0 if "forked child" in str(exc) else 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    run.log({"a": 2})
    run.finish()
    rows, _ = history(run.dir)
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "a": 2}]
