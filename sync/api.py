"""``localrun.Api``: wandb's public API for reading runs in a script or a notebook.

``wandb.Api()`` is how analysis code reads runs back: ``api.runs("entity/project",
filters=...)``, ``api.run("project/id")``, then ``run.history()``, ``run.scan_history()``,
``run.config``, ``run.summary``. ``localrun.Api()`` gives the same surface over the local runs
root (``Api(dir=...)``, default the one ``init()`` writes to) and over a ``localrun serve``
(``Api(base_url="http://host:8080", api_key=TOKEN)``), so one notebook reads either.

Runs are read through the same code as ``localrun show`` and ``export``: ``RunView`` (replay
of the run directory) locally, the server's read API remotely. The entity part of a path is
accepted and ignored: there are no entities offline.

Filters are wandb's MongoDB-style ones, evaluated here: a field (``state``, ``display_name``,
``name``, ``tags``, ``group``, ``job_type``, ``created_at``, ``config.KEY``,
``summary_metrics.KEY``; ``config.KEY.value`` also reads ``config.KEY``) equal to a value or
matched by ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex``, combined with ``$and``,
``$or``, ``$nor`` and ``$not``.
"""

from __future__ import annotations

import datetime
import itertools
import math
import os
import re
import warnings
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from localrun import rundir
from localrun.errors import ApiError
from localrun.reader import RunView, find_runs

from .remote_view import is_url

__all__ = ["Api", "ApiError", "Run", "Runs"]


class Api:
    """Read runs: local ones (``dir``) or a server's (``base_url``)."""

    def __init__(
        self,
        overrides: dict | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        dir: str | os.PathLike | None = None,
    ) -> None:
        overrides = dict(overrides or {})
        base_url = base_url or overrides.get("base_url") or os.environ.get("LOCALRUN_BASE_URL")
        self.default_project: str | None = overrides.get("project")
        self._remote: Any = None
        self._remote_artifacts: Any = None
        self._token: str | None = None
        self.root: str = ""
        if base_url:
            if not is_url(base_url):
                raise ApiError(
                    f"base_url {base_url!r} is not an http:// or https:// URL. "
                    "Give the address `localrun serve` printed, e.g. http://127.0.0.1:8080"
                )
            from .remote import Remote  # httpx: only for a server

            token = self._token = api_key or os.environ.get("LOCALRUN_TOKEN")
            self._remote = Remote(base_url, token=token, timeout_s=timeout or 60.0)
            # Its connections close when nothing holds it any more (the Api and every Run it
            # gave out), or at close().
            weakref.finalize(self._remote, self._remote.client.close)
        else:
            self.root = rundir.runs_root(dir)

    # --- finding runs -----------------------------------------------------------------------------

    def runs(
        self,
        path: str | None = None,
        filters: dict | None = None,
        order: str = "-created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
    ) -> Runs:
        """The runs of a project (``"project"`` or ``"entity/project"``; None: every project),
        those ``filters`` matches, sorted by ``order`` (a field, ``-`` first for descending)."""
        project = _project_of(path) if path else self.default_project
        found = [r for r in self._all_runs() if project is None or r.project == project]
        if filters:
            match = _compile(filters)
            found = [r for r in found if match(r)]
        return Runs(_sorted(found, order))

    def run(self, path: str) -> Run:
        """One run: ``"project/id"``, ``"entity/project/id"``, ``"entity/project/runs/id"``, or
        an id alone. ``ApiError`` names the run when there is no such run."""
        parts = [p for p in str(path).split("/") if p]
        if len(parts) >= 2 and parts[-2] == "runs":
            del parts[-2]
        if not parts or len(parts) > 3:
            raise ApiError(
                f"{path!r} is not a run path. Give 'project/run_id' (or 'entity/project/run_id')"
            )
        run_id = parts[-1]
        project = parts[-2] if len(parts) >= 2 else None
        matches = [
            r
            for r in self._all_runs()
            if r.id == run_id and (project is None or r.project == project)
        ]
        if not matches:
            where = self._remote.base_url if self._remote is not None else self.root
            raise ApiError(f"no run {path!r} in {where}. List them with localrun.Api().runs()")
        if len(matches) > 1:
            projects = ", ".join(sorted(str(r.project) for r in matches))
            raise ApiError(
                f"run id {run_id!r} is in several projects ({projects}): give 'project/{run_id}'"
            )
        return matches[0]

    def artifact(self, name: str, type: str | None = None) -> ApiArtifact:
        """One artifact version: ``"name:v3"``, ``"name:alias"``, ``"project/name:latest"``
        (``"entity/project/name:..."``), from the runs root's store or the server's."""
        from .artifact_view import split_name

        parts = [p for p in str(name).split("/") if p]
        text = "/".join(parts[-2:])  # the entity, if any, is dropped
        project, short, ref = split_name(text)
        source = self._artifacts()
        project = source.find(project or self.default_project, short)
        version = source.version(project, short, ref or "latest")
        if type is not None and version["type"] != type:
            raise ApiError(
                f"{project}/{short}:{ref or 'latest'} is of type {version['type']!r}, not {type!r}"
            )
        return ApiArtifact(version, source)

    def artifact_versions(self, type_name: str | None, name: str) -> list[ApiArtifact]:
        """Every version of an artifact (``"name"`` or ``"project/name"``), oldest first."""
        from .artifact_view import split_name

        project, short, _ = split_name("/".join([p for p in name.split("/") if p][-2:]))
        source = self._artifacts()
        project = source.find(project or self.default_project, short)
        coll = source.collection(project, short)
        out = [
            ApiArtifact(source.version(project, short, f"v{v['version']}"), source)
            for v in coll["versions"]
        ]
        return [a for a in out if type_name is None or a.type == type_name]

    artifacts = artifact_versions

    def _artifacts(self):
        from .artifact_view import LocalArtifacts, RemoteArtifacts

        if self._remote is None:
            return LocalArtifacts(self.root)
        if self._remote_artifacts is None:
            self._remote_artifacts = RemoteArtifacts(self._remote.base_url, self._token)
            weakref.finalize(self._remote_artifacts, self._remote_artifacts.remote.client.close)
        return self._remote_artifacts

    def projects(self, entity: str | None = None) -> list[str]:
        """The projects that hold runs, sorted."""
        return sorted({r.project for r in self._all_runs() if r.project is not None})

    def close(self) -> None:
        """Close the connections to the server (runs read from it can no longer fetch rows)."""
        if self._remote is not None:
            self._remote.close()
        if self._remote_artifacts is not None:
            self._remote_artifacts.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def flush(self) -> None:
        """Forget nothing and fetch nothing: runs are read afresh on every ``runs()`` call."""

    def _all_runs(self) -> list[Run]:
        if self._remote is not None:
            docs = self._remote.list_runs()
            if type(docs) is not list:
                raise ApiError(f"{self._remote.base_url} did not answer a list of runs")
            return [Run._remote(self._remote, d) for d in docs if type(d) is dict]
        if not os.path.isdir(self.root):
            return []
        return [Run._local(p) for p in find_runs(self.root)] if _has_runs(self.root) else []


