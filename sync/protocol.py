"""The names docs/protocol.md gives: API paths, content types, headers and a run's path.

The client (``remote.py``, ``remote_view.py``), the server (``localrun.server``) and the viewer
(``localrun.viewer``) all import them from here, so each is said once. Only constants and
string functions: importing this costs nothing (no httpx, no web framework).

A run's path on a server is ``/runs/<project>/<run id>``, each part percent-encoded whole
(``/`` included), so any project name the contract allows is one path segment. The run's URL
(what ``localrun sync`` prints) is the server's URL followed by it; the API's own path for the
run is ``API`` followed by it.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

#: Where the API lives on a server (and on ``localrun ui``).
API = "/api/v1"
#: The content type of rows, bundles and documents sent as msgpack.
MSGPACK = "application/msgpack"
JSON = "application/json"
#: The header naming the run's incarnation on writes (docs/protocol.md, "Run identity").
INCARNATION_HEADER = "Localrun-Incarnation"
#: A run's path as a route: ``/runs/{project}/{run_id}``.
RUN_ROUTE = "/runs/{project}/{run_id}"
#: Artifacts (docs/protocol.md, "Artifacts"): every artifact, one artifact, one version (``v3``
#: or an alias), a file of a version.
ARTIFACTS_ROUTE = "/artifacts"
ARTIFACT_ROUTE = "/artifacts/{project}/{name}"
ARTIFACT_VERSION_ROUTE = "/artifacts/{project}/{name}/{ref}"
ARTIFACT_FILE_ROUTE = "/artifacts/{project}/{name}/{ref}/files/{path:path}"
#: After a run's API path: its files (``run.save()``, ``files/``), as a list of
#: ``{"path", "sha256", "size"}``; each file's bytes are a blob (docs/protocol.md, "Run files").
RUN_FILES = "/files"
#: A load balancer's probes (docs/protocol.md, "Health and readiness"): answered without a token.
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
#: The state a reader gives a run whose document has not reached the server yet (its rows may
#: have: a sync is under way, or stopped half-way).
SYNCING = "syncing"


def run_path(project: str, run_id: str) -> str:
    """``/runs/<project>/<run id>``, each part percent-encoded: the run's path on a server."""
    return f"/runs/{quote(project, safe='')}/{quote(run_id, safe='')}"


def api_run_path(project: str, run_id: str) -> str:
    """The API's path for the run: ``/api/v1/runs/<project>/<run id>``."""
    return API + run_path(project, run_id)


def artifact_path(project: str, name: str, ref: str | None = None) -> str:
    """The API's path of an artifact (``ref`` None), or of one version or alias of it."""
    path = f"{API}/artifacts/{quote(project, safe='')}/{quote(name, safe='')}"
    return path if ref is None else f"{path}/{quote(ref, safe='')}"


def server_url(url: str) -> str:
    """The server's URL in ``url``: ``url`` without a trailing ``/``, cut before the API's path
    (``http://h:8080/api/v1/runs`` -> ``http://h:8080``) and before a run's path or ``/runs``
    (a URL ``localrun sync`` printed)."""
    return split_run_url(url)[0]


def split_run_url(url: str) -> tuple[str, str | None, str | None]:
    """``(server URL, project, run id)`` of a run's URL (``run_path`` after the server's URL);
    project and id are None for the server itself (its URL, or that URL + ``/runs``). The API's
    path for a run (``API`` + ``run_path``) names the same run; anything else after ``API``
    names the server."""
    url = url.rstrip("/")
    path = urlsplit(url).path
    at = (path + "/").find(API + "/")
    if at >= 0:
        base = url[: len(url) - len(path) + at]
        rest = path[at + len(API) :]
        _, project, run_id = split_run_url("http://x" + rest)
        if project is not None and rest.count("/") == 3:
            return base, project, run_id
        return base, None, None
    segments = urlsplit(url).path.split("/")
    if len(segments) >= 3 and segments[-3] == "runs":
        base = url[: url.rfind("/runs/")]
        return base, unquote(segments[-2]), unquote(segments[-1])
    if segments[-1] == "runs":
        return url[: -len("/runs")], None, None
    return url, None, None
