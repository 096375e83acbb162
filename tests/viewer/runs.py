"""Runs for the viewer tests, made with the real recorder (``python -m tests.viewer.runs DIR``
makes them in DIR, to look at by hand with ``localrun ui DIR``)."""

from __future__ import annotations

import math
import os
import sys

import numpy as np

import localrun

FIXTURES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "fixtures",
    "media",
)

XSS = "<img src=x onerror=window.__xss=1>"
XSS_SCRIPT = "<script>window.__xss=2</script>"


def scalar_run(
    root: str, run_id: str = "scalars", rows: int = 300, project: str = "demo", **config
) -> str:
    """Numbers in sections (train/, val/), NaN and infinities, a define_metric step metric,
    a dropped call (a step that went backwards), config and summary."""
    run = localrun.init(
        dir=root,
        project=project,
        id=run_id,
        name=f"{run_id}-name",
        config={"lr": 0.01, "optimizer": {"name": "adam", "beta": 0.9}, "layers": 4, **config},
        tags=["baseline"],
        group="sweep-1",
        notes="a run with every kind of number",
        settings={"quiet": True},
    )
    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch")
    for i in range(rows):
        data = {
            "train/loss": 1.0 / (i + 1),
            "train/acc": i / rows,
            "weird": math.nan
            if i % 50 == 10
            else (math.inf if i == 20 else (-math.inf if i == 30 else i % 7)),
            "spike": 1000.0 if i == rows // 2 else 1.0,
        }
        if i % 100 == 99:
            data["epoch"] = i // 100
            data["val/loss"] = 2.0 / (i + 1)
        run.log(data)
    run.log({"late": 1.0}, step=5)  # goes backwards: dropped, and shown as dropped
    run.summary["best"] = 0.5
    run.finish()
    return os.path.join(root, run_id)


def _png(color=(200, 30, 30), size=(12, 16)) -> np.ndarray:
    a = np.zeros((size[0], size[1], 3), dtype=np.uint8)
    a[...] = color
    return a


def _wav(path: str) -> None:
    import wave

    t = np.arange(8000) / 8000
    samples = (np.sin(2 * np.pi * 440 * t) * 20000).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.tobytes())


def media_run(root: str, run_id: str = "media", video: bool = True) -> str:
    """One value of every phase-1 media type, some over several steps."""
    run = localrun.init(dir=root, project="demo", id=run_id, settings={"quiet": True})
    tmp = os.path.join(root, f".{run_id}-sources")
    os.makedirs(tmp, exist_ok=True)
    wav = os.path.join(tmp, "tone.wav")
    _wav(wav)
    for step in range(3):
        data = {
            "samples/one": localrun.Image(_png((80 * step, 30, 200)), caption=f"one at {step}"),
            "samples/grid": [
                localrun.Image(_png((50 * k, 100, 20 * step)), caption=f"grid {k}")
                for k in range(4)
            ],
            "weights": localrun.Histogram(np.random.default_rng(step).normal(step, 1, 500)),
            "loss": 1.0 / (step + 1),
        }
        run.log(data)
    table = localrun.Table(columns=["id", "label", "score"])
    for k in range(60):
        table.add_data(k, f"item {k}", float(k % 9) if k != 5 else math.nan)
    run.log(
        {
            "preds": table,
            "sound": localrun.Audio(wav, caption="a tone"),
            "page": localrun.Html(
                "<p id='inside'>hello from an Html value</p><script>window.__html_ran=1</script>"
            ),
        }
    )
    if video:
        frames = np.zeros((6, 3, 16, 16), dtype=np.uint8)
        for f in range(6):
            frames[f, 0, :, : 2 + 2 * f] = 255
        run.log({"clip": localrun.Video(frames, fps=4, format="webm", caption="a clip")})
    run.finish()
    return os.path.join(root, run_id)


SDF = """methane
  localrun test

  5  4  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.6291    0.6291    0.6291 H   0  0  0  0  0  0  0  0  0  0  0  0
   -0.6291   -0.6291    0.6291 H   0  0  0  0  0  0  0  0  0  0  0  0
   -0.6291    0.6291   -0.6291 H   0  0  0  0  0  0  0  0  0  0  0  0
    0.6291   -0.6291   -0.6291 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0  0  0  0
  1  3  1  0  0  0  0
  1  4  1  0  0  0  0
  1  5  1  0  0  0  0
M  END
$$$$
"""


