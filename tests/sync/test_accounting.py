"""Exact accounting (issue 10, row 1): sync believes the server's counts, and checks them.

In-process (httpx.ASGITransport), with transports that play the parts a real network and an
older client can: an answer lost after the server stored a batch, a second writer, a server
that is not ours.
"""

from __future__ import annotations

import httpx
import msgpack

from localrun.server import create_app
from localrun.sync import RunView
from localrun.sync.cursor import Cursor
from localrun.sync.push import push_run
from localrun.sync.remote import Remote
from localrun.sync.transports import AsyncBridge

from .conftest import make_run, same

RUN = "/api/v1/runs/proj/r1"
MSGPACK = {"Content-Type": "application/msgpack"}


def app_transport(tmp_path) -> httpx.BaseTransport:
    return AsyncBridge(httpx.ASGITransport(create_app(str(tmp_path / "data"))))


def local_rows(path) -> list[dict]:
    return list(RunView(path).rows())


class Shared(httpx.BaseTransport):
    """``inner``, left open when a client that borrowed it closes."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner

    def handle_request(self, request):
        return self.inner.handle_request(request)


def old_client(inner: httpx.BaseTransport, rows: list[dict]) -> None:
    """Sync ``rows`` as a localrun before incarnations did: no incarnation anywhere."""
    with httpx.Client(base_url="http://inproc", transport=Shared(inner)) as c:
        assert c.put(RUN, json={"created_at": 1.0}).status_code == 201
        assert c.post(f"{RUN}/rows", content=msgpack.packb(rows), headers=MSGPACK).is_success


class AnswerLost(httpx.BaseTransport):
    """Lets the ``n``-th POST of rows reach the server, then loses its answer (once)."""

    def __init__(self, inner: httpx.BaseTransport, n: int):
        self.inner = inner
        self.left = n

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/rows"):
            self.left -= 1
            if self.left == 0:
                response.read()
                raise httpx.ReadError("connection reset", request=request)
        return response


class SecondWriter(httpx.BaseTransport):
    """Before the ``n``-th POST of rows, another client appends rows far ahead."""

    def __init__(self, inner: httpx.BaseTransport, n: int, rows: list[dict]):
        self.inner = inner
        self.left = n
        self.rows = rows

    def handle_request(self, request):
        if request.method == "POST" and request.url.path.endswith("/rows"):
            self.left -= 1
            if self.left == 0:
                body = msgpack.packb(self.rows)
                extra = httpx.Request("POST", request.url, content=body, headers=MSGPACK)
                self.inner.handle_request(extra).read()
        return self.inner.handle_request(request)


class ReplacedMidway(httpx.BaseTransport):
    """Before the ``n``-th POST of rows, another machine replaces the run with its own."""

    def __init__(self, inner: httpx.BaseTransport, n: int):
        self.inner = inner
        self.left = n

    def handle_request(self, request):
        if request.method == "POST" and request.url.path.endswith("/rows"):
            self.left -= 1
            if self.left == 0:
                body = {"created_at": 1.0, "incarnation": "other", "replace": True}
                put = httpx.Request("PUT", "http://inproc" + RUN, json=body)
                assert self.inner.handle_request(put).status_code == 201
        return self.inner.handle_request(request)


class Miscounts(httpx.BaseTransport):
    """A server that is not ours: it answers every batch with counts that do not add up."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/rows"):
            response.read()
            answer = {"inserted": 1, "ignored": 0, "rows": 1, "last_step": 0}
            return httpx.Response(200, json=answer, request=request)
        return response


def test_an_answer_lost_after_the_server_stored_the_batch_counts_once(tmp_path):
    run = make_run(tmp_path / "runs", rows=30)
    remote = Remote("http://inproc", transport=AnswerLost(app_transport(tmp_path), 2))
    remote.sleep = lambda s: None
    result = push_run(run.dir, remote, batch_rows=10)
    assert result.error is None and result.synced
    assert result.rows_sent == 30
    assert same(list(remote.iter_rows("proj", "r1")), local_rows(run.dir))


