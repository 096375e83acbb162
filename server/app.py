"""The ASGI app: the routes of docs/protocol.md, over a ``Storage`` and a ``BlobDir``.

Every handler checks what it was sent before anything is stored (``names.py``,
``values.py``), so a refused request leaves no trace. Storage calls run in a worker thread, so the server keeps
reading the next request while SQLite commits the last one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass
from urllib.parse import quote

import msgpack
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from localrun import __version__

from .auth import BearerAuth
from .blobs import BlobDir
from .names import (
    MAX_STEP,
    BadInput,
    check_incarnation,
    check_media_path,
    check_project,
    check_run_id,
    check_sha256,
)
from .storage import (
    IncarnationConflict,
    LostFile,
    RowBatch,
    RunInfo,
    Storage,
    UnknownRunError,
    open_storage,
    require_incarnation,
)
from .values import check_rows, decode_rows, media_refs

MSGPACK = "application/msgpack"
API = "/api/v1"
INCARNATION_HEADER = "localrun-incarnation"


@dataclass(frozen=True)
class Limits:
    """What one request may carry; larger gets 413 and nothing is stored."""

    max_body_bytes: int = 64 * 1024 * 1024  # a rows batch or a run document
    max_blob_bytes: int = 1024 * 1024 * 1024  # one media file
    max_batch_rows: int = 100_000
    max_page_rows: int = 100_000
    max_hashes: int = 10_000  # in one "which are missing" question


def create_app(
    data_dir: str,
    token: str | None = None,
    limits: Limits | None = None,
    storage: Storage | None = None,
):
    """The server as an ASGI app, storing into ``data_dir`` (or ``storage`` and ``data_dir/blobs``)."""
    limits = limits or Limits()
    storage = storage or open_storage(data_dir)
    blobs = BlobDir(os.path.join(data_dir, "blobs"))
    api = _Api(storage, blobs, limits)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        storage.close()

    routes = [
        Route("/", api.root, methods=["GET"]),
        Route(f"{API}/runs", api.list_runs, methods=["GET"]),
        Route(f"{API}/runs/{{project}}/{{run_id}}", api.put_run, methods=["PUT"]),
        Route(f"{API}/runs/{{project}}/{{run_id}}", api.get_run, methods=["GET"]),
        Route(f"{API}/runs/{{project}}/{{run_id}}/doc", api.put_doc, methods=["PUT"]),
        Route(f"{API}/runs/{{project}}/{{run_id}}/rows", api.post_rows, methods=["POST"]),
        Route(f"{API}/runs/{{project}}/{{run_id}}/rows", api.get_rows, methods=["GET"]),
        Route(
            f"{API}/runs/{{project}}/{{run_id}}/lost-media", api.post_lost_media, methods=["POST"]
        ),
        Route(f"{API}/blobs/missing", api.missing_blobs, methods=["POST"]),
        Route(f"{API}/blobs", api.post_blobs, methods=["POST"]),
        Route(f"{API}/blobs/{{sha256}}", api.put_blob, methods=["PUT"]),
        Route(f"{API}/blobs/{{sha256}}", api.get_blob, methods=["GET"]),
        # The run's URL as `localrun sync` prints it: the run document, as JSON.
        Route("/runs/{project}/{run_id}", api.get_run, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            BadInput: _bad_input,
            HTTPException: _http_error,
            UnknownRunError: _unknown_run,
            ClientDisconnect: _client_gone,
        },
    )
    app.state.storage = storage
    return BearerAuth(app, token)


# --- errors ------------------------------------------------------------------------------------


def _error(status: int, message: str, **extra) -> Response:
    return Response(
        json.dumps({"error": message, **extra}), status_code=status, media_type="application/json"
    )


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


def _json(obj, status: int = 200) -> Response:
    # Python's json, NaN and infinities included, as `localrun show --json` writes them.
    return Response(
        json.dumps(obj, ensure_ascii=False), status_code=status, media_type="application/json"
    )


# --- bodies ------------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadInput(f"bad Content-Length {declared!r}")
        if int(declared) > limit:
            raise BadInput(
                f"request body of {declared} bytes is over the server's limit of {limit} bytes",
                status=413,
            )
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadInput(f"request body is over the server's limit of {limit} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _decode(request: Request, limit: int):
    """A structured body: msgpack (``application/msgpack``) or JSON."""
    body = await _read_body(request, limit)
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    try:
        if ctype == MSGPACK:
            return msgpack.unpackb(body, raw=False)
        if ctype in ("application/json", ""):
            return json.loads(body)
    except Exception as exc:  # any decoding failure of untrusted bytes is the client's
        raise BadInput(
            f"the body is not valid {ctype or 'JSON'}: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    raise BadInput(
        f"unsupported Content-Type {ctype!r}: send application/msgpack or application/json",
        status=415,
    )


# --- handlers ----------------------------------------------------------------------------------


class _Api:
    def __init__(self, storage: Storage, blobs: BlobDir, limits: Limits):
        self.storage = storage
        self.blobs = blobs
        self.limits = limits

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
        doc = (
            msgpack.unpackb(info.doc, raw=False)
            if info.doc
            else {"id": info.run_id, "project": info.project, "state": None}
        )
        doc["path"] = (
            f"{str(request.base_url).rstrip('/')}/runs/{quote(info.project, safe='')}/{quote(info.run_id, safe='')}"
        )
        doc["rows"] = info.rows
        doc["last_step"] = info.last_step
        doc.setdefault("created_at", info.created_at)
        return doc

    async def root(self, request: Request) -> Response:
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

    async def put_run(self, request: Request) -> Response:
        project, run_id = self._names(request)
        body = await _decode(request, self.limits.max_body_bytes)
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
            if replace:
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
        lost = await run_in_threadpool(self.storage.lost_media, project, run_id)
        if lost:
            # A file uploaded since it was declared lost (by this run or another) is simply there.
            gone = set(self.blobs.missing(sorted({f.sha256 for f in lost})))
            lost = [
                {"sha256": f.sha256, "path": f.path, "reason": f.reason}
                for f in lost
                if f.sha256 in gone
            ]
            if lost:
                doc["lost_media"] = lost
        return _json(doc)

    async def put_doc(self, request: Request) -> Response:
        project, run_id = self._names(request)
        doc = await _decode(request, self.limits.max_body_bytes)
        if type(doc) is not dict:
            raise BadInput(
                "the run document must be an object (what `localrun show RUN --json` prints)"
            )
        # "path", "rows" and "last_step" are replaced by the server's own when read back; they
        # are kept in place so the document reads back with its keys in the order sent.
        incarnation = self._incarnation(request)
        refs: set = set()
        media_refs(doc, refs)
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
        body = await _read_body(request, self.limits.max_body_bytes)
        if request.headers.get("content-type", "").split(";")[0].strip() != MSGPACK:
            raise BadInput(
                f"send rows as {MSGPACK}: an array of rows, each an object with an integer _step",
                status=415,
            )
        may_hold_media = b"_type" in body or b"filenames" in body
        rows, unchecked = decode_rows(body, may_hold_media)
        if type(rows) is not list:
            raise BadInput(
                "the body must be an array of rows, each an object with an integer _step"
            )
        if len(rows) > self.limits.max_batch_rows:
            raise BadInput(
                f"{len(rows)} rows in one batch is over the server's limit of {self.limits.max_batch_rows}",
                status=413,
            )
        incarnation = self._incarnation(request)
        steps, refs = check_rows(rows, may_hold_media, unchecked)
        await self._require_blobs_or_lost(project, run_id, incarnation, refs)
        batch = RowBatch(steps, rows, body)
        with self._conflicts(project, run_id, incarnation):
            inserted, info = await run_in_threadpool(
                self.storage.append_rows, project, run_id, batch, incarnation
            )
        return _json(
            {
                "inserted": inserted,
                "ignored": len(steps) - inserted,
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
        rows = await run_in_threadpool(self.storage.read_rows, project, run_id, after, limit)
        return Response(msgpack.packb(rows), media_type=MSGPACK)

    async def post_lost_media(self, request: Request) -> Response:
        project, run_id = self._names(request)
        incarnation = self._incarnation(request)
        body = await _decode(request, self.limits.max_body_bytes)
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

    async def missing_blobs(self, request: Request) -> Response:
        body = await _decode(request, self.limits.max_body_bytes)
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
        body = await _read_body(request, self.limits.max_body_bytes)
        if request.headers.get("content-type", "").split(";")[0].strip() != MSGPACK:
            raise BadInput(
                f"send a bundle as {MSGPACK}: a map of sha256 to the file's bytes", status=415
            )
        try:
            bundle = msgpack.unpackb(body, raw=False)
        except Exception as exc:  # any decoding failure of untrusted bytes is the client's
            raise BadInput(
                f"the body is not valid msgpack: {type(exc).__name__}: {str(exc)[:200]}"
            ) from None
        if type(bundle) is dict and len(bundle) > self.limits.max_hashes:
            raise BadInput(f"send at most {self.limits.max_hashes} files in one bundle", status=413)
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
