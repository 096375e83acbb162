"""The client side of MLflow's tracking REST API, as much of it as sync needs, over httpx.

``localrun sync --to mlflow+http://HOST:PORT`` talks to an MLflow tracking server with no
``mlflow`` package installed: experiments (get by name, create), runs (search by tag, create,
get, update, delete), ``log-batch`` (metrics, params, tags), and artifacts through the tracking
server's artifact proxy (``mlflow server`` serves ``/api/2.0/mlflow-artifacts/artifacts/...``
unless started with ``--no-serve-artifacts``).

Authentication is what MLflow's own clients read: ``token`` (``--token``, or the
``MLFLOW_TRACKING_TOKEN`` variable) is sent as a bearer token; else ``MLFLOW_TRACKING_USERNAME``
and ``MLFLOW_TRACKING_PASSWORD`` as basic auth. ``MLFLOW_TRACKING_INSECURE_TLS=true`` turns off
certificate checks, as it does for MLflow's clients.

Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff, then
raised as ``TransportError``. Every call sync makes is safe to repeat: a run is found by its
``localrun.run_id`` tag before one is created, params and tags are set to the same values, the
SQL store keeps one copy of identical metric points, and an artifact PUT replaces the file. A
4xx is raised at once as ``RemoteRejectedError``, with MLflow's error code and message.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from urllib.parse import quote, urlsplit

import httpx

from localrun.errors import (
    RemoteAuthError,
    RemoteRejectedError,
    RemoteUnreachableError,
    SyncError,
    TransportError,
)

SCHEME_PREFIX = "mlflow+"
API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
ARTIFACT_SCHEME = "mlflow-artifacts:"
RETRIES = 5
BACKOFF_S = 0.25  # doubled after each failed try: 0.25, 0.5, 1, 2 (about 4 s in all)


def is_mlflow_url(url: str) -> bool:
    """Whether ``--to`` names an MLflow tracking server (``mlflow+http://``, ``mlflow+https://``)."""
    return url.lower().startswith(SCHEME_PREFIX)


def check_mlflow_url(url: str) -> str:
    """The server's own http(s) URL for ``mlflow+http(s)://HOST:PORT[/PREFIX]``."""
    http = url[len(SCHEME_PREFIX) :] if is_mlflow_url(url) else url
    parts = urlsplit(http)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SyncError(
            f"{url!r} is not an MLflow server URL: give one like mlflow+http://127.0.0.1:5000"
        )
    return http.rstrip("/")


def auth_from(token: str | None, environ: Mapping[str, str]) -> httpx.Auth | dict | None:
    """MLflow's client rules: a token is a bearer token, else username and password."""
    token = token or environ.get("MLFLOW_TRACKING_TOKEN") or None
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = environ.get("MLFLOW_TRACKING_USERNAME")
    password = environ.get("MLFLOW_TRACKING_PASSWORD")
    if user or password:
        return httpx.BasicAuth(user or "", password or "")
    return None


def metric_value(v: float) -> float | str:
    """A metric's value as MLflow's JSON takes it: protobuf's spellings for NaN and infinities
    (a bare ``NaN`` in the body is not read as one)."""
    if math.isfinite(v):
        return v
    if math.isnan(v):
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


class MlflowRemote:
    """An MLflow tracking server at ``url`` (``mlflow+http://HOST:PORT``, as ``--to`` names it)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        retries: int = RETRIES,
        backoff_s: float = BACKOFF_S,
        timeout_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        environ = os.environ if environ is None else environ
        self.base_url = url.rstrip("/")  # the name sync gives it (cursor files, messages)
        self.http_url = check_mlflow_url(url)
        self.retries = max(1, retries)
        self.backoff_s = backoff_s
        self.sleep = sleep
        headers = {"User-Agent": "localrun-sync"}
        auth = auth_from(token, environ)
        if isinstance(auth, dict):
            headers.update(auth)
            auth = None
        verify = environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() not in ("true", "1")
        self.client = httpx.Client(
            base_url=self.http_url,
            headers=headers,
            auth=auth,
            transport=transport,
            timeout=timeout_s,
            verify=verify,
            # MLflow's REST handlers are behind a WSGI bridge: several requests at once are
            # served by its thread pool.
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> MlflowRemote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_url(self, experiment_id: str | None = None, run_id: str | None = None) -> str:
        """Where the MLflow UI shows the run (or the experiment, or the server)."""
        if experiment_id is None:
            return self.http_url
        if run_id is None:
            return f"{self.http_url}/#/experiments/{experiment_id}"
        return f"{self.http_url}/#/experiments/{experiment_id}/runs/{run_id}"

    # --- experiments ---------------------------------------------------------------------------

    def experiment_id(self, name: str) -> str:
        """The id of the experiment called ``name``, created if there is none."""
        found = self._experiment_by_name(name)
        if found is not None:
            if found.get("lifecycle_stage") == "deleted":
                raise RemoteRejectedError(
                    f"the MLflow experiment {name!r} (id {found.get('experiment_id')}) is deleted, "
                    "and MLflow keeps its name: restore it (`mlflow experiments restore "
                    f"--experiment-id {found.get('experiment_id')}`), or sync into another "
                    "experiment with --project NEWNAME",
                    url=self.http_url,
                    status=400,
                )
            return str(found["experiment_id"])
        try:
            answer = self._json("POST", f"{API}/experiments/create", {"name": name})
            return str(answer["experiment_id"])
        except RemoteRejectedError as exc:
            if "RESOURCE_ALREADY_EXISTS" not in exc.body:
                raise
        found = self._experiment_by_name(name)  # created meanwhile by another sync
        if found is None:
            raise SyncError(f"{self.http_url} neither has nor will create experiment {name!r}")
        return str(found["experiment_id"])

    def _experiment_by_name(self, name: str) -> dict | None:
        try:
            answer = self._json(
                "GET", f"{API}/experiments/get-by-name", params={"experiment_name": name}
            )
        except RemoteRejectedError as exc:
            if exc.status == 404 or "RESOURCE_DOES_NOT_EXIST" in exc.body:
                return None
            raise
        return answer["experiment"]

    # --- runs ----------------------------------------------------------------------------------

    def runs_tagged(self, experiment_id: str, key: str, value: str) -> list[dict]:
        """The runs of the experiment (not deleted ones) whose tag ``key`` is ``value``."""
        quoted = value.replace("\\", "\\\\").replace("'", "\\'")
        body = {
            "experiment_ids": [experiment_id],
            "filter": f"tags.`{key}` = '{quoted}'",
            "max_results": 50,
            "run_view_type": "ACTIVE_ONLY",
        }
        return self._json("POST", f"{API}/runs/search", body).get("runs") or []

    def get_run(self, run_id: str) -> dict | None:
        """The run (``{"info", "data"}``), or None when the server has no such run."""
        try:
            return self._json("GET", f"{API}/runs/get", params={"run_id": run_id})["run"]
        except RemoteRejectedError as exc:
            if exc.status == 404 or "RESOURCE_DOES_NOT_EXIST" in exc.body:
                return None
            raise

    def create_run(
        self, experiment_id: str, start_time_ms: int | None, name: str | None, tags: dict
    ) -> dict:
        body: dict = {
            "experiment_id": experiment_id,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        if start_time_ms is not None:
            body["start_time"] = start_time_ms
        if name:
            body["run_name"] = name
        return self._json("POST", f"{API}/runs/create", body)["run"]

    def update_run(self, run_id: str, status: str, end_time_ms: int | None) -> None:
        body: dict = {"run_id": run_id, "status": status}
        if end_time_ms is not None:
            body["end_time"] = end_time_ms
        self._json("POST", f"{API}/runs/update", body)

    def delete_run(self, run_id: str) -> None:
        self._json("POST", f"{API}/runs/delete", {"run_id": run_id})

    def log_batch(
        self,
        run_id: str,
        metrics: list[dict] = (),  # type: ignore[assignment]
        params: list[dict] = (),  # type: ignore[assignment]
        tags: list[dict] = (),  # type: ignore[assignment]
    ) -> int:
        """One ``log-batch`` call (the caller keeps to MLflow's limits); the body's size."""
        body = json.dumps(
            {"run_id": run_id, "metrics": metrics, "params": params, "tags": tags},
            separators=(",", ":"),
            allow_nan=False,
        ).encode()
        self._call("POST", f"{API}/runs/log-batch", content=body, headers=_JSON)
        return len(body)

    # --- artifacts -----------------------------------------------------------------------------

    def artifact_root(self, run: dict) -> str:
        """The proxied artifact path of the run (``<experiment>/<run>/artifacts``).

        SyncError when the run's artifacts live where the tracking server does not serve them
        (a server started with ``--no-serve-artifacts``, or with a ``--default-artifact-root``
        of a local path or a cloud bucket): sync writes artifacts through the server only.
        """
        uri = str(run["info"].get("artifact_uri") or "")
        if uri.startswith(ARTIFACT_SCHEME):
            path = uri[len(ARTIFACT_SCHEME) :]
            parsed = urlsplit(path)
            return (parsed.path if parsed.scheme or parsed.netloc else path).strip("/")
        raise SyncError(
            f"the MLflow run's artifacts are stored at {uri!r}, which {self.http_url} does not "
            "serve, so this sync cannot upload its media: start the server with artifact "
            "serving on (`mlflow server --serve-artifacts --artifacts-destination ...`, the "
            "default since MLflow 2.0)"
        )

    def put_artifact(self, root: str, path: str, content: bytes) -> None:
        """Write ``content`` as the run's artifact ``path`` (replacing one already there)."""
        self._call("PUT", f"{ARTIFACTS_API}/{quote(root)}/{quote(path)}", content=content)

    def list_artifacts(self, root: str, path: str = "") -> list[dict]:
        where = f"{root}/{path}" if path else root
        answer = self._json("GET", ARTIFACTS_API, params={"path": where})
        return answer.get("files") or []

    # --- retries -------------------------------------------------------------------------------

    def _json(self, method: str, path: str, body: dict | None = None, **kwargs) -> dict:
        if body is not None:
            kwargs["content"] = json.dumps(body, separators=(",", ":")).encode()
            kwargs["headers"] = _JSON
        r = self._call(method, path, **kwargs)
        try:
            answer = json.loads(r.content) if r.content else {}
        except ValueError as exc:
            raise SyncError(
                f"{r.request.url} answered something that is not JSON ({exc}). Is it an MLflow "
                "tracking server?"
            ) from exc
        if type(answer) is not dict:
            raise SyncError(f"{r.request.url} answered {str(answer)[:100]!r}, not MLflow's JSON")
        return answer

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        url = f"{self.http_url}{path}"
        delay = self.backoff_s
        for attempt in range(1, self.retries + 1):
            try:
                r = self.client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                problem: Exception | None = exc
                what = f"cannot reach {url}: {type(exc).__name__}: {exc or 'no details'}"
            else:
                if r.status_code < 400:
                    return r
                if r.status_code < 500 and r.status_code != 429:
                    # Refused credentials refuse every call: the command stops (remote_failure).
                    refused = (
                        RemoteAuthError if r.status_code in (401, 403) else RemoteRejectedError
                    )
                    raise refused(
                        f"{method} {url} was refused with {r.status_code}: {_error_text(r)}"
                        + _advice(r.status_code),
                        url=url,
                        status=r.status_code,
                        body=r.text[:2000],
                    )
                problem = None
                what = f"{method} {url} failed with {r.status_code}: {_error_text(r)}"
            if attempt == self.retries:
                # No connection at all would be the same for every run: the command stops.
                unreachable = isinstance(problem, (httpx.ConnectError, httpx.ConnectTimeout))
                raise (RemoteUnreachableError if unreachable else TransportError)(
                    f"{what} (gave up after {attempt} tries). Check the MLflow server, then run "
                    "the sync again: it resumes where it stopped"
                ) from problem
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")


_JSON = {"Content-Type": "application/json"}


def _advice(status: int) -> str:
    if status == 401:
        return (
            ". Give the server's credentials: --token (or MLFLOW_TRACKING_TOKEN) for a bearer "
            "token, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
        )
    if status == 403:
        return ". The credentials given may not write there: ask the server's admin for access"
    return ""


def _error_text(r: httpx.Response) -> str:
    try:
        body = r.json()
        return f"{body['error_code']}: {body.get('message', '')}"[:500]
    except Exception:  # not MLflow's JSON error: say what it was, on one line
        ctype = r.headers.get("content-type", "no content type").split(";")[0]
        snippet = " ".join(r.text.split())[:120]
        return f"{r.reason_phrase or 'error'} (answered {ctype}: {snippet!r})"
