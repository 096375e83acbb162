"""A faulty HTTP/1.1 proxy on 127.0.0.1: real sockets, real dropped connections, real 500s.

``FaultyProxy(upstream_port, rate=0.3, seed=1)`` listens on a free port of 127.0.0.1 and
forwards each request to the server on ``upstream_port`` (one upstream connection per
request; keep-alive towards the client). For each request, with probability ``rate``, it
injects one fault, chosen with a seeded ``random.Random``:

``drop_before``        the client's connection is closed before anything reaches the server
``drop_mid_request``   the server gets the head and part of the body, then both sides are closed
``drop_after_answer``  the server answered; the client's connection is closed before the answer
``drop_mid_answer``    the client gets part of the answer, then the connection is closed
``error_500``          a 500 in place of the server (never forwarded), connection kept
``error_500_after``    the server answered; the client gets a 500 instead, connection kept

It parses just enough HTTP/1.1 to find where each message ends (Content-Length or chunked).
It runs its own event loop in a daemon thread, so subprocesses and this process can use it.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

KINDS = (
    "drop_before",
    "drop_mid_request",
    "drop_after_answer",
    "drop_mid_answer",
    "error_500",
    "error_500_after",
)
_LIMIT = 1 << 20  # longest head line the proxy reads


class FaultyProxy:
    def __init__(
        self, upstream_port: int, rate: float = 0.3, seed: int = 1, kinds: tuple[str, ...] = KINDS
    ):
        self.upstream_port = upstream_port
        self.rate = rate
        self.kinds = kinds
        self.rng = random.Random(seed)
        self.faults: Counter = Counter()  # kind -> how many were injected
        self.requests = 0  # requests read from clients
        self._conns: set[asyncio.Task] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="faulty-proxy", daemon=True
        )
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    async def _listen(self) -> asyncio.base_events.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_LIMIT)

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            for task in list(self._conns):
                task.cancel()
            await asyncio.gather(*self._conns, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def __enter__(self) -> FaultyProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- one client connection -----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(asyncio.current_task())
        try:
            while await self._one_request(reader, writer):
                pass
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ):
            pass
        except asyncio.CancelledError:
            pass  # the proxy is closing: end quietly (asyncio would log a cancelled handler)
        finally:
            self._conns.discard(asyncio.current_task())
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Proxy one request; False when the client's connection is to be closed."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed its idle connection
        method = head.split(b" ", 1)[0]
        body = await _read_body(reader, _headers(head))
        self.requests += 1
        kind = self.rng.choice(self.kinds) if self.rng.random() < self.rate else None
        if kind is not None:
            self.faults[kind] += 1
        if kind == "drop_before":
            return False
        if kind == "error_500":
            await _answer_500(writer)
            return True
        up_reader, up_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port, limit=_LIMIT
        )
        try:
            request = head + body
            if kind == "drop_mid_request":
                cut = len(head) + len(body) // 2 if body else len(head) // 2
                up_writer.write(request[:cut])
                await up_writer.drain()
                return False
            up_writer.write(request)
            await up_writer.drain()
            answer_head = await up_reader.readuntil(b"\r\n\r\n")
            status = int(answer_head.split(b" ", 2)[1])
            if method == b"HEAD" or status in (204, 304) or 100 <= status < 200:
                answer_body = b""
            else:
                answer_body = await _read_body(up_reader, _headers(answer_head), until_eof=True)
        finally:
            up_writer.close()
        answer = answer_head + answer_body
        if kind == "drop_after_answer":
            return False
        if kind == "drop_mid_answer":
            writer.write(answer[: max(1, len(answer) // 2)])
            await writer.drain()
            return False
        if kind == "error_500_after":
            await _answer_500(writer)
            return True
        writer.write(answer)
        await writer.drain()
        return _headers(answer_head).get(b"connection", b"").lower() != b"close"


def _headers(head: bytes) -> dict[bytes, bytes]:
    out = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            out[name.strip().lower()] = value.strip()
    return out


async def _read_body(
    reader: asyncio.StreamReader, headers: dict[bytes, bytes], until_eof: bool = False
) -> bytes:
    """The message's body as sent (chunked bodies keep their framing)."""
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        parts = []
        while True:
            line = await reader.readuntil(b"\r\n")
            parts.append(line)
            size = int(line.split(b";", 1)[0], 16)
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = await reader.readuntil(b"\r\n")
                    parts.append(trailer)
                    if trailer == b"\r\n":
                        return b"".join(parts)
            parts.append(await reader.readexactly(size + 2))
    if b"content-length" in headers:
        return await reader.readexactly(int(headers[b"content-length"]))
    return await reader.read() if until_eof else b""


async def _answer_500(writer: asyncio.StreamWriter) -> None:
    body = b"<html><body>502-ish trouble upstream (injected by the test proxy)</body></html>"
    writer.write(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n"
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    await writer.drain()