def _has_runs(root: str) -> bool:
    try:
        with os.scandir(root) as entries:
            return any(rundir.is_run_dir(e.path) for e in entries if e.is_dir())
    except OSError:
        return False


def _project_of(path: str) -> str:
    parts = [p for p in str(path).split("/") if p]
    if not parts or len(parts) > 2:
        raise ApiError(f"{path!r} is not a project path. Give 'project' or 'entity/project'")
    return parts[-1]


class Runs(Sequence):
    """The runs ``Api.runs()`` found: a list (``len``, index, iterate)."""

    def __init__(self, runs: list[Run]):
        self._runs = runs

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, i):
        return self._runs[i]

    def __iter__(self) -> Iterator[Run]:
        return iter(self._runs)

    def __repr__(self) -> str:
        return f"<Runs {len(self._runs)}>"


class Run:
    """One run, read back: wandb's public ``Run`` attributes and ``history``."""

    def __init__(self, doc: dict, *, path: str | None = None, remote=None):
        self._doc = doc
        self._dir = path
        self._remote_client = remote
        self.id: str = doc.get("id") or ""
        self.project: str | None = doc.get("project")
        self.entity: str | None = None
        self.name: str | None = doc.get("name")
        self.display_name = self.name
        self.state: str | None = doc.get("state")
        self.config: dict = dict(doc.get("config") or {})
        self.summary: dict = dict(doc.get("summary") or {})
        self.tags: list = list(doc.get("tags") or [])
        self.group: str | None = doc.get("group")
        self.job_type: str | None = doc.get("job_type")
        self.notes: str | None = doc.get("notes")
        created = doc.get("created_at")
        self.created_at: str | None = (
            datetime.datetime.fromtimestamp(created, datetime.timezone.utc)
            .replace(tzinfo=None)
            .isoformat(timespec="seconds")
            if isinstance(created, (int, float)) and math.isfinite(created)
            else None
        )
        last_step = doc.get("last_step")
        self.lastHistoryStep: int = last_step if type(last_step) is int else -1
        self.url: str | None = doc.get("path") if remote is not None else None
        self.dir: str | None = path

    @classmethod
    def _local(cls, path: str) -> Run:
        return cls(RunView(path).to_json(), path=path)

    @classmethod
    def _remote(cls, remote, doc: dict) -> Run:
        from .protocol import split_run_url

        _, project, run_id = split_run_url(str(doc.get("path", "")))
        doc = dict(doc)
        doc.setdefault("project", project)
        doc.setdefault("id", run_id)
        return cls(doc, remote=remote)

    @property
    def path(self) -> list:
        """``[entity, project, id]``, as wandb's (the entity is None offline)."""
        return [self.entity, self.project, self.id]

    @property
    def summary_metrics(self) -> dict:
        return self.summary

    def __repr__(self) -> str:
        return f"<Run {self.project}/{self.id} ({self.state})>"

    def files(self) -> list[dict]:
        """The run's files (``run.save()``, what the script wrote into ``run.dir``): each
        ``{"path", "sha256", "size"}``."""
        files = self._doc.get("files")
        if not files and self._remote_client is not None:  # a server lists them apart
            files = self._remote_client.get_files(self.project, self.id)
        return [dict(f) for f in files or [] if isinstance(f, dict)]

    def logged_artifacts(self) -> list[dict]:
        """The artifact versions the run logged: ``{"project", "name", "version", "type",
        "digest", "aliases"}`` each; ``Api.artifact(f"{name}:v{version}")`` gives one whole."""
        return list((self._doc.get("artifacts") or {}).get("logged") or [])

    def used_artifacts(self) -> list[dict]:
        """The artifact versions the run used, as ``logged_artifacts``."""
        return list((self._doc.get("artifacts") or {}).get("used") or [])

    # --- history ----------------------------------------------------------------------------------

    def _rows(self) -> Iterator[dict]:
        if self._remote_client is not None:
            return self._remote_client.iter_rows(self.project, self.id)
        assert self._dir is not None  # a run is local or a server's
        return RunView(self._dir).rows()

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict]:
        """Every history row, in step order. With ``keys``, only the rows holding all of them,
        each with those keys and ``_step``; ``min_step <= _step < max_step`` as wandb's."""
        if keys is not None and isinstance(keys, str):
            raise ApiError(f"keys must be a list of keys, not the string {keys!r}: use [{keys!r}]")
        wanted = list(keys) if keys is not None else None
        for row in self._rows():
            step = row["_step"]
            if min_step is not None and step < min_step:
                continue
            if max_step is not None and step >= max_step:
                break
            if wanted is None:
                yield row
            elif all(k in row for k in wanted):
                out = {k: row[k] for k in wanted}
                out.setdefault("_step", step)
                yield out

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ):
        """At most ``samples`` rows, evenly spaced over the run (first and last kept), as a
        pandas DataFrame (``pandas=False``: a list of dicts). With ``keys``, the rows holding
        all of them, with those keys and ``x_axis``.

        Rows are taken into columns as they are read, never kept as a list of dicts, so a
        million-row run costs its columns' memory."""
        if stream != "default":
            raise ApiError(
                f"stream={stream!r}: localrun records no system metrics stream; use 'default'"
            )
        if samples is None or samples < 1:
            raise ApiError(f"samples must be a positive number of rows, not {samples!r}")
        wanted = list(keys) if keys is not None else None
        if wanted is not None and x_axis not in wanted:
            wanted = [*wanted, x_axis] if x_axis != "_step" else wanted
        # Columns as the rows stream by, never a list of rows: key -> runs of consecutive
        # rows holding it, [first row number, row count, [tuples of values]]. Rows come in
        # blocks; a block whose rows all hold the same keys in the same order (most runs) is
        # transposed in C. Values stay in tuples until the end: the collector stops looking
        # into a tuple of numbers after one pass, where one growing list of a million values
        # would be walked again at every collection (10 s more for a 1M-row run).
        runs: dict[Any, list[list]] = {}
        n = 0
        block: list[dict] = []

        def take(block: list[dict]) -> None:
            keys = tuple(block[0])
            if all(map(keys.__eq__, map(tuple, block))):
                for k, values in zip(keys, zip(*map(dict.values, block), strict=True), strict=True):
                    _extend(runs, k, n, values)
                return
            for i, row in enumerate(block, n):
                for k, v in row.items():
                    _extend(runs, k, i, (v,))

        for row in self.scan_history(keys=wanted):
            block.append(row)
            if len(block) == _BLOCK_ROWS:
                take(block)
                n += len(block)
                block = []
        if block:
            take(block)
            n += len(block)
        table: dict[Any, list] = {}
        for k, pieces in runs.items():
            if len(pieces) == 1 and pieces[0][0] == 0 and pieces[0][1] == n:
                table[k] = list(itertools.chain.from_iterable(pieces[0][2]))  # in every row
                continue
            col: list = [None] * n
            for first, count, chunks in pieces:
                col[first : first + count] = itertools.chain.from_iterable(chunks)
            table[k] = col
        if n > samples:
            picked = (
                [0]
                if samples == 1
                else sorted({round(i * (n - 1) / (samples - 1)) for i in range(samples)})
            )
            table = {k: [col[i] for i in picked] for k, col in table.items()}
            n = len(picked)
        if pandas:
            try:
                import pandas as pd
            except ImportError:
                warnings.warn(
                    "pandas is not installed: history() returns a list of rows. "
                    "pip install pandas, or call history(pandas=False)",
                    stacklevel=2,
                )
            else:
                return pd.DataFrame({k: _column(col) for k, col in table.items()})
        return [{k: col[i] for k, col in table.items() if col[i] is not None} for i in range(n)]


