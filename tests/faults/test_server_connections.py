"""Slowloris and descriptor exhaustion (row 13), with no token needed, against a real `localrun serve`.

A request head sent a byte at a time, a body that stops arriving, and more half-open
connections than the process has descriptors for: each used to hold the server forever. Now a
head must be in within --header-timeout (10 s), a body must keep coming (--idle-timeout,
30 s), and at --max-connections (1000, and always below the open-files limit) a new connection
closes the one whose request has been coming in the longest. The quick tests run the server
with short timeouts; the slow one checks the defaults' values.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import time

import pytest
from click.testing import CliRunner

from localrun.cli import main
from localrun.server.connections import ConnectionLimits
from tests.sync.conftest import CLI, Server

from .serverwatch import get_root, open_fds

HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: the head never ends


class LimitedServer(Server):
    """A `localrun serve` whose process starts with an open-files limit of ``nofile`` (soft and hard)."""

    def __init__(self, data_dir: str, *args: str, nofile: int | None = None):
        self.nofile = nofile
        super().__init__(data_dir, None, *args)

    def start(self) -> None:
        args = [*CLI, "serve", "--data", self.data_dir, "--port", str(self.port), *self.args]
        env = {k: v for k, v in os.environ.items() if k != "LOCALRUN_TOKEN"}
        nofile = self.nofile

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=limit,
        )
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split("listening on ")[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])


def settled_fds(pid: int, timeout: float = 20.0) -> int:
    """The process's open descriptors once their count holds still for 0.2 s (with a deadline)."""
    deadline = time.monotonic() + timeout
    last, since = open_fds(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = open_fds(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.2:
            return now
    raise AssertionError(f"the server's descriptors never settled ({last})")


@pytest.fixture
def quick(tmp_path):
    s = LimitedServer(str(tmp_path / "data"), "--header-timeout", "1", "--idle-timeout", "2")
    yield s
    s.stop()


def closed_after(sock: socket.socket, feed: bytes = b"", every_s: float = 0.2, limit_s=40.0):
    """Send ``feed`` a byte every ``every_s`` (then nothing) until the server closes; seconds taken."""
    t0 = time.monotonic()
    sock.settimeout(every_s)
    i = 0
    while time.monotonic() - t0 < limit_s:
        try:
            if i < len(feed):
                sock.sendall(feed[i : i + 1])
                i += 1
            if sock.recv(65536) == b"":
                return time.monotonic() - t0
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
    return None


def test_a_head_sent_a_byte_at_a_time_is_closed_at_the_header_timeout(quick, figures):
    with socket.create_connection(("127.0.0.1", quick.port)) as s:
        s.sendall(b"G")
        seconds = closed_after(s, HEAD[1:] + b"X-Slow: " + b"a" * 200, every_s=0.1)
    figures.setdefault("slowloris", {})["slow_head_closed_s (--header-timeout 1)"] = seconds
    assert seconds is not None and seconds < 1 + 1.5, seconds
    assert get_root(quick.port)[0] == 200


def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(quick):
    with socket.create_connection(("127.0.0.1", quick.port)) as s:
        seconds = closed_after(s)
    assert seconds is not None and seconds < 1 + 1.5, seconds


def test_a_body_that_stops_arriving_is_closed_at_the_idle_timeout(quick, figures):
    head = (
        f"POST /api/v1/blobs/{'0' * 64} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", quick.port)) as s:
        s.sendall(head.encode() + b"x" * 10)
        seconds = closed_after(s)
    figures.setdefault("slowloris", {})["stalled_body_closed_s (--idle-timeout 2)"] = seconds
    assert seconds is not None and 2 - 0.5 < seconds < 2 + 1.5, seconds
    assert os.listdir(os.path.join(quick.data_dir, "blobs", "tmp")) == []


def test_a_kept_alive_connection_idle_between_requests_is_closed_after_5s(quick, figures):
    with socket.create_connection(("127.0.0.1", quick.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        seconds = closed_after(s, limit_s=10)
    figures.setdefault("slowloris", {})["kept_alive_idle_closed_s"] = seconds
    assert seconds is not None and 5 - 0.5 < seconds < 5 + 1.5, seconds


def test_a_body_that_keeps_coming_slowly_is_not_cut_off(quick):
    """Progress resets the idle timer: a slow but steady upload is not a slowloris."""
    blob = b"y" * 40
    sha = __import__("hashlib").sha256(blob).hexdigest()
    head = f"PUT /api/v1/blobs/{sha} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 40\r\n\r\n"
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as s:
        s.sendall(head.encode())
        for i in range(0, 40, 4):  # 3 s in all, past both timeouts, never 2 s without a byte
            s.sendall(blob[i : i + 4])
            time.sleep(0.3)
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]


def test_1100_half_open_connections_do_not_exhaust_descriptors(tmp_path, figures):
    """With 1,024 descriptors, 1,100 slowloris connections used to leave none for a real client.

    The cap (kept below the open-files limit) is what holds here: the header timeout is long.
    """
    server = LimitedServer(str(tmp_path / "data"), "--header-timeout", "60", nofile=1024)
    held = []
    try:
        t0 = time.perf_counter()
        for _ in range(1100):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(HEAD)
            held.append(s)
        connect_s = time.perf_counter() - t0
        fds = settled_fds(server.proc.pid)  # the server has taken what the kernel queued
        status, seconds = get_root(server.port, timeout=5)
        entry = figures.setdefault("slowloris", {})
        entry["half_open_connections"] = len(held)
        entry["seconds_to_open_them"] = round(connect_s, 2)
        entry["server_fds_with_them_open (limit 1024)"] = fds
        entry["normal_request_meanwhile_s"] = round(seconds, 3)
        assert status == 200 and seconds < 1.0, (status, seconds)
        assert 500 < fds < 1024 - 64, fds
        closed = 0
        for s in held:
            s.settimeout(0.01)
            try:
                closed += s.recv(1) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
        entry["dropped_by_the_cap"] = closed
        assert closed >= 1100 - fds
    finally:
        for s in held:
            s.close()
        server.stop()


def test_at_the_cap_a_new_connection_closes_the_oldest_incoming_request(tmp_path):
    server = LimitedServer(str(tmp_path / "data"), "--max-connections", "3")
    try:
        slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
        for s in slow:
            s.sendall(HEAD)
            time.sleep(0.05)
        assert get_root(server.port, timeout=5)[0] == 200  # took the oldest one's place
        slow[0].settimeout(2)
        assert slow[0].recv(100) == b""  # closed, without an answer
        for s in slow:
            s.close()
    finally:
        server.stop()


def test_at_the_cap_with_no_request_coming_in_a_new_connection_gets_503(tmp_path):
    """Connections idle between requests are not dropped for a newcomer: it is told to come back."""
    server = LimitedServer(str(tmp_path / "data"), "--max-connections", "2")
    try:
        idle = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # kept alive afterwards
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
            idle.append(s)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503") and b"application/json" in head
        assert "connections" in json.loads(body)["error"]
        for s in idle:
            s.close()
    finally:
        server.stop()


def test_the_defaults_are_10s_for_a_head_30s_idle_and_1000_connections():
    assert ConnectionLimits() == ConnectionLimits(10.0, 30.0, 5.0, 1000)
    shown = CliRunner().invoke(main, ["serve", "--help"]).stdout
    for option, default in (
        ("--header-timeout", "10.0"),
        ("--idle-timeout", "30.0"),
        ("--max-connections", "1000"),
    ):
        assert option in shown and f"default: {default}" in shown.split(option, 1)[1][:300]


@pytest.mark.slow
def test_with_the_default_timeouts_a_slow_head_is_closed_after_10s(tmp_path, figures):
    server = LimitedServer(str(tmp_path / "data"))
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            seconds = closed_after(s, HEAD + b"X-Slow: " + b"a" * 200, every_s=0.5)
        figures.setdefault("slowloris", {})["slow_head_closed_s (defaults)"] = seconds
        assert seconds is not None and 10 - 0.5 < seconds < 10 + 2, seconds
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(
                b"PUT /api/v1/blobs/" + b"0" * 64 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Length: 9\r\n\r\nabc"
            )
            seconds = closed_after(s)
        figures["slowloris"]["stalled_body_closed_s (defaults)"] = seconds
        assert seconds is not None and 30 - 0.5 < seconds < 30 + 2, seconds
    finally:
        server.stop()


def test_the_installed_uvicorn_is_in_the_tested_range_pyproject_pins():
    """GuardedH11 subclasses uvicorn's h11 protocol: a uvicorn outside the range is untested."""
    import importlib.metadata
    import re

    from packaging.requirements import Requirement

    from ..conftest import REPO

    with open(os.path.join(REPO, "pyproject.toml")) as f:
        pins = {Requirement(r) for r in re.findall(r'"(uvicorn[^"]*)"', f.read())}
    assert len(pins) == 1, pins
    (pin,) = pins
    assert pin.specifier.contains(importlib.metadata.version("uvicorn")), pin
