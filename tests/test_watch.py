"""watch()/unwatch(): histograms of a real torch model's parameters and gradients, read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import localrun
from localrun.errors import Error, UsageError
from localrun.sync import RunView
from localrun.sync.verify import verify_run

torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.fixture
def run(tmp_path):
    r = localrun.init(dir=str(tmp_path), settings={"quiet": True})
    yield r
    r.finish(quiet=True)


def _model(seed: int = 0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def _histogram(values) -> dict:
    counts, edges = np.histogram(np.asarray(values).ravel(), bins=64)
    return {"_type": "histogram", "bins": edges.tolist(), "values": counts.tolist()}


def _train(model, steps: int, log=localrun.log):
    """A training loop; returns, per step, the parameters seen by forward and the gradients."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    for _ in range(steps):
        x = torch.randn(16, 4)
        params = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        grads = {
            n: p.grad.numpy().copy() for n, p in model.named_parameters() if p.grad is not None
        }
        opt.step()
        log({"loss": loss.item()})
        seen.append((params, grads))
    return seen


def _rows(run) -> list[dict]:
    return list(RunView(run.dir).rows())


def _watch_keys(row: dict) -> list[str]:
    return sorted(k for k in row if k.startswith(("parameters/", "gradients/")))


def test_watch_all_logs_histograms_every_log_freq_batches(run):
    model = _model()
    localrun.watch(model, log="all", log_freq=3)
    seen = _train(model, 12)
    run.finish(quiet=True)
    rows = _rows(run)
    assert len(rows) == 12
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    # wandb's count: the 3rd, 6th, 9th... batch logs, into the row that batch's log() commits.
    for step, row in enumerate(rows):
        if (step + 1) % 3:
            assert _watch_keys(row) == [], step
            continue
        assert _watch_keys(row) == sorted(
            [f"parameters/{n}" for n in names] + [f"gradients/{n}" for n in names]
        )
        params, grads = seen[step]
        for n in names:
            assert row[f"parameters/{n}"] == _histogram(params[n])
            assert row[f"gradients/{n}"] == _histogram(grads[n])
            assert len(row[f"gradients/{n}"]["values"]) == 64


def test_watch_logs_gradients_only_by_default_and_log_none_nothing(run):
    model = _model()
    run.watch(model, log_freq=2)
    other = _model(1)
    run.watch(other, log=None, log_freq=1)
    _train(model, 4)
    _train(other, 2)
    run.finish(quiet=True)
    keyed = [(r["_step"], _watch_keys(r)) for r in _rows(run) if _watch_keys(r)]
    grads = ["gradients/0.bias", "gradients/0.weight", "gradients/2.bias", "gradients/2.weight"]
    assert keyed == [(1, grads), (3, grads)]


def test_log_freq_one_logs_every_batch_and_frozen_parameters_get_no_gradient_hook(run):
    model = _model()
    model[0].weight.requires_grad_(False)
    localrun.watch(model, log="all", log_freq=1)
    _train(model, 2)
    run.finish(quiet=True)
    for row in _rows(run):
        assert "gradients/0.weight" not in row
        assert "parameters/0.weight" in row and "gradients/0.bias" in row


def test_unwatch_stops_logging(run):
    model, other = _model(), _model(1)
    localrun.watch(model, log="all", log_freq=1)
    localrun.watch(other, log="all", log_freq=1)
    _train(model, 1)
    localrun.unwatch(model)
    _train(model, 2)
    _train(other, 1)
    localrun.unwatch()
    _train(other, 1)
    localrun.watch(model, idx=0)  # unwatched, its hook names are free again
    run.finish(quiet=True)
    rows = _rows(run)
    assert "gradients/0.weight" in rows[0] and "parameters/0.weight" in rows[0]
    assert [_watch_keys(r) for r in rows[1:3]] == [[], []]
    assert "gradients/graph_10.weight" in rows[3] and "parameters/graph_10.weight" in rows[3]
    assert _watch_keys(rows[4]) == []


def test_several_models_take_wandb_prefixes(run):
    a, b, c, d = (_model(i) for i in range(4))
    localrun.watch([a, b], log="parameters", log_freq=1)
    localrun.watch(c, log="parameters", log_freq=1)
    localrun.watch(d, log="parameters", log_freq=1, idx=7)
    for m in (a, b, c, d):
        m(torch.randn(1, 4))
    localrun.log({})
    run.finish(quiet=True)
    (row,) = _rows(run)
    prefixes = {
        k[len("parameters/") : -len("0.weight")] for k in _watch_keys(row) if k.endswith("0.weight")
    }
    assert prefixes == {"", "graph_1", "graph_2", "graph_7"}
    assert row["parameters/graph_1" + "2.bias"] == _histogram(b[2].bias.detach().numpy())


def test_a_hook_name_already_taken_is_refused(run):
    model = _model()
    localrun.watch(model, idx=2)
    with pytest.raises(UsageError, match="unwatch"):
        localrun.watch(_model(1), idx=2)


