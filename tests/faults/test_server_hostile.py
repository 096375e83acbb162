"""Hostile requests on every endpoint of a real `localrun serve`: 4xx, nothing stored, still serving.

The cases are generated per route of docs/protocol.md: missing and wrong tokens, every method a
route does not take, hostile names in every path parameter (project, run id, sha256: traversal,
encoded slashes and dots, NUL, control characters, too long), unknown runs and blobs, and for
every route that takes a body: malformed, truncated, wrongly typed, oversized, values outside
the format, wrong hashes, media paths that try to leave the run. They go over a raw socket, so
no client library normalizes a path or fixes a header first. After each one the SQLite database
and the blob folder are exactly as before, and the server still answers a valid request.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from urllib.parse import quote

import msgpack
import pytest

from tests.sync.conftest import Server

from .serverlog import server_log

TOKEN = "s3cret-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}
MSGPACK = {"Content-Type": "application/msgpack"}
BLOB = b"\x89PNG stored before the attack"
SHA = hashlib.sha256(BLOB).hexdigest()
NEW_BLOB = b"bytes nobody uploaded"
NEW_SHA = hashlib.sha256(NEW_BLOB).hexdigest()
MAX_BODY = 1024 * 1024  # --max-body-mb 1
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")

ROUTES = {  # path pattern -> the methods it takes (docs/protocol.md)
    "/": {"GET"},
    "/api/v1/runs": {"GET"},
    "/api/v1/runs/{project}/{run_id}": {"GET", "PUT"},
    "/api/v1/runs/{project}/{run_id}/doc": {"PUT"},
    "/api/v1/runs/{project}/{run_id}/rows": {"GET", "POST"},
    "/api/v1/blobs/missing": {"POST"},
    "/api/v1/blobs": {"POST"},
    "/api/v1/blobs/{sha256}": {"GET", "PUT"},
    "/runs/{project}/{run_id}": {"GET"},
}

BAD_PROJECTS = [
    "..",
    ".",
    ".hidden",
    "../../etc",
    "..\\..\\etc",
    "a/b",
    "a\\b",
    "a:b",
    "a?b",
    "a#b",
    "a%b",
    " lead",
    "trail ",
    "a\x00b",
    "a\nb",
    "\x7f",
    "x" * 129,
    "",
]
BAD_RUN_IDS = [
    "..",
    ".",
    "../r1",
    "r1/..",
    "a..b",
    "-lead",
    ".lead",
    "_lead",
    "a b",
    "a/b",
    "a\\b",
    "a\x00b",
    "é",
    "r1;rm",
    "x" * 129,
    "",
]
BAD_SHAS = [
    "A" * 64,
    "g" * 64,
    "0" * 63,
    "0" * 65,
    "../" + "0" * 61,
    "..",
    SHA + "/..",
    SHA[:-1] + "\x00",
    "",
]


def enc(name: str) -> str:
    """Percent-encode everything, dots too, so the path reaches the server as the name."""
    return quote(name, safe="").replace(".", "%2E")


def fill(pattern: str, project="proj", run_id="r1", sha256=SHA) -> str:
    return (
        pattern.replace("{project}", project)
        .replace("{run_id}", run_id)
        .replace("{sha256}", sha256)
    )


def valid_body(method: str, pattern: str) -> tuple[bytes, dict]:
    """A body the route would take (used with a bad name, token or method, it must not count)."""
    if method == "PUT" and pattern.endswith("{run_id}"):
        return json.dumps({"created_at": 1.5}).encode(), JSON
    if pattern.endswith("/doc"):
        return json.dumps(
            {"id": "r1", "project": "proj", "state": "finished", "config": {"lr": 0.1}}
        ).encode(), JSON
    if method == "POST" and pattern.endswith("/rows"):
        return msgpack.packb([{"_step": 10, "loss": 0.5}]), MSGPACK
    if pattern.endswith("/missing"):
        return json.dumps({"sha256": [NEW_SHA]}).encode(), JSON
    if pattern == "/api/v1/blobs":
        return msgpack.packb({NEW_SHA: NEW_BLOB}), MSGPACK
    if method == "PUT" and pattern.endswith("{sha256}"):
        return NEW_BLOB, {}
    return b"", {}


@dataclass
class Case:
    route: str
    what: str
    method: str
    path: str
    body: bytes = b""
    headers: dict | None = None
    status: tuple[int, ...] = (400,)
    auth: bool = True

    def __str__(self) -> str:
        return f"{self.method} {self.route}: {self.what}"


def auth_cases() -> list[Case]:
    wrong = {
        "no token": {},
        "wrong token": {"Authorization": "Bearer nope"},
        "token with a suffix": {"Authorization": f"Bearer {TOKEN}x"},
        "token prefix only": {"Authorization": f"Bearer {TOKEN[:-1]}"},
        "lowercase scheme": {"Authorization": f"bearer {TOKEN}"},
        "basic auth": {"Authorization": "Basic czNjcmV0LXQwa2Vu"},
        "token without scheme": {"Authorization": TOKEN},
        "empty bearer": {"Authorization": "Bearer "},
    }
    cases = []
    for route, methods in ROUTES.items():
        for method in sorted(methods):
            body, headers = valid_body(method, route)
            for what, h in wrong.items():
                cases.append(
                    Case(
                        route,
                        what,
                        method,
                        fill(route, sha256=NEW_SHA if method == "PUT" else SHA),
                        body,
                        {**headers, **h},
                        (401,),
                        auth=False,
                    )
                )
    return cases


def method_cases() -> list[Case]:
    cases = []
    for route, methods in ROUTES.items():
        for method in METHODS:
            if method not in methods:
                body, headers = valid_body("PUT" if "PUT" in methods else "POST", route)
                # GET/PUT /api/v1/blobs/missing is the route /api/v1/blobs/{sha256}: a bad hash.
                status = (
                    (400,)
                    if route == "/api/v1/blobs/missing" and method in ("GET", "PUT")
                    else (405,)
                )
                cases.append(
                    Case(
                        route, "method it does not take", method, fill(route), body, headers, status
                    )
                )
    return cases


def _name_status(name: str) -> tuple[int, ...]:
    if (
        not name
    ):  # ".../runs/proj/" or ".../blobs/": the slash-less URL, by redirect (a 307, nothing done)
        return (307, 404)
    return (404,) if "/" in name else (400,)


def name_cases() -> list[Case]:
    cases = []
    for route, methods in ROUTES.items():
        for method in sorted(methods):
            body, headers = valid_body(method, route)
            if "{project}" in route:
                for name in BAD_PROJECTS:
                    status = _name_status(name)
                    cases.append(
                        Case(
                            route,
                            f"project {name!r}",
                            method,
                            fill(route, project=enc(name)),
                            body,
                            headers,
                            status,
                        )
                    )
                for name in BAD_RUN_IDS:
                    status = _name_status(name)
                    cases.append(
                        Case(
                            route,
                            f"run id {name!r}",
                            method,
                            fill(route, run_id=enc(name)),
                            body,
                            headers,
                            status,
                        )
                    )
                for raw in (
                    "..",
                    ".",
                    "%2e%2e",
                    "..%2f..%2fetc",
                    "%2fetc",
                ):  # unencoded dots, as a raw client may send them
                    cases.append(
                        Case(
                            route,
                            f"raw run id {raw!r}",
                            method,
                            fill(route, run_id=raw),
                            body,
                            headers,
                            (400, 404, 405),
                        )
                    )
                if method != "PUT" or not route.endswith("{run_id}"):  # PUT would create it
                    cases.append(
                        Case(
                            route,
                            "unknown run",
                            method,
                            fill(route, run_id="nope"),
                            body,
                            headers,
                            (404,),
                        )
                    )
            if "{sha256}" in route:
                for name in BAD_SHAS:
                    status = _name_status(name)
                    cases.append(
                        Case(
                            route,
                            f"sha256 {name!r}",
                            method,
                            fill(route, sha256=enc(name)),
                            body,
                            headers,
                            status,
                        )
                    )
                if method == "GET":
                    cases.append(
                        Case(
                            route,
                            "unknown blob",
                            method,
                            fill(route, sha256=NEW_SHA),
                            status=(404,),
                        )
                    )
    return cases


def _deep(levels: int):
    value: object = 1.0
    for _ in range(levels):
        value = [value]
    return value


def body_cases() -> list[Case]:
    """Bodies each route must refuse."""
    run = "/api/v1/runs/proj/r1"
    new_run = "/api/v1/runs/proj/r2"  # does not exist: a refused PUT must not create it
    cases = []

    def add(route, method, path, what, body, headers, status=(400,)):
        cases.append(Case(route, what, method, path, body, headers, status))

    image = {"_type": "image-file", "format": "png", "path": f"media/{SHA}.png", "sha256": SHA}
    over_json = b'{"pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
    # What every structured body route refuses.
    structured = [
        ("PUT", "/api/v1/runs/{project}/{run_id}", new_run),
        ("PUT", "/api/v1/runs/{project}/{run_id}/doc", run + "/doc"),
        ("POST", "/api/v1/blobs/missing", "/api/v1/blobs/missing"),
    ]
    for method, route, path in structured:
        add(route, method, path, "garbage as JSON", b"{not json", JSON)
        add(route, method, path, "garbage as msgpack", b"\xc1\xc1\xc1", MSGPACK)
        add(
            route,
            method,
            path,
            "truncated msgpack",
            msgpack.packb({"created_at": 1.0, "sha256": [SHA]})[:-3],
            MSGPACK,
        )
        add(route, method, path, "empty body", b"", JSON)
        add(route, method, path, "a JSON array", b"[1, 2]", JSON)
        add(route, method, path, "a JSON string", b'"x"', JSON)
        add(route, method, path, "invalid UTF-8", b'{"a": "\xff\xfe"}', JSON)
        add(route, method, path, "XML", b"<doc/>", {"Content-Type": "text/xml"}, (415,))
        add(
            route,
            method,
            path,
            "form data",
            b"a=1",
            {"Content-Type": "application/x-www-form-urlencoded"},
            (415,),
        )
        add(route, method, path, "nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, JSON)
        add(route, method, path, "over the body limit", over_json, JSON, (413,))
        add(
            route,
            method,
            path,
            "Content-Length over the limit",
            b"{}",
            {**JSON, "Content-Length": str(MAX_BODY + 1)},
            (413,),
        )
        add(route, method, path, "non-string keys (msgpack)", msgpack.packb({1: 2}), MSGPACK)

    # PUT run
    r = "/api/v1/runs/{project}/{run_id}"
    for created in (
        "true",
        "null-ish",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "1" * 400,
        "[1]",
        "{}",
    ):
        add(
            r,
            "PUT",
            new_run,
            f"created_at {created[:12]}",
            f'{{"created_at": {json.dumps(created) if created == "null-ish" else created}}}'.encode(),
            JSON,
        )

    # PUT doc: values outside the format, media it names
    d = r + "/doc"
    for what, doc in [
        ("bytes value", msgpack.packb({"config": {"x": b"\x00"}})),
        ("ext value", msgpack.packb({"config": {"x": msgpack.ExtType(3, b"x")}})),
        ("timestamp value", msgpack.packb({"config": msgpack.Timestamp(1, 0)})),
        ("binary key", msgpack.packb({b"config": 1}, use_bin_type=True)),
        ("nested 70 deep", msgpack.packb({"config": _deep(70)})),
        (
            "media path ../",
            msgpack.packb({"summary": {"img": {**image, "path": "../../etc/passwd"}}}),
        ),
        (
            "media path absolute",
            msgpack.packb({"summary": {"img": {**image, "path": "/etc/passwd"}}}),
        ),
        (
            "media path backslash",
            msgpack.packb({"summary": {"img": {**image, "path": "media\\..\\x"}}}),
        ),
        (
            "media filenames ../",
            msgpack.packb(
                {"summary": {"v": {"_type": "video-file", "filenames": ["media/../../x"]}}}
            ),
        ),
        (
            "media filenames not a list",
            msgpack.packb({"summary": {"v": {"_type": "video-file", "filenames": "media/x"}}}),
        ),
        (
            "media sha256 not a hash",
            msgpack.packb({"summary": {"img": {**image, "sha256": "../x"}}}),
        ),
    ]:
        add(d, "PUT", run + "/doc", what, doc, MSGPACK)
    add(
        d,
        "PUT",
        run + "/doc",
        "a JSON integer beyond 64 bits",
        b'{"config": {"x": ' + b"9" * 30 + b"}}",
        JSON,
    )
    add(
        d,
        "PUT",
        run + "/doc",
        "media the server lacks",
        msgpack.packb(
            {"summary": {"img": {**image, "path": f"media/{NEW_SHA}.png", "sha256": NEW_SHA}}}
        ),
        MSGPACK,
        (409,),
    )

    # POST rows
    rows = r + "/rows"
    p = run + "/rows"

    def row_case(what, batch, status=(400,), **kw):
        add(rows, "POST", p, what, msgpack.packb(batch, **kw), MSGPACK, status)

    add(rows, "POST", p, "JSON rows", b'[{"_step": 10}]', JSON, (415,))
    add(rows, "POST", p, "no content type", msgpack.packb([{"_step": 10}]), {}, (415,))
    add(rows, "POST", p, "garbage", b"\xc1 nonsense", MSGPACK)
    add(
        rows,
        "POST",
        p,
        "truncated batch",
        msgpack.packb([{"_step": 10, "a": "x" * 50}])[:-10],
        MSGPACK,
    )
    add(
        rows,
        "POST",
        p,
        "over the body limit",
        msgpack.packb([{"_step": 10 + i, "pad": "x" * 1000} for i in range(1100)]),
        MSGPACK,
        (413,),
    )
    add(
        rows,
        "POST",
        p,
        "over 100,000 rows (and the body limit)",
        msgpack.packb([{"_step": 10 + i} for i in range(100_001)]),
        MSGPACK,
        (413,),
    )
    row_case("a map, not an array", {"_step": 10})
    row_case("a row that is a list", [[10]])
    row_case("no _step", [{"a": 1}])
    for step in ("10", 1.5, -1, True, None, [10]):
        row_case(f"_step {step!r}", [{"_step": step}])
    row_case("_step beyond 2^63-1", [{"_step": 2**63}])
    row_case("steps going back", [{"_step": 12}, {"_step": 11}])
    row_case("a step twice", [{"_step": 12}, {"_step": 12}])
    row_case("non-string key", [{"_step": 10, 1: 2}])
    row_case("binary key", [{"_step": 10, b"k": 2}], use_bin_type=True)
    row_case("bytes value", [{"_step": 10, "x": b"\x00\x01"}])
    row_case("bytes value, nested", [{"_step": 10, "x": {"y": [b"\x00"]}}])
    row_case("ext value", [{"_step": 10, "x": msgpack.ExtType(1, b"x")}])
    row_case("timestamp value", [{"_step": 10, "x": msgpack.Timestamp(5, 0)}])
    row_case("nested 70 deep", [{"_step": 10, "x": _deep(70)}])
    for what, value in [
        ("path ../", {**image, "path": "../../etc/passwd"}),
        ("path absolute", {**image, "path": "/etc/passwd"}),
        ("path with backslash", {**image, "path": "media\\..\\..\\x"}),
        ("path with NUL", {**image, "path": "media/a\x00.png"}),
        ("path ./", {**image, "path": "./media/x.png"}),
        ("path empty part", {**image, "path": "media//x.png"}),
        ("path empty", {**image, "path": ""}),
        ("path not a string", {**image, "path": 5}),
        ("path too long", {**image, "path": "media/" + "x" * 2000}),
        ("sha256 not a hash", {**image, "sha256": "../../x"}),
        ("sha256 uppercase", {**image, "sha256": SHA.upper()}),
        ("filenames ../", {"_type": "video-file", "filenames": ["media/../../x"]}),
        ("filenames absolute", {"_type": "video-file", "filenames": ["/etc/passwd"]}),
        ("filenames not a list", {"_type": "video-file", "filenames": "media/x"}),
        ("nested media with ../", {"_type": "table", "data": [[{**image, "path": "../x"}]]}),
    ]:
        row_case(f"media {what}", [{"_step": 10, "m": value}])
    row_case(
        "media the server lacks (sha256)",
        [{"_step": 10, "m": {**image, "path": f"media/{NEW_SHA}.png", "sha256": NEW_SHA}}],
        (409,),
    )
    row_case(
        "media the server lacks (path only)",
        [{"_step": 10, "m": {"_type": "image-file", "path": f"media/{NEW_SHA}.png"}}],
        (409,),
    )
    row_case(
        "media the server lacks (filenames)",
        [{"_step": 10, "m": {"_type": "video-file", "filenames": [f"media/{NEW_SHA}.mp4"]}}],
        (409,),
    )
    row_case("good rows, then one bad", [{"_step": 10, "a": 1}, {"_step": 11, "a": b"x"}])

    # GET rows: query parameters
    for query in (
        "after=x",
        "limit=0",
        "limit=-5",
        "limit=100001",
        "limit=1e3",
        "after=1.5",
        "limit=" + "9" * 5000,
        "after=" + "9" * 5000,
    ):
        add(rows, "GET", f"{p}?{query}", f"query {query[:20]}", b"", {})

    # POST blobs/missing
    m = "/api/v1/blobs/missing"
    for what, q in [
        ("sha256 a string", {"sha256": SHA}),
        ("sha256 missing", {"hashes": [SHA]}),
        ("a bad hash", {"sha256": [SHA, "../x"]}),
        ("a number", {"sha256": [5]}),
        ("uppercase", {"sha256": [SHA.upper()]}),
    ]:
        add(m, "POST", m, what, json.dumps(q).encode(), JSON)
    add(
        m,
        "POST",
        m,
        "10,001 hashes",
        json.dumps({"sha256": [NEW_SHA] * 10_001}).encode(),
        JSON,
        (413,),
    )

    # POST blobs (bundles)
    b = "/api/v1/blobs"
    for what, bundle in [
        ("wrong bytes for the hash", {NEW_SHA: b"other bytes"}),
        ("one good, one wrong", {NEW_SHA: NEW_BLOB, hashlib.sha256(b"q").hexdigest(): b"r"}),
        ("a traversal key", {"../../x": NEW_BLOB}),
        ("an uppercase key", {NEW_SHA.upper(): NEW_BLOB}),
        ("a string, not bytes", {hashlib.sha256(b"ok").hexdigest(): "ok"}),
        ("a list, not a map", [NEW_BLOB]),
        ("a number key", {5: NEW_BLOB}),
    ]:
        add(b, "POST", b, what, msgpack.packb(bundle), MSGPACK)
    add(b, "POST", b, "garbage", b"\xc1", MSGPACK)
    add(b, "POST", b, "JSON", json.dumps({NEW_SHA: "x"}).encode(), JSON, (415,))
    add(
        b,
        "POST",
        b,
        "over the body limit",
        msgpack.packb({NEW_SHA: b"x" * (MAX_BODY + 10)}),
        MSGPACK,
        (413,),
    )
    small = {hashlib.sha256(str(i).encode()).hexdigest(): str(i).encode() for i in range(10_001)}
    add(b, "POST", b, "10,001 files", msgpack.packb(small), MSGPACK, (413,))

    # PUT blobs/{sha256}
    u = "/api/v1/blobs/{sha256}"
    add(
        u,
        "PUT",
        f"/api/v1/blobs/{NEW_SHA}",
        "bytes that hash to something else",
        b"not these bytes",
        {},
    )
    add(u, "PUT", f"/api/v1/blobs/{NEW_SHA}", "empty body", b"", {})
    add(u, "PUT", f"/api/v1/blobs/{NEW_SHA}", "the blob and one byte more", NEW_BLOB + b"!", {})
    add(u, "PUT", f"/api/v1/blobs/{NEW_SHA}", "the blob less one byte", NEW_BLOB[:-1], {})
    big = b"z" * (MAX_BODY + 1)
    add(
        u,
        "PUT",
        f"/api/v1/blobs/{hashlib.sha256(big).hexdigest()}",
        "over the blob limit",
        big,
        {},
        (413,),
    )
    add(u, "PUT", f"/api/v1/blobs/{SHA}", "wrong bytes for a stored blob", b"evil", {})
    return cases


def all_cases() -> list[Case]:
    return auth_cases() + method_cases() + name_cases() + body_cases()


# --- talking to the server over a raw socket ----------------------------------------------------


def send_raw(port: int, method: str, path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
    """One request on a fresh connection, exactly as given; ``(status, body)``."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    if not any(k.lower() == "content-length" for k in headers):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413) before reading it all: the answer is still there
        chunks = []
        while True:
            try:
                chunk = s.recv(1 << 16)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer:
        return 0, b""
    head, _, rest = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


