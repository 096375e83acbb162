"""Lightning's ``WandbLogger()`` with its default arguments through ``localrun run``: a tiny
LightningModule, five steps on the CPU. Its ``save_dir="."`` must not put the run where
``localrun show`` cannot find it.

With ``log_model=True`` its checkpoints become a model artifact through ``wandb.Artifact`` and
``log_artifact``.
"""

from __future__ import annotations

import json
import os

import pytest

from .. import forkcli
from ..wandbrun import explain, launch, network_calls

pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
pytest.importorskip(
    "lightning", reason="lightning is not installed (pip install -e '.[integrations]')"
)

SCRIPT = """
import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger


class Tiny(L.LightningModule):
    def __init__(self, hidden=8, lr=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(4, hidden)
        self.out = torch.nn.Linear(hidden, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.out(torch.relu(self.layer(x))), y)
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
data = torch.utils.data.TensorDataset(torch.randn(20, 4), torch.randn(20, 1))
trainer = L.Trainer(
    max_steps=5,
    logger=WandbLogger(),
    log_every_n_steps=1,
    accelerator="cpu",
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=4))
trainer.logger.log_image(key="samples", images=[torch.zeros(8, 8, 3).numpy()], caption=["zeros"])
"""


def test_wandb_logger_with_defaults_records_where_show_finds_it(tmp_path):
    proc = launch(tmp_path, SCRIPT)
    assert proc.returncode == 0, explain(proc)
    shown = forkcli.run(["show", "--json"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    (listed,) = json.loads(shown.stdout)
    # Nothing in "." but the script, the runs root and the test's own network log.
    assert set(os.listdir(tmp_path)) - {"network.jsonl"} == {"runs", "script.py"}
    run = json.loads(forkcli.run(["show", "--json", f"runs/{listed['id']}"], cwd=tmp_path).stdout)
    assert run["project"] == "lightning_logs" and run["state"] == "finished"
    assert run["config"] == {"hidden": 8, "lr": 0.1}
    rows = [
        json.loads(line)
        for line in forkcli.run(["export", f"runs/{run['id']}"], cwd=tmp_path).stdout.splitlines()
    ]
    *steps, last = rows
    assert [r["trainer/global_step"] for r in steps] == [0, 1, 2, 3, 4]
    assert all(r["train/loss"] > 0 for r in steps)
    # WandbLogger.log_image: wandb.Image, stored as media files beside the run.
    images = last["samples"]
    assert images["_type"] == "images/separated" and images["count"] == 1
    assert os.path.exists(os.path.join(tmp_path, run["path"], images["filenames"][0]))
    assert run["metrics"]["*"] == {"step_metric": "trainer/global_step", "step_sync": True}
    assert network_calls(tmp_path) == []


def test_wandb_logger_log_model_keeps_the_checkpoint_as_a_model_artifact(tmp_path):
    script = SCRIPT.replace("logger=WandbLogger()", "logger=WandbLogger(log_model=True)").replace(
        "enable_checkpointing=False", "enable_checkpointing=True"
    )
    proc = launch(tmp_path, script)
    assert proc.returncode == 0, explain(proc)
    (listed,) = json.loads(forkcli.run(["show", "--json"], cwd=tmp_path).stdout)
    run = json.loads(forkcli.run(["show", "--json", f"runs/{listed['id']}"], cwd=tmp_path).stdout)
    (logged,) = run["artifacts"]["logged"]
    assert logged["name"] == f"model-{run['id']}" and logged["type"] == "model"
    assert "latest" in logged["aliases"] and logged["version"] == 0
    got = forkcli.run(
        ["artifacts", "download", f"model-{run['id']}:latest", "--root", "out"], cwd=tmp_path
    )
    assert got.returncode == 0, got.stderr
    (ckpt,) = [f for f in os.listdir(tmp_path / "out") if f.endswith(".ckpt")]
    import torch

    state = torch.load(tmp_path / "out" / ckpt, map_location="cpu", weights_only=False)
    assert state["global_step"] == 5 and "layer.weight" in "".join(state["state_dict"])
    assert network_calls(tmp_path) == []
