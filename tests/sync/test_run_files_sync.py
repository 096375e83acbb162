"""A run's files reach the server with the run (docs/protocol.md, "Run files"): each file once
per server, the list replaced whole, names checked, bodies limited."""

from __future__ import annotations

import hashlib
import json
import os

import httpx

import localrun
from localrun.server import Limits, create_app
from localrun.sync.push import push_run
from localrun.sync.remote import Remote

from .conftest import make_run, show_json, sync


def run_with_files(root, run_id="r1", big=b"x" * 3_000_000):
    run = make_run(root, run_id=run_id, rows=5, finish=False)
    for name, data in (("model.h5", big), ("notes.txt", b"hello")):
        with open(os.path.join(run.dir, name), "wb") as f:
            f.write(data)
    localrun.finish(quiet=True)
    return run


def test_sync_uploads_run_files_once_and_the_server_lists_them(tmp_path, server):
    a = run_with_files(tmp_path / "runs", "r1")
    run_with_files(tmp_path / "runs", "r2")  # the same bytes: not uploaded again
    done = sync(tmp_path / "runs", server.url, check=True)
    assert "r1: sent 5 rows" in done.stdout
    blobs = os.path.join(server.data_dir, "blobs")
    stored = {n for _, _, names in os.walk(blobs) for n in names}
    big = hashlib.sha256(b"x" * 3_000_000).hexdigest()
    assert any(big in n for n in stored)
    with server.remote() as remote:
        listed = remote.get_files("proj", "r1")
    assert [(f["path"], f["size"]) for f in listed] == [("model.h5", 3_000_000), ("notes.txt", 5)]
    doc = show_json(f"{server.url}/runs/proj/r1")
    assert doc["files"] == show_json(a.dir)["files"]
    r = httpx.get(f"{server.url}/api/v1/blobs/{listed[1]['sha256']}")
    assert r.content == b"hello"
    again = sync(tmp_path / "runs", server.url, check=True)
    assert "up to date" in again.stdout


def test_a_run_file_changed_after_it_was_saved_is_not_sent_and_is_listed(tmp_path, app_remote):
    run = run_with_files(tmp_path / "runs")
    with open(os.path.join(run.dir, "files", "notes.txt"), "ab") as f:
        f.write(b" changed")
    result = push_run(run.dir, app_remote)
    assert result.error is None
    assert [rel for rel, _ in result.lost_media.values()] == ["files/notes.txt"]
    assert [f["path"] for f in app_remote.get_files("proj", "r1")] == ["model.h5"]


def test_the_server_refuses_bad_run_file_names_unknown_blobs_and_too_many(tmp_path):
    app = create_app(str(tmp_path / "data"), limits=Limits(max_hashes=3, max_body_bytes=4096))
    remote = Remote("http://inproc", transport=httpx.ASGITransport(app), sleep=lambda s: None)
    client = remote.client
    remote.upsert_run("p", "r", None)
    sha = remote_blob(remote, b"data")
    url = "/api/v1/runs/p/r/files"

    def put(files):
        return client.put(url, json={"files": files})

    for bad in ("../etc/passwd", "/etc/passwd", "a/../../b", "a\\b", "", "a//b", "./a", "x\x00"):
        r = put([{"path": bad, "sha256": sha, "size": 4}])
        assert r.status_code == 400, bad
        assert "is not allowed" in r.json()["error"] or "non-empty" in r.json()["error"]
    r = put([{"path": "a", "sha256": "0" * 64, "size": 4}])
    assert r.status_code == 409 and r.json()["missing"] == ["0" * 64]
    r = put([{"path": f"f{i}", "sha256": sha, "size": 4} for i in range(4)])
    assert r.status_code == 413
    r = client.put(url, content=json.dumps({"files": [], "pad": "x" * 5000}))
    assert r.status_code == 413
    r = put([{"path": "a", "sha256": sha, "size": -1}])
    assert r.status_code == 400
    r = put([{"path": "ok/name.txt", "sha256": sha, "size": 4}])
    assert r.status_code == 200 and r.json()["files"] == 1
    assert remote.get_files("p", "r") == [{"path": "ok/name.txt", "sha256": sha, "size": 4}]
    assert client.get("/api/v1/runs/p/nope/files").status_code == 404
    remote.close()


def remote_blob(remote, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    remote.put_bundle({sha: data})
    return sha