def snapshot(data_dir: str) -> tuple:
    """Everything the server stores: every row of every table, every file in the blob folder."""
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'runs.sqlite')}?mode=ro", uri=True)
    try:
        tables = tuple(
            tuple(db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall())
            for t in ("runs", "chunks", "meta")
        )
    finally:
        db.close()
    files = []
    for folder, _, names in os.walk(os.path.join(data_dir, "blobs")):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                files.append(
                    (
                        os.path.relpath(os.path.join(folder, name), data_dir),
                        hashlib.sha256(f.read()).hexdigest(),
                    )
                )
    return tables, tuple(sorted(files))


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """A real server with a token and 1 MiB limits, holding one run (3 rows, a document) and one blob."""
    server = Server(
        str(tmp_path_factory.mktemp("hostile") / "data"),
        TOKEN,
        "--max-body-mb",
        "1",
        "--max-blob-mb",
        "1",
    )
    port = server.port
    assert (
        send_raw(port, "PUT", "/api/v1/runs/proj/r1", {**AUTH, **JSON}, b'{"created_at": 1.0}')[0]
        == 201
    )
    assert send_raw(port, "PUT", f"/api/v1/blobs/{SHA}", AUTH, BLOB)[0] == 201
    image = {"_type": "image-file", "path": f"media/{SHA}.png", "sha256": SHA}
    rows = msgpack.packb(
        [{"_step": 0, "a": 1.0}, {"_step": 1, "img": image}, {"_step": 2, "a": 3.0}]
    )
    assert send_raw(port, "POST", "/api/v1/runs/proj/r1/rows", {**AUTH, **MSGPACK}, rows)[0] == 200
    doc = msgpack.packb(
        {"id": "r1", "project": "proj", "state": "finished", "summary": {"img": image}}
    )
    assert send_raw(port, "PUT", "/api/v1/runs/proj/r1/doc", {**AUTH, **MSGPACK}, doc)[0] == 200
    yield server
    log = server_log(server)
    server.stop()
    # Every refusal is a handled one. The one traceback allowed is uvicorn's own: a request whose
    # head is sound but whose chunked body is not gets uvicorn's 400 while our app is already
    # answering 401 (no token), and uvicorn logs its refusal of the second answer.
    uvicorn_race = "h11._util.LocalProtocolError: can't handle event type Response when role=SERVER and state=MUST_CLOSE"
    assert log.count("Traceback") == log.count(uvicorn_race) <= 1, log[-3000:]


