"""The viewer as an ASGI app: the read API, the front end, and the headers that keep it safe.

``create_app(source)`` serves, over any ``Source``:

- ``/api/v1/...``: the read API (``api.py``, docs/viewer.md);
- ``/``, ``/runs/<project>/<id>``, ``/compare`` and the other pages: ``static/index.html``,
  whose script routes on the path (the pages are client-side); ``/`` and a run's URL answer
  JSON instead to a client that does not ask for HTML (``localrun show URL``, scripts), as
  the server's do;
- ``/assets/...``: the built front end (``static/assets``, content-hashed names, cached);
- ``/login`` when there is a token (``auth.py``).

Every response carries ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy:
pages may run only the viewer's own scripts and styles (none inline), load media from the
viewer itself, and frame only the viewer's own (sandboxed) media files; media files get the
sandboxing policy of ``files.py``. ``localrun serve`` serves the same pages, assets, read
endpoints, Guard and headers over its storage (``localrun.server.app``), beside its own API.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from localrun import __version__
from localrun.sync.protocol import API, RUN_ROUTE

from .api import ReadApi, error_response, python_json, read_error, run_ref
from .auth import Guard
from .source import ReadError, Source

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; frame-src 'self'; connect-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Adds nosniff, a referrer policy and (unless the response has its own) the page CSP."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        immutable = scope["path"].startswith("/assets/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if immutable and message.get("status") == 200:
                    headers.append((b"cache-control", b"public, max-age=31536000, immutable"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _read_static(name: str) -> bytes:
    try:
        with open(os.path.join(STATIC, name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        # A checkout without the built front end: say how to build it, on the page itself.
        return (
            b"<!doctype html><title>localrun</title><p>The viewer's front end is not built: "
            b"run scripts/build-viewer.sh</p>"
        )


def login_page() -> bytes:
    """The login page (``static/login.html``), for ``Guard``."""
    return _read_static("login.html")


def wants_html(request: Request) -> bool:
    """A browser's request: its ``Accept`` names text/html (httpx, curl and scripts do not)."""
    return "text/html" in request.headers.get("accept", "")


class Pages:
    """index.html for every client-side route; JSON for the two routes scripts also read."""

    def __init__(self, source: Source):
        self.source = source
        self.index = _read_static("index.html")

    def page(self) -> Response:
        return Response(
            self.index,
            media_type="text/html",
            headers={"Cache-Control": "no-cache"},
        )

    async def root(self, request: Request) -> Response:
        if wants_html(request):
            return self.page()
        return python_json({"localrun": __version__, "api": API})

    async def run(self, request: Request) -> Response:
        if wants_html(request):
            return self.page()
        return python_json(await run_in_threadpool(self.source.run, run_ref(request)))

    async def other(self, request: Request) -> Response:
        return self.page()


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return error_response(exc.status_code, str(exc.detail))


def browser_routes(pages: Pages) -> list:
    """The pages only a browser asks for, and the built front end: ``localrun ui`` and
    ``localrun serve`` both serve these (``/`` and a run's URL each answer JSON too)."""
    return [
        Route("/runs", pages.other, methods=["GET"]),
        Route("/compare", pages.other, methods=["GET"]),
        Mount("/assets", StaticFiles(directory=os.path.join(STATIC, "assets"), check_dir=False)),
    ]


def create_app(
    source: Source, token: str | None = None, check_host: bool = True, warm: bool = False
):
    """The viewer over ``source``. Without ``token``, only loopback Host names are answered
    (unless ``check_host`` is False: a caller that checks them itself). With ``warm``, the runs
    are listed at once in a background thread (``ReadApi.warm``), for the first page asked."""
    pages = Pages(source)
    api = ReadApi(source)
    routes = [
        *api.routes(),
        Route("/", pages.root, methods=["GET"]),
        Route(RUN_ROUTE, pages.run, methods=["GET"]),
        Route(RUN_ROUTE + "/{rest:path}", pages.other, methods=["GET"]),
        *browser_routes(pages),
    ]
    # Starlette types a handler as taking any Exception; each takes the class it is set for.
    handlers: dict[Any, Any] = {ReadError: read_error, HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.source = source
    if warm:
        api.warm()
    guarded = Guard(app, token, login_page(), check_host=check_host)
    return SecurityHeaders(guarded)
