"""Pushing runs to an MLflow tracking server (``localrun sync PATH --to mlflow+http://HOST:PORT``).

What each part of a run becomes there is ``mlflow_mapping``'s (and docs/sync.md's table); this
module sends it with the guarantees sync gives towards a localrun server:

- **Found again, never doubled.** The project is an MLflow experiment (created if missing);
  the run an MLflow run tagged ``localrun.run_id`` and ``localrun.incarnation``. MLflow makes
  its own run ids, so the cursor remembers the MLflow run; without a cursor (a sync killed
  right after it created the run, a copied run folder) the run is found by its tags with
  ``runs/search``. A run there with the same id but another incarnation is another run: it
  is refused, and ``--as`` (keep both) or ``--replace`` (delete that MLflow run) is the way on.
- **Resumable, incremental.** Rows are replayed (``RunView``, the same rows ``export``
  gives) after the cursor's ``last_step``, cut into batches of at most 1,000 metric points
  (MLflow's limit per ``log-batch``) and ``batch_rows`` rows, each batch's artifact files
  uploaded before its metrics. Batches go out several at once; the cursor moves past a batch
  only when it and every batch before it were acknowledged, so after a kill -9 the next sync
  sends again at most the batches that were in flight, whose metric points MLflow's SQL store
  keeps once (its key is key, step, timestamp and value).
- **Each file once.** Artifacts named by their content are remembered in the cursor; the rest
  are named by key and step, which the cursor is already past.
- **The rest last.** Params (config), tags (name, notes, group, tags, state), summary
  numbers that history does not hold, ``localrun/run.json`` (what ``localrun show --json``
  prints: config, summary and all), and the run's status; only what changed since the last
  sync is sent.

Params cannot change in MLflow: a config value that changed after a resume, a value over
MLflow's 6,000 characters and a key MLflow refuses are reported (once) in ``not_sent``, and
the whole config is in ``localrun/run.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from localrun import rundir
from localrun.errors import Error, RemoteRejectedError, SyncError
from localrun.reader import RunView

from .cursor import SyncLock
from .mlflow_cursor import MlflowCursor
from .mlflow_mapping import (
    MAX_METRICS_PER_CALL,
    MAX_PARAM_CHARS,
    MAX_PARAMS_PER_CALL,
    MAX_TAG_CHARS,
    MAX_TAGS_PER_CALL,
    Artifact,
    artifacts_for,
    media_of,
    name_problem,
    numbers_of,
    params_of,
    table_artifact,
    thumbnail,
)
from .mlflow_remote import MlflowRemote, metric_value
from .push import MISSING, PushResult, _NeedsAction, _path_in_run, _segment_sizes, run_identity

BATCH_ROWS = 10_000  # rows per batch at most; batches are cut at 1,000 metric points anyway
WORKERS = 4  # batches in flight at once
BATCH_ARTIFACTS = 64  # a batch is cut after this many artifact files too
TAG_RUN_ID = "localrun.run_id"
TAG_INCARNATION = "localrun.incarnation"
RUN_DOC = "localrun/run.json"
LOGGED_IMAGES = "mlflow.loggedImages"
LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
#: localrun's states as MLflow spells run statuses. A crashed run (no finish(), no signal)
#: failed; a preempted one (SIGTERM, SIGINT) was killed.
STATUS = {
    "running": "RUNNING",
    "finished": "FINISHED",
    "failed": "FAILED",
    "crashed": "FAILED",
    "preempted": "KILLED",
}

Progress = Callable[..., None]


def _noop(**_: int) -> None:
    pass


def push_run_mlflow(
    path: str,
    remote: MlflowRemote,
    *,
    dry_run: bool = False,
    batch_rows: int | None = None,
    progress: Progress = _noop,
    as_id: str | None = None,
    as_project: str | None = None,
    replace: bool = False,
    workers: int = WORKERS,
) -> PushResult:
    """Sync the run at ``path`` to the MLflow server ``remote``; errors land in ``result.error``.

    ``as_project``/``as_id``: the experiment and ``localrun.run_id`` tag the run gets there
    instead of its own (remembered in its cursor). ``replace``: delete the MLflow runs holding
    another run under that id instead of failing.
    """
    try:
        info = rundir.read_run_json(path)
        project, run_id, created_at = run_identity(path)
    except Error as exc:
        return PushResult(path, os.path.basename(os.path.normpath(path)), "", "", error=exc)
    result = PushResult(path, run_id, project, remote.run_url(), dry_run=dry_run)
    try:
        with contextlib.ExitStack() as held:
            push = _MlflowPush(path, remote, result, batch_rows or BATCH_ROWS, progress, held)
            push.workers = max(1, workers)
            push.incarnation = rundir.incarnation(info)
            push.replace = replace
            push.run(info, created_at, as_project, as_id)
    except _NeedsAction as exc:
        result.error = SyncError(str(exc))
        result.needs_action = True
    except Error as exc:
        result.error = exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        result.error = SyncError(f"{type(exc).__name__}: {exc}")
        result.error.__cause__ = exc
    return result


def push_runs_mlflow(
    paths: list[str],
    remote: MlflowRemote,
    *,
    on_result: Callable[[PushResult], None] | None = None,
    **kwargs,
) -> list[PushResult]:
    """Sync each run in turn; one run failing does not stop the others, except when the
    server itself is the trouble (no connection, credentials refused): then the rest would
    fail the same way, and the sync stops there (``push.remote_failure``)."""
    from .push import remote_failure

    results = []
    for path in paths:
        result = push_run_mlflow(path, remote, **kwargs)
        if on_result is not None:
            on_result(result)
        results.append(result)
        if remote_failure(result):
            break
    return results


@dataclass
class _Batch:
    metrics: list[dict] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    rows: int = 0
    end_step: int | None = None  # the last row whose every metric and file is in this batch


class _MlflowPush:
    def __init__(self, path, remote, result, batch_rows, progress, held):
        self.path = path
        self.remote: MlflowRemote = remote
        self.result: PushResult = result
        self.batch_rows = batch_rows
        self.progress = progress
        self.held = held
        self.workers = WORKERS
        self.incarnation = ""
        self.replace = False
        self.cursor = MlflowCursor.load(path, remote.base_url)
        self.project = result.project
        self.run_id = result.run_id
        self.mlflow_run_id = ""
        self.root = ""  # the run's path in the artifact proxy
        self.claimed: set[str] = set()  # content-named artifacts some batch uploads
        self.bad_keys: dict[str, str | None] = {}
        self.images = False  # images sent in MLflow's layout: its UI looks for them
        self.tables: list[str] = []  # table artifacts sent, for MLflow's table list
        self.lock = threading.Lock()

    # --- names and the MLflow run ----------------------------------------------------------

    def _names(self, cursor: MlflowCursor, as_project, as_id) -> MlflowCursor:
        r = self.result
        project = as_project or cursor.as_project or r.project
        run_id = as_id or cursor.as_id or r.run_id
        self.project, self.run_id = project, run_id
        keep = (
            project if project != r.project else None,
            run_id if run_id != r.run_id else None,
        )
        if (cursor.as_project, cursor.as_id) != keep:
            cursor = MlflowCursor(url=cursor.url, as_project=keep[0], as_id=keep[1])
        return cursor

    def _conflict(self, other: dict) -> _NeedsAction:
        where = f"localrun sync {self.path} --to {self.remote.base_url}"
        theirs = other["info"]["run_id"]
        return _NeedsAction(
            f"the MLflow experiment {self.project!r} holds a different run tagged "
            f"{TAG_RUN_ID}={self.run_id!r} (MLflow run {theirs}, made by another localrun run "
            "with this id: another machine's, or an earlier run deleted and logged again under "
            "this id); nothing of this run was sent. To keep both, sync this one under another "
            f"id: `{where} --as NEWID` (remembered for later syncs there). To put this run in "
            f"its place: `{where} --replace`, which deletes MLflow run {theirs}"
        )

    def _find_run(self, experiment_id: str, info: dict, created_at) -> dict:
        """The MLflow run of this run: the cursor's, one tagged with its id, or a new one."""
        cursor = self.cursor
        if cursor.mlflow_run_id and cursor.experiment_id == experiment_id:
            run = self.remote.get_run(cursor.mlflow_run_id)
            if run is not None and self._is_mine(run):
                return run
            # Deleted, or a server wiped since: start over.
        tagged = self.remote.runs_tagged(experiment_id, TAG_RUN_ID, self.run_id)
        mine = [run for run in tagged if self._is_mine(run)]
        self.cursor = cursor = cursor.fresh()
        cursor.experiment_id = experiment_id
        if mine:
            # A sync that was killed before it saved its cursor, or a folder synced from
            # elsewhere: everything is sent again, and the server keeps each point once.
            run = mine[0]
            cursor.mlflow_run_id = run["info"]["run_id"]
            cursor.tags = _tags(run)
            cursor.params = {
                p["key"]: p.get("value", "") for p in run.get("data", {}).get("params") or []
            }
            cursor.save(self.path)
            return run
        if tagged:
            if not self.replace:
                raise self._conflict(tagged[0])
            for other in tagged:
                self.remote.delete_run(other["info"]["run_id"])
            self.result.replaced = True
        tags = {
            TAG_RUN_ID: self.run_id,
            TAG_INCARNATION: self.incarnation,
            "localrun.project": self.result.project,
        }
        name = info.get("name")
        if type(name) is str and name:
            tags["mlflow.runName"] = name[:MAX_TAG_CHARS]
        start = int(created_at * 1000) if created_at is not None else None
        run = self.remote.create_run(
            experiment_id, start, name if type(name) is str else None, tags
        )
        cursor.mlflow_run_id = run["info"]["run_id"]
        cursor.tags = _tags(run)
        cursor.save(self.path)
        return run

    def _is_mine(self, run: dict) -> bool:
        tags = _tags(run)
        return (
            run["info"].get("lifecycle_stage", "active") == "active"
            and tags.get(TAG_RUN_ID) == self.run_id
            and tags.get(TAG_INCARNATION) == self.incarnation
        )

    # --- the run -------------------------------------------------------------------------------

    def run(self, info: dict, created_at, as_project, as_id) -> None:
        r = self.result
        sizes = _segment_sizes(self.path)
        live = rundir.is_locked(self.path)
        cursor = self.cursor = self._names(self.cursor, as_project, as_id)
        if r.dry_run:
            if cursor.synced and not live and cursor.segments == sizes:
                r.up_to_date = r.synced = True
                r.rows_total = cursor.rows
                return
            self._send_rows(cursor.last_step)
            return
        experiment_id = self.remote.experiment_id(self.project)
        # Only once the server answered: a sync that cannot reach it writes nothing here.
        self.held.enter_context(SyncLock(self.path, self.remote.base_url))
        self.cursor = self._names(
            MlflowCursor.load(self.path, self.remote.base_url), as_project, as_id
        )
        run = self._find_run(experiment_id, info, created_at)
        cursor = self.cursor
        assert cursor.mlflow_run_id is not None  # _find_run sets it to the run it returns
        self.mlflow_run_id = cursor.mlflow_run_id
        r.url = self.remote.run_url(experiment_id, self.mlflow_run_id)
        if cursor.synced and not live and cursor.segments == sizes:
            r.up_to_date = r.synced = True
            r.rows_total = cursor.rows
            return
        self.root = self.remote.artifact_root(run)
        self._retry_lost()
        view = self._send_rows(cursor.last_step)
        self._send_rest(view, sizes)

    def _send_rows(self, last_step: int | None) -> RunView:
        """Replay the rows after ``last_step`` and send them, batch by batch."""
        r = self.result
        view = RunView(self.path)
        rows = view.rows(final_only=True)
        if last_step is not None:
            rows = itertools.dropwhile(
                lambda row: type(row["_step"]) is not int or row["_step"] <= last_step, rows
            )
        self.claimed = set(self.cursor.files)
        keys = set(self.cursor.metric_keys)
        in_flight: list[tuple[Future, _Batch]] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="localrun-mlflow") as pool:
            batch = _Batch()
            for row in rows:
                step = row["_step"]
                ms = _ms(row.get("_timestamp"))
                for key, value in numbers_of(row):
                    if key not in keys:
                        if self._key_problem(key, "history"):
                            continue
                        keys.add(key)
                    batch.metrics.append(
                        {"key": key, "value": metric_value(value), "timestamp": ms, "step": step}
                    )
                    if len(batch.metrics) == MAX_METRICS_PER_CALL:
                        self._submit(pool, in_flight, batch)
                        batch = _Batch()
                for key, media in media_of(row):
                    batch.artifacts += self._artifacts(key, media, step, ms)
                batch.rows += 1
                batch.end_step = step
                if batch.rows >= self.batch_rows or len(batch.artifacts) >= BATCH_ARTIFACTS:
                    self._submit(pool, in_flight, batch)
                    batch = _Batch()
            if batch.rows or batch.metrics or batch.artifacts:
                self._submit(pool, in_flight, batch)
            while in_flight:
                self._settle(in_flight, wait=True)
        self.cursor.metric_keys = sorted(keys)
        r.state = view.state
        r.dropped = len(view.replay.dropped)
        r.held_back = len(view.held_back)
        return view

    def _key_problem(self, key: str, where: str) -> bool:
        """Whether MLflow refuses ``key`` as a name (said once per key and sync)."""
        problem = self.bad_keys.get(key, "")
        if problem == "":
            problem = self.bad_keys[key] = name_problem(key)
            if problem is not None:
                self._report(f"{where} {key!r} not sent: {problem}", f"key:{key}")
        return problem is not None

    def _artifacts(self, key: str, value, step, ms: int) -> list[Artifact]:
        out = []
        for art in artifacts_for(key, value, step, ms):
            if art.once and not self._claim(art):
                continue
            if art.path.startswith("images/"):
                self.images = True
            elif art.path.endswith(".table.json"):
                self.tables.append(art.path)
            if art.path.endswith(".table.json") and art.source is not None:
                # MLflow's table JSON is made here, on this thread, in step order: the files
                # its cells name are claimed by the first batch that sends them.
                try:
                    with open(_path_in_run(self.path, art.source), encoding="utf-8") as f:
                        table = json.load(f)
                except (OSError, ValueError) as exc:
                    self._lose(art.path, art.source, _why(exc))
                    continue
                content, files = table_artifact(key, table if type(table) is dict else {})
                out.append(Artifact(art.path, content=content))
                out += [a for a in files if self._claim(a)]
            else:
                out.append(art)
        return out

    def _claim(self, art: Artifact) -> bool:
        if art.path in self.claimed:
            return False
        self.claimed.add(art.path)
        return True

    # --- batches -------------------------------------------------------------------------------

    def _submit(self, pool, in_flight: list, batch: _Batch) -> None:
        if self.result.dry_run:
            self._count_dry(batch)
            return
        while in_flight and (len(in_flight) >= self.workers * 2 or in_flight[0][0].done()):
            self._settle(in_flight, wait=len(in_flight) >= self.workers * 2)
        in_flight.append((pool.submit(self._send_batch, batch), batch))

    def _settle(self, in_flight: list, wait: bool) -> None:
        """Move the cursor past the oldest batch once it (and so every one before) is done."""
        future, batch = in_flight[0]
        if not wait and not future.done():
            return
        try:
            future.result()
        except BaseException:
            for other, _ in in_flight[1:]:
                other.cancel()
            raise
        in_flight.pop(0)
        cursor = self.cursor
        if batch.end_step is not None:
            cursor.last_step = batch.end_step
        cursor.rows += batch.rows
        cursor.files += [a.path for a in batch.artifacts if a.once]
        cursor.synced = False
        cursor.save(self.path)
        self.result.rows_sent += batch.rows
        self.progress(rows=batch.rows)

    def _send_batch(self, batch: _Batch) -> None:
        """On a worker: the batch's files, then its metric points."""
        for art in batch.artifacts:
            self._upload(art)
        if batch.metrics:
            n = self.remote.log_batch(self.mlflow_run_id, metrics=batch.metrics)
            with self.lock:
                self.result.bytes_sent += n

    def _upload(self, art: Artifact) -> bool:
        content = art.content
        if content is None:
            assert art.source is not None  # an Artifact has its content or its source
            try:
                with open(_path_in_run(self.path, art.source), "rb") as f:
                    content = f.read()
            except FileNotFoundError:
                self._lose(art.path, art.source, MISSING)
                return False
            if art.thumbnail:
                try:
                    content = thumbnail(content)
                except Exception as exc:  # Pillow's errors for a file that is not an image
                    self._lose(art.path, art.source, f"not an image Pillow reads ({exc})")
                    return False
        self.remote.put_artifact(self.root, art.path, content)
        with self.lock:
            self.result.files_sent += 1
            self.result.file_bytes_sent += len(content)
        self.progress(files=1, bytes=len(content))
        return True

    def _lose(self, path: str, source: str | None, reason: str) -> None:
        with self.lock:
            self.result.lost_media[path] = (source or path, reason)
            self.cursor.lost[path] = source or ""

    def _retry_lost(self) -> None:
        """Artifacts the last sync could not send (files missing then): send those now back."""
        lost, self.cursor.lost = dict(self.cursor.lost), {}
        for path, source in lost.items():
            art = Artifact(path, source=source or None, thumbnail=path.endswith("+compressed.webp"))
            if art.source and self._upload(art):
                self.cursor.files.append(path)
            elif not art.source:
                self._lose(path, None, MISSING)

    def _count_dry(self, batch: _Batch) -> None:
        r = self.result
        r.rows_sent += batch.rows
        for art in batch.artifacts:
            r.files_sent += 1
            if art.content is not None:
                r.file_bytes_sent += len(art.content)
            elif art.source is not None and not art.thumbnail:
                try:
                    r.file_bytes_sent += os.path.getsize(_path_in_run(self.path, art.source))
                except OSError:
                    r.lost_media[art.path] = (art.source, MISSING)

    # --- params, tags, summary, state ----------------------------------------------------------

    def _send_rest(self, view: RunView, sizes: dict[str, int]) -> None:
        r = self.result
        cursor = self.cursor
        doc = view.to_json()
        self._send_params(params_of(doc.get("config") or {}))
        self._send_tags(self._tags_of(doc))
        if r.state != "running":
            # A live run's summary holds the values of its open row, which history will hold
            # once the row is written: its summary numbers go when the run is done.
            self._send_summary(doc)
        doc.pop("path", None)  # the local folder
        doc["mlflow_run_id"] = self.mlflow_run_id
        content = json.dumps(doc, separators=(",", ":"), default=str).encode()
        digest = hashlib.sha256(content).hexdigest()
        if cursor.docs.get(RUN_DOC) != digest:
            self.remote.put_artifact(self.root, RUN_DOC, content)
            cursor.docs[RUN_DOC] = digest
        status = STATUS.get(r.state or "", "FAILED")
        if cursor.state != r.state:
            end = doc.get("updated_at")
            end_ms = None
            if (type(end) is int or type(end) is float) and status != "RUNNING":
                end_ms = int(end * 1000)
            self.remote.update_run(self.mlflow_run_id, status, end_ms)
            cursor.state = r.state
        finished = r.state != "running" and not r.held_back
        r.rows_total = cursor.rows
        cursor.synced = finished and not r.lost_media and not cursor.lost
        cursor.segments = sizes if cursor.synced else {}
        cursor.save(self.path)
        r.synced = cursor.synced

    def _tags_of(self, doc: dict) -> dict[str, str]:
        tags = {
            TAG_RUN_ID: self.run_id,
            TAG_INCARNATION: self.incarnation,
            "localrun.project": self.result.project,
            "localrun.state": str(doc.get("state")),
        }
        for key, tag in (
            ("name", "mlflow.runName"),
            ("notes", "mlflow.note.content"),
            ("group", "localrun.group"),
            ("job_type", "localrun.job_type"),
        ):
            value = doc.get(key)
            if value is not None and value != "":
                tags[tag] = str(value)
        if doc.get("tags"):
            tags["localrun.tags"] = json.dumps(doc["tags"], ensure_ascii=False)
        sent = self.cursor.tags
        if self.images or LOGGED_IMAGES in sent:
            tags[LOGGED_IMAGES] = "True"  # what mlflow.log_image sets; the UI's image grid reads it
        if self.tables:
            tags[LOGGED_ARTIFACTS] = _table_list(sent.get(LOGGED_ARTIFACTS), self.tables)
        elif LOGGED_ARTIFACTS in sent:
            tags[LOGGED_ARTIFACTS] = sent[LOGGED_ARTIFACTS]
        for tag, value in list(tags.items()):
            if len(value) > MAX_TAG_CHARS:
                self._report(
                    f"tag {tag!r} cut to MLflow's {MAX_TAG_CHARS:,} characters (it has "
                    f"{len(value):,}); the whole value is in the artifact {RUN_DOC}",
                    f"long-tag:{tag}",
                )
                tags[tag] = value[:MAX_TAG_CHARS]
        return tags

    def _send_params(self, params: dict[str, str]) -> None:
        cursor = self.cursor
        new = []
        for key, value in params.items():
            if key in cursor.params:
                if cursor.params[key] != value:
                    self._report(
                        f"config {key!r} is {_short(value)} now, and MLflow holds param {key!r} "
                        f"= {_short(cursor.params[key])} from an earlier sync: MLflow params "
                        f"cannot change, so the param keeps its first value; the run's config "
                        f"as it is now is in the artifact {RUN_DOC}",
                        f"changed:{key}={value}",
                    )
                continue
            if self._key_problem(key, "config"):
                continue
            if len(value) > MAX_PARAM_CHARS:
                self._report(
                    f"config {key!r} not sent as a param: its value has {len(value):,} "
                    f"characters, over MLflow's {MAX_PARAM_CHARS:,}; it is in the artifact {RUN_DOC}",
                    f"long:{key}",
                )
                continue
            new.append({"key": key, "value": value})
        for i in range(0, len(new), MAX_PARAMS_PER_CALL):
            chunk = new[i : i + MAX_PARAMS_PER_CALL]
            try:
                self.remote.log_batch(self.mlflow_run_id, params=chunk)
            except RemoteRejectedError as exc:
                if exc.status != 400:
                    raise
                # One of them is refused (a value MLflow holds otherwise): one at a time.
                for param in chunk:
                    try:
                        self.remote.log_batch(self.mlflow_run_id, params=[param])
                    except RemoteRejectedError as one:
                        if one.status != 400:
                            raise
                        self._report(
                            f"config {param['key']!r} not sent as a param: {one}",
                            f"refused:{param['key']}",
                        )
                        continue
                    cursor.params[param["key"]] = param["value"]
                continue
            for param in chunk:
                cursor.params[param["key"]] = param["value"]

    def _send_tags(self, tags: dict[str, str]) -> None:
        cursor = self.cursor
        changed = [{"key": k, "value": v} for k, v in tags.items() if cursor.tags.get(k) != v]
        for i in range(0, len(changed), MAX_TAGS_PER_CALL):
            chunk = changed[i : i + MAX_TAGS_PER_CALL]
            self.remote.log_batch(self.mlflow_run_id, tags=chunk)
            cursor.tags.update((t["key"], t["value"]) for t in chunk)

    def _send_summary(self, doc: dict) -> None:
        """The summary's numbers under keys history never held, as metric points at the run's
        last step (a value that changes later gets a new point)."""
        cursor = self.cursor
        in_history = set(cursor.metric_keys)
        step = doc.get("last_step") if type(doc.get("last_step")) is int else 0
        ms = _ms(doc.get("updated_at"))
        points = []
        for key, value in numbers_of(doc.get("summary") or {}):
            if key in in_history or self._key_problem(key, "summary"):
                continue
            seen = repr(value)
            if cursor.summary.get(key) == seen:
                continue
            points.append(
                (
                    key,
                    seen,
                    {"key": key, "value": metric_value(value), "timestamp": ms, "step": step},
                )
            )
        for i in range(0, len(points), MAX_METRICS_PER_CALL):
            chunk = points[i : i + MAX_METRICS_PER_CALL]
            self.remote.log_batch(self.mlflow_run_id, metrics=[p for _, _, p in chunk])
            cursor.summary.update((k, seen) for k, seen, _ in chunk)

    def _report(self, message: str, once: str) -> None:
        """Say ``message`` in this sync's ``not_sent``, unless an earlier sync said it."""
        with self.lock:
            if once in self.cursor.reported:
                return
            self.cursor.reported.append(once)
            self.result.not_sent.append(message)


def _table_list(sent: str | None, paths: list[str]) -> str:
    """MLflow's list of a run's tables (the tag ``mlflow.log_table`` keeps), with ``paths``
    added while it fits in a tag; the tables past that are in the artifacts all the same."""
    try:
        tables = json.loads(sent) if sent else []
    except ValueError:
        tables = []
    tables = tables if type(tables) is list else []
    for path in paths:
        entry = {"path": path, "type": "table"}
        if entry in tables:
            continue
        if len(json.dumps([*tables, entry])) > MAX_TAG_CHARS:
            break
        tables.append(entry)
    return json.dumps(tables)


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags") or []}


def _ms(t) -> int:
    return int(t * 1000) if type(t) in (int, float) and t == t and t >= 0 else 0


def _why(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return MISSING
    return f"unreadable ({type(exc).__name__}: {exc})"


def _short(value: str) -> str:
    return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
