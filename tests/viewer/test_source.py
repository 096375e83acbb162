"""LocalSource over real run directories: documents, keys, series, media, rows, files, live runs."""

import json
import math
import os
import shutil
import time

import numpy as np
import pytest

from localrun.viewer import NotFoundError, ReadError, RunRef
from localrun.viewer.local import LocalSource

from .. import forkcli
from . import runs as made

SCALARS = RunRef("demo", "scalars")
MEDIA = RunRef("demo", "media")


@pytest.fixture(scope="module")
def source(runs_dir):
    return LocalSource([runs_dir])


def _show_json(path):
    out = forkcli.run(["show", path, "--json"], check=True).stdout
    return json.loads(out)


def _same(a, b):
    """Equal, NaN equal to NaN (JSON round trip of the documents)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_list_runs_gives_the_documents_localrun_show_prints(source, runs_dir):
    docs = source.list_runs()
    assert {(d["project"], d["id"]) for d in docs} == {
        ("demo", "scalars"),
        ("demo", "scalars2"),
        ("other", "long"),
        ("demo", "media"),
        ("demo", "xss"),
    }
    shown = {d["id"]: d for d in _show_json(runs_dir)}
    for d in docs:
        assert d["state"] == "finished"
        assert _same(json.loads(json.dumps(d)), shown[d["id"]])
    created = [d["created_at"] for d in docs]
    assert created == sorted(created, reverse=True)


def test_run_document_has_state_dropped_calls_and_config(source):
    doc = source.run(SCALARS)
    assert doc["state"] == "finished" and doc["rows"] == 300
    assert doc["config"]["optimizer"] == {"name": "adam", "beta": 0.9}
    assert doc["dropped"] == [{"step": 5, "current_step": 300, "keys": ["late"]}]


def test_an_unknown_run_is_not_found(source):
    with pytest.raises(NotFoundError, match="no run 'demo'/'nope'"):
        source.run(RunRef("demo", "nope"))


def test_keys_say_which_are_numbers_and_which_media(source):
    k = source.keys(SCALARS)
    assert k["rows"] == 300 and k["last_step"] == 299
    assert k["x"] == ["_step", "_runtime", "_timestamp", "epoch"]
    loss = k["keys"]["train/loss"]
    assert loss == {
        "type": "number",
        "types": {"number": 300},
        "count": 300,
        "first_step": 0,
        "last_step": 299,
    }
    assert k["keys"]["val/loss"]["count"] == 3 and k["keys"]["val/loss"]["first_step"] == 99
    assert "_step" not in k["keys"] and "late" not in k["keys"]  # a dropped call made no row
    media = source.keys(MEDIA)["keys"]
    assert {key: v["type"] for key, v in media.items()} == {
        "clip": "video-file",
        "loss": "number",
        "page": "html-file",
        "preds": "table-file",
        "samples/grid": "images/separated",
        "samples/one": "image-file",
        "sound": "audio-file",
        "weights": "histogram",
    }
    assert media["weights"]["count"] == 3


def test_series_carry_nan_and_infinities_at_their_steps(source):
    s = source.series(SCALARS, ["weird"])["weird"]
    assert s.count == 300 and not s.sampled
    y = s.y.tolist()
    assert math.isnan(y[10]) and math.isnan(y[60]) and y[20] == math.inf and y[30] == -math.inf
    assert s.x.tolist() == list(range(300))


def test_series_against_a_define_metric_step_metric(source):
    s = source.series(SCALARS, ["val/loss"], x="epoch")["val/loss"]
    assert s.x.tolist() == [0.0, 1.0, 2.0]
    assert s.y.tolist() == pytest.approx([2 / 100, 2 / 200, 2 / 300])
    rt = source.series(SCALARS, ["train/loss"], x="_runtime")["train/loss"]
    assert rt.count == 300 and np.all(np.diff(rt.x) >= 0)


def test_series_of_a_long_run_is_downsampled_and_keeps_the_spike(source):
    s = source.series(RunRef("other", "long"), ["spike"], points=200)["spike"]
    assert s.sampled and s.count == 5000 and len(s.x) <= 202
    assert 1000.0 in s.y.tolist()
    zoomed = source.series(RunRef("other", "long"), ["spike"], points=200, lo=2400, hi=2550)
    assert not zoomed["spike"].sampled and zoomed["spike"].count == 153


def test_series_refuses_an_unknown_x_axis_and_gives_empty_series_for_other_keys(source):
    with pytest.raises(ReadError, match="x='nope'"):
        source.series(SCALARS, ["train/loss"], x="nope")
    assert source.series(MEDIA, ["samples/one"])["samples/one"].count == 0


def test_media_gives_every_value_with_its_step(source):
    m = source.media(MEDIA, "samples/grid")
    assert m["type"] == "images/separated" and m["count"] == 3 and not m["sampled"]
    assert [i["step"] for i in m["items"]] == [0, 1, 2]
    assert m["items"][2]["value"]["captions"] == ["grid 0", "grid 1", "grid 2", "grid 3"]
    h = source.media(MEDIA, "weights", points=2)
    assert h["sampled"] and [i["step"] for i in h["items"]] == [0, 2]
    assert len(h["items"][0]["value"]["values"]) == 64


def test_rows_are_the_rows_export_gives(source, runs_dir):
    out = forkcli.run(["export", os.path.join(runs_dir, "scalars")], check=True).stdout
    exported = [json.loads(line) for line in out.splitlines()]
    rows = source.rows(SCALARS, after=-1, limit=100_000)
    assert _same(json.loads(json.dumps(rows)), exported)
    page = source.rows(SCALARS, after=99, limit=10)
    assert [r["_step"] for r in page] == list(range(100, 110))


def test_open_file_serves_media_files_only(source, runs_dir):
    value = source.media(MEDIA, "samples/one")["items"][0]["value"]
    path = source.open_file(MEDIA, value["path"])
    assert os.path.isfile(path) and path.endswith(".png")
    for bad in (
        "run.json",
        "segments/000001.lrs",
        "media/../run.json",
        "../scalars/run.json",
        "/etc/passwd",
        "media/",
        "media/nope.png",
        "media/sub/x.png",
    ):
        with pytest.raises(NotFoundError):
            source.open_file(MEDIA, bad)


def test_a_symlink_out_of_media_is_refused(tmp_path):
    root = str(tmp_path / "runs")
    made.scalar_run(root, rows=3)
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.makedirs(os.path.join(root, "scalars", "media"), exist_ok=True)
    os.symlink(secret, os.path.join(root, "scalars", "media", "link.txt"))
    with pytest.raises(NotFoundError):
        LocalSource([root]).open_file(SCALARS, "media/link.txt")


def test_new_runs_appear_and_a_folder_without_runs_yet_is_fine(tmp_path):
    root = str(tmp_path / "runs")
    os.makedirs(root)
    source = LocalSource([root])
    assert source.list_runs() == []
    made.scalar_run(root, rows=10)
    assert [d["id"] for d in source.list_runs()] == ["scalars"]
    assert source.keys(SCALARS)["rows"] == 10


def test_two_copies_of_one_run_show_once_and_are_reported(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    made.scalar_run(a, rows=3)
    shutil.copytree(a, b)
    source = LocalSource([a, b])
    assert len(source.list_runs()) == 1
    assert len(source.duplicates) == 1 and "demo/scalars" in source.duplicates[0]


def test_a_running_run_is_read_again_as_it_grows(writer):
    source = LocalSource([writer.root], refresh_s=0)
    ref = RunRef("live", "writer")
    assert source.run(ref)["state"] == "running"
    before = source.series(ref, ["live/x"])["live/x"]
    assert before.count >= 20
    writer.log_once()
    after = source.series(ref, ["live/x"])["live/x"]
    assert after.count == before.count + 1 and after.y[-1] == 1020.0
    assert source.keys(ref)["keys"]["live/new"]["count"] == 1
    # As a page asks: the document first (which reads the run again), then its series.
    paced = LocalSource([writer.root])
    paced.series(ref, ["live/x"])
    writer.log_once()
    time.sleep(paced.refresh_s + 0.1)
    assert paced.run(ref)["rows"] == after.count + 1
    assert paced.series(ref, ["live/x"])["live/x"].count == after.count + 1
    writer.stop()
    deadline = time.monotonic() + 10
    while source.run(ref)["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert source.run(ref)["state"] == "finished"
