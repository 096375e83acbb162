"""The server app in-process: hostile input is refused with a 4xx and nothing is stored.

Every test runs on both storages: SQLite in the data folder, and PostgreSQL (``--db``) where
tests/pg.py finds one (skipped, saying why, where not)."""

from __future__ import annotations

import hashlib
import json
import os

import httpx
import msgpack
import pytest
from click.testing import CliRunner

from localrun.cli import main
from localrun.server import Limits, create_app, open_storage
from localrun.sync.transports import AsyncBridge

from .. import pg

MSGPACK = {"Content-Type": "application/msgpack"}
RUN = "/api/v1/runs/proj/r1"


_DB: dict[str, str] = {}  # data folder -> the database its runs go into (PostgreSQL)
_OPENED: dict[str, list] = {}  # data folder -> the storages of the apps made on it


@pytest.fixture(params=["sqlite", "postgres"])
def data(request, tmp_path):
    path = str(tmp_path / "data")
    if request.param == "sqlite":
        yield path
        return
    _DB[path], schema = pg.fresh_url()
    yield path
    del _DB[path]
    for storage in _OPENED.pop(path, []):  # no lifespan in-process: closed here
        storage.close()
    pg.drop(schema)


def client(data, token=None, **limits) -> httpx.Client:
    storage = None
    if data in _DB:
        storage = open_storage(data, _DB[data])
        _OPENED.setdefault(data, []).append(storage)
    app = create_app(
        data, token=token, limits=Limits(**limits) if limits else None, storage=storage
    )
    return httpx.Client(base_url="http://inproc", transport=AsyncBridge(httpx.ASGITransport(app)))


def stored_blobs(data) -> list[str]:
    return [f for d, _, fs in os.walk(os.path.join(data, "blobs")) for f in fs]


def assert_nothing_stored(c: httpx.Client, data: str) -> None:
    runs = c.get("/api/v1/runs").json()
    assert all(r["rows"] == 0 for r in runs), runs
    assert stored_blobs(data) == []


def test_create_append_and_read_back(data):
    with client(data) as c:
        assert c.put(RUN, json={"created_at": 1.0}).status_code == 201
        assert c.put(RUN, json={"created_at": 1.0}).status_code == 200
        rows = [{"_step": 0, "a": 1.5}, {"_step": 1, "a": float("nan")}]
        r = c.post(f"{RUN}/rows", content=msgpack.packb(rows), headers=MSGPACK)
        assert r.json() == {"inserted": 2, "ignored": 0, "rows": 2, "last_step": 1}
        again = c.post(f"{RUN}/rows", content=msgpack.packb(rows), headers=MSGPACK)
        assert again.json() == {"inserted": 0, "ignored": 2, "rows": 2, "last_step": 1}
        page = msgpack.unpackb(c.get(f"{RUN}/rows", params={"after": 0}).content)
        assert page[0]["_step"] == 1 and page[0]["a"] != page[0]["a"]  # NaN survives
        assert c.get("/runs/proj/r1").json()["rows"] == 2


