"""Bearer-token auth: a small ASGI middleware in front of every route.

The token is compared with ``hmac.compare_digest`` (constant time), so the time a wrong token
takes to refuse says nothing about how close it was.
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
                body = json.dumps(
                    {
                        "error": "this server needs a token: send 'Authorization: Bearer <token>' (localrun sync --token, or $LOCALRUN_TOKEN)"
                        if not got
                        else "wrong token"
                    }
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b'Bearer realm="localrun"'),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
