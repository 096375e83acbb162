"""The exports to wandb and TensorBoard and the media files a run's values name: a file the run
lacks is reported and the rest exported; a path that leaves the run is never followed."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import localrun

from .. import forkcli

FORMATS = [
    pytest.param(
        fmt,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(fmt) is None, reason=f"pip install 'localrun[{fmt}]'"
        ),
    )
    for fmt in ("wandb", "tensorboard")
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_missing_media_file_is_reported_and_the_rest_exported(tmp_path, fmt):
    run = localrun.init(dir=str(tmp_path / "runs"), id="m", settings={"quiet": True})
    run.log({"x": 1, "img": localrun.Image(np.zeros((4, 4, 3), dtype=np.uint8))})
    run.log({"x": 2, "img": localrun.Image(np.ones((4, 4, 3), dtype=np.uint8) * 200)})
    run.finish(quiet=True)
    first = os.path.join(
        run.dir, localrun.sync.RunView(run.dir).to_json()["summary"]["img"]["path"]
    )
    gone = sorted(
        p for p in os.listdir(os.path.join(run.dir, "media")) if p != os.path.basename(first)
    )
    os.remove(os.path.join(run.dir, "media", gone[0]))
    # A hand-made value (no recorder writes one) naming a file outside the run.
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for export")
    run2 = localrun.init(
        dir=str(tmp_path / "runs"), id="m", resume="allow", settings={"quiet": True}
    )
    run2.log({"evil": {"_type": "image-file", "path": "../../secret.png"}})
    run2.finish(quiet=True)

    out = tmp_path / "out"
    proc = forkcli.run(["export", run.dir, "--format", fmt, "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert f"localrun: media file media/{gone[0]} not exported: " in proc.stderr
    assert (
        "localrun: media file ../../secret.png not exported: '../../secret.png' leaves the run directory"
        in proc.stderr
    )
    assert "wrote 3 rows and 1 media file " in proc.stdout
    for folder, _, names in os.walk(out):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                assert f.read() != b"not for export"
    assert sorted(os.listdir(tmp_path)) == ["out", "runs", "secret.png"]
