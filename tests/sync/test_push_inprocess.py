"""The push engine against the server app in-process (httpx.ASGITransport): no sockets."""

from __future__ import annotations

import httpx
import pytest

import localrun
from localrun.errors import TransportError
from localrun.server import create_app
from localrun.sync import RunView
from localrun.sync.push import push_run
from localrun.sync.remote import Remote
from localrun.sync.transports import AsyncBridge

from .conftest import image_value, make_run, same


class FailAfter(httpx.BaseTransport):
    """Passes ``n`` requests through, then fails every request as a dropped connection."""

    def __init__(self, inner: httpx.BaseTransport, n: int):
        self.inner = inner
        self.left = n

    def handle_request(self, request):
        if self.left <= 0:
            raise httpx.ConnectError("connection dropped", request=request)
        self.left -= 1
        return self.inner.handle_request(request)


class Flaky(httpx.BaseTransport):
    """Answers 503 ``n`` times, then passes requests through."""

    def __init__(self, inner: httpx.BaseTransport, n: int):
        self.inner = inner
        self.left = n
        self.calls = 0

    def handle_request(self, request):
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            return httpx.Response(503, json={"error": "busy"}, request=request)
        return self.inner.handle_request(request)


def rows_of(remote: Remote, run_id="r1") -> list[dict]:
    return list(remote.iter_rows("proj", run_id))


def test_round_trip_in_process(tmp_path, app_remote):
    run = make_run(tmp_path / "runs", rows=30, images=2)
    result = push_run(run.dir, app_remote, batch_rows=7)
    assert result.error is None and result.synced
    assert (result.rows_sent, result.files_sent, result.dropped) == (30, 2, 0)
    assert same(rows_of(app_remote), list(RunView(run.dir).rows()))


def test_interrupted_at_every_request_then_resumed_equals_one_clean_sync(tmp_path):
    run = make_run(tmp_path / "runs", rows=25, images=4)
    clean = list(RunView(run.dir).rows())
    for cut in range(0, 30):
        app = create_app(str(tmp_path / f"data-{cut}"))
        inner = AsyncBridge(httpx.ASGITransport(app))
        broken = Remote("http://inproc", transport=FailAfter(inner, cut), retries=1)
        first = push_run(run.dir, broken, batch_rows=4)
        whole = Remote("http://inproc", transport=inner)
        second = push_run(run.dir, whole, batch_rows=4)
        assert second.error is None, (cut, second.error)
        assert same(rows_of(whole), clean), cut
        whole.close()
        _forget_cursor(run.dir)
        if first.error is None:
            break
    else:
        pytest.fail("the sync never completed within 30 requests")


def _forget_cursor(run_dir):
    import shutil

    shutil.rmtree(f"{run_dir}/sync", ignore_errors=True)


def test_retries_5xx_with_backoff(tmp_path):
    run = make_run(tmp_path / "runs", rows=3)
    inner = AsyncBridge(httpx.ASGITransport(create_app(str(tmp_path / "data"))))
    slept = []
    flaky = Flaky(inner, 2)
    remote = Remote("http://inproc", transport=flaky, sleep=slept.append, backoff_s=0.1)
    result = push_run(run.dir, remote)
    assert result.error is None
    assert slept == [0.1, 0.2]


def test_gives_up_after_retries_with_a_transport_error(tmp_path):
    run = make_run(tmp_path / "runs", rows=3)
    inner = AsyncBridge(httpx.ASGITransport(create_app(str(tmp_path / "data"))))
    remote = Remote("http://inproc", transport=Flaky(inner, 100), sleep=lambda s: None, retries=3)
    result = push_run(run.dir, remote)
    assert isinstance(result.error, TransportError)
    assert "gave up after 3 tries" in str(result.error)
    assert not (tmp_path / "runs" / "r1" / "sync").exists()