CASES = all_cases()


def test_every_route_gets_hostile_cases_of_every_kind():
    routes = {c.route for c in CASES}
    assert routes == set(ROUTES)
    for route in ROUTES:
        kinds = {c.what for c in CASES if c.route == route}
        assert "no token" in kinds and "method it does not take" in kinds, route
    assert len(CASES) > 500


def test_hostile_requests_get_4xx_store_nothing_and_the_server_keeps_serving(
    hostile_server, figures
):
    port = hostile_server.port
    before = snapshot(hostile_server.data_dir)
    statuses: dict[int, int] = {}
    wrong: list[str] = []
    stored: list[str] = []
    for case in CASES:
        headers = {**(AUTH if case.auth else {}), **(case.headers or {})}
        status, body = send_raw(port, case.method, case.path, headers, case.body)
        statuses[status] = statuses.get(status, 0) + 1
        if status not in case.status:
            wrong.append(f"{case}: {status} (expected {case.status}) {body[:200]!r}")
        elif status != 307 and (status != 404 or body.startswith(b"{")):
            error = json.loads(body)
            assert type(error) is dict and error.get("error"), f"{case}: {body[:200]!r}"
        now = snapshot(hostile_server.data_dir)
        if now != before:
            stored.append(str(case))
            before = now
        assert hostile_server.proc.poll() is None, f"{case} killed the server"
    assert wrong == [], "\n".join(wrong)
    assert stored == [], f"these changed what the server stores: {stored}"
    # Still serving: reads see the run as it was, and a valid write goes through.
    status, body = send_raw(port, "GET", "/api/v1/runs/proj/r1/rows", AUTH, b"")
    assert status == 200 and [r["_step"] for r in msgpack.unpackb(body)] == [0, 1, 2]
    assert (
        send_raw(
            port,
            "POST",
            "/api/v1/runs/proj/r1/rows",
            {**AUTH, **MSGPACK},
            msgpack.packb([{"_step": 3, "a": 4.0}]),
        )[0]
        == 200
    )
    assert send_raw(port, "PUT", f"/api/v1/blobs/{NEW_SHA}", AUTH, NEW_BLOB)[0] == 201
    entry = figures.setdefault("hostile_requests", {})
    entry["tried"] = len(CASES)
    entry["answered_4xx"] = sum(n for s, n in statuses.items() if 400 <= s < 500)
    entry["redirected_307"] = statuses.get(307, 0)  # empty names only: to the URL without the slash
    entry["by_status"] = {str(s): n for s, n in sorted(statuses.items())}
    entry["routes"] = len(ROUTES)
    entry["rows_or_blobs_stored"] = 0  # asserted above, after every request
    assert entry["answered_4xx"] + entry["redirected_307"] == len(CASES)


