"""Reading run directories back: find runs, read their segments, replay them.

``RunView(path).rows()`` streams a run's history rows; once it is exhausted (or after
``scan()``), the view knows the run's config, summary, state, dropped calls and damage.
A run being written can be read at any time: each segment is read as it was when reading
began, so what comes out is a consistent prefix.

Every reader of runs goes through here: ``show``, ``export``, ``sync`` and the viewer, and
``init(resume=...)``, which continues a run where its replay ends. (``localrun.sync``
re-exports ``RunView`` and ``find_runs``.)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

from . import rundir
from .errors import CorruptRecordError, RunDirError
from .record.segment import SegmentReader
from .replay import Replay

STATES = ("running", "finished", "failed", "preempted", "crashed")


def _offset(d: CorruptRecordError) -> int:
    return d.offset


def find_runs(path: str | None = None) -> list[str]:
    """The run directories at ``path``: itself if it is one, else those directly beneath it.

    ``path`` is what a command takes (``resolve_path``): None for the runs root ``init()``
    writes to, or a run id (or a unique prefix of one) in that root. Raises RunDirError with a
    hint when there are none.
    """
    path = resolve_path(path)
    if not os.path.exists(path):
        root = rundir.runs_root(None)
        hint = ""
        sibling = os.path.join(os.path.dirname(path) or ".", root)
        if os.path.normpath(path) != os.path.normpath(root) and os.path.isdir(sibling):
            hint = f" Did you mean {sibling}?"
        raise RunDirError(f"{path} does not exist.{hint} {_where_runs_go(root)}")
    if rundir.is_run_dir(path):
        return [path]
    if not os.path.isdir(path):
        raise RunDirError(f"{path} is a file, not a localrun run directory or a folder of runs")
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        raise RunDirError(f"cannot list {path}: {exc.strerror or exc}") from exc
    runs = [e.path for e in entries if e.is_dir() and rundir.is_run_dir(e.path)]
    if not runs:
        nested = os.path.join(path, rundir.DEFAULT_ROOT)
        hint = f" Did you mean {nested}?" if os.path.isdir(nested) else ""
        raise RunDirError(f"{path} is not a localrun run directory and holds no runs.{hint}")
    return runs


def _where_runs_go(root: str) -> str:
    env = "" if root == rundir.DEFAULT_ROOT else f" (here: {root})"
    return (
        f"Runs are stored in init(dir=...), else $LOCALRUN_DIR, else ./{rundir.DEFAULT_ROOT}{env}; "
        "a command takes a run's folder, a folder of runs, or a run id"
    )


#: Candidates listed when a run id prefix matches several runs.
_CANDIDATES = 10


def resolve_path(path: str | os.PathLike | None) -> str:
    """What a command's PATH names, as a path: the runs root for None; ``path`` itself when it
    exists; else a run id, or a unique prefix of one, in the runs root (``rundir.runs_root``,
    the folder ``init()`` writes to).

    A prefix that several runs share raises RunDirError listing them, and so does a bare name
    (no ``/``) that is neither a path nor a run id in the root, saying where it looked. A path
    with a ``/`` that does not exist is returned as it is (``find_runs`` says so).
    """
    root = rundir.runs_root(None)
    if path is None:
        return root
    path = os.fspath(path)
    if os.path.exists(path) or not path or os.sep in path or path.startswith("."):
        return path
    try:
        with os.scandir(root) as entries:
            names = sorted(e.name for e in entries if e.name.startswith(path) and e.is_dir())
    except OSError:
        return path
    if path in names and rundir.is_run_dir(os.path.join(root, path)):
        return os.path.join(root, path)
    found = [n for n in names if rundir.is_run_dir(os.path.join(root, n))]
    if len(found) == 1:
        return os.path.join(root, found[0])
    if found:
        shown = ", ".join(found[:_CANDIDATES])
        more = f" and {len(found) - _CANDIDATES} more" if len(found) > _CANDIDATES else ""
        raise RunDirError(
            f"{path!r} is the start of {len(found)} run ids in {root}: {shown}{more}. "
            "Give more of the id"
        )
    raise RunDirError(
        f"{path} is neither a folder nor the id (or the start of an id) of a run in {root}. "
        + _where_runs_go(root)
    )


#: A run's document (``RunView.to_json()``) before anything is known: its keys, in order, with
#: the value each holds then. A server lists a run whose document has not arrived yet with
#: only a few of them (``RemoteRunView`` fills in the rest from here).
EMPTY_DOC: dict[str, Any] = {
    "id": None,
    "project": None,
    "name": None,
    "state": None,
    "path": None,
    "config": {},
    "summary": {},
    "rows": 0,
    "last_step": None,
    "dropped": [],
    "tags": [],
    "group": None,
    "job_type": None,
    "notes": None,
    "created_at": None,
    "updated_at": None,
    "runtime": None,
    "exit_code": None,
    "segments": 0,
    "metrics": {},
    "charts": {},
    "damaged": [],
}


def run_id(path: str, info: dict) -> str:
    """A run's id: run.json's, or (when that is missing or not a string) its folder's name."""
    rid = info.get("id")
    return rid if type(rid) is str and rid else os.path.basename(os.path.normpath(path))


