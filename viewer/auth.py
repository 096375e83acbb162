"""Who may read: the Host check of a tokenless viewer, and the token login.

Without a token, the viewer listens on loopback only (``localrun ui`` refuses anything else)
and answers only requests whose ``Host`` is a loopback name or address (``localhost``,
``127.x.x.x``, ``[::1]``, any port). A web page elsewhere that points a name of its own at
127.0.0.1 (DNS rebinding) sends its own name as ``Host`` and is refused with 403.

With a token, every request needs it, except the login page itself: either
``Authorization: Bearer <token>`` (scripts, ``localrun show URL``), or the session cookie the
login page sets (HttpOnly, SameSite=Strict: other sites' pages cannot send it, scripts cannot
read it). The cookie opens reads (GET, HEAD) only: anything else needs the Bearer token, so a
forged request carrying a browser's cookie cannot write to ``localrun serve``'s sync API. The
token is never put in a URL. A page request without it is sent to
``/login?next=<path>``; an API request gets 401. Tokens and cookies are compared in constant
time. The cookie's value is an HMAC of the token, so it stays valid across restarts with the
same token and is useless once the token changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
from urllib.parse import parse_qs, quote

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
SESSION_MAX_AGE_S = 30 * 24 * 3600
MAX_LOGIN_BODY = 8192


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, with or without a port."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8080
        end = host.find("]")
        if end < 0:
            return False
        name = host[1:end]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def safe_next(target: str | None) -> str:
    """A path on this site to go to after login; anything else (another site) becomes "/"."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c in target for c in "\r\n\x00\\"):
        return "/"
    return target


class Login:
    """The token and what proves it: a Bearer header or the session cookie."""

    def __init__(self, token: str):
        key = token.encode()
        self.bearer = b"Bearer " + key
        self.cookie_value = hmac.new(key, b"localrun viewer session", hashlib.sha256).hexdigest()
        # Named after the token, so viewers on other ports of the same host (cookies ignore
        # ports) with other tokens do not log each other out.
        tag = hmac.new(key, b"localrun viewer cookie name", hashlib.sha256).hexdigest()[:8]
        self.cookie_name = f"localrun_{tag}"
        self._token = key

    def token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token)

    def authorized(self, headers: list[tuple[bytes, bytes]], cookie_ok: bool = True) -> bool:
        """The Bearer token, or (when ``cookie_ok``) the session cookie."""
        for name, value in headers:
            if name == b"authorization" and hmac.compare_digest(value, self.bearer):
                return True
            if name == b"cookie" and cookie_ok:
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == self.cookie_name and hmac.compare_digest(
                        v.encode(), self.cookie_value.encode()
                    ):
                        return True
        return False

    def set_cookie(self, secure: bool) -> str:
        return (
            f"{self.cookie_name}={self.cookie_value}; Path=/; Max-Age={SESSION_MAX_AGE_S}; "
            f"HttpOnly; SameSite=Strict{'; Secure' if secure else ''}"
        )

    def clear_cookie(self) -> str:
        return f"{self.cookie_name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"


async def _send(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _json_error(send, status: int, message: str, extra=()) -> None:
    body = json.dumps({"error": message}).encode()
    await _send(send, status, body, [(b"content-type", b"application/json"), *extra])


async def _read_body(receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


NEEDS_TOKEN = (
    "this viewer needs its token: log in at /login, or send 'Authorization: Bearer <token>'"
)


class Guard:
    """ASGI middleware in front of the whole viewer: the Host check, then the token.

    ``localrun ui`` and ``localrun serve`` both use it (one token check, one login page, one
    cookie). ``needs_token`` is the 401 message for a request that brings neither the token nor
    the cookie; one whose ``Authorization`` header is wrong is told "wrong token". A caller
    that checks the Host itself passes ``check_host=False`` (the server answers 421, not 403).
    """

    def __init__(
        self,
        app,
        token: str | None,
        login_page: bytes,
        check_host: bool = True,
        needs_token: str = NEEDS_TOKEN,
    ):
        self.app = app
        self.login = Login(token) if token else None
        self.check_host = check_host and not token
        self.needs_token = needs_token
        self.login_page = login_page
        self.failed_page = login_page.replace(b"data-login-error hidden", b"data-login-error", 1)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if self.check_host:
            host = next((v.decode("latin-1") for k, v in headers if k == b"host"), "")
            if not is_loopback_host(host):
                await _json_error(
                    send,
                    403,
                    f"this viewer answers only requests for localhost or 127.0.0.1, not Host {host[:100]!r}. "
                    "Open http://127.0.0.1:<port>/, or start it with --token to serve other names",
                )
                return
        login = self.login
        if login is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == LOGIN_PATH:
            await self._login(login, scope, receive, send)
            return
        if path == LOGOUT_PATH and scope["method"] == "POST":
            await _send(
                send,
                303,
                b"",
                [(b"location", b"/login"), (b"set-cookie", login.clear_cookie().encode())],
            )
            return
        # The cookie opens reads only: the pages never write, and a write (to `localrun serve`'s
        # sync API) made with a browser's cookie could only be a forged one.
        reading = scope["method"] in ("GET", "HEAD")
        if path.startswith("/assets/login") or login.authorized(headers, cookie_ok=reading):
            await self.app(scope, receive, send)
            return
        accept = next((v for k, v in headers if k == b"accept"), b"")
        if scope["method"] == "GET" and b"text/html" in accept and not path.startswith("/api/"):
            target = path + (
                "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""
            )
            location = f"{LOGIN_PATH}?next={quote(target, safe='')}"
            await _send(send, 303, b"", [(b"location", location.encode())])
            return
        wrong = any(k == b"authorization" for k, _ in headers)
        message = "wrong token" if wrong else self.needs_token
        if not wrong and not reading and login.authorized(headers):
            message = (
                "the login cookie opens reads only: send 'Authorization: Bearer <token>' to write"
            )
        await _json_error(
            send,
            401,
            message,
            [(b"www-authenticate", b'Bearer realm="localrun"')],
        )

    async def _login(self, login: Login, scope, receive, send) -> None:
        html = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
        if scope["method"] in ("GET", "HEAD"):
            await _send(send, 200, self.login_page, html)
            return
        if scope["method"] != "POST":
            await _json_error(send, 405, "use GET or POST on /login")
            return
        body = await _read_body(receive, MAX_LOGIN_BODY)
        given = parse_qs((body or b"").decode("utf-8", "replace")).get("token", [""])[0]
        if not given or not login.token_ok(given):
            await asyncio.sleep(0.5)  # a wrong guess costs the guesser time
            await _send(send, 401, self.failed_page, html)
            return
        query = parse_qs(scope["query_string"].decode("latin-1"))
        target = safe_next(query.get("next", [None])[0])
        secure = scope.get("scheme") == "https"
        await _send(
            send,
            303,
            b"",
            [
                (b"location", quote(target, safe="/?&=%:@!$'()*+,;~-._").encode()),
                (b"set-cookie", login.set_cookie(secure).encode()),
            ],
        )
