"""Artifacts through the CLI and a real `localrun serve`: list, show, download from a runs root
and from a server, `localrun sync` sending each file once per server, and the server's checks."""

from __future__ import annotations

import json
import os

import httpx
import pytest

import localrun

from ..conftest import cli
from ..sync.conftest import Server


@pytest.fixture
def server(tmp_path):
    s = Server(str(tmp_path / "server-data"))
    yield s
    s.stop()


def _log(runs, run_id, name, files: dict[str, bytes], aliases=None, type="model"):
    run = localrun.init(project="proj", id=run_id, dir=runs, resume="allow")
    art = localrun.Artifact(name, type, metadata={"by": run_id})
    for path, data in files.items():
        with art.new_file(path, mode="wb") as f:
            f.write(data)
    run.log_artifact(art, aliases=aliases)
    run.log({"x": 1})
    localrun.finish()
    return art


def _tree(root):
    out = {}
    for folder, _, files in os.walk(root):
        for f in files:
            p = os.path.join(folder, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def test_cli_lists_shows_and_downloads_from_a_runs_root(tmp_path):
    runs = str(tmp_path / "runs")
    _log(runs, "r1", "model-r1", {"model.ckpt": b"one"}, aliases=["best"])
    _log(runs, "r1", "model-r1", {"model.ckpt": b"two"})
    out = cli("artifacts", "list", runs).stdout
    assert "proj/model-r1" in out and "best:v0" in out and "v1" in out
    listed = json.loads(cli("artifacts", "list", runs, "--json").stdout)
    assert listed == [
        {
            "project": "proj",
            "name": "model-r1",
            "type": "model",
            "versions": 2,
            "latest": "v1",
            "aliases": {"best": "v0"},
        }
    ]
    shown = json.loads(cli("artifacts", "show", "model-r1:best", "--from", runs, "--json").stdout)
    assert shown["version"] == 0 and shown["aliases"] == ["best"] and shown["run"] == "r1"
    assert shown["manifest"]["metadata"] == {"by": "r1"}
    assert list(shown["manifest"]["entries"]) == ["model.ckpt"]
    text = cli("artifacts", "show", "proj/model-r1", "--from", runs).stdout
    assert "v0" in text and "latest" in text
    dest = str(tmp_path / "dl")
    res = cli("artifacts", "download", "model-r1:latest", "--from", runs, "--root", dest)
    assert res.stdout.strip() == dest
    assert _tree(dest) == {"model.ckpt": b"two"}


def test_cli_errors_are_one_line_with_the_way_on(tmp_path):
    runs = str(tmp_path / "runs")
    _log(runs, "r1", "m", {"f": b"f"})
    res = cli("artifacts", "show", "m:v5", "--from", runs, check=False)
    assert res.returncode == 1
    assert (
        res.stderr.strip()
        == "Error: artifact proj/m has no version or alias 'v5': it has v0, latest"
    )
    res = cli("artifacts", "download", "nope", "--from", runs, check=False)
    assert (
        res.returncode == 1 and "no artifact 'nope'" in res.stderr and "Traceback" not in res.stderr
    )
    res = cli("artifacts", "list", str(tmp_path / "missing"), check=False)
    assert res.returncode == 1 and "does not exist" in res.stderr
    assert cli("artifacts", "list", str(tmp_path)).stderr.strip() == "no artifacts"


def test_sync_sends_each_file_once_per_server_and_the_server_serves_them(tmp_path, server):
    runs = str(tmp_path / "runs")
    frozen = os.urandom(3_000_000)  # shared by every version and both runs
    _log(runs, "r1", "ck", {"frozen.bin": frozen, "head.bin": b"h0"}, aliases=["best"])
    _log(runs, "r1", "ck", {"frozen.bin": frozen, "head.bin": b"h1"})
    _log(runs, "r2", "other", {"frozen.bin": frozen}, type="dataset")
    res = cli("sync", runs, "--to", server.url)
    lines = res.stdout.splitlines()
    # r1: 2 versions, 5 distinct files (frozen, 2 heads, 2 manifests? no: manifests stay local)
    assert "sent 2 artifact versions (3 files, 3.0 MB)" in lines[0], lines
    assert "sent 1 artifact version" in lines[1] and "files" not in lines[1], lines
    # The server holds each file once; nothing is sent again.
    blobs = [f for _, _, fs in os.walk(os.path.join(server.data_dir, "blobs")) for f in fs]
    assert len(blobs) == 3
    again = cli("sync", runs, "--to", server.url).stdout
    assert "artifact" not in again
    # Read back from the server, the way it reads back from the runs root.
    listed = json.loads(cli("artifacts", "list", server.url, "--json").stdout)
    assert [(a["name"], a["versions"], a["aliases"]) for a in listed] == [
        ("ck", 2, {"best": "v0"}),
        ("other", 1, {}),
    ]
    dest = str(tmp_path / "from-server")
    cli("artifacts", "download", "proj/ck:best", "--from", server.url, "--root", dest)
    assert _tree(dest) == {"frozen.bin": frozen, "head.bin": b"h0"}
    r = httpx.get(f"{server.url}/api/v1/artifacts/proj/ck/latest/files/head.bin")
    assert r.status_code == 200 and r.content == b"h1"
    doc = httpx.get(f"{server.url}/api/v1/runs/proj/r2").json()
    assert doc["artifacts"]["logged"][0]["name"] == "other"


def test_an_alias_goes_to_the_version_it_was_given_last_whatever_the_sync_order(tmp_path, server):
    runs = str(tmp_path / "runs")
    _log(runs, "zz-first", "m", {"f": b"0"}, aliases=["prod"])
    _log(runs, "aa-second", "m", {"f": b"1"}, aliases=["prod"])
    cli("sync", os.path.join(runs, "aa-second"), "--to", server.url)
    cli("sync", os.path.join(runs, "zz-first"), "--to", server.url)  # synced last, logged first
    v = json.loads(cli("artifacts", "show", "proj/m:prod", "--from", server.url, "--json").stdout)
    assert v["version"] == 1 and v["aliases"] == ["latest", "prod"]


def test_the_server_refuses_versions_it_cannot_serve(tmp_path, server):
    url = f"{server.url}/api/v1/artifacts/proj/m/v0"
    sha = "a" * 64
    from localrun.artifacts.artifact import digest_of

    body = {
        "type": "model",
        "digest": digest_of({"f": sha}),
        "manifest": {"entries": {"f": {"digest": sha, "size": 1}}},
    }
    r = httpx.put(url, json=body)
    assert r.status_code == 409 and r.json()["missing"] == [sha]  # the file is not uploaded
    r = httpx.put(url, json={**body, "digest": "b" * 64})
    assert r.status_code == 400 and "not what the manifest" in r.json()["error"]
    bad = {**body, "manifest": {"entries": {"../escape": {"digest": sha, "size": 1}}}}
    assert httpx.put(url, json=bad).status_code == 400
    assert httpx.put(f"{server.url}/api/v1/artifacts/proj/a%2Fb/v0", json=body).status_code in (
        400,
        404,
    )
    assert httpx.put(f"{server.url}/api/v1/artifacts/proj/m/best", json=body).status_code == 400
    assert httpx.get(f"{server.url}/api/v1/artifacts/proj/m").status_code == 404
    big = "x" * (65 * 1024 * 1024)
    r = httpx.put(url, content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_a_version_the_server_holds_otherwise_is_reported_and_the_rest_synced(tmp_path, server):
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    _log(one, "r1", "m", {"f": b"from root one"})
    _log(two, "r2", "m", {"f": b"from root two"})  # also v0, in another runs root
    cli("sync", one, "--to", server.url)
    res = cli("sync", two, "--to", server.url, check=False)
    assert res.returncode == 3
    assert "1 artifact version not sent" in res.stdout
    assert "artifact proj/m:v0 not sent" in res.stderr and "holds other contents" in res.stderr
    assert json.loads(cli("show", f"{server.url}/runs/proj/r2", "--json").stdout)["rows"] == 1


def test_dry_run_counts_the_versions_and_contacts_no_server(tmp_path):
    runs = str(tmp_path / "runs")
    _log(runs, "r1", "m", {"f": b"f"})
    out = cli("sync", runs, "--to", "http://127.0.0.1:9", "--dry-run").stdout
    assert "would send 1 row; would send 1 artifact version" in out


def test_a_file_over_the_servers_limit_is_reported_and_the_run_still_synced(tmp_path):
    server = Server(str(tmp_path / "small-server"), None, "--max-blob-mb", "1")
    try:
        runs = str(tmp_path / "runs")
        _log(runs, "r1", "big", {"weights.bin": os.urandom(2 * 1024 * 1024)})
        res = cli("sync", runs, "--to", server.url, check=False)
        assert res.returncode == 3
        assert "1 artifact version not sent" in res.stdout
        assert "over the server's limit" in res.stderr and "--max-blob-mb" in res.stderr
        doc = json.loads(cli("show", f"{server.url}/runs/proj/r1", "--json").stdout)
        assert doc["rows"] == 1 and doc["state"] == "finished"
        assert httpx.get(f"{server.url}/api/v1/artifacts").json() == []
    finally:
        server.stop()
