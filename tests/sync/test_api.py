"""``localrun.Api``: wandb's public reading API over the local runs root and over a server."""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest

import localrun
from localrun.sync.api import ApiError

from .. import forkcli


def make_runs(root: str) -> None:
    specs = [
        ("r1", "vision", {"lr": 0.1, "model": {"depth": 18}}, ["baseline"], "g1", 10),
        ("r2", "vision", {"lr": 0.01, "model": {"depth": 50}}, ["big", "baseline"], "g1", 30),
        ("r3", "vision", {"lr": 0.001, "model": {"depth": 50}}, [], "g2", 5),
        ("r4", "text", {"lr": 0.5}, ["baseline"], None, 3),
    ]
    for i, (run_id, project, config, tags, group, steps) in enumerate(specs):
        run = localrun.init(
            dir=root, id=run_id, project=project, config=config, tags=tags, group=group
        )
        for s in range(steps):
            row = {"loss": 1.0 / (s + 1), "acc": s / steps}
            if s % 2 == 0:
                row["val/acc"] = s / (2 * steps)
            run.log(row)
        run.summary["best"] = i
        run.finish(exit_code=1 if run_id == "r4" else 0)


@pytest.fixture
def root(tmp_path):
    root = str(tmp_path / "runs")
    make_runs(root)
    yield root
    if localrun.run is not None:
        localrun.finish(quiet=True)


def test_runs_of_a_project_filtered_and_ordered_as_wandb_does(root):
    api = localrun.Api(dir=root)
    assert sorted(r.id for r in api.runs("vision")) == ["r1", "r2", "r3"]
    assert sorted(r.id for r in api.runs("some-entity/text")) == ["r4"]
    assert len(api.runs()) == 4
    assert [r.id for r in api.runs("vision", filters={"config.lr": {"$lt": 0.05}})] in (
        ["r2", "r3"],
        ["r3", "r2"],
    )
    by_depth = api.runs("vision", filters={"config.model.depth": 50}, order="+config.lr")
    assert [r.id for r in by_depth] == ["r3", "r2"]
    assert [r.id for r in api.runs(filters={"config.lr.value": 0.5})] == ["r4"]
    assert [r.id for r in api.runs("vision", filters={"tags": {"$in": ["big"]}})] == ["r2"]
    assert sorted(r.id for r in api.runs(filters={"tags": "baseline"})) == ["r1", "r2", "r4"]
    assert [r.id for r in api.runs(filters={"state": "failed"})] == ["r4"]
    assert [r.id for r in api.runs(filters={"state": {"$ne": "failed"}}, order="name")] == [
        "r1",
        "r2",
        "r3",
    ]
    both = {"$or": [{"group": "g2"}, {"summary_metrics.best": {"$gte": 3}}]}
    assert sorted(r.id for r in api.runs(filters=both)) == ["r3", "r4"]
    assert [
        r.id
        for r in api.runs(filters={"display_name": {"$regex": ".+"}, "group": {"$exists": False}})
    ] == ["r4"]
    assert [r.id for r in api.runs("vision", order="-summary_metrics.best")] == ["r3", "r2", "r1"]


def test_bad_filters_and_paths_say_what_to_give(root):
    api = localrun.Api(dir=root)
    with pytest.raises(ApiError, match=r"\$gt.*\$lt"):
        api.runs(filters={"config.lr": {"$bigger": 1}})
    with pytest.raises(ApiError, match="config.KEY"):
        api.runs(filters={"colour": "red"})
    with pytest.raises(ApiError, match="project/run_id"):
        api.run("a/b/c/d/e")
    with pytest.raises(ApiError, match="no run 'vision/nope'.*Api\\(\\).runs"):
        api.run("vision/nope")
    assert isinstance(ApiError("x"), localrun.Error)


def test_a_run_s_attributes_config_and_summary(root):
    api = localrun.Api(dir=root)
    run = api.run("vision/r2")
    assert api.run("entity/vision/r2").id == api.run("r2").id == "r2"
    assert run.project == "vision" and run.state == "finished" and run.group == "g1"
    assert run.config == {"lr": 0.01, "model": {"depth": 50}}
    assert run.summary["best"] == 1 and run.summary["loss"] == pytest.approx(1 / 30)
    assert run.tags == ["big", "baseline"] and run.path == [None, "vision", "r2"]
    assert run.lastHistoryStep == 29 and isinstance(run.created_at, str)


def test_history_samples_and_keys_as_wandb_does(root):
    run = localrun.Api(dir=root).run("vision/r2")
    df = run.history()
    assert isinstance(df, pd.DataFrame) and len(df) == 30
    assert list(df["_step"]) == list(range(30))
    assert df["val/acc"].isna().sum() == 15  # logged every second step: NaN between
    sampled = run.history(samples=7, pandas=False)
    assert [r["_step"] for r in sampled] == [0, 5, 10, 14, 19, 24, 29]
    only = run.history(keys=["val/acc"], pandas=False)
    assert [r["_step"] for r in only] == list(range(0, 30, 2))
    assert all(set(r) == {"_step", "val/acc"} for r in only)
    by_runtime = run.history(keys=["loss"], x_axis="_runtime")
    assert set(by_runtime.columns) == {"_step", "loss", "_runtime"}
    with pytest.raises(ApiError, match="samples"):
        run.history(samples=0)


