"""Sync, show and serve as a new user meets them (issue 13, item 3): a server that is down or
wants a token is reported once, and the whole command stops; URLs of the API or of a run
given as the server are understood; show's advice is show's."""

from __future__ import annotations

import os
import socket
import subprocess
import time

from localrun.errors import RemoteAuthError, RemoteUnreachableError
from localrun.sync.push import push_runs
from localrun.sync.remote import Remote

from .conftest import CLI, Server, make_run, sync


def dead_url() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def three_runs(root):
    for run_id in ("r1", "r2", "r3"):
        make_run(root, run_id=run_id, rows=4)


def test_a_server_that_is_down_is_reported_once_and_stops_the_command(tmp_path):
    three_runs(tmp_path / "runs")
    start = time.monotonic()
    done = sync(tmp_path / "runs", dead_url())
    took = time.monotonic() - start
    assert done.returncode == 3
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("r1: FAILED: cannot reach http://127.0.0.1:")
    assert "->" not in done.stdout
    assert "Is `localrun serve` running there" in lines[0]
    assert "sync stopped: the server could not be reached" in done.stderr
    assert "3 of 3 run(s) not synced" in done.stderr
    assert took < 15  # one run's retries (about 4 s), not three
    assert not (tmp_path / "runs" / "r2" / "sync").exists()


def test_the_library_stops_at_an_unreachable_remote_with_a_short_backoff(tmp_path):
    three_runs(tmp_path / "runs")
    paths = [str(tmp_path / "runs" / r) for r in ("r1", "r2", "r3")]
    start = time.monotonic()
    with Remote(dead_url(), retries=3, backoff_s=0.01) as remote:
        results = push_runs(paths, remote)
    assert time.monotonic() - start < 2
    assert len(results) == 1 and isinstance(results[0].error, RemoteUnreachableError)
    assert "gave up after 3 tries" in str(results[0].error)


def test_a_missing_or_wrong_token_is_reported_once(tmp_path):
    three_runs(tmp_path / "runs")
    server = Server(str(tmp_path / "data"), token="s3cret")
    try:
        env = {k: v for k, v in os.environ.items() if k != "LOCALRUN_TOKEN"}
        none = sync(tmp_path / "runs", server.url, env=env)
        assert none.returncode == 3 and len(none.stdout.splitlines()) == 1
        assert "needs a token (401" in none.stdout and "--token TOKEN" in none.stdout
        assert "sync stopped: the server refuses this client" in none.stderr
        wrong = sync(tmp_path / "runs", server.url, "--token", "nope", env=env)
        assert wrong.returncode == 3 and len(wrong.stdout.splitlines()) == 1
        assert "refused the token given (401: wrong token)" in wrong.stdout
        assert "s3cret" not in wrong.stdout + wrong.stderr
        paths = [str(tmp_path / "runs" / r) for r in ("r1", "r2", "r3")]
        with Remote(server.url, token="nope") as remote:
            results = push_runs(paths, remote)
        assert len(results) == 1 and isinstance(results[0].error, RemoteAuthError)
        assert results[0].error.status == 401
    finally:
        server.stop()


def test_api_and_run_urls_given_as_the_server_are_understood(tmp_path, server):
    three_runs(tmp_path / "runs")
    api = sync(tmp_path / "runs" / "r1", f"{server.url}/api/v1")
    assert api.returncode == 0, api.stderr
    assert api.stdout.strip().endswith(f"-> {server.url}/runs/proj/r1")
    assert f"syncing to the server at {server.url} (from {server.url}/api/v1)" in api.stderr
    run_url = sync(tmp_path / "runs", f"{server.url}/runs/proj/r1/")
    assert run_url.returncode == 0, run_url.stderr
    with server.remote() as remote:
        assert [len(list(remote.iter_rows("proj", r))) for r in ("r1", "r2", "r3")] == [4, 4, 4]


def test_show_of_a_server_that_is_down_gives_shows_advice(tmp_path):
    url = f"{dead_url()}/runs/proj/r1"
    shown = subprocess.run([*CLI, "show", url], capture_output=True, text=True)
    assert shown.returncode == 3
    assert "`localrun show` reads a server while `localrun serve` runs there" in shown.stderr
    assert "sync" not in shown.stderr.replace("localrun serve", "")


def test_show_of_a_missing_run_suggests_no_api_call(tmp_path, server):
    three_runs(tmp_path / "runs")
    sync(tmp_path / "runs", server.url, check=True)
    missing = subprocess.run(
        [*CLI, "show", f"{server.url}/runs/proj/nope"], capture_output=True, text=True
    )
    assert missing.returncode == 3
    assert "no run 'proj'/'nope' on this server" in missing.stderr
    assert f"`localrun show {server.url}` lists the runs it holds" in missing.stderr
    assert "PUT" not in missing.stderr and "/api/" not in missing.stderr
    local = subprocess.run(
        [*CLI, "show", str(tmp_path / "runs" / "nope")], capture_output=True, text=True
    )
    assert local.returncode == 1 and "PUT" not in local.stderr and "/api/" not in local.stderr


def test_serve_banner_shows_the_token_option_but_not_the_token(tmp_path):
    server = Server(str(tmp_path / "data"), token="s3cret-value")
    try:
        line = server.banner
    finally:
        server.stop()
    assert f"Sync with: localrun sync --to {server.url} --token TOKEN" in line
    assert "s3cret-value" not in line
    plain = Server(str(tmp_path / "data2"))
    try:
        assert plain.banner.rstrip().endswith(f"Sync with: localrun sync --to {plain.url}")
    finally:
        plain.stop()