@pytest.mark.parametrize(
    "method, path, body, headers, status",
    [
        ("POST", f"{RUN}/rows", b"\xc1\xc1garbage", MSGPACK, 400),
        ("POST", f"{RUN}/rows", b"{not json", {"Content-Type": "application/json"}, 415),
        ("POST", f"{RUN}/rows", b"<xml/>", {"Content-Type": "text/xml"}, 415),
        ("POST", f"{RUN}/rows", msgpack.packb({"_step": 0}), MSGPACK, 400),
        ("POST", f"{RUN}/rows", msgpack.packb([{"_step": "0"}]), MSGPACK, 400),
        ("POST", f"{RUN}/rows", msgpack.packb([{"_step": -1}]), MSGPACK, 400),
        ("POST", f"{RUN}/rows", msgpack.packb([{"_step": 2}, {"_step": 1}]), MSGPACK, 400),
        (
            "POST",
            f"{RUN}/rows",
            msgpack.packb(
                [{"_step": 0, "img": {"_type": "image-file", "path": "../../etc/passwd"}}]
            ),
            MSGPACK,
            400,
        ),
        (
            "POST",
            f"{RUN}/rows",
            msgpack.packb([{"_step": 0, "img": {"_type": "image-file", "path": "/etc/passwd"}}]),
            MSGPACK,
            400,
        ),
        (
            "POST",
            f"{RUN}/rows",
            msgpack.packb(
                [{"_step": 0, "v": {"_type": "video-file", "filenames": ["media/../../x"]}}]
            ),
            MSGPACK,
            400,
        ),
        (
            "POST",
            f"{RUN}/rows",
            msgpack.packb(
                [
                    {
                        "_step": 0,
                        "img": {"_type": "image-file", "path": "media/x.png", "sha256": "a" * 64},
                    }
                ]
            ),
            MSGPACK,
            409,
        ),
        ("POST", "/api/v1/runs/proj/other/rows", msgpack.packb([{"_step": 0}]), MSGPACK, 404),
        ("PUT", "/api/v1/runs/proj/..", b"{}", {}, 405),  # the client resolves it to /api/v1/runs
        ("PUT", "/api/v1/runs/proj/%2e%2e", b"{}", {}, 400),
        ("PUT", "/api/v1/runs/..%2f..%2fetc/r1", b"{}", {}, 404),
        ("PUT", "/api/v1/runs/.hidden/r1", b"{}", {}, 400),
        ("PUT", "/api/v1/runs/proj/r1", b"[1]", {}, 400),
        ("PUT", f"{RUN}/doc", b"[1]", {}, 400),
        ("PUT", "/api/v1/blobs/" + "0" * 64, b"not these bytes", {}, 400),
        ("PUT", "/api/v1/blobs/..%2f..%2fpasswd", b"x", {}, 404),
        ("PUT", "/api/v1/blobs/" + "A" * 64, b"x", {}, 400),
        ("POST", "/api/v1/blobs/missing", json.dumps({"sha256": ["../x"]}).encode(), {}, 400),
        ("GET", f"{RUN}/rows?after=x", b"", {}, 400),
        ("POST", "/api/v1/blobs", msgpack.packb({"0" * 64: b"not these bytes"}), MSGPACK, 400),
        (
            "POST",
            "/api/v1/blobs",
            msgpack.packb({hashlib.sha256(b"ok").hexdigest(): b"ok", "0" * 64: b"bad"}),
            MSGPACK,
            400,
        ),
        ("POST", "/api/v1/blobs", msgpack.packb({"../x": b"x"}), MSGPACK, 400),
        (
            "POST",
            "/api/v1/blobs",
            msgpack.packb({hashlib.sha256(b"ok").hexdigest(): "ok"}),
            MSGPACK,
            400,
        ),
        ("POST", "/api/v1/blobs", msgpack.packb([b"x"]), MSGPACK, 400),
        ("POST", "/api/v1/blobs", b"x", {"Content-Type": "application/octet-stream"}, 415),
    ],
)
def test_hostile_requests_are_refused_and_store_nothing(data, method, path, body, headers, status):
    with client(data) as c:
        c.put(RUN, json={})
        r = c.request(method, path, content=body, headers=headers)
        assert r.status_code == status, r.text
        if status != 404 or "json" in r.headers.get("content-type", ""):
            assert "error" in r.json()
        assert_nothing_stored(c, data)


def test_oversized_bodies_get_413(data):
    with client(data, max_body_bytes=1000, max_blob_bytes=100, max_batch_rows=5) as c:
        c.put(RUN, json={})
        big = msgpack.packb([{"_step": i, "pad": "x" * 100} for i in range(20)])
        assert c.post(f"{RUN}/rows", content=big, headers=MSGPACK).status_code == 413
        many = msgpack.packb([{"_step": i} for i in range(6)])
        assert c.post(f"{RUN}/rows", content=many, headers=MSGPACK).status_code == 413
        blob = b"y" * 200
        r = c.put(f"/api/v1/blobs/{hashlib.sha256(blob).hexdigest()}", content=blob)
        assert r.status_code == 413

        def chunked():  # no Content-Length: the limit holds while streaming
            yield blob

        r = c.put(f"/api/v1/blobs/{hashlib.sha256(blob).hexdigest()}", content=chunked())
        assert r.status_code == 413
        assert_nothing_stored(c, data)


