"""Who may call the server: a bearer token, or, without one, loopback names only.

Two small ASGI middlewares in front of every route. ``BearerAuth`` compares the token with
``hmac.compare_digest`` (constant time), so the time a wrong token takes to refuse says nothing
about how close it was. ``LoopbackHosts`` guards a server without a token (which `localrun
serve` only allows on a loopback address) from web pages that reach it by DNS rebinding.
"""

from __future__ import annotations

import hmac
import json


class BearerAuth:
    def __init__(self, app, token: str | None):
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope, receive, send):
        if self.expected is not None and scope["type"] == "http":
            got = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    got = value
                    break
            if not hmac.compare_digest(got, self.expected):
                await _refuse(
                    send,
                    401,
                    "this server needs a token: send 'Authorization: Bearer <token>' (localrun sync --token, or $LOCALRUN_TOKEN)"
                    if not got
                    else "wrong token",
                    ((b"www-authenticate", b'Bearer realm="localrun"'),),
                )
                return
        await self.app(scope, receive, send)


class LoopbackHosts:
    """On a server without a token: answer only requests addressed to it by a loopback name.

    A web page on another site can make a browser send requests to 127.0.0.1 by DNS rebinding
    (its own name, resolved to 127.0.0.1 after the page loaded); the browser then sends that
    name in ``Host``. Requests whose ``Host`` is not one of ``hosts`` (any port) get 421 with a
    JSON body. A request with no ``Host`` (HTTP/1.0) comes from no browser and passes.
    """

    def __init__(self, app, hosts):
        self.app = app
        self.hosts = frozenset(h.lower().encode() for h in hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"host":
                    if _hostname(value) not in self.hosts:
                        await _refuse(send, 421, self._message(value))
                        return
                    break
        await self.app(scope, receive, send)

    def _message(self, value: bytes) -> str:
        shown = ", ".join(sorted(h.decode() for h in self.hosts))
        return (
            f"this server has no token and answers only requests addressed to {shown}, not "
            f"{value.decode('latin-1')[:100]!r} (a web page may be trying to reach it). Use one of "
            "those names, or start the server with a token (--token)"
        )


def _hostname(host: bytes) -> bytes:
    """``Host`` without its port, lowercased: ``[::1]:8080`` -> ``[::1]``, ``a:80`` -> ``a``."""
    host = host.strip().lower()
    if host.startswith(b"["):
        return host[: host.find(b"]") + 1] if b"]" in host else host
    return host.split(b":", 1)[0]


async def _refuse(send, status: int, message: str, headers: tuple = ()) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
