"""How far one run has been sent to one MLflow tracking server (``localrun sync --to mlflow+...``).

The same mechanism as ``cursor.Cursor`` (a file per destination in the run's ``sync/`` folder,
named by ``Cursor.file_for``, written atomically after each acknowledged batch; ``SyncLock``
beside it), holding what an MLflow destination needs besides ``last_step``:

- ``experiment_id`` and ``mlflow_run_id``: where the run went (MLflow makes its own run ids);
- ``params``, ``tags``, ``summary``, ``state``: the values sent, so only changes are sent, and
  a param that changed after a resume (MLflow params cannot change) is reported once;
- ``files``: the artifact paths of media files already uploaded (each file once);
- ``docs``: ``{artifact path: sha256}`` of the run-level files that are rewritten as the run
  changes (``localrun/run.json``);
- ``metric_keys``: keys that history sent as metrics (summary values under them are not sent
  again); ``reported``: what was said once and need not be said again.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from localrun.rundir import write_json_atomic

from .cursor import Cursor


@dataclass
class MlflowCursor:
    url: str
    experiment_id: str | None = None
    mlflow_run_id: str | None = None
    last_step: int | None = None
    rows: int = 0
    synced: bool = False
    segments: dict[str, int] = field(default_factory=dict)
    as_project: str | None = None
    as_id: str | None = None
    state: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    summary: dict[str, float | str] = field(default_factory=dict)
    metric_keys: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    docs: dict[str, str] = field(default_factory=dict)
    reported: list[str] = field(default_factory=list)
    lost: dict[str, str] = field(default_factory=dict)  # {artifact path: reason}, tried again

    @classmethod
    def load(cls, run_dir: str, url: str) -> MlflowCursor:
        """The cursor for ``url``, or a fresh one. A damaged cursor file counts as none: sync
        finds the MLflow run by its tag and sends everything again, which the server's
        de-duplication of identical metric points makes harmless."""
        try:
            with open(Cursor.file_for(run_dir, url), encoding="utf-8") as f:
                data = json.load(f)
            step = data.get("last_step")
            return cls(
                url=url,
                experiment_id=_text(data.get("experiment_id")),
                mlflow_run_id=_text(data.get("mlflow_run_id")),
                last_step=step if type(step) is int else None,
                rows=int(data.get("rows") or 0),
                synced=data.get("synced") is True,
                segments={str(k): int(v) for k, v in (data.get("segments") or {}).items()},
                as_project=_text(data.get("as_project")),
                as_id=_text(data.get("as_id")),
                state=_text(data.get("state")),
                params={str(k): str(v) for k, v in (data.get("params") or {}).items()},
                tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()},
                summary=dict(data.get("summary") or {}),
                metric_keys=[str(k) for k in data.get("metric_keys") or []],
                files=[str(k) for k in data.get("files") or []],
                docs={str(k): str(v) for k, v in (data.get("docs") or {}).items()},
                reported=[str(k) for k in data.get("reported") or []],
                lost={str(k): str(v) for k, v in (data.get("lost") or {}).items()},
            )
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            return cls(url=url)

    def fresh(self) -> MlflowCursor:
        """A cursor that starts over, keeping only the names the run has at the destination."""
        return MlflowCursor(url=self.url, as_project=self.as_project, as_id=self.as_id)

    def save(self, run_dir: str) -> None:
        path = Cursor.file_for(run_dir, self.url)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json_atomic(path, asdict(self))


def _text(value: object) -> str | None:
    return value if type(value) is str and value else None
