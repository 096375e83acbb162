"""The viewer's JSON read API, under ``/api/v1``, over any ``Source`` (docs/viewer.md).

The paths the server already reads on (``/runs``, ``/runs/{project}/{run_id}``, ``.../rows``)
answer exactly as the server does, so ``localrun show URL`` works on a ``localrun ui`` too: run
documents are JSON as Python writes it (NaN, Infinity, -Infinity as bare words, like
``localrun show --json``), rows are msgpack. The viewer's own endpoints (``keys``, ``series``,
``media``) are strict JSON: a non-finite number is the string "NaN", "Infinity" or
"-Infinity", since a browser's ``JSON.parse`` rejects the bare words.

Source calls read files and replay runs, so each runs in a worker thread.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from typing import TypeVar

import msgpack
import msgspec
import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from localrun.contract import project_problem, run_id_problem
from localrun.sync.protocol import API, JSON, MSGPACK, RUN_ROUTE

from .files import FILE_CSP, content_type
from .source import MAX_MEDIA_ITEMS, MAX_POINTS, ReadError, RunRef, Source, nonfinite_as_strings

MAX_PAGE_ROWS = 100_000
MAX_SERIES_KEYS = 100


def python_json(obj, status: int = 200) -> Response:
    """JSON as Python's ``json`` writes it (and ``localrun show --json``, and the server)."""
    return Response(json.dumps(obj, ensure_ascii=False), status_code=status, media_type=JSON)


def strict_json(obj, status: int = 200) -> Response:
    """Strict JSON: ``obj`` must already have its non-finite numbers as strings."""
    return Response(
        json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")),
        status_code=status,
        media_type=JSON,
    )


_encode_json = msgspec.json.Encoder().encode


def error_response(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status_code=status, media_type=JSON)


def run_ref(request: Request) -> RunRef:
    p = request.path_params
    project, run_id = p["project"], p["run_id"]
    problem = project_problem(project) or run_id_problem(run_id)
    if problem:
        raise ReadError(problem)
    return RunRef(project, run_id)


_Default = TypeVar("_Default")


def _int(
    request: Request, name: str, default: _Default, lo: int | None, hi: int | None
) -> int | _Default:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ReadError(f"{name} must be an integer, not {raw!r}") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ReadError(f"{name} must be between {lo} and {hi}, not {value}")
    return value


def _float(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ReadError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value):
        raise ReadError(f"{name} must be a finite number, not {raw!r}")
    return value


def encode_values(y: np.ndarray) -> list:
    """Floats as JSON numbers; NaN, inf and -inf as "NaN", "Infinity", "-Infinity"."""
    out = y.tolist()
    for i in np.flatnonzero(~np.isfinite(y)).tolist():
        v = out[i]
        out[i] = "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    return out


