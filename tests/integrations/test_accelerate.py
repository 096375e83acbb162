"""accelerate's ``Accelerator(log_with="wandb")`` through ``localrun run``: the tracker is found
(accelerate reads the package metadata) and records config, metrics and images."""

from __future__ import annotations

import json
import os

import pytest

from .. import forkcli
from ..wandbrun import explain, launch, network_calls

pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
pytest.importorskip(
    "accelerate", reason="accelerate is not installed (pip install -e '.[integrations]')"
)

SCRIPT = """
import torch
from accelerate import Accelerator

accelerator = Accelerator(log_with="wandb", cpu=True)
accelerator.init_trackers("acc-project", config={"lr": 0.1, "hidden": 8})
print(type(accelerator.get_tracker("wandb", unwrap=True)).__module__)
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
model, opt = accelerator.prepare(model, opt)
x, y = torch.randn(8, 4), torch.randn(8, 1)
for step in range(3):
    loss = torch.nn.functional.mse_loss(model(x), y)
    accelerator.backward(loss)
    opt.step()
    opt.zero_grad()
    accelerator.log({"train/loss": loss.item()}, step=step * 10)
accelerator.get_tracker("wandb").log_images({"inputs": [x.numpy()[None]]}, step=30)
accelerator.end_training()
"""


def test_accelerator_log_with_wandb_records_config_and_metrics(tmp_path):
    proc = launch(tmp_path, SCRIPT)
    assert proc.returncode == 0, explain(proc)
    assert proc.stdout.strip() == "localrun.run", "accelerate's tracker is not localrun's run"
    (run,) = json.loads(forkcli.run(["show", "--json"], cwd=tmp_path).stdout)
    run = json.loads(forkcli.run(["show", "--json", f"runs/{run['id']}"], cwd=tmp_path).stdout)
    assert run["project"] == "acc-project" and run["state"] == "finished"
    assert run["config"] == {"lr": 0.1, "hidden": 8}
    rows = [
        json.loads(line)
        for line in forkcli.run(["export", f"runs/{run['id']}"], cwd=tmp_path).stdout.splitlines()
    ]
    *losses, last = rows
    assert [r["_step"] for r in rows] == [0, 10, 20, 30]
    assert losses[0]["train/loss"] > losses[-1]["train/loss"] > 0
    # The tracker's log_images: wandb.Image, stored as media files beside the run.
    assert last["inputs"]["_type"] == "images/separated" and last["inputs"]["count"] == 1
    assert os.path.exists(os.path.join(tmp_path, run["path"], last["inputs"]["filenames"][0]))
    assert network_calls(tmp_path) == []
