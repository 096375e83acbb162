"""The client side of docs/protocol.md: one ``Remote`` per server, over an httpx transport.

Connection errors, timeouts and 5xx answers are retried with exponential backoff (every call
of the protocol is idempotent, so a retry is always safe), then raised as ``TransportError``
(``RemoteUnreachableError`` when no connection could be made at all); a 4xx is raised at once
as ``RemoteRejectedError`` (``RemoteAuthError`` for 401, 403 and 421: the remote refuses this
client, not one request). Those two say the remote, not a run, is the trouble: a sync of many
runs stops at them. ``retries`` and ``backoff_s`` set the retrying; ``advice`` is the last
sentence of a gave-up message (what the caller's user should do then). Pass ``transport=httpx.ASGITransport(app)``
to talk to an in-process server.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import msgspec

from localrun.errors import (
    RemoteAuthError,
    RemoteRejectedError,
    RemoteUnreachableError,
    SyncError,
    TransportError,
)

from .protocol import (
    API,
    INCARNATION_HEADER,
    MSGPACK,
    RUN_FILES,
    api_run_path,
    artifact_path,
    run_path,
    server_url,
)
from .transports import AsyncBridge

RETRIES = 5
BACKOFF_S = 0.25  # doubled after each failed try: 0.25, 0.5, 1, 2 (about 4 s in all)
#: What a gave-up message ends with, for a sync.
SYNC_ADVICE = "Check the server, then run the sync again: it resumes where it stopped"
#: Statuses that refuse the client rather than the request (see RemoteAuthError).
REFUSED_CLIENT = (401, 403, 421)

_encode = msgspec.msgpack.Encoder().encode  # the same bytes as msgpack.packb, faster
_decode = msgspec.msgpack.Decoder().decode


class RunConflictError(RemoteRejectedError):
    """The remote holds a different run under this project and id (409 with ``"conflict"``).

    ``stored`` is the incarnation the remote holds (None for a run made without one).
    """

    def __init__(self, message: str, url: str = "", body: str = "", stored: str | None = None):
        super().__init__(message, url=url, status=409, body=body)
        self.stored = stored


def check_url(url: str) -> str:
    """The server's URL that ``url`` names: itself, or the server of an API or run URL
    (``protocol.server_url``). SyncError for what is not an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SyncError(f"{url!r} is not a server URL: give one like http://127.0.0.1:8080")
    return server_url(url)