def test_a_model_outliving_its_run_logs_nothing_and_raises_nothing(tmp_path):
    first = localrun.init(dir=str(tmp_path), settings={"quiet": True})
    model = _model()
    localrun.watch(model, log="all", log_freq=1, log_graph=True)
    _train(model, 2)
    first.finish(quiet=True)
    _train(model, 2, log=lambda data: None)  # no run: hooks removed, nothing raised
    second = localrun.init(dir=str(tmp_path), settings={"quiet": True})
    _train(model, 2)
    second.finish(quiet=True)
    assert [len(_watch_keys(r)) for r in _rows(first)] == [8, 8]
    assert [_watch_keys(r) for r in _rows(second)] == [[], []]
    assert list(model[0]._forward_hooks) == [] and list(model._forward_hooks) == []
    assert all(not p._backward_hooks for p in model.parameters())


def test_log_graph_writes_the_module_tree_to_the_summary(run):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ModuleList([nn.ReLU()]), nn.Linear(8, 2))

    def forward(x):
        return model[2](model[1][0](model[0](x)))

    localrun.watch(model, log=None, log_graph=True)
    model.forward = forward  # a module whose own forward calls its layers by hand
    forward(torch.randn(3, 4))
    model(torch.randn(3, 4))
    run.finish(quiet=True)
    value = RunView(run.dir).to_json()["summary"]["graph_0"]
    assert value["_type"] == "graph-file" and value["path"].endswith(".graph.json")
    with open(os.path.join(run.dir, value["path"]), "rb") as f:
        graph = json.load(f)
    assert graph["format"] == "torch" and graph["edges"] == []
    assert [(n["id"], n["name"]) for n in graph["nodes"]] == [(0, "0"), (1, "1.0"), (2, "2")]
    first = graph["nodes"][0]
    assert first["class_name"] == "Linear(in_features=4, out_features=8, bias=True)"
    assert first["output_shape"] == [3, 8]
    assert first["parameters"] == [["weight", [8, 4]], ["bias", [8]]]
    assert first["num_parameters"] == [32, 8]
    assert graph["nodes"][1]["parameters"] == [] and graph["nodes"][1]["num_parameters"] == []
    report = verify_run(run.dir)  # the file is an ordinary content-addressed media file
    assert report.ok and report.media_files == 1


def test_watch_before_init_says_to_call_init():
    assert localrun.run is None
    with pytest.raises(UsageError, match=r"Call localrun.init\(\) first"):
        localrun.watch(_model())
    with pytest.raises(UsageError, match=r"Call localrun.init\(\) first"):
        localrun.unwatch()


def test_watch_after_finish_is_refused(run):
    run.finish(quiet=True)
    with pytest.raises(UsageError, match="already finished"):
        run.watch(_model())


@pytest.mark.parametrize(
    ("models", "named"),
    [
        ("model", "not str"),
        ([nn.Linear(1, 1), 3], "not int"),
        (None, "not NoneType"),
        (np.zeros(3), "not numpy.ndarray"),
    ],
)
def test_watch_refuses_what_is_not_a_module_naming_its_type(run, models, named):
    with pytest.raises(Error) as info:
        localrun.watch(models)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    assert "torch.nn.Module" in str(info.value) and named in str(info.value)


def test_watch_refuses_a_bad_log_value_listing_the_choices(run):
    with pytest.raises(ValueError, match="'gradients', 'parameters', 'all' or None") as info:
        localrun.watch(_model(), log="weights")
    assert "'weights'" in str(info.value) and isinstance(info.value, Error)


@pytest.mark.parametrize("log_freq", [0, -5, 1.5, True, "10"])
def test_watch_refuses_a_log_freq_that_is_not_a_positive_int(run, log_freq):
    with pytest.raises(ValueError, match="positive int"):
        localrun.watch(_model(), log_freq=log_freq)


def test_import_localrun_does_not_import_torch_even_when_watch_is_looked_up():
    code = "import sys, localrun\nlocalrun.watch, localrun.unwatch\nprint('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_watched_run_syncs_to_a_server_with_its_graph_file(tmp_path):
    pytest.importorskip("starlette")
    import httpx

    from localrun.server import create_app
    from localrun.sync.push import push_run
    from localrun.sync.remote import Remote

    run = localrun.init(project="proj", dir=str(tmp_path / "runs"), settings={"quiet": True})
    model = _model()
    localrun.watch(model, log="all", log_freq=2, log_graph=True)
    _train(model, 4)
    run.finish(quiet=True)
    remote = Remote(
        "http://inproc",
        transport=httpx.ASGITransport(create_app(str(tmp_path / "data"))),
        sleep=lambda s: None,
    )
    with remote:
        result = push_run(run.dir, remote)
        assert result.error is None and result.synced and result.files_sent == 1
        assert list(remote.iter_rows("proj", run.id)) == _rows(run)
        assert remote.get_run("proj", run.id)["summary"]["graph_0"]["_type"] == "graph-file"


def test_the_run_keeps_no_reference_to_a_watched_model(run):
    import gc
    import weakref

    model = _model()
    localrun.watch(model, log="all", log_freq=1, log_graph=True)
    _train(model, 1)
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
    localrun.unwatch()  # hooks of a model that is gone: nothing left to remove, nothing raised
