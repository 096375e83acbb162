"""Watching a real `localrun serve` process under attack: its memory, its descriptors, its latency."""

from __future__ import annotations

import os
import socket
import threading
import time


def _status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class Memory:
    """The server's peak RSS growth from now on (VmHWM, reset first), in MB."""

    def __init__(self, pid: int):
        self.pid = pid
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        self.start = _status(pid, "VmRSS")

    def growth_mb(self) -> float:
        return (_status(self.pid, "VmHWM") - self.start) / 1e6


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def get_root(port: int, timeout: float = 30.0) -> tuple[int, float]:
    """``GET /`` on a new connection: (status or 0 when it failed, seconds it took)."""
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
            )
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        status = int(answer.split(b" ", 2)[1]) if answer else 0
    except OSError:
        status = 0
    return status, time.perf_counter() - t0


class Probe(threading.Thread):
    """Asks the server ``GET /`` every ``every_s`` until stopped; keeps the slowest answer."""

    def __init__(self, port: int, every_s: float = 0.05):
        super().__init__(daemon=True)
        self.port = port
        self.every_s = every_s
        self.halt = threading.Event()
        self.latencies: list[float] = []
        self.failed = 0

    def run(self) -> None:
        while not self.halt.is_set():
            status, seconds = get_root(self.port)
            self.latencies.append(seconds)
            if status != 200:
                self.failed += 1
            self.halt.wait(self.every_s)

    def __enter__(self) -> Probe:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.halt.set()
        self.join()

    @property
    def slowest_s(self) -> float:
        return max(self.latencies, default=0.0)