class Remote:
    """A localrun server at ``base_url`` (what ``--to`` names)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        retries: int = RETRIES,
        backoff_s: float = BACKOFF_S,
        timeout_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        advice: str = SYNC_ADVICE,
    ):
        self.base_url = check_url(base_url)
        self.retries = max(1, retries)
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.advice = advice
        self.has_token = bool(token)
        headers = {"User-Agent": "localrun-sync"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if isinstance(transport, httpx.AsyncBaseTransport):
            transport = AsyncBridge(transport)
        self.client = httpx.Client(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout_s
        )
        self._limits: dict[str, int] | None = None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_url(self, project: str, run_id: str) -> str:
        """The run's URL: the base URL followed by the run's path on the server."""
        return f"{self.base_url}{run_path(project, run_id)}"

    # --- the protocol --------------------------------------------------------------------------

    def limits(self) -> dict[str, int]:
        """What the server says one request may carry (``GET /``'s ``limits``), or {} when it
        does not say (an older server). Asked once per Remote."""
        if self._limits is None:
            answer = _loads(self._call("GET", "/"))
            limits = answer.get("limits") if type(answer) is dict else None
            self._limits = {
                k: v
                for k, v in (limits.items() if type(limits) is dict else ())
                if type(k) is str and type(v) is int and v > 0
            }
        return self._limits

    def upsert_run(
        self,
        project: str,
        run_id: str,
        created_at: float | None,
        incarnation: str | None = None,
        replace: bool = False,
    ) -> dict:
        """Create (or find) the run. RunConflictError when the remote holds another incarnation;
        ``replace`` drops the remote's copy and puts this one in its place."""
        body: dict = {"created_at": created_at}
        if incarnation is not None:
            body["incarnation"] = incarnation
            if replace:
                body["replace"] = True
        return _loads(self._call("PUT", api_run_path(project, run_id), json=body))

    def append_rows(
        self, project: str, run_id: str, body: bytes, incarnation: str | None = None
    ) -> dict:
        """Send one batch: ``body`` is a msgpack array of rows."""
        return self.post_rows(project, run_id, body, incarnation)[0]

    def post_rows(
        self, project: str, run_id: str, body: bytes, incarnation: str | None = None
    ) -> tuple[dict, bool]:
        """``append_rows``, and whether it took more than one try: then rows the answer calls
        ignored may be ones the earlier try stored (the answer to it was lost)."""
        tries: list[int] = []
        r = self._call(
            "POST",
            api_run_path(project, run_id) + "/rows",
            content=body,
            headers=_headers(incarnation, {"Content-Type": MSGPACK}),
            tries=tries,
        )
        return _loads(r), tries[-1] > 1

    def runs_held(self, names: list[tuple[str, str]]) -> list[dict | None] | None:
        """What the remote holds of each ``(project, run id)``: ``{"rows", "last_step",
        "incarnation"}`` or None (no such run), in order, from one request
        (``POST /api/v1/runs/held``); None for a server too old to have that route."""
        body = {"runs": [{"project": p, "id": i} for p, i in names]}
        try:
            r = self._call("POST", f"{API}/runs/held", json=body)
        except RemoteRejectedError as exc:
            if exc.status in (404, 405):
                return None
            raise
        runs = _loads(r).get("runs")
        return runs if type(runs) is list and len(runs) == len(names) else None

    def rows_page(self, project: str, run_id: str, after: int, limit: int) -> list[dict]:
        """Up to ``limit`` stored rows with ``_step > after``."""
        r = self._call(
            "GET", api_run_path(project, run_id) + "/rows", params={"after": after, "limit": limit}
        )
        return _page(r)

    def set_doc(self, project: str, run_id: str, doc: dict, incarnation: str | None = None) -> dict:
        body = _encode(doc)
        return _loads(
            self._call(
                "PUT",
                api_run_path(project, run_id) + "/doc",
                content=body,
                headers=_headers(incarnation, {"Content-Type": MSGPACK}),
            )
        )

    def declare_lost(
        self, project: str, run_id: str, files: list[dict], incarnation: str | None = None
    ) -> None:
        """Tell the remote which media files of the run cannot be sent:
        ``[{"sha256", "path", "reason"}, ...]``. Rows naming them are then accepted."""
        step = self.limits().get("max_hashes") or 10_000
        for i in range(0, len(files), step):
            self._call(
                "POST",
                api_run_path(project, run_id) + "/lost-media",
                json={"files": files[i : i + step]},
                headers=_headers(incarnation, {}),
            )

    def put_files(
        self, project: str, run_id: str, files: list[dict], incarnation: str | None = None
    ) -> dict:
        """Replace the run's list of files, ``[{"path", "sha256", "size"}]`` (each a blob the
        remote holds)."""
        return _loads(
            self._call(
                "PUT",
                api_run_path(project, run_id) + RUN_FILES,
                json={"files": files},
                headers=_headers(incarnation, {}),
            )
        )

    def get_files(self, project: str, run_id: str) -> list[dict]:
        """The run's files as the remote lists them: ``[{"path", "sha256", "size"}]``."""
        answer = _loads(self._call("GET", api_run_path(project, run_id) + RUN_FILES))
        files = answer.get("files") if type(answer) is dict else None
        return files if type(files) is list else []

    def missing_blobs(self, hashes: list[str]) -> list[str]:
        missing: list[str] = []
        for i in range(0, len(hashes), 5000):
            answer = _loads(
                self._call("POST", f"{API}/blobs/missing", json={"sha256": hashes[i : i + 5000]})
            )
            missing += (
                answer["missing"]
                if type(answer) is dict and type(answer.get("missing")) is list
                else []
            )
        return missing

    def put_blob(self, sha256: str, path: str) -> bool:
        """Upload the file at ``path`` as blob ``sha256``; True when the server stored it anew."""

        def content() -> Iterator[bytes]:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk

        size = os.path.getsize(path)
        r = self._call(
            "PUT",
            f"{API}/blobs/{sha256}",
            content=content,
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
        return r.status_code == 201

    def put_blobs(self, paths: dict[str, str]) -> int:
        """Upload small files in one bundle: ``{sha256: path}``; returns how many were new."""
        bundle = {}
        for sha, path in paths.items():
            with open(path, "rb") as f:
                bundle[sha] = f.read()
        return self.put_bundle(bundle)

    def put_bundle(self, bundle: dict[str, bytes]) -> int:
        """Upload small files in one bundle: ``{sha256: bytes}``; returns how many were new."""
        r = self._call(
            "POST", f"{API}/blobs", content=_encode(bundle), headers={"Content-Type": MSGPACK}
        )
        answer = _loads(r)
        return len(answer.get("stored") or []) if type(answer) is dict else 0

    # --- artifacts -----------------------------------------------------------------------------

    def put_artifact_version(self, project: str, name: str, version: int, body: dict) -> dict:
        """Store version ``version`` of an artifact (its files must be uploaded first)."""
        return _loads(self._call("PUT", artifact_path(project, name, f"v{version}"), json=body))

    def artifacts(self) -> list[dict]:
        return _loads(self._call("GET", f"{API}/artifacts"))

    def artifact(self, project: str, name: str, ref: str | None = None) -> dict:
        """An artifact (its versions and aliases), or with ``ref`` one version and its manifest."""
        return _loads(self._call("GET", artifact_path(project, name, ref)))

    def download_blob(self, sha256: str, dest) -> int:
        """Write blob ``sha256`` to the open binary file ``dest``, streamed; returns its size.
        SyncError when the bytes do not hash to ``sha256``."""
        import hashlib

        digest = hashlib.sha256()
        size = 0
        url = f"{API}/blobs/{sha256}"
        try:
            with self.client.stream("GET", url) as r:
                if r.status_code >= 400:
                    r.read()
                    raise RemoteRejectedError(
                        f"GET {self.base_url}{url} was refused with {r.status_code}: {_error_text(r)}",
                        url=self.base_url + url,
                        status=r.status_code,
                        body=r.text[:500],
                    )
                for chunk in r.iter_bytes(1 << 20):
                    digest.update(chunk)
                    dest.write(chunk)
                    size += len(chunk)
        except httpx.TransportError as exc:
            raise TransportError(
                f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}"
            ) from exc
        if digest.hexdigest() != sha256:
            raise SyncError(
                f"{self.base_url} sent {size} bytes for blob {sha256[:16]}... that hash to "
                f"{digest.hexdigest()[:16]}...: not the file. Try again"
            )
        return size

    def get_blob(self, sha256: str) -> bytes:
        """The bytes of media file ``sha256`` (``localrun export URL --format wandb``...)."""
        return self._call("GET", f"{API}/blobs/{sha256}").content

    def get_run(self, project: str, run_id: str) -> dict:
        return _loads(self._call("GET", api_run_path(project, run_id)))

    def list_runs(self) -> list[dict]:
        return _loads(self._call("GET", f"{API}/runs"))

    def iter_rows(self, project: str, run_id: str, page_rows: int = 10_000) -> Iterator[dict]:
        after = -1
        while True:
            r = self._call(
                "GET",
                api_run_path(project, run_id) + "/rows",
                params={"after": after, "limit": page_rows},
            )
            rows = _page(r)
            yield from rows
            if len(rows) < page_rows:
                return
            after = rows[-1]["_step"]

    # --- retries -------------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, content=None, tries: list | None = None, **kwargs
    ) -> httpx.Response:
        url = f"{self.base_url}{path}"
        delay = self.backoff_s
        for attempt in range(1, self.retries + 1):
            if tries is not None:
                tries.append(attempt)
            body = content() if callable(content) else content
            try:
                r = self.client.request(method, path, content=body, **kwargs)
            except httpx.TransportError as exc:
                problem: Exception | None = exc
                what = f"cannot reach {url}: {type(exc).__name__}: {exc or 'no details'}"
            else:
                if r.status_code < 400:
                    return r
                if r.status_code in REFUSED_CLIENT:
                    raise RemoteAuthError(
                        self._refused(r), url=url, status=r.status_code, body=r.text[:500]
                    )
                if r.status_code < 500:
                    conflict = _conflict(r)
                    if conflict is not None:
                        raise RunConflictError(
                            f"{method} {url} was refused with 409: {_error_text(r)}",
                            url=url,
                            body=r.text[:500],
                            stored=conflict or None,
                        )
                    raise RemoteRejectedError(
                        f"{method} {url} was refused with {r.status_code}: {_error_text(r)}",
                        url=url,
                        status=r.status_code,
                        body=r.text[:500],
                    )
                problem = None
                what = f"{method} {url} failed with {r.status_code}: {_error_text(r)}"
            if attempt == self.retries:
                if isinstance(problem, (httpx.ConnectError, httpx.ConnectTimeout)):
                    raise RemoteUnreachableError(
                        f"cannot reach {self.base_url}: {type(problem).__name__}: "
                        f"{problem or 'no details'} (gave up after {attempt} tries). Is "
                        f"`localrun serve` running there, and is the URL right? {self.advice}"
                    ) from problem
                raise TransportError(
                    f"{what} (gave up after {attempt} tries). {self.advice}"
                ) from problem
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _refused(self, r: httpx.Response) -> str:
        """The message for an answer that refuses this client (``REFUSED_CLIENT``)."""
        said = f"{r.status_code}: {_error_text(r)}"
        if r.status_code != 401:
            return f"{self.base_url} refused this client ({said})"
        if not self.has_token:
            return (
                f"{self.base_url} needs a token ({said}). Pass the token the server was started "
                "with: --token TOKEN, or set $LOCALRUN_TOKEN"
            )
        return (
            f"{self.base_url} refused the token given ({said}). Pass the token the server was "
            "started with: --token TOKEN, or $LOCALRUN_TOKEN"
        )