MALFORMED_HTTP = [
    b"GARBAGE\r\n\r\n",
    b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /api/v1/blobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /api/v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
    b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200_000 + b"\r\n\r\n",
    b"GET /api/v1/runs HTTP/9.9\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64,  # a TLS hello
]


@pytest.mark.parametrize("raw", MALFORMED_HTTP, ids=range(len(MALFORMED_HTTP)))
def test_malformed_http_is_refused_and_the_server_keeps_serving(hostile_server, raw, figures):
    before = snapshot(hostile_server.data_dir)
    with socket.create_connection(("127.0.0.1", hostile_server.port), timeout=10) as s:
        try:
            s.sendall(raw)
            answer = s.recv(1024)
        except (ConnectionResetError, BrokenPipeError):
            answer = b""
    assert answer == b"" or answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:100]
    assert snapshot(hostile_server.data_dir) == before
    assert send_raw(hostile_server.port, "GET", "/", AUTH, b"")[0] == 200
    entry = figures.setdefault("malformed_http", {"tried": 0})
    entry["tried"] += 1


def test_traversal_looking_metric_keys_are_data_and_never_paths(tmp_path):
    """Metric keys are free text (wandb allows "train/loss"); the server stores them and never makes a file of one."""
    server = Server(str(tmp_path / "data"))
    try:
        port = server.port
        assert send_raw(port, "PUT", "/api/v1/runs/proj/r1", JSON, b"{}")[0] == 201
        keys = [
            "../../etc/passwd",
            "/abs",
            "..\\..\\x",
            "media/../../x",
            "a\x00b",
            "%2e%2e",
            "train/loss",
        ]
        row = {"_step": 0, **{k: 1.0 for k in keys}}
        assert (
            send_raw(port, "POST", "/api/v1/runs/proj/r1/rows", MSGPACK, msgpack.packb([row]))[0]
            == 200
        )
        status, body = send_raw(port, "GET", "/api/v1/runs/proj/r1/rows", {}, b"")
        assert status == 200 and msgpack.unpackb(body) == [row]
        files = sorted(
            os.path.relpath(os.path.join(d, f), tmp_path)
            for d, _, fs in os.walk(tmp_path)
            for f in fs
        )
        assert [f for f in files if not f.startswith(os.path.join("data", "runs.sqlite"))] == []
    finally:
        server.stop()


