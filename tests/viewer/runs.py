"""Runs for the viewer tests, made with the real recorder (``python -m tests.viewer.runs DIR``
makes them in DIR, to look at by hand with ``localrun ui DIR``)."""

from __future__ import annotations

import math
import os
import sys

import numpy as np

import localrun

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
    run.log(
        {
            "img": localrun.Image(_png(), caption=XSS),
            "tbl": table,
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
    xss_run(out)
    print(out)
