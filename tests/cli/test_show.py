"""`localrun show`: the contract users' scripts rely on."""

import json
import os

import pytest
from click.testing import CliRunner

import localrun
from localrun.cli import main

from ..conftest import cli

CONTRACT_KEYS = {"id", "project", "name", "state", "config", "summary", "rows", "dropped", "path"}


@pytest.fixture
def two_runs(runs):
    a = localrun.init(dir=runs, id="aaa", project="p", name="first", config={"lr": 0.1})
    for i in range(5):
        a.log({"loss": 1.0 / (i + 1)})
    a.log({"late": 1}, step=2)
    a.finish()
    b = localrun.init(dir=runs, id="bbb", project="p", name="second")
    b.log({"acc": 0.5})
    b.finish(exit_code=1)
    return runs


def invoke(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_show_json_of_one_run_has_the_contract_fields(two_runs):
    result = invoke("show", os.path.join(two_runs, "aaa"), "--json")
    assert result.exit_code == 0
    d = json.loads(result.stdout)
    assert CONTRACT_KEYS <= set(d)
    assert d["id"] == "aaa" and d["project"] == "p" and d["name"] == "first"
    assert d["state"] == "finished" and d["rows"] == 5 and d["config"] == {"lr": 0.1}
    assert d["summary"]["loss"] == 0.2
    assert d["dropped"] == [{"step": 2, "current_step": 5, "keys": ["late"]}]
    assert d["path"] == os.path.join(two_runs, "aaa")


def test_show_json_of_a_folder_is_an_array(two_runs):
    result = invoke("show", two_runs, "--json")
    d = json.loads(result.stdout)
    assert isinstance(d, list) and [x["id"] for x in d] == ["aaa", "bbb"]
    assert [x["state"] for x in d] == ["finished", "failed"]
    assert all(CONTRACT_KEYS <= set(x) for x in d)


def test_show_table_and_detail_render(two_runs):
    table = invoke("show", two_runs)
    assert (
        table.exit_code == 0
        and "aaa" in table.stdout
        and "bbb" in table.stdout
        and "failed" in table.stdout
    )
    detail = invoke("show", os.path.join(two_runs, "aaa"))
    assert detail.exit_code == 0
    for text in ("first", "lr", "loss", "dropped", "late"):
        assert text in detail.stdout


def test_show_defaults_to_dot_runs(two_runs, monkeypatch):
    monkeypatch.chdir(os.path.dirname(two_runs))
    d = json.loads(invoke("show", "--json").stdout)
    assert len(d) == 2


def test_missing_path_is_one_line_and_nonzero(tmp_path):
    proc = cli("show", str(tmp_path / "nope"), check=False)
    assert proc.returncode == 1
    assert (
        proc.stderr.count("\n") == 1
        and "does not exist" in proc.stderr
        and "Traceback" not in proc.stderr
    )


def test_folder_that_is_not_a_run_suggests_runs(tmp_path):
    (tmp_path / "runs").mkdir()
    localrun.init(dir=str(tmp_path / "runs")).finish()
    proc = cli("show", str(tmp_path), check=False)
    assert proc.returncode == 1 and "Did you mean" in proc.stderr and "Traceback" not in proc.stderr


def test_unreadable_run_json_is_a_clear_error(runs):
    run = localrun.init(dir=runs)
    run.finish()
    with open(os.path.join(run.dir, "run.json"), "w") as f:
        f.write("{broken")
    proc = cli("show", run.dir, check=False)
    assert proc.returncode == 1 and "run.json" in proc.stderr and "Traceback" not in proc.stderr


def test_newer_format_asks_to_upgrade(runs):
    run = localrun.init(dir=runs)
    run.finish()
    with open(os.path.join(run.dir, "run.json"), "w") as f:
        json.dump({"format": 99, "id": run.id}, f)
    proc = cli("show", run.dir, check=False)
    assert proc.returncode == 1 and "Upgrade localrun" in proc.stderr


def test_damaged_record_is_skipped_and_reported_on_stderr(runs):
    from localrun import rundir

    run = localrun.init(dir=runs)
    for i in range(10):
        run.log({"i": i})
    run.finish()
    from localrun.record.segment import SegmentReader

    (seg,) = rundir.segment_paths(run.dir)
    with open(seg, "rb") as f:
        data = bytearray(f.read())
    offsets = [o for o, _, _ in SegmentReader(seg)]
    data[offsets[4] + 12] ^= 0xFF  # inside the payload of the 4th log record
    with open(seg, "wb") as f:
        f.write(bytes(data))
    proc = cli("show", run.dir, "--json")
    d = json.loads(proc.stdout)
    assert d["rows"] == 9 and len(d["damaged"]) == 1
    assert "damaged record" in proc.stderr and "000001.lrs" in proc.stderr


def test_reading_commands_leave_the_recursion_limit_as_it_was(two_runs):
    # They raise it to read deeply nested values, and put it back (hypothesis, for one, minds).
    import sys

    before = sys.getrecursionlimit()
    for args in (("show",), ("show", "--json"), ("export",), ("verify",)):
        invoke(*args, os.path.join(two_runs, "aaa"))
        assert sys.getrecursionlimit() == before, args
