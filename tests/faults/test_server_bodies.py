"""Hostile bodies (row 12): refused from their first bytes where they can be, decoded a piece
at a time with memory bounded where they cannot, and other requests answered meanwhile.

Each attack is about 60 MB, sent over a raw socket to a real `localrun serve`. The server's peak
RSS growth (VmHWM, reset before the attack) must stay under 100 MB (before: 35 MB -> 4.4 GB
for 60 MB of empty maps), a `GET /` asked every 50 ms meanwhile must be answered within 1 s
(before: stalled 21 s), nothing is stored, and the server goes on serving.
"""

from __future__ import annotations

import json
import time

import msgpack
import pytest

from tests.sync.conftest import Server

from .serverwatch import Memory, Probe, get_root
from .test_server_hostile import JSON, MSGPACK, send_raw, snapshot

N = 60_000_000  # empty maps: one byte each


def array32(n: int) -> bytes:
    return b"\xdd" + n.to_bytes(4, "big")


def empty_maps(n: int) -> bytes:
    return array32(n) + b"\x80" * n


def row_prefix(step: int, key: str) -> bytes:
    """A row ``{"_step": step, key: <the value that follows>}``, packed up to its last value."""
    return b"\x82" + msgpack.packb("_step") + msgpack.packb(step) + msgpack.packb(key)


ROWS = "/api/v1/runs/proj/r1/rows"
DOC = "/api/v1/runs/proj/r1/doc"

ATTACKS = {
    # name: (method, path, headers, body, statuses)
    "60M empty maps as rows": ("POST", ROWS, MSGPACK, lambda: empty_maps(N), (413,)),
    "one row of 60M empty maps": (
        "POST",
        ROWS,
        MSGPACK,
        lambda: b"\x91" + row_prefix(0, "x") + empty_maps(N),
        (413,),
    ),
    "one row of 120 arrays of 500k empty maps": (
        "POST",
        ROWS,
        MSGPACK,
        lambda: (
            b"\x91"
            + row_prefix(0, "x")
            + b"\x90\x78"[1:2].replace(b"\x78", b"\xdc\x00\x78")
            + empty_maps(500_000) * 120
        ),
        (413,),
    ),
    "a document of 60M empty maps": (
        "PUT",
        DOC,
        MSGPACK,
        lambda: b"\x81" + msgpack.packb("config") + b"\x81" + msgpack.packb("x") + empty_maps(N),
        (413,),
    ),
    "a JSON document of 20M empty objects": (
        "PUT",
        DOC,
        JSON,
        lambda: b'{"config": {"x": [' + b"{}," * 20_000_000 + b"{}]}}",
        (413,),
    ),
    "a run created with 60M empty maps": (
        "PUT",
        "/api/v1/runs/proj/r2",
        MSGPACK,
        lambda: b"\x81" + msgpack.packb("created_at") + empty_maps(N),
        (413,),
    ),
    "a bundle holding 60M empty maps": (
        "POST",
        "/api/v1/blobs",
        MSGPACK,
        lambda: b"\x81" + msgpack.packb("0" * 64) + empty_maps(N),
        (400,),
    ),
    "a missing-blobs question of 60M empty maps": (
        "POST",
        "/api/v1/blobs/missing",
        MSGPACK,
        lambda: b"\x81" + msgpack.packb("sha256") + empty_maps(N),
        (413,),
    ),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("bodies") / "data"))
    assert send_raw(s.port, "PUT", "/api/v1/runs/proj/r1", JSON, b"{}")[0] == 201
    rows = msgpack.packb([{"_step": 0, "a": 1.0}])
    assert send_raw(s.port, "POST", ROWS, MSGPACK, rows)[0] == 200
    yield s
    s.stop()


def attack(server, figures, name, method, path, headers, body, statuses) -> dict:
    before = snapshot(server.data_dir)
    memory = Memory(server.proc.pid)
    t0 = time.perf_counter()
    with Probe(server.port) as probe:
        status, answer = send_raw(server.port, method, path, headers, body)
    seconds = time.perf_counter() - t0
    seen = {
        "body_mb": round(len(body) / 1e6, 1),
        "status": status,
        "answered_in_s": round(seconds, 2),
        "rss_growth_mb": round(memory.growth_mb(), 1),
        "slowest_other_request_s": round(probe.slowest_s, 3),
        "other_requests": len(probe.latencies),
    }
    figures.setdefault("hostile_bodies", {})[name] = seen
    assert status in statuses, (seen, answer[:300])
    assert json.loads(answer)["error"]
    assert seen["rss_growth_mb"] < 100, seen
    assert probe.failed == 0 and seen["slowest_other_request_s"] < 1.0, seen
    assert snapshot(server.data_dir) == before
    assert get_root(server.port)[0] == 200
    return seen


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_60mb_hostile_body_is_refused_with_memory_bounded_and_others_served(
    server, figures, name
):
    method, path, headers, make, statuses = ATTACKS[name]
    attack(server, figures, name, method, path, headers, make(), statuses)


def test_too_many_rows_are_refused_from_the_array_header_before_the_body_is_read(server):
    """A header declaring more than 100,000 rows is answered 413 while the body is still coming."""
    import socket

    head = (
        f"POST {ROWS} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/msgpack\r\nContent-Length: {5 + N}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head + array32(N) + b"\x80" * 1000)  # 1,000 of the 60M bytes, then wait
        t0 = time.perf_counter()
        answer = s.recv(65536)
        while b"}" not in answer:
            answer += s.recv(65536)
        assert time.perf_counter() - t0 < 2
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"over the server's limit of 100000" in answer


def rows_of_empty_maps(rows: int, maps: int) -> bytes:
    """``rows`` valid rows of ``maps`` empty maps each, then one row with a bytes value."""
    one = array32(maps) + b"\x80" * maps
    body = [array32(rows + 1)]
    for step in range(rows):
        body.append(row_prefix(step + 1, "x") + one)
    body.append(msgpack.packb({"_step": rows + 1, "bad": b"\x00"}, use_bin_type=True))
    return b"".join(body)


def test_rows_of_nested_empty_maps_are_decoded_a_piece_at_a_time_then_refused(
    server, figures, slow
):
    """Every row is valid but the last: all of it is decoded, never all at once, and nothing is stored."""
    rows, maps = (10_000, 6_000) if slow else (1_000, 6_000)
    seen = attack(
        server,
        figures,
        f"{rows:,} rows of {maps:,} empty maps, the last one bad",
        "POST",
        ROWS,
        MSGPACK,
        rows_of_empty_maps(rows, maps),
        (400,),
    )
    assert seen["status"] == 400
