"""Transports for ``Remote`` beyond httpx's own: driving an async transport from sync code.

``Remote`` is synchronous (sync runs on login nodes and in scripts, with a thread for
overlap), but httpx's in-process transport for ASGI apps, ``httpx.ASGITransport(app)``, is
async-only. ``AsyncBridge`` runs such a transport on an event loop of its own, in a daemon
thread, so tests can sync to a server app in the same process with no socket.
"""

from __future__ import annotations

import asyncio
import threading

import httpx


class AsyncBridge(httpx.BaseTransport):
    """A sync transport in front of an async one (e.g. ``httpx.ASGITransport(app)``)."""

    def __init__(self, transport: httpx.AsyncBaseTransport):
        self.transport = transport
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="localrun-asgi", daemon=True
        )
        self.thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, list, bytes]:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self.transport.handle_async_request(forwarded)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
            return response.status_code, response.headers.raw, content

        status, headers, content = asyncio.run_coroutine_threadsafe(send(), self.loop).result()
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self.transport.aclose(), self.loop).result()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()