def test_live_run_holds_back_its_open_row_then_sends_it(tmp_path, app_remote):
    run = localrun.init(
        project="proj", id="r1", dir=str(tmp_path / "runs"), settings={"quiet": True}
    )
    run.log({"a": 1})
    run.log({"a": 2}, commit=False)  # open: the next call may add keys to this row
    first = push_run(run.dir, app_remote)
    assert (first.state, first.rows_sent, first.held_back, first.synced) == ("running", 1, 1, False)
    run.log({"b": 3})  # joins the open row, then commits it
    run.log({"a": 4})
    second = push_run(run.dir, app_remote)
    assert (second.rows_sent, second.held_back) == (2, 0)
    localrun.finish(quiet=True)
    third = push_run(run.dir, app_remote)
    assert third.synced and third.rows_sent == 0
    assert same(rows_of(app_remote), list(RunView(run.dir).rows()))
    assert rows_of(app_remote)[1] == {**rows_of(app_remote)[1], "a": 2, "b": 3}


def test_wiped_server_at_the_same_url_gets_everything_again(tmp_path):
    run = make_run(tmp_path / "runs", rows=12)
    one = Remote("http://inproc", transport=httpx.ASGITransport(create_app(str(tmp_path / "a"))))
    assert push_run(run.dir, one).synced
    other = Remote("http://inproc", transport=httpx.ASGITransport(create_app(str(tmp_path / "b"))))
    result = push_run(run.dir, other)
    assert result.rows_sent == 12
    assert same(rows_of(other), list(RunView(run.dir).rows()))


def test_media_with_a_wrong_hash_is_not_sent_but_its_rows_are(tmp_path, app_remote):
    # Before issue 10 the whole run was refused (400 for the bundle); the server still refuses
    # such a blob (tests/server), and the client no longer sends it.
    run = localrun.init(
        project="proj", id="r1", dir=str(tmp_path / "runs"), settings={"quiet": True}
    )
    img = image_value(run)
    run.log({"img": img})
    localrun.finish(quiet=True)
    with open(tmp_path / "runs" / "r1" / img["path"], "ab") as f:
        f.write(b"tampered")
    result = push_run(run.dir, app_remote)
    assert result.error is None and not result.complete
    ((path, reason),) = result.lost_media.values()
    assert path == img["path"] and reason.startswith("damaged (its bytes hash to ")
    assert same(rows_of(app_remote), list(RunView(run.dir).rows()))
    assert app_remote.missing_blobs([img["sha256"]]) == [img["sha256"]]
    lost = app_remote.get_run("proj", "r1")["lost_media"]
    assert lost == [{"sha256": img["sha256"], "path": img["path"], "reason": reason}]


def test_oversized_batches_are_split(tmp_path, app_remote):
    run = make_run(tmp_path / "runs", rows=50)
    result = push_run(run.dir, app_remote, batch_rows=50, batch_bytes=2000)
    assert result.error is None
    assert same(rows_of(app_remote), list(RunView(run.dir).rows()))


def test_final_only_changes_nothing_for_a_finished_run(tmp_path):
    run = make_run(tmp_path / "runs", rows=10)
    view = RunView(run.dir)
    assert same(list(view.rows(final_only=True)), list(RunView(run.dir).rows()))
    assert view.held_back == []


def test_a_second_sync_of_the_same_run_to_the_same_remote_is_refused(tmp_path, app_remote):
    from localrun.sync.cursor import SyncLock

    run = make_run(tmp_path / "runs", rows=3)
    with SyncLock(run.dir, app_remote.base_url):
        result = push_run(run.dir, app_remote)
    assert "another localrun sync is pushing" in str(result.error)
    assert result.rows_sent == 0
    assert push_run(run.dir, app_remote).synced


def test_a_project_name_with_spaces_and_unicode_round_trips(tmp_path, app_remote):
    run = localrun.init(
        project="моя модель v2", id="r1", dir=str(tmp_path / "runs"), settings={"quiet": True}
    )
    run.log({"a": 1})
    localrun.finish(quiet=True)
    result = push_run(run.dir, app_remote)
    assert (
        result.synced
        and result.url
        == "http://inproc/runs/%D0%BC%D0%BE%D1%8F%20%D0%BC%D0%BE%D0%B4%D0%B5%D0%BB%D1%8C%20v2/r1"
    )
    assert app_remote.get_run("моя модель v2", "r1")["rows"] == 1


