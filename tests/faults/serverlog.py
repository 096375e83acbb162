"""What a real `localrun serve` process logged: read without blocking, to check it stayed clean."""

from __future__ import annotations

import os

from tests.sync.conftest import Server


def server_log(server: Server) -> str:
    """What the server process wrote to stderr so far (without blocking)."""
    fd = server.proc.stderr.fileno()
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")