class ReadApi:
    """The read endpoints; ``routes()`` lists them for a Starlette app."""

    def __init__(self, source: Source):
        self.source = source
        self._doc_text: dict[int, tuple[dict, str]] = {}  # id(doc) -> (doc, its JSON)

    def routes(self) -> list[Route]:
        run = f"{API}{RUN_ROUTE}"
        return [
            Route(f"{API}/runs", self.list_runs, methods=["GET"]),
            Route(run, self.get_run, methods=["GET"]),
            Route(f"{run}/rows", self.get_rows, methods=["GET"]),
            *self.viewer_routes(),
        ]

    def viewer_routes(self) -> list[Route]:
        """The viewer's own endpoints (keys, series, media, file): what ``localrun serve``
        mounts beside its own runs, run and rows routes, which answer the same."""
        run = f"{API}{RUN_ROUTE}"
        return [
            Route(f"{run}/keys", self.get_keys, methods=["GET"]),
            Route(f"{run}/series", self.get_series, methods=["GET"]),
            Route(f"{run}/media", self.get_media, methods=["GET"]),
            Route(f"{run}/file/{{path:path}}", self.get_file, methods=["GET"]),
        ]

    async def list_runs(self, request: Request) -> Response:
        return Response(
            await run_in_threadpool(self._runs_json),
            media_type="application/json",
        )

    def warm(self) -> threading.Thread:
        """List the runs now, in a background thread: the runs page, usually the first one a
        browser opens, then finds every document read and encoded (a source with an index
        reads one small file per run; without one, it replays each run once)."""

        def read() -> None:
            # Hand the GIL over every millisecond (not every 5) meanwhile, so the requests the
            # browser sends for the page's script and style are not kept waiting.
            interval = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, 0.001))
            try:
                self._runs_json()
            except Exception:  # any problem is reported when the page asks
                pass
            finally:
                sys.setswitchinterval(interval)

        thread = threading.Thread(target=read, name="localrun-list-runs", daemon=True)
        thread.start()
        return thread

    def _runs_json(self) -> str:
        """``python_json(source.list_runs())``, each document encoded once while it is the same
        object (a source hands out a new one when a run changes): the runs page asks every few
        seconds, and 2,000 documents take 40 ms to encode."""
        docs = self.source.list_runs()
        known = self._doc_text
        fresh: dict[int, tuple[dict, str]] = {}
        parts = []
        for doc in docs:
            hit = known.get(id(doc))
            if hit is None or hit[0] is not doc:
                hit = (doc, json.dumps(doc, ensure_ascii=False))
            fresh[id(doc)] = hit
            parts.append(hit[1])
        self._doc_text = fresh
        return "[" + ", ".join(parts) + "]"

    async def get_run(self, request: Request) -> Response:
        ref = run_ref(request)
        return python_json(await run_in_threadpool(self.source.run, ref))

    async def get_rows(self, request: Request) -> Response:
        ref = run_ref(request)
        # As the server: any integer `after` is fine; below -1 reads from the start.
        after = _int(request, "after", -1, None, None)
        limit = _int(request, "limit", 10_000, 1, MAX_PAGE_ROWS)
        rows = await run_in_threadpool(self.source.rows, ref, max(after, -1), limit)
        return Response(msgpack.packb(rows), media_type=MSGPACK)

    async def get_keys(self, request: Request) -> Response:
        ref = run_ref(request)
        return strict_json(await run_in_threadpool(self.source.keys, ref))

    async def get_series(self, request: Request) -> Response:
        ref = run_ref(request)
        raw_keys = request.query_params.getlist("key")
        for group in request.query_params.getlist("keys"):
            raw_keys.extend(k for k in group.split(",") if k)
        keys = list(dict.fromkeys(raw_keys))
        if not keys:
            raise ReadError(
                "name the keys to draw: ?keys=a,b (or ?key=a&key=b for keys with a comma)"
            )
        if len(keys) > MAX_SERIES_KEYS:
            raise ReadError(f"ask for at most {MAX_SERIES_KEYS} keys at a time, not {len(keys)}")
        x = request.query_params.get("x") or "_step"
        points = _int(request, "points", 2000, 2, MAX_POINTS)
        lo, hi = _float(request, "min"), _float(request, "max")
        series = await run_in_threadpool(self.source.series, ref, keys, x, points, lo, hi)
        as_int = x == "_step"
        out = {}
        for key, s in series.items():
            xs = s.x.astype(np.int64).tolist() if as_int else s.x.tolist()
            out[key] = {"x": xs, "y": encode_values(s.y), "count": s.count, "sampled": s.sampled}
        body = {"x": x, "points": points, "min": lo, "max": hi, "series": out}
        # msgspec writes the same numbers as json (1e-05 as 0.00001), eight times as fast.
        return Response(_encode_json(body), media_type="application/json")

    async def get_media(self, request: Request) -> Response:
        ref = run_ref(request)
        key = request.query_params.get("key")
        if not key:
            raise ReadError("name the media key: ?key=<key>")
        points = _int(request, "points", None, 1, MAX_MEDIA_ITEMS)
        media = await run_in_threadpool(self.source.media, ref, key, points)
        return strict_json(nonfinite_as_strings(media))

    async def get_file(self, request: Request) -> Response:
        ref = run_ref(request)
        path = request.path_params["path"]
        full = await run_in_threadpool(self.source.open_file, ref, path)
        return FileResponse(
            full,
            media_type=content_type(path),
            headers={"Content-Security-Policy": FILE_CSP, "Cache-Control": "private, max-age=3600"},
        )


async def read_error(request: Request, exc: ReadError) -> Response:
    return error_response(exc.status, str(exc))
