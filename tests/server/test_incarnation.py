"""The server's side of run identity and lost media (docs/protocol.md), in-process."""

from __future__ import annotations

import hashlib

import httpx
import msgpack
import pytest

from localrun.server import Limits, create_app
from localrun.sync.transports import AsyncBridge

MSGPACK = {"Content-Type": "application/msgpack"}
RUN = "/api/v1/runs/proj/r1"
A = "a" * 32
B = "b" * 32


@pytest.fixture
def c(tmp_path):
    app = create_app(str(tmp_path / "data"))
    with httpx.Client(
        base_url="http://inproc", transport=AsyncBridge(httpx.ASGITransport(app))
    ) as client:
        yield client


def rows(*steps, **extra) -> bytes:
    return msgpack.packb([{"_step": s, "v": s, **extra} for s in steps])


def post_rows(c, body, incarnation=None):
    headers = dict(MSGPACK)
    if incarnation is not None:
        headers["Localrun-Incarnation"] = incarnation
    return c.post(f"{RUN}/rows", content=body, headers=headers)


def stored(c) -> tuple[int, list]:
    doc = c.get(RUN).json()
    return doc["rows"], msgpack.unpackb(c.get(f"{RUN}/rows").content)


def test_a_run_keeps_its_incarnation_and_refuses_another(c):
    r = c.put(RUN, json={"created_at": 1.0, "incarnation": A})
    assert r.status_code == 201 and r.json()["created"] is True
    assert post_rows(c, rows(0, 1), A).json()["inserted"] == 2
    assert c.put(RUN, json={"created_at": 1.0, "incarnation": A}).status_code == 200
    other = c.put(RUN, json={"created_at": 2.0, "incarnation": B})
    assert other.status_code == 409
    body = other.json()
    assert body["conflict"] == "incarnation" and body["incarnation"] == A
    assert "different run with project 'proj' and id 'r1'" in body["error"]
    for refused in (
        post_rows(c, rows(2, 3), B),
        c.put(f"{RUN}/doc", json={"state": "finished"}, headers={"Localrun-Incarnation": B}),
        c.post(
            f"{RUN}/lost-media",
            json={"files": [{"sha256": "c" * 64, "path": "media/x.png", "reason": "gone"}]},
            headers={"Localrun-Incarnation": B},
        ),
    ):
        assert refused.status_code == 409, refused.text
        assert refused.json()["conflict"] == "incarnation"
        assert refused.json()["incarnation"] == A
    assert stored(c)[0] == 2
    assert c.get(RUN).json()["state"] is None and "lost_media" not in c.get(RUN).json()


def test_without_an_incarnation_everything_is_as_before(c):
    assert c.put(RUN, json={"created_at": 1.0, "incarnation": A}).status_code == 201
    assert c.put(RUN, json={"created_at": 1.0}).status_code == 200
    assert post_rows(c, rows(0)).json() == {"inserted": 1, "ignored": 0, "rows": 1, "last_step": 0}
    assert c.put(f"{RUN}/doc", json={"state": "finished"}).status_code == 200


def test_a_run_made_without_one_adopts_the_first_incarnation_named(c):
    assert c.put(RUN, json={"created_at": 1.0}).status_code == 201
    post_rows(c, rows(0, 1))
    adopted = c.put(RUN, json={"created_at": 1.0, "incarnation": A})
    assert adopted.status_code == 200 and adopted.json()["rows"] == 2
    assert c.put(RUN, json={"created_at": 1.0, "incarnation": B}).status_code == 409
    assert post_rows(c, rows(2), A).status_code == 200


def test_a_header_naming_a_run_made_without_one_is_a_conflict(c):
    assert c.put(RUN, json={}).status_code == 201
    r = post_rows(c, rows(0), A)
    assert r.status_code == 409 and r.json()["incarnation"] is None
    assert stored(c)[0] == 0


@pytest.mark.parametrize("value", ["", "x" * 101, "a b", "a/b", "ab\n", 5, ["a"], "é"], ids=repr)
def test_a_malformed_incarnation_is_refused(c, value):
    assert c.put(RUN, json={"incarnation": value}).status_code == 400
    assert c.get("/api/v1/runs").json() == []
    assert c.put(RUN, json={}).status_code == 201
    if type(value) is str and value.isascii() and value.isprintable():
        assert post_rows(c, rows(0), value).status_code == 400
        assert stored(c)[0] == 0


def test_replace_drops_the_old_runs_rows_document_and_lost_files(c):
    c.put(RUN, json={"created_at": 1.0, "incarnation": A})
    post_rows(c, rows(0, 1, 2), A)
    c.put(f"{RUN}/doc", json={"state": "finished", "config": {"x": 1}})
    c.post(
        f"{RUN}/lost-media",
        json={"files": [{"sha256": "c" * 64, "path": "media/c.png", "reason": "gone"}]},
    )
    r = c.put(RUN, json={"created_at": 5.0, "incarnation": B, "replace": True})
    assert r.status_code == 201
    assert r.json() == {
        "project": "proj",
        "id": "r1",
        "rows": 0,
        "last_step": None,
        "created": True,
        "replaced": True,
    }
    doc = c.get(RUN).json()
    assert doc["rows"] == 0 and doc["state"] is None and doc["created_at"] == 5.0
    assert "lost_media" not in doc
    assert post_rows(c, rows(0), A).status_code == 409  # the old one is now the stranger
    assert post_rows(c, rows(0), B).json()["inserted"] == 1
    fresh = c.put("/api/v1/runs/proj/new", json={"incarnation": A, "replace": True})
    assert fresh.status_code == 201 and fresh.json()["replaced"] is False


