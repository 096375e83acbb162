"""Run identity (issue 10, row 1): two runs with one project and id never mix on a server.

Against a real `localrun serve` on 127.0.0.1, with the real `localrun sync` command.
"""

from __future__ import annotations

import json
import shutil

import localrun
from localrun.sync import RunView
from localrun.sync.cursor import Cursor

from .conftest import make_run, same, show_json, sync


def local_rows(path) -> list[dict]:
    return list(RunView(str(path)).rows())


def remote_rows(server, project="proj", run_id="exp1") -> list[dict]:
    with server.remote() as remote:
        return list(remote.iter_rows(project, run_id))


def local_doc(path) -> dict:
    return show_json(str(path))


def assert_server_holds_exactly(server, run_dir, run_id="exp1"):
    assert same(remote_rows(server, run_id=run_id), local_rows(run_dir))
    doc = show_json(f"{server.url}/runs/proj/{run_id}")
    mine = local_doc(run_dir)
    for key in ("config", "summary", "state", "created_at", "rows", "last_step"):
        assert json.dumps(doc[key]) == json.dumps(mine[key]), key


def two_machines(tmp_path):
    """Two runs named by hand with the same project and id, as two machines would make them."""
    a = make_run(tmp_path / "machine-a", run_id="exp1", rows=5)
    b = localrun.init(
        project="proj",
        id="exp1",
        dir=str(tmp_path / "machine-b"),
        config={"lr": 0.5},
        settings={"quiet": True},
    )
    for i in range(8):
        b.log({"loss": 10.0 + i})
    localrun.finish(quiet=True)
    return a.dir, b.dir


def test_a_second_run_with_the_same_project_and_id_is_refused_and_stores_nothing(tmp_path, server):
    a, b = two_machines(tmp_path)
    assert sync(a, server.url).returncode == 0
    second = sync(b, server.url)
    assert second.returncode == 3, second.stdout + second.stderr
    line = second.stdout.strip()
    assert line.startswith(
        "exp1: FAILED: the server holds a different run with project 'proj' and id 'exp1'"
    )
    assert "--as NEWID" in line and "--replace" in line
    assert "deletes" in line  # --replace says plainly what it costs
    assert "Run the same command again" not in second.stderr  # it would not help
    assert_server_holds_exactly(server, a)
    assert not Cursor.load(b, server.url).synced


def test_a_run_deleted_and_logged_again_under_its_id_is_refused(tmp_path, server):
    first = make_run(tmp_path / "runs", run_id="exp1", rows=5)
    assert sync(first.dir, server.url).returncode == 0
    kept = tmp_path / "kept"
    shutil.copytree(first.dir, kept)
    shutil.rmtree(first.dir)
    again = make_run(tmp_path / "runs", run_id="exp1", rows=3)
    second = sync(again.dir, server.url)
    assert second.returncode == 3
    assert "sent 3 rows" not in second.stdout
    assert "holds a different run" in second.stdout
    assert_server_holds_exactly(server, kept)


def test_as_newid_syncs_the_second_run_beside_the_first_and_is_remembered(tmp_path, server):
    a, b = two_machines(tmp_path)
    sync(a, server.url, check=True)
    assert sync(b, server.url).returncode == 3
    done = sync(b, server.url, "--as", "exp1-b")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"exp1: sent 8 rows -> {server.url}/runs/proj/exp1-b\n"
    assert_server_holds_exactly(server, a)
    assert_server_holds_exactly(server, b, run_id="exp1-b")
    assert show_json(f"{server.url}/runs/proj/exp1-b")["id"] == "exp1-b"
    # Later syncs of the folder keep using the other id, without being told again.
    later = sync(tmp_path / "machine-b", server.url)
    assert later.stdout.startswith("exp1: up to date") and "/runs/proj/exp1-b" in later.stdout


def test_as_takes_one_run_and_a_valid_id(tmp_path, server):
    make_run(tmp_path / "runs", run_id="a", rows=1)
    make_run(tmp_path / "runs", run_id="b", rows=1)
    folder = sync(tmp_path / "runs", server.url, "--as", "c")
    assert folder.returncode == 2 and "--as names one run" in folder.stderr
    bad = sync(tmp_path / "runs" / "a", server.url, "--as", "../x")
    assert bad.returncode == 2 and "run id '../x' is not allowed" in bad.stderr


def test_replace_overwrites_the_servers_copy_with_this_run(tmp_path, server):
    a, b = two_machines(tmp_path)
    sync(a, server.url, check=True)
    done = sync(b, server.url, "--replace")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("exp1: sent 8 rows; replaced the server's copy of another run")
    assert_server_holds_exactly(server, b)
    # From now on the server's copy is this run: plain syncs work, and A is the one refused.
    assert sync(b, server.url).stdout.startswith("exp1: up to date")
    assert sync(a, server.url).returncode == 3
    assert_server_holds_exactly(server, b)


def test_a_copy_of_a_run_folder_is_the_same_run(tmp_path, server):
    run = make_run(tmp_path / "runs", run_id="exp1", rows=6)
    sync(run.dir, server.url, check=True)
    copy = tmp_path / "elsewhere" / "exp1"
    shutil.copytree(run.dir, copy)
    shutil.rmtree(copy / "sync")  # even without its cursor
    done = sync(copy, server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_server_holds_exactly(server, run.dir)
