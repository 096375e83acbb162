"""Who may call the server: a token, or, without one, loopback names only.

With a token, the viewer's ``Guard`` (``localrun.viewer.auth``, the same one ``localrun ui``
uses) stands in front of every route: ``Authorization: Bearer <token>`` (sync, show, export,
scripts) or the session cookie its login page sets (a browser), compared in constant time with
``hmac.compare_digest``, so the time a wrong token takes to refuse says nothing about how close
it was. ``LoopbackHosts`` guards a server without a token (which `localrun serve` only allows
on a loopback address) from web pages that reach it by DNS rebinding.
"""

from __future__ import annotations

import json

#: The 401 answer to a request without the token (or the session cookie); a wrong one is
#: told "wrong token". The check itself is the viewer's ``Guard`` (``localrun.viewer.auth``).
NEEDS_TOKEN = (
    "this server needs a token: send 'Authorization: Bearer <token>' (localrun sync --token, "
    "or $LOCALRUN_TOKEN), or log in at /login in a browser"
)


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
