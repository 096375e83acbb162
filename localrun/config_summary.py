"""``run.config`` and ``run.summary``: the two dict-like objects a training script holds.

``Config`` keeps its items (config is only ever set, never derived) and records each change.
As wandb's, it refuses to change a value set before (``ConfigError``) unless the call says
``allow_val_change=True`` (or the run was started with ``init(allow_val_change=True)``, or in a
notebook); ``init(config=...)`` itself always may. Top-level keys lose leading and trailing
``-`` (``--lr`` is ``lr``), and keys that are not text are stored as text (``{0: "a"}`` is
``{"0": "a"}``), as wandb's JSON stores them.
``Summary`` keeps nothing: each change is recorded, and reading it reads what replay makes of
the run's records so far (``Run._summary_now()``), so ``run.summary`` in the training script is
exactly the summary ``localrun show`` and sync report: the last non-None value of each key,
``summary[k] = v`` winning until ``k`` is logged again, define_metric's aggregates.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import contract
from .errors import ConfigError, KeyTypeError, ValueTypeError
from .values import key_text, short

if TYPE_CHECKING:
    from .run import Run

_MIN_INT, _MAX_INT = contract.MIN_INT, contract.MAX_INT
_MAX_DEPTH = contract.MAX_DEPTH


class Config:
    """The run's configuration: item and attribute access, ``update``. Every change is recorded."""

    def __init__(
        self, run: Run, items: Mapping[str, Any] | None = None, allow_val_change: bool = False
    ):
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_items", dict(items or {}))
        object.__setattr__(self, "_allow_val_change", allow_val_change or _in_notebook())

    def _set(
        self, changes: Mapping[str, Any], call: str, allow_val_change: bool | None = None
    ) -> None:
        """Record ``changes`` (made by ``call``, named in errors): ConfigError, and nothing
        recorded, if one changes a value set before and changes are not allowed."""
        changes = config_value({_config_key(k): v for k, v in changes.items()}, f"{call}: config")
        if not changes:
            return
        if not (allow_val_change or self._allow_val_change):
            items = self._items
            for k, v in changes.items():
                if k in items and not _same(items[k], v):
                    raise ConfigError(
                        f"{call}: config key {k!r} is already {short(items[k])}; changing it to "
                        f"{short(v)} is refused, as wandb refuses it. Pass allow_val_change=True "
                        "to config.update() if the change is meant (or log() a value that changes)"
                    )
        self._run._record_config(changes)
        self._items.update(changes)

    def update(self, d: Any = None, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        items = mapping_of(d) if d is not None else {}
        items.update(kwargs)
        self._set(items, "config.update()", allow_val_change)

    def setdefaults(self, d: Mapping[str, Any]) -> None:
        items = {_config_key(k): v for k, v in mapping_of(d).items()}
        self._set({k: v for k, v in items.items() if k not in self._items}, "config.setdefaults()")

    def __setitem__(self, key: str, value: Any) -> None:
        self._set({key: value}, f"config[{key!r}] = ...")

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self._set({key: value}, f"config.{key} = ...")

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__") or key in ("_run", "_items", "_allow_val_change"):
            raise AttributeError(key)  # (a copy or an unpickling asks before they are set)
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(
                f"config has no key {key!r}; it has {sorted(self._items)!r}"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def keys(self):
        return self._items.keys()

    def items(self):
        return self._items.items()

    def values(self):
        return self._items.values()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def __repr__(self) -> str:
        return f"Config({self._items!r})"


def _config_key(key: Any) -> Any:
    """A top-level config key as wandb keeps it: text without leading or trailing ``-``."""
    return key.strip("-") if isinstance(key, str) else key


def _same(old: Any, new: Any) -> bool:
    """Whether a config value is unchanged (a NaN is the same as a NaN)."""
    if old == new:
        return True
    return type(old) is float and type(new) is float and old != old and new != new


def _in_notebook() -> bool:
    """In Jupyter, config values may change by default, as in wandb."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and hasattr(shell, "kernel")


def mapping_of(d: Any) -> dict[str, Any]:
    """The items of what config is given: a mapping, or an object's attributes."""
    if isinstance(d, Mapping):
        return dict(d)
    if hasattr(d, "__dict__"):  # argparse.Namespace, absl flags, simple objects
        return {k: v for k, v in vars(d).items() if not k.startswith("_")}
    raise ValueTypeError(
        f"config takes a dict or an object with attributes (argparse.Namespace), not {type(d).__name__}"
    )


def config_value(value: Any, where: str = "config", depth: int = -1) -> Any:
    """What config stores for ``value``: plain data as is, keys of any type as text, and
    anything else as its ``str()`` (wandb's rule). Refuses only nesting deeper than
    ``contract.MAX_DEPTH`` (ValueTypeError)."""
    t = type(value)
    if t is str or t is float or t is bool or value is None:
        return value
    if t is int:
        return value if _MIN_INT <= value <= _MAX_INT else float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return config_value(int(value), where, depth)
    if isinstance(value, (Mapping, list, tuple)):
        if depth >= _MAX_DEPTH:
            raise ValueTypeError(
                f"{where}: nested deeper than {_MAX_DEPTH} containers ({short(value)}). "
                "Flatten it, or store it as a string"
            )
        if isinstance(value, (list, tuple)):
            return [config_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        out = {}
        for k, v in value.items():
            text = key_text(k)
            k = str(k) if text is None else text
            if k in out:
                raise KeyTypeError(
                    f"{where}: two keys are stored as {k!r} (config keys are stored as text); "
                    "keep one of them, or rename one"
                )
            out[k] = config_value(v, f"{where}.{k}", depth + 1)
        return out
    module = type(value).__module__
    if module == "numpy" or module.startswith("torch"):
        try:
            plain = value.tolist() if hasattr(value, "tolist") else value.item()
        except Exception:
            plain = value
        if type(plain) is not type(value):
            return config_value(plain, where, depth)
        if module == "numpy" and isinstance(value, sys.modules["numpy"].floating):
            return float(value)  # np.longdouble: its tolist() is itself
    return str(value)


class Summary:
    """The run's summary: the last logged value of each key, unless set here.

    ``run.summary[k] = v`` is recorded and wins until ``k`` is logged again. Reading shows the
    summary replay makes of what this run has recorded so far, by the rules of the stored
    summary (``None`` never replaces a value, a dropped call changes nothing, define_metric
    aggregates apply), without the last row's ``_step``, ``_runtime`` and ``_timestamp``.
    """

    def __init__(self, run: Run):
        object.__setattr__(self, "_run", run)

    def _now(self) -> dict[str, Any]:
        return self._run._summary_now()

    def _set(self, changes: dict[str, Any], deleted: Iterable[str] = ()) -> None:
        self._run._record_summary(changes, list(deleted))

    def update(self, d: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        items = dict(d or {})
        items.update(kwargs)
        if items:
            self._set(items)

    def __setitem__(self, key: str, value: Any) -> None:
        self._set({key: value})

    def __getitem__(self, key: str) -> Any:
        return _branch(self, key, self._now()[key])

    def __delitem__(self, key: str) -> None:
        if key not in self._now():
            raise KeyError(key)
        self._set({}, [key])

    def __setattr__(self, key: str, value: Any) -> None:
        self._set({key: value})

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__") or key == "_run":  # (asked before it is set by a copy)
            raise AttributeError(key)
        try:
            return _branch(self, key, self._now()[key])
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._now()

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._now()))

    def __len__(self) -> int:
        return len(self._now())

    def get(self, key: str, default: Any = None) -> Any:
        now = self._now()
        return _branch(self, key, now[key]) if key in now else default

    def keys(self):
        return dict(self._now()).keys()

    def items(self):
        return dict(self._now()).items()

    def values(self):
        return dict(self._now()).values()

    def __repr__(self) -> str:
        return f"Summary({self._now()!r})"


def _branch(summary: Summary, key: str, value: Any) -> Any:
    """A dict value of the summary as a SummaryBranch (changes to it are recorded)."""
    if type(value) is dict:
        return SummaryBranch(value, summary, key, None)
    return value


class SummaryBranch(dict):
    """A dict inside ``run.summary`` (``run.summary["a"]``): changing it in place
    (``run.summary["a"]["b"] = 3``, ``.update()``, ``del``) is recorded, as wandb's
    SummarySubDict. The top-level value is recorded whole, as ``summary["a"] = {...}`` would
    (what the summary showed, with the change), and so wins until ``a`` is logged again.
    """

    def __init__(self, value: dict, summary: Summary, key: str, parent: SummaryBranch | None):
        dict.__init__(self, value)
        object.__setattr__(self, "_summary", summary)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_parent", parent)

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if type(value) is dict:  # from now on that dict, so changes to it are seen here too
            value = SummaryBranch(value, self._summary, self._key, self)
            dict.__setitem__(self, key, value)
        return value

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary[{self._key!r}] has no key {key!r}") from None

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)
        self._changed()

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delitem__(self, key: Any) -> None:
        dict.__delitem__(self, key)
        self._changed()

    def update(self, d: Any = (), /, **kwargs: Any) -> None:
        dict.update(self, d, **kwargs)
        self._changed()

    def _changed(self) -> None:
        top = self
        while top._parent is not None:
            top = top._parent
        self._summary._set({self._key: _plain_dict(top)})


def _plain_dict(value: dict) -> dict:
    return {k: _plain_dict(v) if isinstance(v, dict) else v for k, v in value.items()}
