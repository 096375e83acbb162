"""`localrun show URL` and `export URL` against a real `localrun serve`, mid-sync included."""

from __future__ import annotations

import json

import httpx
import msgpack
import pytest

from .. import forkcli
from ..sync.conftest import PROG, Server, make_run, sync


@pytest.fixture
def server(tmp_path):
    s = Server(str(tmp_path / "server-data"))
    yield s
    s.stop()


def run_cli(*args):
    proc = forkcli.run(args, timeout=120, prog=PROG)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def half_synced(server, project="p", run_id="r9", rows=3):
    """A run whose rows reached the server but whose document did not: what a sync killed
    between its batches of rows and its document leaves."""
    with httpx.Client(base_url=server.url) as client:
        r = client.put(f"/api/v1/runs/{project}/{run_id}", json={"created_at": 1.7e9})
        assert r.status_code == 201, r.text
        body = msgpack.packb([{"_step": i, "loss": 1.0 / (i + 1)} for i in range(rows)])
        r = client.post(
            f"/api/v1/runs/{project}/{run_id}/rows",
            content=body,
            headers={"content-type": "application/msgpack"},
        )
        assert r.status_code == 200 and r.json()["inserted"] == rows, r.text
    return f"{server.url}/runs/{project}/{run_id}"


def test_a_run_whose_document_has_not_arrived_reads_as_syncing(server, tmp_path):
    # Row 9 of issue 10: `localrun show URL` failed with KeyError: 'summary'.
    make_run(tmp_path / "runs", "done", rows=5)
    assert sync(tmp_path / "runs", server.url).returncode == 0
    url = half_synced(server)

    table = run_cli("show", server.url)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert any("r9" in line and "syncing" in line for line in lines), table.stdout
    assert any("done" in line and "finished" in line for line in lines), table.stdout

    listed = json.loads(run_cli("show", server.url, "--json").stdout)
    states = {d["id"]: d["state"] for d in listed}
    assert states == {"done": "finished", "r9": "syncing"}

    detail = run_cli("show", url)
    assert detail.returncode == 0, detail.stderr
    assert "syncing" in detail.stdout and "3 rows" in detail.stdout
    assert "loss" in detail.stdout and "metrics" in detail.stdout

    doc = json.loads(run_cli("show", url, "--json").stdout)
    assert doc["state"] == "syncing" and doc["rows"] == 3 and doc["last_step"] == 2
    assert doc["id"] == "r9" and doc["project"] == "p" and doc["path"] == url
    assert doc["config"] == {} and doc["summary"] == {} and doc["dropped"] == []
    local = json.loads(run_cli("show", str(tmp_path / "runs" / "done"), "--json").stdout)
    assert list(doc) == list(local)  # the same keys, in the same order, as a local run's

    rows = [json.loads(x) for x in run_cli("export", url).stdout.splitlines()]
    assert [r["_step"] for r in rows] == [0, 1, 2] and rows[2]["loss"] == 1 / 3
    csv = run_cli("export", url, "--format", "csv")
    assert csv.returncode == 0 and csv.stdout.splitlines()[0] == "_step,loss"


def test_a_synced_run_reads_the_same_from_the_server(server, tmp_path):
    run = make_run(tmp_path / "runs", "r1", rows=12, images=2)
    assert sync(tmp_path / "runs", server.url).returncode == 0
    url = f"{server.url}/runs/proj/r1"
    remote = json.loads(run_cli("show", url, "--json").stdout)
    local = json.loads(run_cli("show", run.dir, "--json").stdout)
    remote.pop("path"), local.pop("path")
    assert json.dumps(remote) == json.dumps(local)
    shown = run_cli("show", url)
    assert shown.returncode == 0 and "finished" in shown.stdout and "image-file" in shown.stdout


ODD_DOC = {
    "state": 5,
    "name": {"x": [1]},
    "summary": [1, 2],
    "config": "x",
    "tags": "abc",
    "dropped": [1, {"step": "x", "keys": [1, None]}, {"keys": "k"}],
    "damaged": {"a": 1},
    "runtime": "long",
    "updated_at": "yesterday",
    "segments": None,
    "metrics": [],
    "charts": "none",
}


def test_an_odd_document_on_the_server_is_shown(server, tmp_path):
    # What a client that is not localrun could have stored: any JSON object as a document.
    url = half_synced(server, run_id="odd")
    with httpx.Client(base_url=server.url) as client:
        r = client.put("/api/v1/runs/p/odd/doc", json=ODD_DOC)
        assert r.status_code == 200, r.text
        r = client.put(
            "/api/v1/runs/p/odd2/doc",
            json={**ODD_DOC, "state": None, "summary": {"[red]": "[/]", "n": [1.5]}},
        )
    for args in (
        ("show", server.url),
        ("show", server.url, "--json"),
        ("show", url),
        ("show", url, "--json"),
        ("show", url, "--keys", "l*"),
        ("export", url),
        ("export", url, "--format", "csv"),
    ):
        proc = run_cli(*args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "bug in localrun" not in proc.stderr, (args, proc.stderr)
    doc = json.loads(run_cli("show", url, "--json").stdout)
    assert doc["state"] == 5 and doc["summary"] == [1, 2] and doc["rows"] == 3
