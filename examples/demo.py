"""A demo training run, logged with the wandb API through localrun, with every media type."""

import math
import os
import random

import numpy as np

import localrun as wandb

root = os.environ.setdefault("LOCALRUN_DIR", "runs")
fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "media")
run = wandb.init(project="demo", config={"lr": 3e-4, "epochs": 5, "batch_size": 64})
wandb.define_metric("val/loss", summary="min")
rng = np.random.default_rng(0)
step = 0
for epoch in range(run.config.epochs):
    for _batch in range(200):
        loss = 2.0 * math.exp(-step / 300) + random.random() * 0.05
        wandb.log({"train/loss": loss, "train/lr": run.config.lr, "epoch": epoch})
        step += 1
    wandb.log(
        {"val/loss": 2.0 * math.exp(-step / 350), "val/acc": 1 - math.exp(-step / 400)},
        commit=False,
    )
    # Once an epoch: weights as a histogram, and a sample prediction with a mask and a box.
    y, x = np.mgrid[0:64, 0:64]
    image = np.stack([(x * 4 + epoch * 40) % 256, y * 4, (x + y) * 2], axis=-1).astype(np.uint8)
    mask = ((x - 32) ** 2 + (y - 32) ** 2 < (10 + epoch * 3) ** 2).astype(np.uint8)
    box = {
        "position": {"minX": 0.3, "maxX": 0.7, "minY": 0.3, "maxY": 0.7},
        "class_id": 1,
        "scores": {"acc": 0.5 + epoch / 10},
    }
    wandb.log(
        {
            "weights": wandb.Histogram(rng.normal(scale=1 + epoch / 5, size=10_000)),
            "prediction": wandb.Image(
                image,
                caption=f"epoch {epoch}",
                masks={
                    "predictions": {"mask_data": mask, "class_labels": {0: "background", 1: "blob"}}
                },
                boxes={"predictions": {"box_data": [box], "class_labels": {1: "blob"}}},
            ),
        }
    )

# Everything else once, at the end.
samples = [
    wandb.Image(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), caption=f"sample {i}")
    for i in range(4)
]
table = wandb.Table(columns=["id", "image", "score"])
for i, img in enumerate(samples):
    table.add_data(i, img, float(rng.random()))
frames = np.stack(
    [
        np.roll(
            np.full((3, 32, 48), 40, np.uint8) + np.eye(32, 48, dtype=np.uint8) * 200, 4 * t, axis=2
        )
        for t in range(8)
    ]
)
wandb.log(
    {
        "samples": samples,
        "samples_table": table,
        "tone": wandb.Audio(
            np.sin(np.linspace(0, 2 * math.pi * 440, 8000)) * 0.3,
            sample_rate=8000,
            caption="440 Hz",
        ),
        "report": wandb.Html("<h1>Demo</h1><p>Every media type localrun stores.</p>"),
        "point_cloud": wandb.Object3D(rng.random((500, 3))),
        "cube": wandb.Object3D(os.path.join(fixtures, "sample.glb")),
        "molecule": wandb.Molecule(os.path.join(fixtures, "sample.pdb")),
    }
)
try:
    wandb.log({"clip": wandb.Video(frames, fps=4, format="gif")})
except wandb.Error as exc:  # PyAV not installed: pip install 'localrun[video]'
    print(f"demo: no video ({exc})")
labels = rng.integers(0, 3, 200)
scores = rng.dirichlet(np.ones(3), 200) * 0.5 + np.eye(3)[labels] * 0.5
curve = wandb.Table(
    data=[[s, 2.0 * math.exp(-s / 300)] for s in range(0, 1000, 50)], columns=["step", "loss"]
)
wandb.log(
    {
        "pr": wandb.plot.pr_curve(labels, scores, labels=["cat", "dog", "bird"]),
        "roc": wandb.plot.roc_curve(labels, scores, labels=["cat", "dog", "bird"]),
        "confusion": wandb.plot.confusion_matrix(
            probs=scores, y_true=labels, class_names=["cat", "dog", "bird"]
        ),
        "loss_curve": wandb.plot.line(curve, "step", "loss", title="loss"),
    }
)
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np.linspace(0, 10), np.linspace(0, 10) ** 2)
    wandb.log({"matplotlib": fig})
    plt.close(fig)
except ImportError:
    pass
# A file written into run.dir is kept with the run (files/), synced with it, as wandb's files.
with open(os.path.join(run.dir, "notes.txt"), "w") as f:
    f.write("a demo run: the loss goes down\n")
run.summary["best_epoch"] = run.config.epochs - 1
run.summary["final_weights"] = wandb.Histogram(rng.normal(size=1000))
wandb.finish()
with open(os.path.join(root, ".last-demo-run"), "w") as f:
    f.write(run.id)
