"""`localrun sync --to mlflow+http://...` against a real `mlflow server`, read back with MLflow's
own client (``MlflowClient``): metric histories equal to `localrun export`, params, tags,
artifacts; resumed, live, killed and refused syncs."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import warnings

import httpx
import pytest

import localrun
from localrun.cli.errors import EXIT_SYNC
from localrun.sync.cursor import Cursor
from localrun.sync.mlflow_cursor import MlflowCursor
from localrun.sync.mlflow_remote import MlflowRemote

from .conftest import CLI, export_rows, image_value, make_run, sync
from .mlflowserver import session_server
from .test_sync_live import WRITER, wait_for

STAMPS = ("_step", "_runtime", "_timestamp")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    yield from session_server(tmp_path_factory)


class Reader:
    """MLflow's own client, with the warnings its imports raise kept out of the suite's
    warnings-are-errors rule (they are MLflow's, not ours)."""

    def __init__(self, server):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.client = server.client()

    def __getattr__(self, name):
        method = getattr(self.client, name)

        def call(*args, **kwargs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return method(*args, **kwargs)

        return call

    def run_of(self, experiment: str, run_id: str):
        exp = self.get_experiment_by_name(experiment)
        found = self.search_runs(
            [exp.experiment_id], filter_string=f"tags.`localrun.run_id` = '{run_id}'"
        )
        assert len(found) == 1, found
        return found[0]

    def history(self, run, key: str) -> list[tuple[int, float, int]]:
        points = self.get_metric_history(run.info.run_id, key)
        return sorted((m.step, m.value, m.timestamp) for m in points)

    def files(self, run, path: str | None = None) -> set[str]:
        """Every artifact path of the run under ``path``, walked."""
        out = set()
        for f in self.list_artifacts(run.info.run_id, path):
            if f.is_dir:
                out |= self.files(run, f.path)
            else:
                out.add(f.path)
        return out


def expected_metrics(rows: list[dict]) -> dict[str, list[tuple[int, float, int]]]:
    """What each numeric value of `localrun export`'s rows should be in MLflow."""
    out: dict[str, list] = {}
    for row in rows:
        for key, value in row.items():
            if key in STAMPS or type(value) not in (int, float, bool):
                continue
            v = float(value)
            if math.isinf(v):
                v = math.copysign(1.7976931348623157e308, v)  # what MLflow's SQL store keeps
            out.setdefault(key, []).append((row["_step"], v, int(row["_timestamp"] * 1000)))
    return out


def assert_same_metrics(reader: Reader, run, rows: list[dict]) -> None:
    expected = expected_metrics(rows)
    assert expected
    for key, points in expected.items():
        got = reader.history(run, key)
        assert len(got) == len(points), key
        for (s1, v1, t1), (s2, v2, t2) in zip(got, points, strict=True):
            assert (s1, t1) == (s2, t2), key
            assert v1 == v2 or (math.isnan(v1) and math.isnan(v2)), (key, s1, v1, v2)


def test_a_run_in_mlflow_is_what_export_gives(tmp_path, mlflow_server):
    runs = tmp_path / "runs"
    run = make_run(
        runs,
        run_id="full",
        rows=30,
        images=3,
        name="nice name",
        notes="a note",
        group="g1",
        tags=["t1", "t2"],
        finish=False,
    )
    table = localrun.Table(columns=["n", "s"], data=[[1, "one"], [2, "two"]])
    run.log(
        {
            "inf": float("inf"),
            "flag": True,
            "text": "words",
            "nested": {"x": 1.5},
            "real_table": table,
        }
    )
    run.summary["only_in_summary"] = 7
    localrun.finish(quiet=True)
    done = sync(runs, mlflow_server.url, check=True)
    assert done.stdout.startswith("full: sent 31 rows and ")
    assert f" -> {mlflow_server.http}/#/experiments/" in done.stdout
    assert done.stderr == ""

    reader = Reader(mlflow_server)
    mrun = reader.run_of("proj", "full")
    rows = export_rows(str(runs / "full"))
    assert_same_metrics(reader, mrun, rows)
    assert reader.history(mrun, "flag")[-1][1] == 1.0
    assert reader.history(mrun, "nested.x")[-1][1] == 1.5
    assert "text" not in mrun.data.metrics
    assert mrun.data.metrics["only_in_summary"] == 7.0
    assert mrun.data.params == {"lr": "0.1", "layers": "[1, 2]"}
    tags = mrun.data.tags
    assert tags["mlflow.runName"] == "nice name"
    assert tags["mlflow.note.content"] == "a note"
    assert tags["localrun.group"] == "g1"
    assert json.loads(tags["localrun.tags"]) == ["t1", "t2"]
    assert tags["localrun.state"] == "finished"
    assert len(tags["localrun.incarnation"]) == 32
    assert mrun.info.status == "FINISHED" and mrun.info.end_time is not None
    assert tags["mlflow.loggedImages"] == "True"  # MLflow's UI shows the run's images
    assert {t["path"] for t in json.loads(tags["mlflow.loggedArtifacts"])} == {
        "media/table/3.table.json",
        "media/real_table/30.table.json",
    }

    files = reader.files(mrun)
    images = sorted(f for f in files if f.startswith("images/img+step+"))
    assert len(images) == 6  # each image and its thumbnail, named as mlflow.log_image names them
    assert {f.split("+step+")[1].split("+")[0] for f in images} == {"0", "1", "2"}
    assert {f for f in files if f.startswith("media/img/")} == {
        f"media/img/{step}.image-file.json" for step in range(3)
    }
    assert "media/table/3.table.json" in files
    assert any(f.startswith("media/hist/0.histogram") for f in files)
    assert "localrun/run.json" in files
    for key, step, expected in (
        ("table", 3, {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}),
        ("real_table", 30, {"columns": ["n", "s"], "data": [[1, "one"], [2, "two"]]}),
    ):
        where = reader.download_artifacts(
            mrun.info.run_id, f"media/{key}/{step}.table.json", str(tmp_path)
        )
        with open(where) as f:
            assert json.load(f) == expected
    # A second sync finds nothing new.
    again = sync(runs, mlflow_server.url, check=True)
    assert again.stdout.startswith("full: up to date, nothing new to send (31 rows on the server)")


def test_a_resumed_run_syncs_only_what_is_new_and_reports_a_changed_param(tmp_path, mlflow_server):
    runs = tmp_path / "runs"
    make_run(runs, run_id="resumed", rows=10)
    sync(runs, mlflow_server.url, check=True)
    run = localrun.init(
        project="proj", id="resumed", dir=str(runs), resume="allow", settings={"quiet": True}
    )
    run.config.update({"lr": 0.5, "new_key": 3}, allow_val_change=True)
    for i in range(5):
        run.log({"loss": float(i)})
    localrun.finish(quiet=True)
    done = sync(runs, mlflow_server.url)
    assert done.stdout.startswith("resumed: sent 5 rows")
    assert "config 'lr' is '0.5' now, and MLflow holds param 'lr' = '0.1'" in done.stderr
    assert done.returncode == EXIT_SYNC  # said once, as a value not sent
    reader = Reader(mlflow_server)
    mrun = reader.run_of("proj", "resumed")
    assert_same_metrics(reader, mrun, export_rows(str(runs / "resumed")))
    assert mrun.data.params["lr"] == "0.1" and mrun.data.params["new_key"] == "3"
    again = sync(runs, mlflow_server.url, check=True)
    assert again.stdout.startswith("resumed: up to date") and again.stderr == ""


def test_kill_nine_mid_sync_then_again_is_exact(tmp_path, mlflow_server, slow):
    # One kill by default, three with --slow (and a longer run).
    rows, kills = (6000, 3) if slow else (2500, 1)
    runs = tmp_path / "runs"
    run = make_run(runs, run_id="killed", rows=0, finish=False)
    for i in range(rows):
        data = {"a": i, "b": i * 0.5}
        if i % 500 == 0:
            data["img"] = image_value(run, (i // 500, 1, 2))
        run.log(data)
    localrun.finish(quiet=True)
    path = str(runs / "killed")
    cursor_file = Cursor.file_for(path, mlflow_server.url)
    last = 0
    for _ in range(kills):
        proc = subprocess.Popen(
            [*CLI, "sync", str(runs), "--to", mlflow_server.url, "--batch-rows", "100"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if os.path.exists(cursor_file):
                step = MlflowCursor.load(path, mlflow_server.url).last_step
                if step is not None and step > last + 300:
                    break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        cursor = MlflowCursor.load(path, mlflow_server.url)
        assert not cursor.synced and cursor.last_step, "killed too late to test anything"
        last = cursor.last_step
    done = sync(runs, mlflow_server.url, "--batch-rows", "100", check=True)
    assert "killed: sent " in done.stdout
    reader = Reader(mlflow_server)
    mrun = reader.run_of("proj", "killed")
    assert_same_metrics(reader, mrun, export_rows(path))  # every point once, no duplicates
    images = {f for f in reader.files(mrun) if f.startswith("images/")}
    assert len(images) == 2 * (rows // 500)  # each image and its thumbnail


def test_a_sync_killed_before_its_cursor_finds_its_mlflow_run_again(tmp_path, mlflow_server):
    runs = tmp_path / "runs"
    make_run(runs, run_id="nocursor", rows=8)
    sync(runs, mlflow_server.url, check=True)
    os.remove(Cursor.file_for(str(runs / "nocursor"), mlflow_server.url))
    done = sync(runs, mlflow_server.url, check=True)
    assert done.stdout.startswith("nocursor: sent 8 rows")
    reader = Reader(mlflow_server)
    mrun = reader.run_of("proj", "nocursor")  # one MLflow run, not two
    assert_same_metrics(reader, mrun, export_rows(str(runs / "nocursor")))


def test_a_live_run_syncs_again_and_again_then_finishes(tmp_path, mlflow_server):
    runs, ctl = tmp_path / "runs", tmp_path / "ctl"
    ctl.mkdir()
    rows, pauses = 600, 2
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(runs), str(ctl), str(rows), str(pauses)]
    )
    lines = []
    reader = Reader(mlflow_server)
    try:
        for i in range(0, rows, rows // pauses):
            wait_for(ctl / f"paused{i}", writer)
            lines.append(sync(runs, mlflow_server.url, check=True).stdout)
            assert reader.run_of("proj", "live").info.status == "RUNNING"
            (ctl / f"go{i}").touch()
        assert writer.wait(60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert len(lines) == pauses and all("still running" in line for line in lines), lines
    sync(runs, mlflow_server.url, check=True)
    mrun = reader.run_of("proj", "live")
    assert mrun.info.status == "FINISHED"
    assert mrun.data.tags["localrun.state"] == "finished"
    assert_same_metrics(reader, mrun, export_rows(str(runs / "live")))


def test_a_crashed_run_is_failed_in_mlflow(tmp_path, mlflow_server):
    runs = tmp_path / "runs"
    code = (
        "import os, localrun\n"
        f"run = localrun.init(project='proj', id='crashed', dir={str(runs)!r}, settings={{'quiet': True}})\n"
        "run.log({'a': 1})\nos._exit(3)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    sync(runs, mlflow_server.url, check=True)
    mrun = Reader(mlflow_server).run_of("proj", "crashed")
    assert mrun.info.status == "FAILED"
    assert mrun.data.tags["localrun.state"] == "crashed"


def test_another_run_under_the_same_id_is_refused_then_kept_or_replaced(tmp_path, mlflow_server):
    make_run(tmp_path / "a", run_id="twin", rows=3)
    make_run(tmp_path / "b", run_id="twin", rows=4)
    sync(tmp_path / "a", mlflow_server.url, check=True)
    refused = sync(tmp_path / "b", mlflow_server.url)
    assert refused.returncode == EXIT_SYNC
    assert "holds a different run tagged localrun.run_id='twin'" in refused.stdout
    assert "--as NEWID" in refused.stdout and "--replace" in refused.stdout
    assert "Traceback" not in refused.stderr
    kept = sync(tmp_path / "b" / "twin", mlflow_server.url, "--as", "twin-b", check=True)
    assert kept.stdout.startswith("twin: sent 4 rows")
    reader = Reader(mlflow_server)
    assert reader.run_of("proj", "twin").data.metrics["loss"] == 1 / 3
    assert reader.run_of("proj", "twin-b").data.metrics["loss"] == 1 / 4
    make_run(tmp_path / "c", run_id="twin", rows=5)
    replaced = sync(tmp_path / "c" / "twin", mlflow_server.url, "--replace", check=True)
    assert replaced.stdout.startswith("twin: sent 5 rows")
    assert reader.run_of("proj", "twin").data.metrics["loss"] == 1 / 5


def test_a_key_mlflow_refuses_is_reported_once_and_the_rest_is_sent(tmp_path, mlflow_server):
    runs = tmp_path / "runs"
    run = localrun.init(project="proj", id="badkey", dir=str(runs), settings={"quiet": True})
    for i in range(3):
        run.log({"acc(top1)": 0.5, "ok": i})
    localrun.finish(quiet=True)
    done = sync(runs, mlflow_server.url)
    assert done.returncode == EXIT_SYNC
    assert "history 'acc(top1)' not sent: MLflow takes only letters" in done.stderr
    assert Reader(mlflow_server).run_of("proj", "badkey").data.metrics == {"ok": 2.0}
    assert sync(runs, mlflow_server.url, check=True).stdout.startswith("badkey: up to date")


def test_dry_run_contacts_nothing_and_writes_nothing(tmp_path):
    make_run(tmp_path / "runs", rows=4, images=1)
    done = sync(tmp_path / "runs", "mlflow+http://127.0.0.1:9", "--dry-run", check=True)
    assert done.stdout.startswith("r1: would send 4 rows and ")
    assert not os.path.exists(tmp_path / "runs" / "r1" / "sync")


def test_a_server_that_is_down_fails_cleanly(tmp_path):
    make_run(tmp_path / "runs", rows=2)
    make_run(tmp_path / "runs", run_id="r2", rows=2)
    make_run(tmp_path / "runs", run_id="r3", rows=2)
    done = sync(tmp_path / "runs", "mlflow+http://127.0.0.1:9")
    assert done.returncode == EXIT_SYNC
    # Said once, on the first run's line; the other runs are not tried (they would fail alike).
    assert done.stdout.startswith("r1: FAILED: cannot reach http://127.0.0.1:9/api/2.0/mlflow/")
    assert done.stdout.count("FAILED") == 1 and "3 of 3 run(s) not synced" in done.stderr
    assert "Traceback" not in done.stderr
    assert not os.path.exists(tmp_path / "runs" / "r1" / "sync")


@pytest.mark.parametrize(
    ("token", "environ", "header"),
    [
        ("tok", {"MLFLOW_TRACKING_TOKEN": "other"}, "Bearer tok"),
        (None, {"MLFLOW_TRACKING_TOKEN": "envtok"}, "Bearer envtok"),
        (None, {"MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p"}, "Basic dTpw"),
        (None, {}, None),
    ],
)
def test_credentials_are_sent_as_mlflow_clients_send_them(token, environ, header):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"experiment": {"experiment_id": "7"}})

    remote = MlflowRemote(
        "mlflow+http://mlflow.invalid",
        token,
        environ=environ,
        transport=httpx.MockTransport(handler),
    )
    with remote:
        assert remote.experiment_id("proj") == "7"
    assert seen == [header]


def test_5xx_is_retried_with_backoff_then_reported(tmp_path):
    calls = []
    slept = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json={"experiment": {"experiment_id": "1"}})

    with MlflowRemote(
        "mlflow+http://x.invalid", transport=httpx.MockTransport(handler), sleep=slept.append
    ) as remote:
        assert remote.experiment_id("p") == "1"
    assert slept == [0.25, 0.5]
    with MlflowRemote(
        "mlflow+http://x.invalid",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(401, json={"error_code": "UNAUTHENTICATED", "message": "no"})
        ),
        sleep=slept.append,
    ) as remote:
        with pytest.raises(localrun.errors.RemoteRejectedError, match="MLFLOW_TRACKING_TOKEN"):
            remote.experiment_id("p")


def test_a_missing_media_file_is_listed_then_sent_once_it_is_back(tmp_path, mlflow_server):
    runs = tmp_path / "runs"
    run = localrun.init(project="proj", id="lost", dir=str(runs), settings={"quiet": True})
    run.log({"clip": localrun.Html("<p>hello</p>"), "a": 1})
    localrun.finish(quiet=True)
    (name,) = os.listdir(runs / "lost" / "media")
    os.rename(runs / "lost" / "media" / name, tmp_path / name)
    done = sync(runs, mlflow_server.url)
    assert done.returncode == EXIT_SYNC
    assert f"lost: media/{name} not sent: missing from the run directory" in done.stderr
    reader = Reader(mlflow_server)
    assert reader.files(reader.run_of("proj", "lost"), "media") == {"media/clip/0.html-file.json"}
    os.rename(tmp_path / name, runs / "lost" / "media" / name)
    again = sync(runs, mlflow_server.url, check=True)
    assert again.stdout.startswith("lost: sent 0 rows and 1 media file (")
    assert reader.files(reader.run_of("proj", "lost"), "media") == {
        "media/clip/0.html-file.json",
        f"media/clip/{name}",
    }
    assert sync(runs, mlflow_server.url, check=True).stdout.startswith("lost: up to date")


def test_a_server_that_does_not_serve_artifacts_is_named_with_the_way_on():
    remote = MlflowRemote("mlflow+http://x.invalid", environ={})
    with remote, pytest.raises(localrun.errors.SyncError, match="--serve-artifacts"):
        remote.artifact_root({"info": {"artifact_uri": "s3://bucket/1/abc/artifacts"}})
    assert remote.artifact_root(
        {"info": {"artifact_uri": "mlflow-artifacts:/1/abc/artifacts"}}
    ) == ("1/abc/artifacts")
