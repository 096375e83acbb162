"""DNS rebinding (row 14): a tokenless `localrun serve` answers only requests addressed to a loopback name.

A page on evil.example whose name later resolves to 127.0.0.1 makes the browser send
``Host: evil.example`` to the local server: it used to list runs and overwrite a run's config.
Now such a request gets 421 with a JSON body and changes nothing; with a token, the token
protects the server whatever the name.
"""

from __future__ import annotations

import json

import msgpack
import pytest

from tests.sync.conftest import Server

from .test_server_hostile import JSON, MSGPACK, send_raw, snapshot


def send(port: int, method: str, path: str, host: str, body: bytes = b"", headers=None):
    """``send_raw`` with the Host header given (send_raw's own is replaced)."""
    import socket

    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, rest


@pytest.fixture(scope="module")
def tokenless(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("rebinding") / "data"))
    assert send_raw(s.port, "PUT", "/api/v1/runs/proj/r1", JSON, b"{}")[0] == 201
    doc = msgpack.packb({"id": "r1", "project": "proj", "config": {"lr": 0.1}})
    assert send_raw(s.port, "PUT", "/api/v1/runs/proj/r1/doc", MSGPACK, doc)[0] == 200
    yield s
    s.stop()


EVIL = [
    "evil.example",
    "evil.example:{port}",
    "127.0.0.1.evil.example",
    "localhost.evil.example:{port}",
    "10.0.0.1",
]


@pytest.mark.parametrize("host", EVIL)
def test_a_foreign_host_name_is_refused_with_421_and_changes_nothing(tokenless, host, figures):
    host = host.format(port=tokenless.port)
    before = snapshot(tokenless.data_dir)
    attempts = [
        ("GET", "/api/v1/runs", b"", {}),
        ("GET", "/runs/proj/r1", b"", {}),
        (
            "PUT",
            "/api/v1/runs/proj/r1/doc",
            json.dumps({"id": "r1", "project": "proj", "config": {"lr": 666}}).encode(),
            {"Content-Type": "application/json"},
        ),
        ("POST", "/api/v1/runs/proj/r1/rows", msgpack.packb([{"_step": 5}]), MSGPACK),
    ]
    for method, path, body, headers in attempts:
        status, head, answer = send(tokenless.port, method, path, host, body, headers)
        assert status == 421 and b"application/json" in head, (method, path, status)
        error = json.loads(answer)["error"]
        assert host in error and "--token" in error
    assert snapshot(tokenless.data_dir) == before
    figures.setdefault("dns_rebinding", {})[host] = 421


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "127.0.0.1", "localhost:{port}", "LocalHost", "[::1]:{port}"]
)
def test_loopback_names_with_or_without_the_port_are_served(tokenless, host):
    status, _, answer = send(
        tokenless.port, "GET", "/api/v1/runs", host.format(port=tokenless.port)
    )
    assert status == 200 and json.loads(answer)[0]["config"] == {"lr": 0.1}


def test_with_a_token_the_token_protects_the_server_whatever_the_name(tmp_path):
    server = Server(str(tmp_path / "data"), "s3cret")
    try:
        auth = {"Authorization": "Bearer s3cret"}
        assert send(server.port, "GET", "/api/v1/runs", "evil.example")[0] == 401
        assert send(server.port, "GET", "/api/v1/runs", "evil.example", headers=auth)[0] == 200
    finally:
        server.stop()
