"""localrun: an offline-first, crash-safe run recorder with wandb's logging API.

``import localrun as wandb`` and keep your logging code: every ``log()`` is appended to a
run directory on local disk, with no network, and survives the process being killed.

The media types are imported on first use, so ``import localrun`` stays about as cheap as
``import msgpack``.
"""

from __future__ import annotations

from typing import Any

from .config_summary import Config, Summary
from .errors import ConfigError, Error
from .run import Run
from .session import (
    Settings,
    __version__,
    alert,
    define_metric,
    finish,
    init,
    log,
    log_artifact,
    log_code,
    log_model,
    login,
    mark_preempting,
    save,
    use_artifact,
    use_model,
)


class _Preinit:
    """``localrun.config`` / ``localrun.summary`` before ``init()``: any use says to call init()."""

    def __init__(self, what: str):
        object.__setattr__(self, "_what", what)

    def _fail(self, *args: Any, **kwargs: Any):
        raise Error(
            f"localrun.{self._what} was used before localrun.init(). Call localrun.init() first"
        )

    __getitem__ = __setitem__ = __contains__ = __iter__ = update = keys = items = get = _fail

    def __setattr__(self, key: str, value: Any) -> None:
        self._fail()

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        self._fail()

    def __repr__(self) -> str:
        return f"<localrun.{self._what}: no run yet, call localrun.init()>"


_preinit_config = _Preinit("config")
_preinit_summary = _Preinit("summary")

#: The current run, set by ``init()`` and cleared by ``finish()``.
run: Run | None = None
config: Any = _preinit_config
summary: Any = _preinit_summary

# Public name -> module that holds it, imported on first access (PEP 562).
_LAZY = {
    # Reading runs back (wandb's public API) is the reading side's: ``localrun.sync.api``,
    # imported only when a script asks for ``localrun.Api``. The recorder never imports it.
    "Api": "localrun.sync.api",
    "Artifact": "localrun.artifacts.artifact",
    "AlertLevel": "localrun.alerts",
    "Metric": "localrun.metric",
    "termerror": "localrun.terminal",
    "termlog": "localrun.terminal",
    "termwarn": "localrun.terminal",
    "Audio": "localrun.media.audio",
    "Bokeh": "localrun.media.bokeh",
    "Classes": "localrun.media.classes",
    "Edge": "localrun.media.graph",
    "Graph": "localrun.media.graph",
    "Node": "localrun.media.graph",
    "Plotly": "localrun.media.plotly",
    "box3d": "localrun.media.object3d",
    "Histogram": "localrun.media.histogram",
    "Html": "localrun.media.html",
    "Image": "localrun.media.image",
    "Media": "localrun.media.base",
    "Molecule": "localrun.media.molecule",
    "Object3D": "localrun.media.object3d",
    "Table": "localrun.media.table",
    "Video": "localrun.media.video",
    "plot_table": "localrun.media.plot",
    # torch is imported when watch() is called, not when the name is first used.
    "unwatch": "localrun.watcher",
    "watch": "localrun.watcher",
}
# Public name -> module that IS the value (``localrun.plot.line(...)``).
_LAZY_MODULES = {
    "data_types": "localrun.data_types",
    "plot": "localrun.media.plot",
}

__all__ = [
    "alert",
    "mark_preempting",
    "Api",
    "Artifact",
    "AlertLevel",
    "Audio",
    "Bokeh",
    "Classes",
    "Config",
    "Edge",
    "ConfigError",
    "Error",
    "Graph",
    "Histogram",
    "Html",
    "Image",
    "Metric",
    "Molecule",
    "Node",
    "Object3D",
    "Plotly",
    "Run",
    "Settings",
    "Summary",
    "Table",
    "Video",
    "box3d",
    "config",
    "data_types",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "log_model",
    "log_code",
    "login",
    "plot",
    "plot_table",
    "run",
    "save",
    "summary",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "watch",
    "__version__",
]


def __getattr__(name: str) -> Any:
    import importlib

    module = _LAZY.get(name)
    if module is None:
        if name not in _LAZY_MODULES:
            raise AttributeError(f"module 'localrun' has no attribute {name!r}")
        value = importlib.import_module(_LAZY_MODULES[name])
        globals()[name] = value
        return value
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
