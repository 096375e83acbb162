"""A demo training run, logged with the wandb API through localrun."""

import math
import os
import random

import localrun as wandb

root = os.environ.setdefault("LOCALRUN_DIR", "demo-runs")
run = wandb.init(project="demo", config={"lr": 3e-4, "epochs": 5, "batch_size": 64})
wandb.define_metric("val/loss", summary="min")
step = 0
for epoch in range(run.config.epochs):
    for _batch in range(200):
        loss = 2.0 * math.exp(-step / 300) + random.random() * 0.05
        wandb.log({"train/loss": loss, "train/lr": run.config.lr, "epoch": epoch})
        step += 1
    wandb.log({"val/loss": 2.0 * math.exp(-step / 350), "val/acc": 1 - math.exp(-step / 400)}, commit=False)
run.summary["best_epoch"] = run.config.epochs - 1
wandb.finish()
with open(os.path.join(root, ".last-demo-run"), "w") as f:
    f.write(run.id)
