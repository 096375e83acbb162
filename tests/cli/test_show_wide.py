"""`localrun show RUN` on wide runs: a screenful per section, quickly; --keys picks the rest."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import localrun

from ..conftest import cli
from .test_show import invoke


def child_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def test_show_of_a_run_with_40000_keys_is_a_screenful_in_under_2_s(runs):
    # Row 19 of issue 10: rich drew a 40,000-line table (42 s; a million keys, > 10 min).
    run = localrun.init(dir=runs, id="wide", config={f"c{i}": i for i in range(40_000)})
    keys = [f"train/k{i}" for i in range(40_000)]
    for step in range(20):
        run.log({k: step + j / 2 for j, k in enumerate(keys)})
    run.finish()
    cpu = child_cpu_s()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "localrun.cli", "show", run.dir],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "100"},
    )
    wall = time.perf_counter() - start
    cpu = child_cpu_s() - cpu
    assert proc.returncode == 0, proc.stderr
    # CPU time is what the command costs; the wall clock also counts other work on the machine.
    assert cpu < 2.0 and wall < 6.0, (cpu, wall)
    lines = proc.stdout.splitlines()
    assert len(lines) < 200, len(lines)
    assert "│ train/k49 " in proc.stdout and "│ train/k50 " not in proc.stdout
    assert "│ c49 " in proc.stdout and "│ c50 " not in proc.stdout
    more = [line for line in lines if line.startswith("... and ")]
    assert [m.split(":")[0] for m in more] == [
        "... and 39,950 more config keys",
        "... and 39,950 more summary keys",
        "... and 39,950 more metrics",
    ]
    assert more[2] == "... and 39,950 more metrics: see them with --keys 'train/*', or --json"


def wide_run(runs, n=60):
    run = localrun.init(dir=runs, id="w", config={"lr": 0.1, "opt/beta": 0.9, "seed": 1})
    for step in range(5):
        data = {f"train/m{i}": step * i for i in range(n)}
        data.update({"val/loss": 1.0 / (step + 1), "val/acc": step / 5})
        data["val/img"] = {"_type": "image-file", "path": "media/x.png"}
        data["train/img"] = {"_type": "image-file", "path": "media/y.png"}
        run.log(data)
    run.finish()
    return run.dir


def test_keys_narrows_every_section_to_names_and_globs(runs):
    path = wide_run(runs)
    result = invoke("show", path, "--keys", "val/*, lr")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for shown in ("val/loss", "val/acc", "val/img", "lr", "5 × image-file"):
        assert shown in out, shown
    for hidden in ("train/m1", "train/img", "opt/beta", "seed", "more"):
        assert hidden not in out, hidden
    doc = json.loads(invoke("show", path, "--json", "--keys", "val/*,lr").stdout)
    assert doc["config"] == {"lr": 0.1} and set(doc["summary"]) == {
        "val/loss",
        "val/acc",
        "val/img",
    }
    assert doc["rows"] == 5


def test_keys_that_match_nothing_say_so(runs):
    path = wide_run(runs)
    result = invoke("show", path, "--keys", "nope*")
    assert result.exit_code == 0
    assert "no config, summary, metric or media key matches --keys nope*" in result.stdout
    assert "train/m1" not in result.stdout


def test_a_section_shows_its_first_50_keys_in_order_then_how_many_more(runs):
    path = wide_run(runs, n=60)
    out = invoke("show", path).stdout
    metrics = out[out.index("metrics") :]
    assert metrics.index("train/m0 ") < metrics.index("train/m1 ") < metrics.index("train/m49 ")
    assert "train/m50 " not in metrics and "val/loss" not in metrics
    assert "... and 12 more metrics: see them with --keys 'train/*', or --json" in out
    assert "... and 14 more summary keys" in out  # 62 metrics and 2 images, minus 50
    narrowed = invoke("show", path, "--keys", "train/m5?,val/loss").stdout
    assert "train/m59" in narrowed and "val/loss" in narrowed and "more" not in narrowed


def test_fifty_keys_show_whole_with_no_more_line(runs):
    run = localrun.init(dir=runs, id="fifty")
    for step in range(3):
        run.log({f"k{i}": step for i in range(50)})
    run.finish()
    out = cli("show", run.dir).stdout
    assert "k49" in out and "more" not in out


def test_wide_columns_make_the_series_rows_make():
    # The column path for wide chunks (numbers only, in one key order) against row by row.
    import importlib

    show = importlib.import_module("localrun.cli.show")
    wide = [{"_x": 1.0, **{f"k{i}": float(i * r) for i in range(80)}} for r in range(20)]
    chunks = [
        wide,
        [{**row, "k3": 1} for row in wide],  # an int among floats
        [{**row, "k5": "s"} for row in wide],  # a string column: the general path
        [dict(reversed(row.items())) for row in wide],  # another key order
        [{**row, "img": {"_type": "image-file"}} for row in wide],  # media: row by row
    ]
    for wanted in (None, show.key_filter("k1*,_x")):
        for chunk in chunks:
            rows, cols = show._Sections(wanted), show._Sections(wanted)
            for row in chunk:
                rows.take_row(row)
            if not show._take_columns(chunk, cols.series, cols):
                for row in chunk:
                    cols.take_row(row)

            def state(sections):
                return [
                    (k, s.count, s.last, s.min, s.max, s.stride, s._skip, s.points)
                    if isinstance(s, show._Series)
                    else (k, s is show._HIDDEN)
                    for k, s in sections.series.items()
                ]

            assert state(cols) == state(rows)
            assert cols.hidden_series() == rows.hidden_series()
