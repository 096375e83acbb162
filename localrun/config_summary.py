"""``run.config`` and ``run.summary``: the two dict-like objects a training script holds.

``Config`` keeps its items (config is only ever set, never derived) and records each change.
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
from .errors import KeyTypeError, ValueTypeError
from .values import key_text, short

if TYPE_CHECKING:
    from .run import Run

_MIN_INT, _MAX_INT = contract.MIN_INT, contract.MAX_INT
_MAX_DEPTH = contract.MAX_DEPTH


class Config:
    """The run's configuration: item and attribute access, ``update``. Every change is recorded."""

    def __init__(self, run: Run, items: Mapping[str, Any] | None = None):
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_items", dict(items or {}))

    def _set(self, changes: Mapping[str, Any]) -> None:
        changes = config_value(dict(changes))
        if changes:
            self._run._record_config(changes)
            self._items.update(changes)

    def update(self, d: Any = None, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        items = mapping_of(d) if d is not None else {}
        items.update(kwargs)
        self._set(items)

    def setdefaults(self, d: Mapping[str, Any]) -> None:
        self._set({k: v for k, v in mapping_of(d).items() if k not in self._items})

    def __setitem__(self, key: str, value: Any) -> None:
        self._set({key: value})

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self._set({key: value})

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
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
        return self._now()[key]

    def __delitem__(self, key: str) -> None:
        if key not in self._now():
            raise KeyError(key)
        self._set({}, [key])

    def __setattr__(self, key: str, value: Any) -> None:
        self._set({key: value})

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._now()[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._now()

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._now()))

    def __len__(self) -> int:
        return len(self._now())

    def get(self, key: str, default: Any = None) -> Any:
        return self._now().get(key, default)

    def keys(self):
        return dict(self._now()).keys()

    def items(self):
        return dict(self._now()).items()

    def values(self):
        return dict(self._now()).values()

    def __repr__(self) -> str:
        return f"Summary({self._now()!r})"