def test_blob_upload_checks_the_hash_and_stores_once(data):
    blob = b"\x89PNG fake image bytes"
    sha = hashlib.sha256(blob).hexdigest()
    with client(data) as c:
        assert c.post("/api/v1/blobs/missing", json={"sha256": [sha]}).json() == {"missing": [sha]}
        assert c.put(f"/api/v1/blobs/{sha}", content=blob).status_code == 201
        assert c.put(f"/api/v1/blobs/{sha}", content=blob).status_code == 200
        assert c.post("/api/v1/blobs/missing", json={"sha256": [sha]}).json() == {"missing": []}
        assert c.get(f"/api/v1/blobs/{sha}").content == blob
        assert stored_blobs(data) == [sha]


def test_a_bundle_stores_each_file_once(data):
    files = {hashlib.sha256(b).hexdigest(): b for b in (b"one", b"two", b"three")}
    with client(data) as c:
        first = c.post("/api/v1/blobs", content=msgpack.packb(files), headers=MSGPACK).json()
        assert sorted(first["stored"]) == sorted(files)
        again = c.post("/api/v1/blobs", content=msgpack.packb(files), headers=MSGPACK).json()
        assert again["stored"] == []
        assert sorted(stored_blobs(data)) == sorted(files)
        for sha, b in files.items():
            assert c.get(f"/api/v1/blobs/{sha}").content == b


def test_a_bundle_of_many_files_is_stored_whole_by_several_writers(data):
    files = {
        hashlib.sha256(b).hexdigest(): b
        for b in (f"file {i}".encode() * (i + 1) for i in range(50))
    }
    with client(data) as c:
        answer = c.post("/api/v1/blobs", content=msgpack.packb(files), headers=MSGPACK).json()
        assert sorted(answer["stored"]) == sorted(files) and answer["count"] == 50
        assert sorted(stored_blobs(data)) == sorted(files)  # nothing left in blobs/tmp
        for sha, b in files.items():
            assert c.get(f"/api/v1/blobs/{sha}").content == b


def test_token_is_required_on_every_call(data):
    with client(data, token="t0k") as c:
        for method, path in [
            ("GET", "/api/v1/runs"),
            ("PUT", RUN),
            ("GET", "/"),
            ("GET", "/runs/proj/r1"),
        ]:
            r = c.request(method, path, content=b"{}")
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/api/v1/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/v1/runs", headers={"Authorization": "Bearer t0k"}).status_code == 200


def test_serve_refuses_a_public_address_without_a_token(tmp_path):
    result = CliRunner().invoke(
        main, ["serve", "--data", str(tmp_path), "--host", "0.0.0.0"], env={"LOCALRUN_TOKEN": ""}
    )
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0 without a token" in result.output


@pytest.mark.parametrize("where", ["row", "document"])
def test_a_sha256_with_a_newline_after_it_is_refused(data, where):
    """A sha256 is 64 hex digits and nothing after them, wherever it is checked."""
    img = {"_type": "image-file", "path": "media/x.png", "sha256": "a" * 64 + "\n"}
    with client(data) as c:
        assert c.put(RUN, json={}).status_code == 201
        if where == "row":
            r = c.post(
                f"{RUN}/rows", content=msgpack.packb([{"_step": 0, "img": img}]), headers=MSGPACK
            )
        else:
            r = c.put(
                f"{RUN}/doc", content=msgpack.packb({"summary": {"img": img}}), headers=MSGPACK
            )
        assert r.status_code == 400 and "is not a sha256" in r.json()["error"]
        assert c.put("/api/v1/blobs/" + "a" * 64 + "%0A", content=b"x").status_code == 400
        assert_nothing_stored(c, data)


def test_health_and_readiness_answer_without_the_token(data):
    storage = open_storage(data, _DB.get(data))
    app = create_app(data, token="t0k", storage=storage)
    with httpx.Client(
        base_url="http://inproc", transport=AsyncBridge(httpx.ASGITransport(app))
    ) as c:
        assert c.get("/healthz").json() == {"ok": True}
        assert c.get("/readyz").json() == {"ok": True}
        assert c.get("/api/v1/runs").status_code == 401  # everything else still needs it
        assert c.post("/readyz").status_code == 401
        storage.close()  # the storage stops answering: not ready, still alive
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json() == {
            "ok": False,
            "error": "the storage does not answer",
        }
        assert c.get("/healthz").status_code == 200