def _loads(r: httpx.Response):
    try:
        return json.loads(r.content)
    except ValueError as exc:
        raise SyncError(
            f"{r.request.url} answered something that is not JSON ({exc}). Is it a localrun server?"
        ) from exc


def _page(r: httpx.Response) -> list:
    try:
        rows = _decode(r.content)
    except Exception as exc:  # whatever the bytes were, they are not a page of rows
        raise SyncError(
            f"{r.request.url} answered something that is not a page of rows ({type(exc).__name__}). Is it a localrun server?"
        ) from exc
    if type(rows) is not list:
        raise SyncError(
            f"{r.request.url} answered a {type(rows).__name__}, not a page of rows. Is it a localrun server?"
        )
    return rows


def _headers(incarnation: str | None, headers: dict) -> dict:
    if incarnation is not None:
        headers[INCARNATION_HEADER] = incarnation
    return headers


def _conflict(r: httpx.Response) -> str | None:
    """For a 409 that says the remote holds another run: the incarnation it holds ("" for
    none). None for any other answer (a 409 for missing media has no ``"conflict"``)."""
    if r.status_code != 409:
        return None
    try:
        body = r.json()
    except Exception:  # not our JSON: not a conflict we know
        return None
    if type(body) is not dict or body.get("conflict") != "incarnation":
        return None
    held = body.get("incarnation")
    return held if type(held) is str else ""


def _error_text(r: httpx.Response) -> str:
    try:
        return str(r.json()["error"])
    except Exception:  # not our JSON error body: say what it was, on one line
        ctype = r.headers.get("content-type", "no content type").split(";")[0]
        snippet = " ".join(r.text.split())[:120]
        return f"{r.reason_phrase or 'error'} (answered {ctype}, not a localrun server's error: {snippet!r})"
