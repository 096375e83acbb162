"""``init(mode="disabled")``: a run that records nothing, as wandb's disabled run.

``$LOCALRUN_MODE`` or ``$WANDB_MODE`` set to ``disabled`` does the same, so a job script
turns recording off without touching the training code. Nothing is written: no runs folder,
no run directory. The run it returns is a ``localrun.Run`` whose methods and attributes are
harmless: ``log()`` only updates ``run.summary`` (a plain dict in memory, as wandb's), config
changes are kept in memory (with wandb's rules), ``define_metric()`` returns a Metric,
``finish()`` only makes it stop being the current run, artifacts and files go nowhere, and
``run.dir`` is a fresh temporary folder, made the first time it is asked for.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

from .config_summary import Config
from .metric import Metric
from .run import Run
from .steps import StepCounter


class DisabledSummary(dict):
    """``run.summary`` of a disabled run: a dict, with attribute access (nested too)."""

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        del self[key]

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if type(value) is dict:
            value = DisabledSummary(value)
            dict.__setitem__(self, key, value)
        return value


class _Nothing:
    """What a disabled run's ``log_artifact()`` and friends return: every attribute is
    itself, and calling it returns itself (``run.log_artifact(a).wait()`` works)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Nothing:
        return self

    def __repr__(self) -> str:
        return "<localrun: nothing (disabled run)>"


def _none(self, *args: Any, **kwargs: Any) -> None:
    return None


def _nothing(self, *args: Any, **kwargs: Any) -> _Nothing:
    return _Nothing()


class DisabledRun(Run):
    """A run that records nothing (``init(mode="disabled")``); see the module docstring."""

    def __init__(
        self,
        *,
        run_id: str,
        project: str | None,
        name: str | None,
        meta: dict,
        config: dict,
        settings: Any,
        on_finish: Callable[[Run], None] | None,
    ):
        # Run.__init__ is not called: there is no directory, writer, lock or replay.
        self._id = run_id
        self._project = project or "dummy"
        self._name = name or f"dummy-{run_id}"
        self._meta = {"group": "", "job_type": "", **meta}
        self._meta.setdefault("entity", "dummy")
        self._meta["entity"] = self._meta["entity"] or "dummy"
        self._settings = settings
        self._on_finish = on_finish
        self._writer = None
        self._quiet = True
        self.resumed = False
        self._steps = StepCounter()
        self._start_time = time.time()
        self._tempdir: str | None = None
        self.config = Config(self, {}, False)
        self.config.update(config, allow_val_change=True)
        self.summary = DisabledSummary()

    # Nothing a disabled run is told is written anywhere.
    def _append(self, kind: int, *fields: Any) -> None:
        pass

    def _record_config(self, changes: dict[str, Any]) -> None:
        pass

    def _record_summary(self, changes: dict[str, Any], deleted: list[str]) -> None:
        pass

    @property
    def dir(self) -> str:
        """A temporary folder of its own, made on first use (nothing is kept there)."""
        if self._tempdir is None:
            self._tempdir = tempfile.mkdtemp(prefix=f"localrun-disabled-{self._id}-")
        return self._tempdir

    path = dir

    @property
    def step(self) -> int:
        return 0

    @property
    def starting_step(self) -> int:
        return 0

    @property
    def finished(self) -> bool:
        return False

    @property
    def offline(self) -> bool:
        return False

    @property
    def disabled(self) -> bool:
        return True

    @property
    def group(self) -> str:
        return self._meta.get("group") or ""

    @property
    def job_type(self) -> str:
        return self._meta.get("job_type") or ""

    @property
    def entity(self) -> str:
        return self._meta.get("entity") or "dummy"

    def log(self, data: Any, step: Any = None, commit: Any = None, sync: Any = None) -> None:
        """Updates ``run.summary`` with ``data``, as wandb's disabled run; records nothing."""
        if isinstance(data, dict):
            self.summary.update(data)

    def define_metric(self, name: Any = None, *args: Any, **kwargs: Any) -> Metric:
        return Metric(name if isinstance(name, str) else "dummy")

    def finish(self, exit_code: Any = None, quiet: Any = None) -> None:
        """Stops being the current run (``localrun.run`` goes back to what it was)."""
        if self._on_finish is not None:
            self._on_finish(self)

    def watch(self, *args: Any, **kwargs: Any) -> list:
        return []

    def save(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def display(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def to_html(self, *args: Any, **kwargs: Any) -> str:
        return ""

    unwatch = alert = mark_preempting = pin_config_keys = _none
    log_code = restore = status = link_model = link_artifact = _none
    use_model = log_model = _none
    log_artifact = use_artifact = finish_artifact = upsert_artifact = _nothing

    def _on_signal(self, signum: int) -> None:
        pass

    def _after_fork_in_child(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<localrun.Run {self._id} (disabled: nothing is recorded)>"
