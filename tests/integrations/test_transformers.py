"""Hugging Face ``Trainer(report_to="wandb")`` through ``localrun run``: a tiny GPT-2 built from
a config (nothing downloaded), four steps on the CPU, with the library's default WandbCallback.

With ``WANDB_LOG_MODEL=end`` the trained model becomes a model artifact (``wandb.Artifact``,
``add_dir``, ``log_artifact``).
"""

from __future__ import annotations

import json

import pytest

from .. import forkcli
from ..wandbrun import explain, launch, network_calls

pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
pytest.importorskip(
    "transformers", reason="transformers is not installed (pip install -e '.[integrations]')"
)

SCRIPT = """
import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=16, n_embd=16, n_layer=1, n_head=2))


class Tokens(torch.utils.data.Dataset):
    def __len__(self):
        return 32

    def __getitem__(self, i):
        ids = (torch.arange(16) + i) % 64
        return {"input_ids": ids, "labels": ids}


args = TrainingArguments(
    output_dir="out",
    max_steps=4,
    logging_steps=1,
    per_device_train_batch_size=4,
    learning_rate=1e-3,
    report_to="wandb",
    save_strategy="no",
    use_cpu=True,
    disable_tqdm=True,
)
Trainer(model=model, args=args, train_dataset=Tokens()).train()
"""


def test_trainer_report_to_wandb_records_loss_steps_and_the_model_config(tmp_path):
    proc = launch(tmp_path, SCRIPT)
    assert proc.returncode == 0, explain(proc)
    shown = forkcli.run(["show", "--json"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    (listed,) = json.loads(shown.stdout)
    one = forkcli.run(["show", "--json", f"runs/{listed['id']}"], cwd=tmp_path)
    run = json.loads(one.stdout)
    assert run["project"] == "huggingface" and run["state"] == "finished"
    config = run["config"]
    # The model's config and the training arguments, as WandbCallback sends them.
    assert (config["n_embd"], config["n_layer"], config["vocab_size"]) == (16, 1, 64)
    assert config["max_steps"] == 4 and config["learning_rate"] == 1e-3
    assert config["model/num_parameters"] > 0
    exported = forkcli.run(["export", f"runs/{run['id']}"], cwd=tmp_path)
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    losses = [(r["train/global_step"], r["train/loss"]) for r in rows if "train/loss" in r]
    assert [step for step, _ in losses] == [1, 2, 3, 4]
    assert all(0 < loss < 10 for _, loss in losses)
    # The end-of-training figures go to the summary, as wandb's.
    assert run["summary"]["train_loss"] > 0 and "train_runtime" in run["summary"]
    assert run["metrics"]["*"] == {"step_metric": "train/global_step", "step_sync": True}
    assert network_calls(tmp_path) == []


def test_wandb_log_model_end_keeps_the_trained_model_as_an_artifact(tmp_path):
    proc = launch(tmp_path, SCRIPT, env={"WANDB_LOG_MODEL": "end"})
    assert proc.returncode == 0, explain(proc)
    (listed,) = json.loads(forkcli.run(["show", "--json"], cwd=tmp_path).stdout)
    run = json.loads(forkcli.run(["show", "--json", f"runs/{listed['id']}"], cwd=tmp_path).stdout)
    # The model before training (base_model), then after it (final_model, latest).
    base, final = run["artifacts"]["logged"]
    assert base["name"] == final["name"] == f"model-{run['id']}" and final["type"] == "model"
    assert (base["version"], final["version"]) == (0, 1)
    assert "base_model" in base["aliases"] and {"final_model", "latest"} <= set(final["aliases"])
    got = forkcli.run(
        ["artifacts", "download", f"{final['name']}:final_model", "--root", "model"], cwd=tmp_path
    )
    assert got.returncode == 0, got.stderr
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(str(tmp_path / "model"))
    assert model.config.n_embd == 16 and model.config.vocab_size == 64
    assert network_calls(tmp_path) == []