_BLOCK_ROWS = 4096
_INTS = frozenset((int,))
_NUMBERS = frozenset((int, float, type(None)))


def _column(values: list):
    """A column for pandas: numbers as a numpy array (None as NaN), made in C, instead of
    leaving pandas to look at each object; anything else as it is."""
    import numpy as np

    kinds = set(map(type, values))
    if kinds == _INTS:
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:  # an int of 2**63 or more
            return values
    if kinds <= _NUMBERS and kinds != {type(None)}:
        return np.array(values, dtype=np.float64)
    return values


def _extend(runs: dict, key: Any, first: int, values: tuple) -> None:
    """Add ``values`` of ``key`` for rows ``first``, ``first + 1``... to its runs of rows."""
    pieces = runs.get(key)
    if pieces is None:
        runs[key] = [[first, len(values), [values]]]
        return
    last = pieces[-1]
    if last[0] + last[1] == first:
        last[1] += len(values)
        last[2].append(values)
    else:
        pieces.append([first, len(values), [values]])


class ApiArtifact:
    """One artifact version read back: wandb's public ``Artifact`` attributes and
    ``download()``."""

    def __init__(self, version: dict, source: Any):
        self._v = version
        self._source = source
        manifest = version.get("manifest") or {}
        self.project: str = version["project"]
        self.type: str = version["type"]
        self.version: str = f"v{version['version']}"
        self.name: str = f"{version['name']}:{self.version}"
        self.qualified_name: str = f"{self.project}/{self.name}"
        self.aliases: list[str] = list(version.get("aliases") or [])
        self.digest: str | None = version.get("digest")
        self.size: int | None = version.get("size")
        self.created_at = version.get("created_at")
        self.description: str | None = manifest.get("description")
        self.metadata: dict = dict(manifest.get("metadata") or {})
        self.manifest: dict = manifest

    def files(self) -> list[str]:
        """The paths inside the artifact."""
        return sorted((self.manifest.get("entries") or {}).keys())

    def logged_by(self) -> str | None:
        """The id of the run that logged this version."""
        return self._v.get("run")

    def download(self, root: str | None = None) -> str:
        """Write the version's files under ``root`` (default ``./artifacts/<name>``) and
        return that folder. Files are checked against their hashes as they are copied."""
        root = root or os.path.join("artifacts", self.name.replace(":", "-"))
        os.makedirs(root, exist_ok=True)
        self._source.download(self._v, root)
        return root

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} ({self.type})>"


