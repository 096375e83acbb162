"""A run holding every kind of value, made with the real recorder, for the export tests."""

from __future__ import annotations

import io
import os

import numpy as np

import localrun

from ..conftest import REPO

FIXTURES = os.path.join(REPO, "fixtures", "media")


def make_media_run(root: str, run_id: str = "media") -> str:
    """A finished run with scalars (NaN and infinities too), nested numbers, text, images
    (masks and boxes, a list, a WebP, a JPEG), histograms, audio (one clip and a list), a
    table with an image cell, HTML, a GIF and an MP4 video, a 3D object, a molecule, a chart,
    config and summary (an image among it). Returns its directory."""
    from PIL import Image

    run = localrun.init(
        project="exports",
        id=run_id,
        dir=root,
        name="every value",
        group="g1",
        job_type="train",
        tags=["a", "b"],
        notes="for the exports",
        config={"lr": 0.001, "layers": [64, 32], "opt": {"name": "adam", "beta": 0.9}},
        settings={"quiet": True},
    )
    rng = np.random.default_rng(0)
    webp = io.BytesIO()
    Image.new("RGB", (6, 4), (0, 128, 255)).save(webp, "WEBP", lossless=True)
    for i in range(6):
        pixels = rng.integers(0, 255, (8, 10, 3), dtype=np.uint8)
        row = {
            "loss": 1.0 / (i + 1) + 1e-9,
            "acc": i / 7,
            "big": 10**12 + i,
            "flag": i % 2 == 0,
            "nested": {"a": i * 0.5, "b": {"c": -i}},
            "hist": localrun.Histogram(rng.normal(size=200), num_bins=16),
            "img": localrun.Image(pixels, caption=f"step {i}"),
        }
        if i == 0:
            row["weird"] = float("nan")
        if i == 1:
            row["weird"] = float("inf")
            row["note"] = "text at step 1"
        if i == 2:
            mask = np.zeros((8, 10), dtype=np.uint8)
            mask[2:5, 3:7] = 1
            row["seg"] = localrun.Image(
                pixels,
                masks={"pred": {"mask_data": mask, "class_labels": {1: "cat"}}},
                boxes={
                    "truth": {
                        "box_data": [
                            {
                                "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.6},
                                "class_id": 1,
                            }
                        ],
                        "class_labels": {1: "cat"},
                    }
                },
            )
            row["batch"] = [localrun.Image(pixels[:, :, ::-1]), localrun.Image(255 - pixels)]
            row["webp"] = localrun.Image(io.BytesIO(webp.getvalue()), file_type="webp")
            row["photo"] = localrun.Image(os.path.join(FIXTURES, "sample.jpg"))
        if i == 3:
            t = np.linspace(0, 1, 800)
            row["clip"] = localrun.Audio(
                np.sin(2 * np.pi * 440 * t), sample_rate=8000, caption="la"
            )
            row["clips"] = [
                localrun.Audio(np.sin(2 * np.pi * 220 * t), sample_rate=8000, caption="low"),
                localrun.Audio(np.sin(2 * np.pi * 880 * t), sample_rate=8000),
            ]
            row["page"] = localrun.Html("<h1>Hello</h1><p>a | b</p>")
            row["table"] = localrun.Table(
                columns=["id", "label", "picture"],
                data=[[1, "cat | dog", localrun.Image(pixels)], [2, "x\ny", None]],
            )
        if i == 4:
            row["anim"] = localrun.Video(os.path.join(FIXTURES, "sample.gif"))
            row["movie"] = localrun.Video(os.path.join(FIXTURES, "sample.mp4"))
            row["mesh"] = localrun.Object3D(os.path.join(FIXTURES, "sample.glb"))
            row["mol"] = localrun.Molecule(os.path.join(FIXTURES, "sample.pdb"))
            row["curve"] = localrun.plot.line_series([[0, 1, 2]], [[1.0, 0.5, 0.25]], keys=["l"])
        run.log(row)
    run.summary["best_acc"] = 0.9
    run.summary["best_img"] = localrun.Image(np.zeros((4, 4, 3), dtype=np.uint8))
    localrun.finish(quiet=True)
    return run.dir