@pytest.mark.parametrize(
    "body",
    [{"replace": True}, {"incarnation": A, "replace": "yes"}, {"incarnation": A, "replace": 1}],
)
def test_replace_needs_an_incarnation_and_a_boolean(c, body):
    assert c.put(RUN, json=body).status_code == 400
    assert c.get("/api/v1/runs").json() == []


def image_row(step: int, sha: str) -> dict:
    return {
        "_step": step,
        "img": {"_type": "image-file", "path": f"media/{sha}.png", "sha256": sha},
    }


def test_rows_naming_declared_lost_files_are_accepted_and_others_still_refused(c):
    good = b"real bytes"
    have = hashlib.sha256(good).hexdigest()
    lost = "d" * 64
    other = "e" * 64
    c.put(RUN, json={"incarnation": A})
    assert c.put(f"/api/v1/blobs/{have}", content=good).status_code == 201
    refused = post_rows(c, msgpack.packb([image_row(0, have), image_row(1, lost)]), A)
    assert refused.status_code == 409 and refused.json()["missing"] == [lost]
    assert "conflict" not in refused.json()
    files = [
        {"sha256": lost, "path": f"media/{lost}.png", "reason": "damaged"},
        {"sha256": lost, "path": f"media/{lost}.png", "reason": "damaged"},  # said twice
        {"sha256": "0" * 64, "path": "media/a.png", "reason": "missing"},
    ]
    declared = c.post(
        f"{RUN}/lost-media", json={"files": files}, headers={"Localrun-Incarnation": A}
    )
    assert declared.status_code == 200 and declared.json()["lost_media"] == 2
    ok = post_rows(c, msgpack.packb([image_row(0, have), image_row(1, lost)]), A)
    assert ok.status_code == 200 and ok.json()["inserted"] == 2
    still = post_rows(c, msgpack.packb([image_row(2, other)]), A)
    assert still.status_code == 409 and still.json()["missing"] == [other]
    doc = {"state": "finished", "summary": {"img": image_row(1, lost)["img"]}}
    assert c.put(f"{RUN}/doc", content=msgpack.packb(doc), headers=MSGPACK).status_code == 200
    assert c.get(RUN).json()["lost_media"] == [
        {"sha256": "0" * 64, "path": "media/a.png", "reason": "missing"},
        {"sha256": lost, "path": f"media/{lost}.png", "reason": "damaged"},
    ]


def test_a_lost_file_uploaded_later_is_simply_there(c):
    data = b"found again"
    sha = hashlib.sha256(data).hexdigest()
    c.put(RUN, json={})
    c.post(
        f"{RUN}/lost-media", json={"files": [{"sha256": sha, "path": "media/f.bin", "reason": "x"}]}
    )
    assert [f["sha256"] for f in c.get(RUN).json()["lost_media"]] == [sha]
    c.put(f"/api/v1/blobs/{sha}", content=data)
    assert "lost_media" not in c.get(RUN).json()


@pytest.mark.parametrize(
    "body, status",
    [
        ({}, 400),
        ({"files": {}}, 400),
        ({"files": ["x"]}, 400),
        ({"files": [{"sha256": "X" * 64, "path": "media/a", "reason": "r"}]}, 400),
        ({"files": [{"sha256": "a" * 64, "path": "../../etc/passwd", "reason": "r"}]}, 400),
        ({"files": [{"sha256": "a" * 64, "path": "/etc/passwd", "reason": "r"}]}, 400),
        ({"files": [{"sha256": "a" * 64, "path": "media/a", "reason": ""}]}, 400),
        ({"files": [{"sha256": "a" * 64, "path": "media/a", "reason": "r" * 1001}]}, 400),
        ({"files": [{"sha256": "a" * 64, "path": "media/a"}]}, 400),
    ],
)
def test_bad_lost_media_declarations_are_refused(c, body, status):
    c.put(RUN, json={})
    assert c.post(f"{RUN}/lost-media", json=body).status_code == status
    assert "lost_media" not in c.get(RUN).json()


def test_lost_media_limits_and_unknown_runs(tmp_path):
    app = create_app(str(tmp_path / "data"), limits=Limits(max_hashes=3))
    with httpx.Client(base_url="http://x", transport=AsyncBridge(httpx.ASGITransport(app))) as c:
        one = {"sha256": "a" * 64, "path": "media/a", "reason": "r"}
        assert c.post(f"{RUN}/lost-media", json={"files": [one]}).status_code == 404
        c.put(RUN, json={})
        assert c.post(f"{RUN}/lost-media", json={"files": [one] * 4}).status_code == 413
        assert c.post(f"{RUN}/lost-media", json={"files": [one] * 3}).status_code == 200


def test_the_root_says_what_one_request_may_carry(tmp_path):
    limits = Limits(max_body_bytes=1000, max_blob_bytes=2000, max_batch_rows=30, max_hashes=40)
    app = create_app(str(tmp_path / "data"), limits=limits)
    with httpx.Client(base_url="http://x", transport=AsyncBridge(httpx.ASGITransport(app))) as c:
        root = c.get("/").json()
    assert root["api"] == "/api/v1"
    assert root["limits"] == {
        "max_body_bytes": 1000,
        "max_blob_bytes": 2000,
        "max_batch_rows": 30,
        "max_hashes": 40,
    }