# --- filters and order --------------------------------------------------------------------------

_MISSING = object()


def _field(run: Run, name: str) -> Any:
    """The value of a filter field of ``run``, or _MISSING."""
    simple = {
        "state": run.state,
        "display_name": run.name,
        "name": run.id,
        "id": run.id,
        "tags": run.tags,
        "group": run.group,
        "job_type": run.job_type,
        "jobType": run.job_type,
        "created_at": run.created_at,
        "createdAt": run.created_at,
        "project": run.project,
        "notes": run.notes,
    }
    if name in simple:
        return simple[name]
    head, _, rest = name.partition(".")
    if head == "config":
        source: Any = run.config
    elif head in ("summary_metrics", "summary"):
        source = run.summary
    else:
        raise ApiError(
            f"cannot filter on {name!r}: use state, display_name, tags, group, job_type, "
            "created_at, config.KEY or summary_metrics.KEY"
        )
    value = _dig(source, rest)
    if value is _MISSING and head == "config" and rest.endswith(".value"):
        value = _dig(source, rest[: -len(".value")])
    return value


def _dig(value: Any, dotted: str) -> Any:
    if not dotted:
        return value
    if isinstance(value, dict) and dotted in value:  # a key that holds dots itself
        return value[dotted]
    head, _, rest = dotted.partition(".")
    if isinstance(value, dict) and head in value:
        return _dig(value[head], rest)
    return _MISSING


