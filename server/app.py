"""The ASGI app: the routes of docs/protocol.md, over a ``Storage`` and a ``BlobDir``.

Every handler checks what it was sent before anything is stored (``names.py``,
``values.py``), so a refused request leaves no trace. Storage calls run in a worker thread, so the server keeps
reading the next request while SQLite commits the last one.

Bodies are bounded while they are read (``Limits``: a Content-Length over the limit is refused
before a byte is read, a chunked body at the limit, a rows batch whose array header declares
too many rows from its first bytes) and decoded in a worker thread, a piece at a time, at most
two at once (``values.py``), so a hostile body costs its size and a bounded few tens of MB, and
other requests are answered meanwhile. Every answer that is not a success is JSON
``{"error": ...}``: an unexpected exception is logged and answered 500, a full disk 507.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import msgpack
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from localrun import __version__
from localrun.sync.protocol import (
    API,
    HEALTH_PATH,
    INCARNATION_HEADER,
    JSON,
    MSGPACK,
    READY_PATH,
    RUN_FILES,
    RUN_ROUTE,
    run_path,
)
from localrun.viewer.api import ReadApi, read_error
from localrun.viewer.app import Pages, SecurityHeaders, browser_routes, login_page, wants_html
from localrun.viewer.auth import Guard
from localrun.viewer.source import ReadError

from .artifacts import ArtifactApi
from .auth import NEEDS_TOKEN, LoopbackHosts
from .blobs import BlobDir, bundle_size, decode_bundle
from .disk import disk_full
from .names import (
    MAX_STEP,
    BadInput,
    check_incarnation,
    check_media_path,
    check_project,
    check_run_file,
    check_run_id,
    check_sha256,
)
from .storage import (
    IncarnationConflict,
    LostFile,
    RowBatch,
    RunFile,
    RunInfo,
    Storage,
    UnknownRunError,
    open_storage,
    require_incarnation,
)
from .values import (
    MAX_VALUES,
    check_batch,
    check_body,
    check_document,
    decode_document,
    rows_in_header,
)
from .viewer_source import ServerSource, lost_media, run_document

log = logging.getLogger("localrun.server")


@dataclass(frozen=True)
class Limits:
    """What one request may carry; larger gets 413 and nothing is stored."""

    max_body_bytes: int = 64 * 1024 * 1024  # a rows batch or a run document
    max_blob_bytes: int = 1024 * 1024 * 1024  # one media file
    max_batch_rows: int = 100_000
    max_page_rows: int = 100_000
    max_hashes: int = 10_000  # in one "which are missing" question, or one bundle
    max_values: int = MAX_VALUES  # in one row or one run document (values.py says what counts)


def create_app(
    data_dir: str,
    token: str | None = None,
    limits: Limits | None = None,
    storage: Storage | None = None,
    hosts: Collection[str] | None = None,
    db: str | None = None,
):
    """The server as an ASGI app, storing into ``data_dir`` (or ``storage`` and ``data_dir/blobs``).

    ``db``: a ``postgresql://`` URL; runs, rows and documents go into that database instead of
    SQLite in ``data_dir`` (media files stay in ``data_dir/blobs``).

    ``hosts``: on a server without a token, the only names a request's ``Host`` header may
    give (any port), e.g. ``("127.0.0.1", "localhost", "[::1]")``; other requests get 421, so a
    web page cannot reach the server through DNS rebinding. None: any name (with a token, the
    token protects the server).
    """
    limits = limits or Limits()
    storage = storage or open_storage(data_dir, db)
    blobs = BlobDir(os.path.join(data_dir, "blobs"))
    source = ServerSource(storage, blobs)
    pages = Pages(source)
    api = _Api(storage, blobs, limits, pages)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        storage.close()

    routes = [
        Route("/", api.root, methods=["GET"]),
        Route(f"{API}/runs", api.list_runs, methods=["GET"]),
        Route(f"{API}/runs/held", api.runs_held, methods=["POST"]),
        Route(f"{API}{RUN_ROUTE}", api.put_run, methods=["PUT"]),
        Route(f"{API}{RUN_ROUTE}", api.get_run, methods=["GET"]),
        Route(f"{API}{RUN_ROUTE}/doc", api.put_doc, methods=["PUT"]),
        Route(f"{API}{RUN_ROUTE}/rows", api.post_rows, methods=["POST"]),
        Route(f"{API}{RUN_ROUTE}/rows", api.get_rows, methods=["GET"]),
        Route(f"{API}{RUN_ROUTE}/lost-media", api.post_lost_media, methods=["POST"]),
        Route(f"{API}{RUN_ROUTE}{RUN_FILES}", api.put_files, methods=["PUT"]),
        Route(f"{API}{RUN_ROUTE}{RUN_FILES}", api.get_files, methods=["GET"]),
        Route(f"{API}/blobs/missing", api.missing_blobs, methods=["POST"]),
        Route(f"{API}/blobs", api.post_blobs, methods=["POST"]),
        Route(f"{API}/blobs/{{sha256}}", api.put_blob, methods=["PUT"]),
        Route(f"{API}/blobs/{{sha256}}", api.get_blob, methods=["GET"]),
        *ArtifactApi(api).routes(),
        # The viewer's own read endpoints (keys, series, media, file) over this storage.
        *ReadApi(source).viewer_routes(),
        # The run's URL as `localrun sync` prints it: its page to a browser, else the run
        # document as JSON.
        Route(RUN_ROUTE, api.run_page, methods=["GET"]),
        *browser_routes(pages),
    ]
    # Starlette types every handler as taking any Exception; each of these takes the class it
    # is registered for, which is what Starlette passes it.
    handlers: dict[Any, Any] = {
        BadInput: _bad_input,
        HTTPException: _http_error,
        UnknownRunError: _unknown_run,
        ReadError: read_error,
        ClientDisconnect: _client_gone,
        Exception: _unexpected,
    }
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    app.state.storage = storage
    app.state.source = source
    # One guard for the API and the pages (localrun.viewer.auth): the Bearer token, or the
    # session cookie its login page sets; without a token, the Host check (421).
    guarded: Guard | LoopbackHosts
    guarded = Guard(app, token, login_page(), check_host=False, needs_token=NEEDS_TOKEN)
    if not token and hosts is not None:
        guarded = LoopbackHosts(guarded, hosts)
    return SecurityHeaders(_Answered(_Probes(guarded, storage)))


class _Probes:
    """``GET /healthz`` (the process answers) and ``GET /readyz`` (and its storage does: 503
    when not), for a load balancer: outside the token and Host checks, saying nothing else."""

    def __init__(self, app, storage: Storage):
        self.app = app
        self.storage = storage

    async def __call__(self, scope, receive, send):
        path = scope.get("path") if scope["type"] == "http" else None
        if path not in (HEALTH_PATH, READY_PATH) or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        body: dict[str, object] = {"ok": True}
        status = 200
        if path == READY_PATH:
            try:
                await run_in_threadpool(self.storage.ping)
            except Exception as exc:
                log.warning("readiness probe: the storage does not answer: %s", type(exc).__name__)
                status, body = 503, {"ok": False, "error": "the storage does not answer"}
        await Response(
            json.dumps(body),
            status_code=status,
            media_type=JSON,
            headers={"Cache-Control": "no-store"},
        )(scope, receive, send)


# --- errors ------------------------------------------------------------------------------------


def _error(status: int, message: str, **extra) -> Response:
    return Response(json.dumps({"error": message, **extra}), status_code=status, media_type=JSON)


async def _bad_input(request: Request, exc: BadInput) -> Response:
    return _error(exc.status, str(exc), **exc.extra)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return _error(exc.status_code, str(exc.detail))


async def _unknown_run(request: Request, exc: UnknownRunError) -> Response:
    p = request.path_params
    return _error(
        404,
        f"no run {p.get('project')!r}/{p.get('run_id')!r} on this server: create it first (PUT {API}/runs/<project>/<run id>)",
    )


async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
    # The client went away mid-body (a dropped connection, a killed sync): routine on a real
    # network, and nothing was stored. Without this, each one logs a traceback. Nobody reads
    # the answer.
    return _error(400, "the client disconnected before sending the whole body")


async def _unexpected(request: Request, exc: Exception) -> Response:
    return _failure(exc, f"{request.method} {request.url.path}")


def _failure(exc: BaseException, what: str) -> Response:
    """The answer to an exception no handler expected: 507 for a full disk, else 500; logged."""
    if disk_full(exc):
        log.error("%s: the server's disk is full: %s: %s", what, type(exc).__name__, exc)
        return _error(
            507,
            "the server's disk is full (or over a quota or file size limit): this request was not "
            "stored. Free space on the server, then run the sync again: it resumes where it stopped",
        )
    log.error("%s failed", what, exc_info=exc)
    return _error(
        500,
        f"the server failed on this request ({type(exc).__name__}; logged on the server). "
        "Every call is safe to retry",
    )


class _Answered:
    """The outermost layer: every request gets an answer, and every error answer is JSON.

    Starlette answers an exception with ``_unexpected`` and then raises it again, for the
    server to log: it was logged already, so it ends here. One raised before any answer (in a
    middleware) gets its JSON answer here.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = {"started": False, "done": False}

        async def tracked(message):
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["done"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if state["done"]:
                return  # answered (and logged) by _unexpected
            if state["started"]:
                raise  # half an answer went out: the server closes the connection
            response = _failure(exc, f"{scope.get('method')} {scope.get('path')}")
            await response(scope, receive, send)


def _json(obj, status: int = 200) -> Response:
    # Python's json, NaN and infinities included, as `localrun show --json` writes them.
    return Response(json.dumps(obj, ensure_ascii=False), status_code=status, media_type=JSON)


# --- bodies ------------------------------------------------------------------------------------


async def _read_body(
    request: Request, limit: int, head: Callable[[bytes], bool] | None = None
) -> bytearray:
    """The body, refused (413) as soon as it is known to be over ``limit`` bytes.

    ``head`` sees the first bytes (at least 9, or the whole body if shorter) before the rest is
    read, and returns False when it needs more of them; it raises BadInput to refuse the body
    from its start (a rows batch declaring too many rows).
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadInput(f"bad Content-Length {declared!r}")
        if int(declared) > limit:
            raise BadInput(
                f"request body of {declared} bytes is over the server's limit of {limit} bytes",
                status=413,
            )
    body = bytearray()  # grows in place: no list of chunks joined into a second copy
    async for chunk in request.stream():
        if len(body) + len(chunk) > limit:
            raise BadInput(f"request body is over the server's limit of {limit} bytes", status=413)
        body += chunk
        if head is not None and len(body) >= 9 and head(bytes(body[:9])):
            head = None
    if head is not None:
        head(bytes(body))
    return body


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip()


_decoding = threading.BoundedSemaphore(2)  # decoding is CPU work: two at once are enough


def _decode_off_loop(fn, *args):
    """Run a decoder in a worker thread, at most two at a time: the event loop stays free."""

    def run():
        with _decoding:
            return fn(*args)

    return run_in_threadpool(run)


# --- handlers ----------------------------------------------------------------------------------


class _Api:
    def __init__(self, storage: Storage, blobs: BlobDir, limits: Limits, pages: Pages):
        self.storage = storage
        self.blobs = blobs
        self.limits = limits
        self.pages = pages

    def _names(self, request: Request) -> tuple[str, str]:
        p = request.path_params
        return check_project(p["project"]), check_run_id(p["run_id"])

    def _incarnation(self, request: Request) -> str | None:
        """The ``Localrun-Incarnation`` header, checked; None when absent."""
        value = request.headers.get(INCARNATION_HEADER)
        return None if value is None else check_incarnation(value)

    @contextlib.contextmanager
    def _conflicts(self, project: str, run_id: str, sent: str | None):
        """Storage's IncarnationConflict as the 409 of docs/protocol.md."""
        try:
            yield
        except IncarnationConflict as exc:
            held = "no incarnation" if exc.stored is None else f"incarnation {exc.stored!r}"
            raise BadInput(
                f"this server holds a different run with project {project!r} and id {run_id!r} ({held}; "
                f"this request names {sent!r}). Nothing was stored. Send it under another run id, or put "
                'the run with "replace": true to overwrite the server\'s copy',
                status=409,
                conflict="incarnation",
                incarnation=exc.stored,
            ) from None

    async def _require_blobs_or_lost(
        self, project: str, run_id: str, incarnation: str | None, refs: set
    ) -> None:
        """409 unless every hash in ``refs`` is stored or declared lost for this run."""
        if not refs:
            return
        missing = self.blobs.missing(sorted(refs))
        if not missing:
            return
        # Rare (a client that has not uploaded yet, or declared files lost): check the run's
        # incarnation first, so a conflicting client is told so rather than asked for files.
        info = await run_in_threadpool(self.storage.get_run, project, run_id)
        if info is None:
            raise UnknownRunError((project, run_id))
        with self._conflicts(project, run_id, incarnation):
            require_incarnation(info.incarnation, incarnation)
        lost = {f.sha256 for f in await run_in_threadpool(self.storage.lost_media, project, run_id)}
        self._require_blobs({h for h in missing if h not in lost})

    async def _decode(self, request: Request):
        """A structured body: msgpack (``application/msgpack``) or JSON, decoded off the loop."""
        ctype = _content_type(request)
        if ctype not in (MSGPACK, JSON, ""):
            raise BadInput(
                f"unsupported Content-Type {ctype!r}: send {MSGPACK} or {JSON}",
                status=415,
            )
        body = await _read_body(request, self.limits.max_body_bytes)

        def decode():
            return check_body(decode_document(body, ctype, self.limits.max_values))

        return await _decode_off_loop(decode)

    async def _read_doc(self, request: Request) -> tuple[dict, set]:
        """A run document, checked, and the blobs it names."""
        ctype = _content_type(request)
        body = await _read_body(request, self.limits.max_body_bytes)

        def decode():
            doc = decode_document(body, ctype, self.limits.max_values)
            return doc, check_document(doc)

        return await _decode_off_loop(decode)

    async def _read_rows(self, request: Request) -> tuple[RowBatch, set]:
        """A rows batch, checked without keeping it decoded, and the blobs it names."""
        if _content_type(request) != MSGPACK:
            raise BadInput(
                f"send rows as {MSGPACK}: an array of rows, each an object with an integer _step",
                status=415,
            )
        most = self.limits.max_batch_rows

        def head(first: bytes) -> bool:
            n = rows_in_header(first)
            if n is not None and n > most:
                raise BadInput(
                    f"{n} rows in one batch is over the server's limit of {most}", status=413
                )
            return n is not None

        body = await _read_body(request, self.limits.max_body_bytes, head)
        batch = await _decode_off_loop(check_batch, body, self.limits.max_values)
        return RowBatch(batch.steps, None, body, batch.offsets), batch.refs

    def _require_blobs(self, refs: set) -> None:
        if refs:
            missing = self.blobs.missing(sorted(refs))
            if missing:
                raise BadInput(
                    f"{len(missing)} media file(s) are referenced but not uploaded: upload them first (PUT {API}/blobs/<sha256>)",
                    status=409,
                    missing=missing,
                )

    def _doc(self, request: Request, info: RunInfo) -> dict:
        url = str(request.base_url).rstrip("/") + run_path(info.project, info.run_id)
        return run_document(info, url)

    async def root(self, request: Request) -> Response:
        if wants_html(request):  # a browser: the viewer's runs page
            return self.pages.page()
        limits = self.limits
        return _json(
            {
                "localrun": __version__,
                "api": API,
                "limits": {
                    "max_body_bytes": limits.max_body_bytes,
                    "max_blob_bytes": limits.max_blob_bytes,
                    "max_batch_rows": limits.max_batch_rows,
                    "max_hashes": limits.max_hashes,
                },
            }
        )

    async def list_runs(self, request: Request) -> Response:
        infos = await run_in_threadpool(self.storage.list_runs)
        return _json([self._doc(request, i) for i in infos])

    async def runs_held(self, request: Request) -> Response:
        """What the server holds of many runs at once: ``{"runs": [{"project", "id"}, ...]}``
        answers ``{"runs": [{"rows", "last_step", "incarnation"} or null, ...]}`` in the same
        order (null: no such run). Reads only; a sync's "nothing new" check for a sweep."""
        body = await self._decode(request)
        runs = body.get("runs") if type(body) is dict else None
        if type(runs) is not list:
            raise BadInput('the body must be {"runs": [{"project": <name>, "id": <run id>}, ...]}')
        if len(runs) > self.limits.max_hashes:
            raise BadInput(f"ask about at most {self.limits.max_hashes} runs at a time", status=413)
        names = []
        for item in runs:
            if type(item) is not dict:
                raise BadInput(
                    f'each run must be {{"project": ..., "id": ...}}, not {str(item)[:60]}'
                )
            project, run_id = item.get("project"), item.get("id")
            if type(project) is not str or type(run_id) is not str:
                raise BadInput(f"project and id must be strings, not {str(item)[:60]}")
            names.append((check_project(project), check_run_id(run_id)))

        def held() -> list:
            out = []
            for project, run_id in names:
                info = self.storage.get_run(project, run_id)
                out.append(
                    None
                    if info is None
                    else {
                        "rows": info.rows,
                        "last_step": info.last_step,
                        "incarnation": info.incarnation,
                    }
                )
            return out

        return _json({"runs": await run_in_threadpool(held)})

    async def put_run(self, request: Request) -> Response:
        project, run_id = self._names(request)
        body = await self._decode(request)
        if type(body) is not dict:
            raise BadInput('the body must be an object, like {"created_at": 1700000000.0}')
        created_at = body.get("created_at")
        if created_at is not None:
            try:  # a JSON integer can be any size; SQLite stores 64 bits
                ok = type(created_at) in (int, float) and math.isfinite(float(created_at))
            except OverflowError:
                ok = False
            if not ok:
                raise BadInput(
                    f"created_at must be a finite number of seconds since the epoch, not {str(created_at)[:60]}"
                )
            created_at = float(created_at)
        incarnation = body.get("incarnation")
        if incarnation is not None:
            check_incarnation(incarnation)
        replace = body.get("replace", False)
        if type(replace) is not bool:
            raise BadInput(f"replace must be true or false, not {str(replace)[:60]}")
        if replace and incarnation is None:
            raise BadInput(
                "replace needs the incarnation of the run that takes the old one's place"
            )
        with self._conflicts(project, run_id, incarnation):
            if replace and incarnation is not None:  # (replace without one was refused above)
                info, replaced = await run_in_threadpool(
                    self.storage.replace_run, project, run_id, created_at, incarnation
                )
                created = True
            else:
                info, created = await run_in_threadpool(
                    self.storage.upsert_run, project, run_id, created_at, incarnation
                )
        answer = {
            "project": project,
            "id": run_id,
            "rows": info.rows,
            "last_step": info.last_step,
            "created": created,
        }
        if replace:
            answer["replaced"] = replaced
        return _json(answer, 201 if created else 200)

    async def get_run(self, request: Request) -> Response:
        project, run_id = self._names(request)
        info = await run_in_threadpool(self.storage.get_run, project, run_id)
        if info is None:
            raise UnknownRunError((project, run_id))
        doc = self._doc(request, info)
        lost = await run_in_threadpool(lost_media, self.storage, self.blobs, project, run_id)
        if lost:
            doc["lost_media"] = lost
        files = await run_in_threadpool(self.storage.run_files, project, run_id)
        if files:  # as a local run's document lists them (localrun show --json)
            doc["files"] = [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in files]
        return _json(doc)

    async def run_page(self, request: Request) -> Response:
        """The run's URL: its page to a browser, the run document to anything else."""
        if wants_html(request):
            return self.pages.page()
        return await self.get_run(request)

    async def put_doc(self, request: Request) -> Response:
        project, run_id = self._names(request)
        doc, refs = await self._read_doc(request)
        # "path", "rows" and "last_step" are replaced by the server's own when read back; they
        # are kept in place so the document reads back with its keys in the order sent.
        incarnation = self._incarnation(request)
        await self._require_blobs_or_lost(project, run_id, incarnation, refs)
        with self._conflicts(project, run_id, incarnation):
            info = await run_in_threadpool(
                self.storage.set_doc, project, run_id, msgpack.packb(doc), incarnation
            )
        return _json(
            {"project": project, "id": run_id, "rows": info.rows, "last_step": info.last_step}
        )

    async def post_rows(self, request: Request) -> Response:
        project, run_id = self._names(request)
        incarnation = self._incarnation(request)
        batch, refs = await self._read_rows(request)
        await self._require_blobs_or_lost(project, run_id, incarnation, refs)
        with self._conflicts(project, run_id, incarnation):
            inserted, info = await run_in_threadpool(
                self.storage.append_rows, project, run_id, batch, incarnation
            )
        return _json(
            {
                "inserted": inserted,
                "ignored": len(batch.steps) - inserted,
                "rows": info.rows,
                "last_step": info.last_step,
            }
        )

    async def get_rows(self, request: Request) -> Response:
        project, run_id = self._names(request)
        try:
            after = int(request.query_params.get("after", "-1"))
            limit = int(request.query_params.get("limit", "10000"))
        except ValueError:
            raise BadInput("after and limit must be integers") from None
        after = max(-1, min(after, MAX_STEP))  # steps are 0..2^63-1; SQLite holds no more
        if not 1 <= limit <= self.limits.max_page_rows:
            raise BadInput(f"limit must be between 1 and {self.limits.max_page_rows}")
        page = await run_in_threadpool(self.storage.read_rows_packed, project, run_id, after, limit)
        return Response(page, media_type=MSGPACK)

    async def post_lost_media(self, request: Request) -> Response:
        project, run_id = self._names(request)
        incarnation = self._incarnation(request)
        body = await self._decode(request)
        files = body.get("files") if type(body) is dict else None
        if type(files) is not list:
            raise BadInput(
                'the body must be {"files": [{"sha256": <hash>, "path": <media path>, "reason": <text>}, ...]}'
            )
        if len(files) > self.limits.max_hashes:
            raise BadInput(
                f"declare at most {self.limits.max_hashes} lost files at a time", status=413
            )
        lost = []
        for f in files:
            if type(f) is not dict:
                raise BadInput(f"each lost file must be an object, not {str(f)[:60]}")
            reason = f.get("reason")
            if type(reason) is not str or not 0 < len(reason) <= 1000:
                raise BadInput(
                    f"the reason a file is lost must be text of 1-1000 characters, not {str(reason)[:60]}"
                )
            lost.append(
                LostFile(check_media_path(f.get("path")), check_sha256(f.get("sha256")), reason)
            )
        with self._conflicts(project, run_id, incarnation):
            count = await run_in_threadpool(
                self.storage.add_lost_media, project, run_id, lost, incarnation
            )
        return _json({"project": project, "id": run_id, "lost_media": count})

    async def put_files(self, request: Request) -> Response:
        """The run's list of files, replaced whole: each names a blob already stored."""
        project, run_id = self._names(request)
        incarnation = self._incarnation(request)
        body = await self._decode(request)
        files = body.get("files") if type(body) is dict else None
        if type(files) is not list:
            raise BadInput('the body must be {"files": [{"path", "sha256", "size"}, ...]}')
        if len(files) > self.limits.max_hashes:
            raise BadInput(f"a run may list at most {self.limits.max_hashes} files", status=413)
        checked = {}
        for f in files:
            path, sha, size = check_run_file(f)
            checked[path] = RunFile(path, sha, size)
        missing = self.blobs.missing(sorted({f.sha256 for f in checked.values()}))
        if missing:
            raise BadInput(
                f"{len(missing)} run file(s) are not uploaded: upload them first "
                f"(PUT {API}/blobs/<sha256>)",
                status=409,
                missing=missing,
            )
        with self._conflicts(project, run_id, incarnation):
            count = await run_in_threadpool(
                self.storage.set_files, project, run_id, sorted(checked.values()), incarnation
            )
        return _json({"project": project, "id": run_id, "files": count})

    async def get_files(self, request: Request) -> Response:
        project, run_id = self._names(request)
        info = await run_in_threadpool(self.storage.get_run, project, run_id)
        if info is None:
            raise UnknownRunError((project, run_id))
        files = await run_in_threadpool(self.storage.run_files, project, run_id)
        return _json(
            {"files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in files]}
        )

    async def missing_blobs(self, request: Request) -> Response:
        body = await self._decode(request)
        hashes = body.get("sha256") if type(body) is dict else None
        if type(hashes) is not list:
            raise BadInput('the body must be {"sha256": [<hash>, ...]}')
        if len(hashes) > self.limits.max_hashes:
            raise BadInput(
                f"ask about at most {self.limits.max_hashes} hashes at a time", status=413
            )
        for h in hashes:
            check_sha256(h)
        return _json({"missing": self.blobs.missing(hashes)})

    async def post_blobs(self, request: Request) -> Response:
        if _content_type(request) != MSGPACK:
            raise BadInput(
                f"send a bundle as {MSGPACK}: a map of sha256 to the file's bytes", status=415
            )
        most = self.limits.max_hashes

        def head(first: bytes) -> bool:
            n = bundle_size(first)
            if n is not None and n > most:
                raise BadInput(f"send at most {most} files in one bundle", status=413)
            return n is not None

        body = await _read_body(request, self.limits.max_body_bytes, head)
        bundle = await _decode_off_loop(decode_bundle, body)
        stored = await self.blobs.put_many(bundle)
        return _json({"stored": stored, "count": len(bundle)})

    async def put_blob(self, request: Request) -> Response:
        sha = check_sha256(request.path_params["sha256"])
        limit = self.limits.max_blob_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BadInput(
                f"blob of {declared} bytes is over the server's limit of {limit} bytes", status=413
            )
        size, stored = await self.blobs.put_stream(sha, request.stream(), limit)
        return _json({"sha256": sha, "size": size, "stored": stored}, 201 if stored else 200)

    async def get_blob(self, request: Request) -> Response:
        path = self.blobs.path(check_sha256(request.path_params["sha256"]))
        if not os.path.exists(path):
            raise BadInput(f"no blob {request.path_params['sha256']} on this server", status=404)
        return FileResponse(path, media_type="application/octet-stream")
