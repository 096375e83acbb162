"""A sweep of many runs: re-syncing it with nothing new asks the server once, not once a run."""

from __future__ import annotations

import httpx

from localrun.server import create_app
from localrun.sync.push import push_runs
from localrun.sync.remote import Remote

from .conftest import export_rows, make_run


class Counting(httpx.ASGITransport):
    """The in-process server, counting the requests it is sent."""

    def __init__(self, app):
        super().__init__(app)
        self.requests: list[str] = []

    async def handle_async_request(self, request):
        self.requests.append(f"{request.method} {request.url.path}")
        return await super().handle_async_request(request)


def sweep(root, n=5):
    for i in range(n):
        make_run(root, run_id=f"t{i}", rows=10)
    return [str(root / f"t{i}") for i in range(n)]


def remote_for(data_dir) -> tuple[Remote, Counting]:
    transport = Counting(create_app(str(data_dir)))
    return Remote("http://inproc", transport=transport, sleep=lambda s: None), transport


def test_resync_of_an_unchanged_sweep_is_one_request(tmp_path):
    paths = sweep(tmp_path / "runs")
    remote, transport = remote_for(tmp_path / "data")
    first = push_runs(paths, remote)
    assert all(r.synced and not r.up_to_date for r in first)
    transport.requests.clear()
    again = push_runs(paths, remote)
    remote.close()
    assert [r.up_to_date for r in again] == [True] * 5
    assert [r.rows_total for r in again] == [10] * 5
    assert [r.url for r in again] == [r.url for r in first]
    assert transport.requests == ["POST /api/v1/runs/held"]


def test_a_run_that_changed_or_a_server_that_lost_it_is_sent_again(tmp_path):
    paths = sweep(tmp_path / "runs")
    remote, _ = remote_for(tmp_path / "data")
    push_runs(paths, remote)
    remote.close()
    # The same URL, now a server that holds nothing (wiped): the cursors say synced, but the
    # batched check finds no such runs, and each is sent whole again.
    wiped, transport = remote_for(tmp_path / "wiped")
    again = push_runs(paths, wiped)
    assert [r.up_to_date for r in again] == [False] * 5
    assert [r.rows_sent for r in again] == [10] * 5
    wiped.close()


def test_sweep_resync_against_a_real_server(tmp_path, server):
    paths = sweep(tmp_path / "runs", n=3)
    remote = server.remote()
    push_runs(paths, remote)
    again = push_runs(paths, remote)
    remote.close()
    assert all(r.up_to_date for r in again)
    assert len(export_rows(again[1].url)) == 10