def _compile(spec: Any):
    """A predicate over runs for a filter document."""
    if not isinstance(spec, dict):
        raise ApiError(f"a filter is a dict such as {{'state': 'finished'}}, not {spec!r}")
    tests = []
    for key, cond in spec.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(cond, list) or not cond:
                raise ApiError(f"{key} takes a non-empty list of filters, not {cond!r}")
            subs = [_compile(c) for c in cond]
            if key == "$and":
                tests.append(lambda r, subs=subs: all(s(r) for s in subs))
            elif key == "$or":
                tests.append(lambda r, subs=subs: any(s(r) for s in subs))
            else:
                tests.append(lambda r, subs=subs: not any(s(r) for s in subs))
        elif key.startswith("$"):
            raise ApiError(f"unknown filter operator {key!r}: use $and, $or or $nor at the top")
        else:
            tests.append(_field_test(key, cond))
    return lambda r: all(t(r) for t in tests)


def _field_test(name: str, cond: Any):
    if isinstance(cond, dict) and cond and all(str(k).startswith("$") for k in cond):
        checks = [_operator(op, arg) for op, arg in cond.items()]
        return lambda r: all(c(_field(r, name)) for c in checks)
    return lambda r: _equal(_field(r, name), cond)


def _equal(value: Any, want: Any) -> bool:
    if value is _MISSING:
        return False
    if isinstance(value, list) and not isinstance(want, list):
        return want in value  # tags: {"tags": "x"} matches a run tagged x, as MongoDB does
    return value == want


def _ordered(value: Any, want: Any, compare) -> bool:
    if value is _MISSING or value is None:
        return False
    try:
        return bool(compare(value, want))
    except TypeError:
        return False


def _operator(op: str, arg: Any):
    if op == "$eq":
        return lambda v: _equal(v, arg)
    if op == "$ne":
        return lambda v: not _equal(v, arg)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        compare = {
            "$gt": lambda a, b: a > b,
            "$gte": lambda a, b: a >= b,
            "$lt": lambda a, b: a < b,
            "$lte": lambda a, b: a <= b,
        }[op]
        return lambda v: _ordered(v, arg, compare)
    if op in ("$in", "$nin"):
        if not isinstance(arg, (list, tuple, set)):
            raise ApiError(f"{op} takes a list of values, not {arg!r}")
        values = list(arg)

        def inside(v: Any) -> bool:
            if v is _MISSING:
                return False
            if isinstance(v, list):
                return any(x in values for x in v)
            return v in values

        return inside if op == "$in" else (lambda v: not inside(v))
    if op == "$exists":
        return lambda v: (v is not _MISSING and v is not None) == bool(arg)
    if op == "$regex":
        try:
            pattern = re.compile(arg)
        except (re.error, TypeError) as exc:
            raise ApiError(f"$regex {arg!r} is not a regular expression: {exc}") from None
        return lambda v: isinstance(v, str) and pattern.search(v) is not None
    if op == "$not":
        if not isinstance(arg, dict):
            raise ApiError(f"$not takes operators such as {{'$gt': 1}}, not {arg!r}")
        inner = [_operator(o, a) for o, a in arg.items()]
        return lambda v: not all(c(v) for c in inner)
    raise ApiError(
        f"unknown filter operator {op!r}: use $eq $ne $gt $gte $lt $lte $in $nin $exists $regex $not"
    )


def _sorted(runs: list[Run], order: str | None) -> list[Run]:
    if not order:
        return runs
    descending = order.startswith("-")
    name = order.lstrip("+-")

    def key(r: Run):
        v = _field(r, name)
        missing = v is _MISSING or v is None
        # Runs without the field go last either way; values of mixed types by their text.
        return (missing, (0, v) if isinstance(v, (int, float)) else (1, str(v)))

    present = [r for r in runs if not key(r)[0]]
    absent = [r for r in runs if key(r)[0]]
    return sorted(present, key=key, reverse=descending) + absent