def test_each_batch_is_sent_as_msgpack_packs_its_rows(tmp_path):
    """The wire bytes do not depend on which msgpack library packed them (docs/protocol.md)."""
    import sqlite3

    import msgpack

    run = make_run(tmp_path / "runs", rows=40, images=3)
    data = tmp_path / "data"
    with Remote("http://inproc", transport=httpx.ASGITransport(create_app(str(data)))) as remote:
        assert push_run(run.dir, remote, batch_rows=16).error is None
    db = sqlite3.connect(str(data / "runs.sqlite"))
    try:
        bodies = [row[0] for row in db.execute("SELECT data FROM chunks ORDER BY first_step")]
    finally:
        db.close()
    rows = list(RunView(run.dir).rows())
    assert len(bodies) == 3
    assert bodies == [msgpack.packb(rows[i : i + 16]) for i in range(0, 40, 16)]


def _chunks(data_dir) -> int:
    """How many batches the server stored (one chunk each)."""
    import sqlite3

    db = sqlite3.connect(f"file:{data_dir / 'runs.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    finally:
        db.close()


def test_push_leaves_the_collector_and_switch_interval_of_its_caller_alone(tmp_path, app_remote):
    """A training process may call push_run: the interpreter's switches stay its own."""
    import gc
    import sys

    run = make_run(tmp_path / "runs", rows=30, images=2)
    switch = sys.getswitchinterval()
    seen = set()

    def progress(**_):
        seen.add((gc.isenabled(), sys.getswitchinterval()))

    result = push_run(run.dir, app_remote, batch_rows=7, progress=progress)
    assert result.synced
    assert seen == {(True, switch)}
    assert gc.isenabled() and sys.getswitchinterval() == switch


def test_rows_per_batch_are_a_parameter_not_an_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALRUN_SYNC_BATCH_ROWS", "1")
    run = make_run(tmp_path / "runs", rows=40)
    data = tmp_path / "data"
    with Remote("http://inproc", transport=httpx.ASGITransport(create_app(str(data)))) as remote:
        assert push_run(run.dir, remote).synced
        assert _chunks(data) == 1  # 40 rows: one batch of the default BATCH_ROWS
        run = make_run(tmp_path / "runs", run_id="r2", rows=40)
        assert push_run(run.dir, remote, batch_rows=16).synced
        assert _chunks(data) == 1 + 3


def test_issue14_media_files_sync_once(tmp_path, app_remote):
    # The files the wandb-shaped values of issue 14 name (a boxes2D file inside an image, a
    # list of Object3D as one object3D value, plotly, graph, incremental table files) are
    # all found, uploaded once each, and a second sync sends none.
    import numpy as np

    from localrun.mediarefs import files_named

    run = localrun.init(
        project="proj", id="r1", dir=str(tmp_path / "runs"), settings={"quiet": True}
    )
    box = {"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.1, "maxY": 0.5}, "class_id": 1}
    img = localrun.Image(np.zeros((8, 8), np.uint8), boxes={"p": {"box_data": [box]}})
    pts = np.zeros((4, 3))
    table = localrun.Table(columns=["a"], log_mode="INCREMENTAL")
    graph = localrun.Graph()
    graph.add_node(localrun.Node("a", "A"))
    for step in range(2):
        table.add_data(step)
        run.log(
            {
                "img": img,
                "objs": [localrun.Object3D(pts), localrun.Object3D(pts + 1)],
                "plot": localrun.Plotly({"data": [{"y": [1, 2]}], "layout": {}}),
                "graph": graph,
                "t": table,
            }
        )
    localrun.finish(quiet=True)
    rows = list(RunView(run.dir).rows())
    named = files_named(rows)
    # The image, its boxes file, 2 objects, the plotly and graph files, 2 table increments.
    assert len(named) == 8
    result = push_run(run.dir, app_remote)
    assert result.error is None and result.complete
    assert result.files_sent == len(named)
    assert app_remote.missing_blobs(list(named)) == []
    assert same(rows_of(app_remote), rows)
    _forget_cursor(run.dir)
    assert push_run(run.dir, app_remote).files_sent == 0
