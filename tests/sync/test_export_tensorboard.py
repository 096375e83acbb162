"""`localrun export RUN --format tensorboard -o DIR`: event files TensorBoard shows.

Read back with TensorBoard's own event reader (``plugin_event_accumulator``, which reads every
plugin's summaries as TensorBoard's server does), and once through a real `tensorboard
--logdir` on 127.0.0.1, whose data server is the stricter reader (it drops 64-bit scalars).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from ..conftest import run_python
from .conftest import export_rows, show_json
from .mediarun import make_media_run

pytest.importorskip(
    "tensorboard", reason="the tensorboard extra: pip install 'localrun[tensorboard]'"
)

from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing import plugin_event_accumulator as pea  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

from .. import forkcli  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The media run, exported once for the tests that only read the export."""
    tmp = tmp_path_factory.mktemp("tb")
    run_dir = make_media_run(str(tmp / "runs"))
    out = tmp / "tb-export"
    proc = forkcli.run(["export", run_dir, "--format", "tensorboard", "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    events = pea.EventAccumulator(str(out / "media"), size_guidance={pea.TENSORS: 0})
    events.Reload()
    return run_dir, out, proc, events


def series(events, tag):
    """``(step, wall_time, array)`` of each point of a tag, with its plugin's name."""
    plugin = events.SummaryMetadata(tag).plugin_data.plugin_name
    return plugin, [
        (e.step, e.wall_time, tensor_util.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)
    ]


def media_bytes(run_dir, value) -> bytes:
    with open(os.path.join(run_dir, value["path"]), "rb") as f:
        return f.read()


def test_every_scalar_point_is_the_exported_value_at_its_step_and_time(exported):
    run_dir, out, proc, events = exported
    rows = export_rows(run_dir)
    wanted = {"loss", "acc", "big", "flag", "weird", "nested.a", "nested.b.c"}
    assert wanted <= set(events.Tags()["tensors"])
    for tag in wanted:
        points = []
        for row in rows:
            value = row
            for part in tag.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                points.append((row["_step"], row["_timestamp"], np.float32(value)))
        plugin, got = series(events, tag)
        assert plugin == "scalars"
        assert len(got) == len(points) > 0, tag
        for (step, when, value), (g_step, g_when, g_value) in zip(points, got, strict=True):
            assert (g_step, g_when) == (step, when)
            assert g_value.dtype == np.float32
            assert g_value == value or (np.isnan(value) and np.isnan(g_value)), (tag, step)


def test_images_are_the_logged_files_and_decode(exported):
    run_dir, out, proc, events = exported
    rows = export_rows(run_dir)
    plugin, got = series(events, "img")
    assert plugin == "images" and [p[0] for p in got] == [r["_step"] for r in rows]
    for (_, _, tensor), row in zip(got, rows, strict=True):
        width, height, data = tensor
        assert (int(width), int(height)) == (10, 8)
        assert data == media_bytes(run_dir, row["img"])
        assert Image.open(io.BytesIO(data)).size == (10, 8)
    # A list of images is one summary with each image (TensorBoard's samples).
    _, [(_, _, batch)] = series(events, "batch")
    assert len(batch) == 4
    files = rows[2]["batch"]["filenames"]
    assert [bytes(b) for b in batch[2:]] == [media_bytes(run_dir, {"path": f}) for f in files]
    # WebP, which TensorBoard does not show, became a PNG; JPEG and GIF are kept as stored.
    _, [(_, _, webp)] = series(events, "webp")
    assert webp[2].startswith(b"\x89PNG") and Image.open(io.BytesIO(webp[2])).size == (6, 4)
    _, [(_, _, photo)] = series(events, "photo")
    assert photo[2] == media_bytes(run_dir, rows[2]["photo"])
    _, [(_, _, anim)] = series(events, "anim")
    assert anim[2] == media_bytes(run_dir, rows[4]["anim"])
    assert Image.open(io.BytesIO(anim[2])).format == "GIF"
    # Masks and boxes are not drawn: the image is there, and stderr says so.
    _, [(_, _, seg)] = series(events, "seg")
    assert seg[2] == media_bytes(run_dir, rows[2]["seg"])
    assert "'seg': masks and boxes are not drawn" in proc.stderr


def test_histogram_buckets_are_the_logged_bins_and_counts(exported):
    run_dir, out, proc, events = exported
    rows = export_rows(run_dir)
    plugin, got = series(events, "hist")
    assert plugin == "histograms" and len(got) == len(rows)
    for (step, _, buckets), row in zip(got, rows, strict=True):
        assert step == row["_step"]
        bins, counts = row["hist"]["bins"], row["hist"]["values"]
        assert buckets.shape == (len(counts), 3)
        assert buckets[:, 2].tolist() == counts
        assert buckets[:, 0].tolist() == bins[:-1] and buckets[:, 1].tolist() == bins[1:]


def test_audio_text_and_what_is_left_out(exported):
    run_dir, out, proc, events = exported
    rows = export_rows(run_dir)
    # TensorBoard's reader keeps the clips and drops their labels (it shows none since 2.x).
    plugin, [(step, _, clip)] = series(events, "clip")
    assert plugin == "audio" and step == 3
    assert clip.tolist() == [media_bytes(run_dir, rows[3]["clip"])]
    _, [(_, _, clips)] = series(events, "clips")
    assert clips.tolist() == [media_bytes(run_dir, a) for a in rows[3]["clips"]["audio"]]

    def text(tag):
        plugin, [(_, _, value)] = series(events, tag)
        assert plugin == "text"
        return value.item().decode()

    assert text("note") == "text at step 1"
    assert text("page") == "```html\n" + media_bytes(run_dir, rows[3]["page"]).decode() + "\n```"
    table = text("table").splitlines()
    assert table[0] == "| id | label | picture |"
    assert table[2].startswith("| 1 | cat \\| dog | image-file media/")
    assert table[3] == "| 2 | x y | null |"
    assert text("curve_table").startswith("| step | lineKey | lineVal |")
    config = text("config")
    assert "| lr | 0.001 |" in config and '| opt | {"name":"adam","beta":0.9} |' in config
    for key in ("movie", "mesh", "mol"):
        assert key not in events.Tags()["tensors"]
        assert f"localrun: {key!r}:" in proc.stderr
    assert "TensorBoard has no place" not in proc.stderr  # nothing else was left out
    assert proc.stdout.startswith("media: wrote 6 rows")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tensorboard_serves_the_exported_run(exported):
    run_dir, out, proc, events = exported
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(out),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HTTP_PROXY": "", "HTTPS_PROXY": "", "NO_PROXY": "127.0.0.1"},
    )
    base = f"http://127.0.0.1:{port}/data/plugin"

    def get(path):
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return json.loads(r.read())

    try:
        deadline = time.monotonic() + 90
        points = []
        while time.monotonic() < deadline and len(points) < 6:
            try:
                points = get("/scalars/scalars?run=media&tag=loss")
            except OSError:
                pass
            time.sleep(0.5)
        rows = export_rows(run_dir)
        assert [(p[0], p[1]) for p in points] == [(r["_timestamp"], r["_step"]) for r in rows]
        assert [p[2] for p in points] == [float(np.float32(r["loss"])) for r in rows]
        assert len(get("/images/images?run=media&tag=img&sample=0")) == 6
        assert len(get("/histograms/histograms?run=media&tag=hist")) == 6
        assert len(get("/audio/audio?run=media&tag=clip&sample=0")) == 1
        assert "<table>" in get("/text/text?run=media&tag=table")[0]["text"]
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert show_json(run_dir)["state"] == "finished"


def test_export_tensorboard_without_the_extra_says_how_to_install_it(tmp_path):
    run_dir = make_media_run(str(tmp_path / "runs"))
    code = (
        "import sys; sys.modules['tensorboard'] = None\n"
        "from localrun.cli import main\n"
        f"main(['export', {run_dir!r}, '--format', 'tensorboard', '-o', {str(tmp_path / 'o')!r}])\n"
    )
    proc = run_python(code, check=False)
    assert proc.returncode == 1
    assert "pip install 'localrun[tensorboard]'" in proc.stderr
    assert not os.path.exists(tmp_path / "o")


def test_export_of_a_run_still_being_written_says_so(tmp_path):
    import localrun

    run = localrun.init(dir=str(tmp_path / "runs"), id="live", settings={"quiet": True})
    try:
        for i in range(3):
            run.log({"x": i})
        out = tmp_path / "tb"
        proc = forkcli.run(["export", run.dir, "--format", "tensorboard", "-o", str(out)])
        assert proc.returncode == 0, proc.stderr
        assert "the run is still being written, export again for more" in proc.stdout
        events = pea.EventAccumulator(str(out / "live"), size_guidance={pea.TENSORS: 0})
        events.Reload()
        # The writer's last row is still open (it could still take keys): replay writes it
        # out as export does, so all three rows are there.
        assert [e.step for e in events.Tensors("x")] == [0, 1, 2]
    finally:
        run.finish(quiet=True)