@pytest.mark.parametrize("after", ["9" * 30, "-" + "9" * 30, str(2**63), str(2**63 - 1)])
def test_rows_after_any_integer_is_a_page_not_a_server_error(hostile_server, after):
    """SQLite holds 64-bit integers: ?after= beyond them was a 500 (OverflowError), now a plain page."""
    status, body = send_raw(
        hostile_server.port, "GET", f"/api/v1/runs/proj/r1/rows?after={after}", AUTH, b""
    )
    assert status == 200
    steps = [r["_step"] for r in msgpack.unpackb(body)]
    if after.startswith("-"):
        assert steps[:3] == [0, 1, 2]  # from the first row
    else:
        assert steps == []


# --- random requests: seeded, more of them under --slow ---------------------------------------

ATOMS = [
    None,
    True,
    0,
    -1,
    2**63,
    2**64 - 1,
    1.5,
    float("nan"),
    float("inf"),
    "",
    "..",
    "../../etc/passwd",
    "/abs",
    "a\x00b",
    "media/../x",
    SHA,
    NEW_SHA,
    "A" * 64,
    b"",
    b"\x00bytes",
    msgpack.ExtType(7, b"x"),
    "_step",
    "_type",
    "path",
    "sha256",
    "filenames",
    "image-file",
    f"media/{NEW_SHA}.png",
    "x" * 300,
]
NAME_ATOMS = [
    "proj",
    "r1",
    "nope",
    "..",
    ".",
    "%2e%2e",
    "%2F",
    "%00",
    "%0a",
    "a%5Cb",
    "x" * 200,
    "A" * 64,
    SHA,
    NEW_SHA,
    "-",
    "é",
    "",
]