def test_rows_another_writer_put_ahead_of_this_sync_stop_it(tmp_path):
    run = make_run(tmp_path / "runs", rows=30)
    foreign = [{"_step": s, "other": True} for s in range(10, 40)]
    remote = Remote("http://inproc", transport=SecondWriter(app_transport(tmp_path), 2, foreign))
    result = push_run(run.dir, remote, batch_rows=10)
    assert result.needs_action and "holds a different run" in str(result.error)
    assert "it already held 10 of the rows this sync sent as new, up to step 39" in str(
        result.error
    )
    assert "this run's sync stopped there, after 10 rows" in str(result.error)
    assert result.rows_sent == 10  # only what the server said it stored
    assert Cursor.load(run.dir, "http://inproc").last_step == 9


def test_a_run_replaced_by_another_machine_midway_stops_this_sync(tmp_path):
    run = make_run(tmp_path / "runs", rows=30)
    remote = Remote("http://inproc", transport=ReplacedMidway(app_transport(tmp_path), 3))
    result = push_run(run.dir, remote, batch_rows=10)
    assert result.needs_action and "another sync put it there while this one ran" in str(
        result.error
    )
    assert "stopped there, after 20 rows" in str(result.error)
    assert list(remote.iter_rows("proj", "r1")) == []  # the other machine's, so far empty


def test_counts_that_do_not_add_up_stop_the_run(tmp_path):
    run = make_run(tmp_path / "runs", rows=5)
    remote = Remote("http://inproc", transport=Miscounts(app_transport(tmp_path)))
    result = push_run(run.dir, remote)
    assert "says it stored 1 and ignored 0 of the 5 rows sent" in str(result.error)
    assert result.rows_sent == 0 and not result.synced


def test_another_runs_rows_from_an_older_client_are_not_mixed_with_this_one(tmp_path):
    inner = app_transport(tmp_path)
    old_client(inner, [{"_step": s, "theirs": s} for s in range(5)])
    run = make_run(tmp_path / "runs", rows=8)
    remote = Remote("http://inproc", transport=inner)
    result = push_run(run.dir, remote)
    assert result.needs_action and "holds a different run" in str(result.error)
    assert "it holds rows up to step 4 that are not this run's" in str(result.error)
    assert result.rows_sent == 0
    assert [r["theirs"] for r in remote.iter_rows("proj", "r1")] == [0, 1, 2, 3, 4]
    # --replace is the way on: the server then holds exactly this run.
    replaced = push_run(run.dir, remote, replace=True)
    assert replaced.error is None and replaced.replaced and replaced.rows_sent == 8
    assert same(list(remote.iter_rows("proj", "r1")), local_rows(run.dir))


def test_this_runs_rows_from_an_older_client_are_recognised_and_not_sent_again(tmp_path):
    inner = app_transport(tmp_path)
    run = make_run(tmp_path / "runs", rows=12)
    old_client(inner, local_rows(run.dir)[:7])
    remote = Remote("http://inproc", transport=inner)
    result = push_run(run.dir, remote)
    assert result.error is None and result.synced
    assert result.rows_sent == 5
    assert same(list(remote.iter_rows("proj", "r1")), local_rows(run.dir))


def test_a_cursor_behind_the_server_resumes_after_what_the_server_holds(tmp_path):
    # A sync killed after the server stored a batch, before the cursor was saved.
    run = make_run(tmp_path / "runs", rows=30)
    remote = Remote("http://inproc", transport=app_transport(tmp_path))
    assert push_run(run.dir, remote, batch_rows=10).synced
    cursor = Cursor.load(run.dir, "http://inproc")
    cursor.last_step, cursor.synced = 9, False
    cursor.save(run.dir)
    result = push_run(run.dir, remote)
    assert result.error is None and result.synced and result.rows_sent == 0
    assert same(list(remote.iter_rows("proj", "r1")), local_rows(run.dir))
