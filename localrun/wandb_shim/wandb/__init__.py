"""``wandb``, as localrun: the module ``import wandb`` finds under ``localrun run``.

Every name localrun has is forwarded, looked up when it is used (module ``__getattr__``):
``wandb.run``, ``wandb.config`` and ``wandb.summary`` are the current run's at each use, never
a copy taken at import; ``wandb.log``, ``wandb.Image``, ``wandb.Artifact`` are localrun's,
looked up on first use (so a name localrun gains later is there too) and kept. The few
names wandb has and localrun does not are here: ``require``, ``setup``, ``teardown``, the
``term*`` printers, the ``sdk``/``wandb_run``/``errors``/``util`` modules integrations
import from. A name neither has raises AttributeError saying so (``hasattr()`` is False).
docs/wandb.md lists every name and what it does here.
"""

from __future__ import annotations

from typing import Any

try:
    import localrun as _localrun
except ImportError as exc:  # the command's Python is not the one localrun is installed in
    import sys as _sys

    raise ImportError(
        f"`import wandb` under `localrun run` needs localrun, and this Python "
        f"({_sys.executable}) cannot import it: {exc}. Install localrun into the environment "
        "that runs the training (pip install localrun), or run that environment's python"
    ) from None
from localrun import terminal as _terminal
from localrun.wandb_shim import WANDB_VERSION

from . import errors, sdk, util, wandb_run
from .errors import Error

__version__ = WANDB_VERSION


def init(*args: Any, **kwargs: Any) -> Any:
    """``localrun.init``, without wandb's ``dir``.

    wandb's ``dir`` is the folder wandb keeps its own working files in (Lightning passes
    ``save_dir="."``); here runs go to the runs root ``localrun run`` chose (its ``--dir``,
    given to the process tree as ``$LOCALRUN_DIR``), where ``localrun show`` finds them.
    """
    kwargs.pop("dir", None)
    return _localrun.init(*args, **kwargs)


def require(requirement: Any = None, experiment: Any = None, **kwargs: Any) -> None:
    """wandb's switch for SDK features ("service", "core"): nothing to switch here, a no-op."""


def setup(settings: Any = None) -> None:
    """wandb's start of its background service: localrun has none, a no-op."""


def teardown(exit_code: int | None = None) -> None:
    """wandb's end of its background service: finishes the current run, if any."""
    _localrun.finish(exit_code)


def join(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """An old name of ``finish``."""
    _localrun.finish(exit_code, quiet)


_said: set[str] = set()


def termsetup(settings: Any = None, logger: Any = None) -> None:
    """wandb's set-up of its printers: a no-op."""


def termlog(
    string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True
) -> None:
    """Print a line on stderr, as localrun's own lines (``localrun: ...``)."""
    if _first_time(string, repeat):
        _terminal.say(str(string))


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print a warning on stderr (``localrun: WARNING ...``); ``repeat=False``: once per text."""
    if _first_time(string, repeat):
        _terminal.warn(str(string))


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print an error line on stderr (``localrun: ERROR ...``)."""
    if _first_time(string, repeat):
        _terminal.say(f"ERROR {string}")


def _first_time(text: Any, repeat: bool) -> bool:
    if repeat:
        return True
    key = str(text)
    if key in _said:
        return False
    _said.add(key)
    return True


#: wandb names with nothing behind them offline, and what to do instead.
MISSING = {
    "agent": "sweeps run on a wandb server",
    "sweep": "sweeps run on a wandb server",
    "controller": "sweeps run on a wandb server",
    "restore": "it downloads a file from a wandb server; the run's files are in run.dir",
    "attach": "runs are not shared between processes through a service",
}


#: What localrun changes as runs start and end: read from localrun at every use.
_LIVE = frozenset({"run", "config", "summary"})


def __getattr__(name: str) -> Any:
    if not name.startswith("_"):
        try:
            value = getattr(_localrun, name)
        except AttributeError:
            pass
        else:
            if name not in _LIVE:
                # The rest never changes once it exists: kept here, the next wandb.log costs
                # a plain attribute lookup instead of a call to this function.
                globals()[name] = value
            return value
        why = MISSING.get(name)
        if why is not None:
            raise AttributeError(
                f"wandb.{name} does not exist under localrun: {why}. "
                "docs/wandb.md lists what exists"
            )
    raise AttributeError(
        f"module 'wandb' (localrun's stand-in) has no attribute {name!r}; "
        "docs/wandb.md lists the wandb names localrun has"
    )


__all__ = [
    "Error",
    "errors",
    "init",
    "join",
    "require",
    "sdk",
    "setup",
    "teardown",
    "termerror",
    "termlog",
    "termsetup",
    "termwarn",
    "util",
    "wandb_run",
    "__version__",
    *_localrun.__all__,
]
