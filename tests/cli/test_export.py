"""`localrun export`: the history as JSON Lines (or CSV), exactly the rows replay made."""

import csv
import io
import json
import math
import os

from click.testing import CliRunner

import localrun
from localrun.cli import main
from localrun.sync import RunView

from ..conftest import cli


def make_run(runs):
    run = localrun.init(dir=runs, id="exp")
    run.log({"loss": 0.5, "acc": 0.1})
    run.log({"loss": float("nan"), "extra": "text"}, commit=False)
    run.log({"acc": 0.2})
    run.log({"loss": math.inf}, step=10)
    run.log({"nested": {"a": [1, 2]}})
    run.finish()
    return run.dir


def test_export_prints_the_replayed_rows_as_json_lines(runs):
    path = make_run(runs)
    proc = cli("export", path)
    lines = proc.stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    expected = list(RunView(path).rows())
    assert len(rows) == 3 and [r["_step"] for r in rows] == [0, 1, 10]
    for got, want in zip(rows, expected, strict=True):
        assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
    assert math.isnan(rows[1]["loss"]) and rows[1]["extra"] == "text" and rows[1]["acc"] == 0.2
    assert rows[2]["loss"] == math.inf and rows[2]["nested"] == {"a": [1, 2]}


def test_export_keys_selects_columns(runs):
    path = make_run(runs)
    rows = [json.loads(x) for x in cli("export", path, "--keys", "acc").stdout.splitlines()]
    assert rows == [{"_step": 0, "acc": 0.1}, {"_step": 1, "acc": 0.2}, {"_step": 10}]


def test_export_csv_has_every_key_as_a_column(runs):
    path = make_run(runs)
    result = CliRunner().invoke(main, ["export", path, "--format", "csv"])
    assert result.exit_code == 0
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(table[0])[:5] == ["_step", "loss", "acc", "extra", "nested"]
    assert [r["_step"] for r in table] == ["0", "1", "10"]
    assert (
        table[0]["acc"] == "0.1" and table[2]["nested"] == '{"a":[1,2]}' and table[0]["extra"] == ""
    )


def test_export_to_a_file(runs, tmp_path):
    path = make_run(runs)
    out = tmp_path / "h.jsonl"
    result = CliRunner().invoke(main, ["export", path, "-o", str(out)])
    assert result.exit_code == 0 and len(out.read_text().splitlines()) == 3


def test_export_of_a_folder_with_several_runs_asks_for_one(runs):
    make_run(runs)
    localrun.init(dir=runs).finish()
    proc = cli("export", runs, check=False)
    assert (
        proc.returncode == 1
        and "export takes one run" in proc.stderr
        and "Traceback" not in proc.stderr
    )


def test_export_of_a_live_run_gives_a_consistent_prefix(runs):
    run = localrun.init(dir=runs)
    for i in range(100):
        run.log({"i": i})
    rows = [json.loads(x) for x in cli("export", run.dir).stdout.splitlines()]
    assert [r["i"] for r in rows] == list(range(100))
    run.finish()


def test_export_into_a_closed_pipe_is_quiet(runs):
    import subprocess
    import sys

    run = localrun.init(dir=runs)
    for i in range(20000):
        run.log({"i": i})
    run.finish()
    proc = subprocess.run(
        f"{sys.executable} -m localrun.cli export {run.dir} | head -1",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(proc.stdout)["i"] == 0 and "Traceback" not in proc.stderr
    assert os.path.exists(run.dir)


def _check_csv_against_replay(path, out):
    raw = out.read_bytes()
    table = list(csv.reader(io.StringIO(raw.decode(), newline="")))
    rows = list(RunView(path).rows())
    assert len(table) == 1 + len(rows) and raw.count(b"\r\n") == len(table)
    for cells, row in zip(table[1:], rows, strict=True):
        assert len(cells) == len(table[0])
        for name, cell in zip(table[0], cells, strict=True):
            v = row.get(name)
            if v is None:
                assert cell == ""
            elif isinstance(v, bool) or isinstance(v, str):
                assert cell == str(v)
            elif isinstance(v, list):
                assert json.loads(cell) == v
            elif isinstance(v, float) and math.isnan(v):
                assert cell == "nan"
            else:
                assert float(cell) == v and (type(v) is float or cell == str(v)), (name, cell, v)
    return table


def test_export_csv_of_a_sparse_run_writes_each_row_s_few_cells_in_their_columns(runs, tmp_path):
    # 300 keys, each row holding two or three of them: rows go the sparse way, except the
    # ones holding a string or a list, which take the general one.
    run = localrun.init(dir=runs, id="sparse")
    odd = [1e-05, -0.0, 2**63, float("nan"), math.inf, 5e-324, True, "a,b", None, [1, 2], 7]
    for i in range(900):
        row = {"loss": 1 / (i + 1), f"m{i % 300:03d}": i}
        if i % 7 == 0:
            row[f"o{i % 50:02d}"] = odd[i % len(odd)]
        run.log(row)
    run.finish()
    out = tmp_path / "s.csv"
    proc = cli("export", run.dir, "--format", "csv", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    table = _check_csv_against_replay(run.dir, out)
    assert len(table[0]) == 1 + 1 + 300 + 50 + 2


def test_export_csv_mixes_plain_number_rows_and_the_rest_in_order(runs, tmp_path):
    run = localrun.init(dir=runs, id="mix")
    values = [
        0.5,
        1e-05,
        1e22,
        -0.0,
        7,
        2**63,
        float("nan"),
        math.inf,
        True,
        "a,b",
        None,
        [1, 2],
        5e-324,
    ]
    for i in range(1300):  # past one batch of plain rows
        run.log({"x": values[i % len(values)] if i % 3 == 0 else i * 0.25, "y": i})
    run.log({"only_late": 1.0})
    run.finish()
    out = tmp_path / "h.csv"
    proc = cli("export", run.dir, "--format", "csv", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    raw = out.read_bytes()
    assert raw.count(b"\r\n") == 1 + 1301 and b"\n" not in raw.replace(b"\r\n", b"")
    table = _check_csv_against_replay(run.dir, out)
    assert table[0] == ["_step", "x", "y", "only_late", "_runtime", "_timestamp"]


def test_export_writes_to_a_stdout_that_takes_only_text(runs):
    # A notebook's or a caller's redirected stdout may have no byte buffer under it.
    import contextlib

    path = make_run(runs)
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        main(["export", path], standalone_mode=False)
    rows = [json.loads(line) for line in text.getvalue().splitlines()]
    assert [r["_step"] for r in rows] == [0, 1, 10] and math.isnan(rows[1]["loss"])


def test_the_commands_put_the_recursion_limit_back(runs):
    """Reading deep old values raises Python's recursion limit for the command only."""
    import sys

    make_run(runs)
    before = sys.getrecursionlimit()
    for args in (["export", runs + "/exp"], ["show", runs + "/exp"], ["verify", runs]):
        assert CliRunner().invoke(main, args).exit_code == 0
        assert sys.getrecursionlimit() == before