def _segmented(step: int = 0, size=(32, 48)):
    """A grey image with two class regions (1: a square, 2: a bar) and boxes around them."""
    h, w = size
    img = np.full((h, w, 3), 90, dtype=np.uint8)
    mask = np.zeros((h, w), dtype=np.uint8)
    mask[4:16, 4 + step : 16 + step] = 1
    mask[20:28, :] = 2
    masks = {"predictions": {"mask_data": mask, "class_labels": {1: "square", 2: "bar"}}}
    boxes = {
        "predictions": {
            "box_data": [
                {
                    "position": {"minX": 0.05, "maxX": 0.4, "minY": 0.1, "maxY": 0.55},
                    "class_id": 1,
                    "scores": {"conf": 0.9},
                },
                {
                    "position": {"middle": [24, 24], "width": 40, "height": 10},
                    "domain": "pixel",
                    "class_id": 2,
                    "scores": {"conf": 0.3},
                    "box_caption": "a bar",
                },
            ],
            "class_labels": {1: "square", 2: "bar"},
        }
    }
    return localrun.Image(img, caption=f"segmented {step}", masks=masks, boxes=boxes)


def media2_run(root: str, run_id: str = "media2") -> str:
    """The phase-2 media: masks and boxes (one image and a grid), a table with media cells,
    Object3D (point clouds N x 3, 4, 6; a lidar scene; model files), molecules (PDB, SDF),
    every plot.* preset and a plot_table of a custom preset, a matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = localrun.init(dir=root, project="demo", id=run_id, settings={"quiet": True})
    tmp = os.path.join(root, f".{run_id}-sources")
    os.makedirs(tmp, exist_ok=True)
    sdf = os.path.join(tmp, "methane.sdf")
    with open(sdf, "w") as f:
        f.write(SDF)
    rng = np.random.default_rng(0)
    for step in range(2):
        run.log({"seg/one": _segmented(step), "seg/grid": [_segmented(k) for k in range(3)]})
    # A mask with a class id over 255 (a 16-bit PNG).
    big = np.zeros((8, 8), dtype=np.uint16)
    big[:, 4:] = 300
    run.log(
        {
            "seg/wide": localrun.Image(
                _png((0, 0, 0), (8, 8)),
                masks={"ids": {"mask_data": big, "class_labels": {300: "three hundred"}}},
            )
        }
    )
    xyz = rng.normal(0, 1, (400, 3))
    cat = np.hstack([rng.normal(0, 1, (300, 3)), rng.integers(1, 15, (300, 1))])
    rgb = np.hstack([rng.uniform(-1, 1, (300, 3)), np.tile([[230, 20, 20]], (300, 1))])
    corners = [[x, y, z] for x in (0, 1) for y in (0, 2) for z in (0, 0.5)]
    scene = {
        "type": "lidar/beta",
        "points": rng.uniform(-2, 2, (500, 3)),
        "boxes": np.array(
            [{"corners": corners, "label": "car", "color": [255, 0, 0], "score": 0.8}],
            dtype=object,
        ),
        "vectors": np.array([{"start": [0, 0, 0], "end": [1.5, 1.5, 1.0]}], dtype=object),
    }
    run.log(
        {
            "cloud/xyz": localrun.Object3D(xyz),
            "cloud/category": localrun.Object3D(cat),
            "cloud/rgb": localrun.Object3D(rgb),
            "cloud/scene": localrun.Object3D(scene),
            "model/glb": localrun.Object3D(os.path.join(FIXTURES, "sample.glb")),
            "model/gltf": localrun.Object3D(os.path.join(FIXTURES, "sample.gltf")),
            "model/obj": localrun.Object3D(os.path.join(FIXTURES, "sample.obj")),
            "model/stl": localrun.Object3D(os.path.join(FIXTURES, "sample.stl")),
            "mol/pdb": localrun.Molecule(os.path.join(FIXTURES, "sample.pdb"), caption="glycine"),
            "mol/sdf": localrun.Molecule(sdf),
        }
    )
    wav = os.path.join(tmp, "tone.wav")
    _wav(wav)
    cells = localrun.Table(columns=["id", "image", "sound", "cloud", "molecule", "hist", "note"])
    for k in range(3):
        cells.add_data(
            k,
            _segmented(k),
            localrun.Audio(wav),
            localrun.Object3D(xyz[: 50 * (k + 1)]),
            localrun.Molecule(os.path.join(FIXTURES, "sample.pdb")),
            localrun.Histogram(rng.normal(k, 1, 100)),
            f"row {k}",
        )
    run.log({"cells": cells})
    # Every plot.* preset, and plot_table of a preset that is not wandb's.
    xs = np.linspace(0, 1, 30)
    line = localrun.Table(columns=["x", "y"], data=[[float(x), float(x * x)] for x in xs])
    bars = localrun.Table(columns=["name", "count"], data=[["a", 3], ["b", 7], ["c", 5]])
    vals = localrun.Table(columns=["v"], data=[[float(v)] for v in rng.normal(0, 1, 200)])
    y_true = np.array([0, 1, 2, 1, 0, 2, 1, 1, 0, 2] * 5)
    probas = rng.dirichlet([1, 1, 1], len(y_true))
    probas[np.arange(len(y_true)), y_true] += 0.3
    probas /= probas.sum(axis=1, keepdims=True)
    labels = ["cat", "dog", "bird"]
    run.log(
        {
            "plots/line": localrun.plot.line(line, "x", "y", title="a line"),
            "plots/scatter": localrun.plot.scatter(line, "x", "y", title="a scatter"),
            "plots/bar": localrun.plot.bar(bars, "name", "count", title="some bars"),
            "plots/histogram": localrun.plot.histogram(vals, "v", title="a histogram"),
            "plots/series": localrun.plot.line_series(
                [0, 1, 2, 3], [[1, 2, 3, 4], [4, 3, 2, 1]], keys=["up", "down"], title="series"
            ),
            "plots/pr": localrun.plot.pr_curve(y_true, probas, labels=labels),
            "plots/roc": localrun.plot.roc_curve(y_true, probas, labels=labels),
            "plots/confusion": localrun.plot.confusion_matrix(
                y_true=y_true, preds=probas.argmax(axis=1), class_names=labels
            ),
            "plots/custom": localrun.plot_table("me/my-chart/v0", line, {"x": "x", "y": "y"}),
        }
    )
    fig, ax = plt.subplots(figsize=(3, 2), dpi=60)
    ax.plot([0, 1, 2], [0, 1, 0], color="red", linewidth=4)
    run.log({"figure": fig})
    plt.close(fig)
    run.finish()
    return os.path.join(root, run_id)


def xss_run(root: str, run_id: str = "xss") -> str:
    """Markup everywhere a run has a string: name, key, config, caption, table cell, tags, notes."""
    run = localrun.init(
        dir=root,
        project="demo",
        id=run_id,
        name=XSS,
        config={XSS: XSS_SCRIPT, "note": XSS},
        tags=[XSS],
        notes=XSS_SCRIPT,
        settings={"quiet": True},
    )
    table = localrun.Table(columns=[XSS, "b"], data=[[XSS, XSS_SCRIPT]])
    for i in range(5):
        run.log({XSS: float(i), f"train/{XSS}": i * 2.0})
    mask = np.zeros((12, 16), dtype=np.uint8)
    mask[2:6, 2:6] = 1
    marked = localrun.Image(
        _png(),
        caption=XSS,
        masks={XSS: {"mask_data": mask, "class_labels": {1: XSS}}},
        boxes={
            XSS_SCRIPT: {
                "box_data": [
                    {
                        "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.1, "maxY": 0.5},
                        "class_id": 1,
                        "scores": {XSS: 0.5},
                        "box_caption": XSS_SCRIPT,
                    },
                    {
                        "position": {"minX": 0.5, "maxX": 0.9, "minY": 0.5, "maxY": 0.9},
                        "class_id": 2,
                    },
                ],
                "class_labels": {1: XSS},
            }
        },
    )
    cells = localrun.Table(columns=["image", XSS], data=[[marked, XSS]])
    scene = {
        "type": "lidar/beta",
        "points": [[0, 0, 0], [1, 1, 1]],
        "boxes": [
            {"corners": [[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], "label": XSS}
        ],
    }
    bars = localrun.Table(columns=[XSS, "n"], data=[[XSS, 1], [XSS_SCRIPT, 2]])
    run.log(
        {
            "img": localrun.Image(_png(), caption=XSS),
            "marked": marked,
            "tbl": table,
            "cells": cells,
            "scene": localrun.Object3D(scene, caption=XSS),
            "bars": localrun.plot.bar(bars, XSS, "n", title=XSS),
            "str": XSS,
        }
    )
    run.summary[XSS] = XSS
    run.finish()
    return os.path.join(root, run_id)


if __name__ == "__main__":
    out = sys.argv[1]
    os.environ.setdefault("LOCALRUN_SILENT", "1")
    scalar_run(out)
    scalar_run(out, "scalars2", rows=250, lr=0.02)
    scalar_run(out, "long", rows=5000, project="other")
    media_run(out)
    media2_run(out)
    xss_run(out)
    print(out)