class RunView:
    """One run directory, read back."""

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self.info = rundir.read_run_json(self.path)
        self.id: str = run_id(self.path, self.info)
        self.replay = Replay()
        self.damage: list[CorruptRecordError] = []
        self.torn_tails = 0
        self.size_bytes = 0
        self.held_back: list[dict] = []  # see rows(final_only=True)
        self._done = False

    def rows(self, final_only: bool = False) -> Iterator[dict]:
        """Stream the history rows, in step order. Read once per view.

        Replay writes out the pending row at the end of every segment, as it must for a writer
        that finished or died. A live writer's pending row is not final yet: its next call can
        still merge keys into it (``commit=False``, ``step=``). With ``final_only``, that row is
        not yielded but kept in ``held_back``, so sync never sends a row that could still change.
        """
        yield from self._replayed(True, final_only)

    def logged(self) -> Iterator[dict]:
        """``rows()``, except that a plain ``log(data)`` row may come out as ``data`` itself.

        For a reader of the rows' own keys only (``localrun show``): every key of a row but
        ``_step``, ``_runtime`` and ``_timestamp`` is there with the row's value, in the row's
        order, and building a million rows is saved. The dicts must not be changed.
        """
        yield from self._replayed(True, False, data_only=True)

    def scan(self) -> RunView:
        """Replay the whole run without keeping rows; returns self."""
        for _ in self._replayed(False, False):
            pass
        return self

    def _replayed(
        self, keep_rows: bool, final_only: bool, data_only: bool = False
    ) -> Iterator[Any]:
        if self._done:
            raise RunDirError(
                f"the rows of {self.path} were already read; make a new RunView to read them again"
            )
        self._done = True
        replay = self.replay
        live = rundir.is_locked(self.path)
        segments = rundir.segment_paths(self.path)
        last = len(segments) - 1
        for i, seg in enumerate(segments):
            reader = SegmentReader(seg)
            records = iter(reader)
            first = next(records, None)
            if first is not None:
                replay.begin(first[1])
                yield from replay.feed_all(itertools.chain((first,), records), keep_rows, data_only)
            damage = reader.damage
            self.size_bytes += reader.size_bytes
            if reader.tail is not None:
                self.torn_tails += 1
            if first is not None:
                tail = replay.end_segment()
                if final_only and tail and i == last and (live or rundir.is_locked(self.path)):
                    live = True
                    self.held_back = tail
                else:
                    yield from tail
            if replay.skipped:  # records replay could not apply: damage too, in file order
                skipped = [
                    CorruptRecordError(seg, offset or 0, why) for offset, why in replay.skipped
                ]
                damage = sorted(damage + skipped, key=_offset)
                replay.skipped.clear()
            self.damage.extend(damage)
        self._live = live

    # --- what replay learned -------------------------------------------------------------------

    def _ensure(self) -> None:
        if not self._done:
            self.scan()

    @property
    def state(self) -> str:
        self._ensure()
        r = self.replay
        if r.state is not None:
            return r.state
        if self._live:
            return "running"
        return "preempted" if r.signalled else "crashed"

    @property
    def project(self) -> str | None:
        self._ensure()
        return self.replay.meta.get("project", self.info.get("project"))

    @property
    def name(self) -> str | None:
        self._ensure()
        return self.replay.meta.get("name", self.info.get("name"))

    def to_json(self) -> dict[str, Any]:
        """The object ``localrun show RUN --json`` prints (see docs/cli.md); ``artifacts``
        only for a run that logged or used one."""
        self._ensure()
        r = self.replay
        doc = {
            "id": self.id,
            "project": self.project,
            "name": self.name,
            "state": self.state,
            "path": self.path,
            "config": r.config,
            "summary": r.summary,
            "rows": r.rows,
            "last_step": r.last_step,
            "dropped": r.dropped,
            "tags": r.meta.get("tags") or [],
            "group": r.meta.get("group"),
            "job_type": r.meta.get("job_type"),
            "notes": r.meta.get("notes"),
            "created_at": self.info.get("created_at"),
            "updated_at": r.last_time,
            "runtime": r.runtime,
            "exit_code": r.exit_code,
            "segments": r.segments,
            "metrics": r.metrics,
            "charts": r.charts,
            "damaged": [
                {
                    "segment": os.path.relpath(d.segment, self.path),
                    "offset": d.offset,
                    "reason": d.reason,
                }
                for d in self.damage
            ],
            **self._files(),
        }
        if r.artifacts:
            doc["artifacts"] = artifact_lineage(r.artifacts)
        if r.alerts:  # only then: a run without alerts reads as it did before they existed
            doc["alerts"] = r.alerts
        return doc

    def _files(self) -> dict[str, Any]:
        """``{"files": [{"path", "sha256", "size"}, ...]}`` for a run with files (run.save(),
        what the script wrote into run.dir: files.json), else {}: a run without files reads as
        it always has."""
        if not os.path.exists(os.path.join(self.path, rundir.FILES_JSON)):
            return {}
        from .runfiles import read_manifest

        try:
            files = read_manifest(self.path)
        except RunDirError:
            return {}  # verify reports it
        return {
            "files": [
                {"path": k, "sha256": v["sha256"], "size": v.get("size")}
                for k, v in sorted(files.items())
            ]
        }


def artifact_lineage(records: list[dict]) -> dict[str, list[dict]]:
    """The artifact versions a run logged and used, for its document:
    ``{"logged": [...], "used": [...]}``, each ``{"project", "name", "version", "type",
    "digest"}`` (``aliases`` too for logged ones), in order, each version once."""
    out: dict[str, list[dict]] = {"logged": [], "used": []}
    seen = set()
    for rec in records:
        key = (rec["action"], rec.get("project"), rec.get("name"), rec.get("version"))
        if key in seen:
            continue
        seen.add(key)
        item = {k: rec.get(k) for k in ("project", "name", "version", "type", "digest")}
        if rec["action"] == "log":
            item["aliases"] = rec.get("aliases") or []
        out["logged" if rec["action"] == "log" else "used"].append(item)
    return out