def test_scan_history_streams_every_row_with_step_bounds(root):
    run = localrun.Api(dir=root).run("vision/r2")
    rows = list(run.scan_history())
    assert len(rows) == 30 and rows[3]["loss"] == pytest.approx(0.25)
    window = list(run.scan_history(keys=["loss"], min_step=5, max_step=9))
    assert window == [{"loss": 1.0 / (s + 1), "_step": s} for s in range(5, 9)]
    with pytest.raises(ApiError, match=r"\['loss'\]"):
        list(run.scan_history(keys="loss"))


def test_the_default_root_is_the_one_init_writes_to(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALRUN_DIR", str(tmp_path / "elsewhere"))
    run = localrun.init(id="here")
    run.log({"x": 1})
    run.finish()
    assert [r.id for r in localrun.Api().runs()] == ["here"]
    monkeypatch.setenv("LOCALRUN_DIR", str(tmp_path / "empty"))
    assert len(localrun.Api().runs()) == 0


def test_the_same_notebook_reads_a_server(root, tmp_path):
    from .conftest import Server

    server = Server(str(tmp_path / "server-data"), "s3cret")
    try:
        synced = forkcli.run(["sync", root, "--to", server.url, "--token", "s3cret"])
        assert synced.returncode == 0, synced.stderr
        local = localrun.Api(dir=root)
        remote = localrun.Api(base_url=server.url, api_key="s3cret")
        for path in ("vision/r1", "vision/r2", "text/r4"):
            a, b = local.run(path), remote.run(path)
            assert (a.id, a.project, a.state, a.config, a.tags, a.group) == (
                b.id,
                b.project,
                b.state,
                b.config,
                b.tags,
                b.group,
            )
            assert a.summary == b.summary
            assert list(a.scan_history()) == list(b.scan_history())
            left, right = a.history(samples=9), b.history(samples=9)
            pd.testing.assert_frame_equal(left, right)
        assert sorted(r.id for r in remote.runs("vision", filters={"config.lr": {"$gt": 0.005}}))
        assert remote.run("vision/r2").url.endswith("/runs/vision/r2")
        remote.close()
        with pytest.raises(localrun.Error), localrun.Api(base_url=server.url, api_key="x") as bad:
            bad.runs()
    finally:
        server.stop()


def test_history_of_a_big_run_takes_columns_not_rows(tmp_path):
    # 20,000 rows of 10 keys into a DataFrame, every row kept (samples=n).
    root = str(tmp_path / "runs")
    run = localrun.init(dir=root, id="big")
    for s in range(20_000):
        run.log({f"k{j}": s * 0.5 + j for j in range(10)})
    run.finish()
    df = localrun.Api(dir=root).run("big").history(samples=20_000)
    assert df.shape == (20_000, 13)  # 10 keys, _step, _runtime, _timestamp
    assert df["k3"].dtype.kind == "f" and df["k3"].iloc[-1] == 19_999 * 0.5 + 3
    assert not math.isnan(df["k9"].sum())


def test_api_is_imported_only_when_asked_for():
    code = "import sys, localrun; print('localrun.sync' in sys.modules); localrun.Api; print('localrun.sync.api' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]


def test_artifacts_files_and_lineage_read_back_locally_and_from_a_server(tmp_path):
    from .conftest import Server

    root = str(tmp_path / "runs")
    src = tmp_path / "weights.bin"
    src.write_bytes(b"w" * 1000)
    run = localrun.init(dir=root, id="maker", project="p")
    art = localrun.Artifact("net", type="model", metadata={"depth": 3})
    art.add_file(str(src))
    run.log_artifact(art, aliases=["best"])
    (tmp_path / "notes.txt").write_text("hello")
    run.save(str(tmp_path / "notes.txt"), base_path=str(tmp_path), policy="now")
    run.finish()
    user = localrun.init(dir=root, id="user", project="p")
    user.use_artifact("net:best")
    user.finish()

    server = Server(str(tmp_path / "server-data"))
    try:
        assert forkcli.run(["sync", root, "--to", server.url]).returncode == 0
        for api in (localrun.Api(dir=root), localrun.Api(base_url=server.url)):
            with api:
                got = api.artifact("p/net:best", type="model")
                assert (got.name, got.type, got.version) == ("net:v0", "model", "v0")
                assert "best" in got.aliases and got.metadata == {"depth": 3}
                assert got.files() == ["weights.bin"] and got.logged_by() == "maker"
                out = got.download(str(tmp_path / f"out-{id(api)}"))
                assert (tmp_path / out / "weights.bin").read_bytes() == b"w" * 1000
                assert [a.version for a in api.artifact_versions("model", "net")] == ["v0"]
                maker = api.run("p/maker")
                assert [(a["name"], a["version"]) for a in maker.logged_artifacts()] == [("net", 0)]
                assert [f["path"] for f in maker.files()] == ["notes.txt"], api.root
                if api.root:  # lineage is kept in the runs root
                    assert [a["name"] for a in api.run("p/user").used_artifacts()] == ["net"]
                with pytest.raises(ApiError, match="not 'dataset'"):
                    api.artifact("net:best", type="dataset")
                with pytest.raises(localrun.Error):
                    api.artifact("p/nothing:latest")
    finally:
        server.stop()