def random_value(rng, depth=0):
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return rng.choice(ATOMS)
    if roll < 0.75:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    d = {}
    for _ in range(rng.randint(0, 5)):
        key = rng.choice(
            [k for k in ATOMS if isinstance(k, str | int | bytes) and not isinstance(k, bool)]
            + ["_step"] * 3
        )
        d[key] = random_value(rng, depth + 1)
    if rng.random() < 0.5:
        d["_step"] = rng.choice([10, 11, -1, "10", 2**63, None])
    return d


def random_body(rng) -> tuple[bytes, dict]:
    value = random_value(rng)
    if rng.random() < 0.3:
        value = [random_value(rng) for _ in range(rng.randint(1, 5))]
    kind = rng.random()
    if kind < 0.55:
        body = msgpack.packb(value, use_bin_type=True, strict_types=False)
        headers = MSGPACK
    elif kind < 0.85:
        try:
            body = json.dumps(value).encode()
        except (TypeError, ValueError):
            body = repr(value).encode()
        headers = JSON
    else:
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        headers = rng.choice([MSGPACK, JSON, {}, {"Content-Type": "text/plain"}])
    if rng.random() < 0.15 and body:
        body = body[: rng.randint(0, len(body) - 1)]  # truncated
    return body, headers


def test_random_requests_never_get_a_5xx_and_refused_ones_store_nothing(
    hostile_server, slow, figures
):
    rng = __import__("random").Random(6)
    port = hostile_server.port
    n = 20_000 if slow else 1500
    statuses: dict[int, int] = {}
    stored_after_refusal = []
    for i in range(n):
        route = rng.choice(list(ROUTES))
        method = rng.choice(sorted(ROUTES[route])) if rng.random() < 0.9 else rng.choice(METHODS)
        path = route
        for param in ("{project}", "{run_id}", "{sha256}"):
            path = path.replace(param, rng.choice(NAME_ATOMS))
        if rng.random() < 0.3:
            path += (
                "?"
                + rng.choice(["after=", "limit=", "after=-5&limit=", "x="])
                + str(rng.choice(NAME_ATOMS + ["1", "0", "-1"]))
            )
        body, headers = random_body(rng) if method in ("PUT", "POST", "PATCH") else (b"", {})
        before = snapshot(hostile_server.data_dir)
        status, answer = send_raw(port, method, path, {**AUTH, **headers}, body)
        statuses[status] = statuses.get(status, 0) + 1
        assert status and status < 500, (
            f"#{i} {method} {path} {body[:100]!r}: {status} {answer[:200]!r}"
        )
        if 400 <= status < 500 and snapshot(hostile_server.data_dir) != before:
            stored_after_refusal.append(f"{method} {path} {body[:80]!r}")
    assert stored_after_refusal == []
    assert send_raw(port, "GET", "/api/v1/runs", AUTH, b"")[0] == 200
    figures["random_requests"] = {
        "tried": n,
        "answered_4xx": sum(v for k, v in statuses.items() if 400 <= k < 500),
        "answered_2xx_3xx": sum(v for k, v in statuses.items() if k < 400),
        "answered_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "stored_after_a_4xx": len(stored_after_refusal),
    }
