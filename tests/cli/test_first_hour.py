"""The first hour with localrun (issue 13, item 3): what the README's commands do for a new user.

Every command's default is the runs root init() writes to; a run id (or the start of one) is
taken wherever a run's folder is; --keys that names nothing says so; verify of a URL says what
verify reads; piped tables keep each row on one line.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import localrun

from .. import forkcli


def make(root, run_id, project="p", **logged):
    run = localrun.init(dir=str(root), id=run_id, project=project, settings={"quiet": True})
    for step in range(3):
        run.log({"train/loss": 1.0 / (step + 1), "acc": step / 3, **logged})
    run.finish()
    return run.dir


def lr(*args, cwd, env=None):
    # No $COLUMNS unless a test sets it: stdout is a file, as a pipe would be.
    full = {k: v for k, v in os.environ.items() if k not in ("LOCALRUN_DIR", "COLUMNS")}
    full.update(env or {})
    return forkcli.run(list(args), cwd=str(cwd), env=full)


@pytest.fixture
def elsewhere(tmp_path):
    """Runs in a folder named by $LOCALRUN_DIR, read from a working folder with no ./runs."""
    root = tmp_path / "my-runs"
    make(root, "abc12345")
    make(root, "abd99999")
    make(root, "xyz00000")
    cwd = tmp_path / "work"
    cwd.mkdir()
    return root, cwd, {"LOCALRUN_DIR": str(root)}


def test_every_command_defaults_to_the_runs_root_init_writes_to(elsewhere):
    root, cwd, env = elsewhere
    # init() with only the environment writes there too: one rule for both.
    code = "import localrun; r = localrun.init(id='fromenv', settings={'quiet': True}); r.finish()"
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env={**os.environ, **env}, check=True)
    assert (root / "fromenv" / "run.json").is_file()
    table = lr("show", cwd=cwd, env=env)
    assert table.returncode == 0, table.stderr
    assert all(i in table.stdout for i in ("abc12345", "abd99999", "xyz00000", "fromenv"))
    verified = lr("verify", cwd=cwd, env=env)
    assert verified.returncode == 0 and "4 run(s)" in verified.stderr
    # export takes one run: the default (a folder of four) says so, naming the runs root.
    exported = lr("export", cwd=cwd, env=env)
    assert exported.returncode == 1 and f"{root} holds 4" in exported.stderr


def test_without_runs_the_error_says_where_runs_go(tmp_path):
    shown = lr("show", cwd=tmp_path)
    assert shown.returncode == 1
    assert "runs does not exist" in shown.stderr and "$LOCALRUN_DIR" in shown.stderr
    shown = lr("show", cwd=tmp_path, env={"LOCALRUN_DIR": "elsewhere"})
    assert "elsewhere does not exist" in shown.stderr and "(here: elsewhere)" in shown.stderr


def test_a_run_id_or_its_unique_start_is_taken_wherever_a_run_path_is(elsewhere):
    root, cwd, env = elsewhere
    one = lr("show", "xyz", "--json", cwd=cwd, env=env)
    assert one.returncode == 0, one.stderr
    assert '"id": "xyz00000"' in one.stdout
    full = lr("show", "abc12345", "--json", cwd=cwd, env=env)
    assert '"id": "abc12345"' in full.stdout
    rows = lr("export", "abc1", cwd=cwd, env=env)
    assert rows.returncode == 0 and rows.stdout.count("\n") == 3
    assert lr("verify", "abd", cwd=cwd, env=env).returncode == 0
    dry = lr("sync", "xy", "--to", "http://127.0.0.1:9", "--dry-run", cwd=cwd, env=env)
    assert dry.returncode == 0 and dry.stdout.startswith("xyz00000: would send 3 rows")


def test_a_prefix_of_several_runs_lists_them_and_a_stranger_says_where_it_looked(elsewhere):
    root, cwd, env = elsewhere
    many = lr("show", "ab", cwd=cwd, env=env)
    assert many.returncode == 1
    assert "'ab' is the start of 2 run ids" in many.stderr
    assert "abc12345, abd99999" in many.stderr
    none = lr("export", "qqq", cwd=cwd, env=env)
    assert none.returncode == 1
    assert f"qqq is neither a folder nor the id (or the start of an id) of a run in {root}" in (
        none.stderr
    )
    assert "Traceback" not in many.stderr + none.stderr


def test_ui_takes_a_run_id(elsewhere):
    root, cwd, env = elsewhere
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun.cli", "ui", "xyz", "--port", "0"],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"(1 run in {root / 'xyz00000'};" in line, line + proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_export_keys_that_no_row_has_say_so_with_the_close_ones(elsewhere):
    root, cwd, env = elsewhere
    for fmt in ("jsonl", "csv"):
        typo = lr("export", "xyz", "--keys", "train/los", "--format", fmt, cwd=cwd, env=env)
        assert typo.returncode == 1 and typo.stdout == ""
        assert "this run has no key 'train/los'" in typo.stderr
        assert "Close: train/loss" in typo.stderr
    under = lr("export", "xyz", "--keys", "loss", cwd=cwd, env=env)
    assert under.returncode == 1 and "Close: train/loss" in under.stderr
    # One key there, one not: the rows of the one, and a warning for the other.
    some = lr("export", "xyz", "--keys", "acc,acx", cwd=cwd, env=env)
    assert some.returncode == 0 and some.stdout.count('"acc"') == 3
    assert "warning: this run has no key 'acx'" in some.stderr and "Close: acc" in some.stderr


def test_show_keys_that_match_nothing_name_the_close_ones(elsewhere):
    root, cwd, env = elsewhere
    shown = lr("show", "xyz", "--keys", "val/loss", cwd=cwd, env=env)
    assert shown.returncode == 0
    assert "no config, summary, metric or media key matches --keys val/loss" in shown.stdout
    assert "Close: train/loss" in shown.stdout


def test_verify_of_a_url_says_what_verify_reads(tmp_path):
    done = lr("verify", "http://127.0.0.1:8080/runs/p/abc", cwd=tmp_path)
    assert done.returncode == 1
    assert "verify reads run directories on this machine" in done.stderr
    assert "does not exist" not in done.stderr


def test_piped_tables_do_not_wrap_cells_mid_word(tmp_path):
    root = tmp_path / "runs"
    long = "a-rather-long-metric-name-that-would-not-fit/in-eighty-columns-of-terminal"
    make(root, "wide0001", **{long: 1.5})
    run = localrun.init(dir=str(root), id="wide0002", name="a-name-much-longer-than-a-column")
    run.log({long: 2.5})
    run.finish()
    table = lr("show", cwd=tmp_path)  # stdout is a file here: not a terminal
    lines = table.stdout.splitlines()
    assert any("a-name-much-longer-than-a-column" in line for line in lines)
    one = lr("show", "wide0001", cwd=tmp_path)
    assert any(long in line for line in one.stdout.splitlines())
    # On a terminal of a given width ($COLUMNS), rich fits the table to it as before.
    narrow = lr("show", cwd=tmp_path, env={"COLUMNS": "60"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60


def test_the_demo_writes_where_the_readmes_next_command_reads_and_says_each_step():
    from localrun import rundir

    from ..conftest import REPO

    with open(os.path.join(REPO, "scripts", "demo.sh")) as f:
        script = f.read()
    with open(os.path.join(REPO, "examples", "demo.py")) as f:
        demo = f.read()
    root = rundir.DEFAULT_ROOT
    assert f'export LOCALRUN_DIR="${{LOCALRUN_DIR:-{root}}}"' in script
    assert f'os.environ.setdefault("LOCALRUN_DIR", "{root}")' in demo
    # Each thing the demo runs is announced on a line of its own just before it.
    lines = [line.strip() for line in script.splitlines()]
    commands = [
        i
        for i, line in enumerate(lines)
        if line.startswith((".venv/bin/localrun", ".venv/bin/python examples", "python3 -m venv"))
    ]
    assert len(commands) >= 6
    for i in commands:
        before = [line for line in lines[:i] if line and not line.startswith("#")]
        assert any(b.startswith("step ") for b in before[-3:]), lines[i]
