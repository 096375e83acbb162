"""The type of each Table column, checked as wandb checks it (its ``_dtypes`` rules).

A column starts as ``Unknown`` (``Optional(Unknown)`` when None is allowed: the default) and
takes the type of its first value; every later value must fit that type, else the row is
refused (``MediaTypeError``, a ``TypeError`` as in wandb). The rules, as wandb's:

- numbers (int, float, numpy numbers; not bool) are one type, strings another, booleans,
  timestamps (``datetime``, ``date``, ``np.datetime64``) another each;
- a float NaN counts as None (a DataFrame's missing value);
- a list (or tuple, set) has an element type and a length: later lists must hold elements of
  the same type (their lengths may differ); a numpy array has a shape, which later arrays (or
  nested lists) must have too;
- a dict has a type per key: later dicts may leave keys out only where the type allows None,
  and may add none;
- media (``Image``, ``Audio``...) are a type per class; any other object a type per class name;
- ``allow_mixed_types=True`` makes a column ``Any`` (anything but None, unless optional);
- ``Table.cast(col, dtype)`` and ``Table(dtype=)`` take a Python type (``int``, ``str``,
  ``float``, ``bool``, ``list``, ``dict``, ``datetime``), a media class (``localrun.Image``),
  a list of them (a list of that type; two or more: any of them), a dict (key -> dtype), or a
  value (that constant).

Each type is a small immutable object: ``assign(value)`` returns the type the column has once
``value`` is in it, or None when ``value`` does not fit.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

# --- the types ------------------------------------------------------------------------------


class ColType:
    """One column type. Subclasses set ``name`` (wandb's ``wb_type``) and override what differs."""

    name = "type"

    def params(self) -> tuple:
        return ()

    def assign(self, value: Any) -> ColType | None:
        return self.assign_type(type_of(value))

    def assign_type(self, other: ColType) -> ColType | None:
        return self if self == other else None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ColType)
            and self.name == other.name
            and self.params() == other.params()
        )

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return self.name

    def to_json(self) -> dict:
        return {"wb_type": self.name}


class Unknown(ColType):
    """No value seen yet: takes the type of the first value (None does not fit)."""

    name = "unknown"

    def __repr__(self) -> str:
        return "no value yet"

    def assign_type(self, other: ColType) -> ColType | None:
        return None if isinstance(other, NoneT) else other


class AnyT(ColType):
    """``allow_mixed_types=True``: any value but None."""

    name = "any"

    def assign_type(self, other: ColType) -> ColType | None:
        return None if isinstance(other, NoneT) else self


class NoneT(ColType):
    name = "none"

    def __repr__(self) -> str:
        return "None"


class StringT(ColType):
    name = "string"

    def __repr__(self) -> str:
        return "strings"


class NumberT(ColType):
    name = "number"

    def __repr__(self) -> str:
        return "numbers"


class BooleanT(ColType):
    name = "boolean"

    def __repr__(self) -> str:
        return "booleans"


class TimestampT(ColType):
    name = "timestamp"

    def __repr__(self) -> str:
        return "timestamps"


class ObjectT(ColType):
    """Any other Python object: one type per class name."""

    name = "pythonObject"

    def __init__(self, class_name: str):
        self.class_name = class_name

    def params(self) -> tuple:
        return (self.class_name,)

    def __repr__(self) -> str:
        return f"{self.class_name} objects"

    def to_json(self) -> dict:
        return {"wb_type": self.name, "params": {"class_name": self.class_name}}


class MediaT(ColType):
    """Media of one class (``image-file``, ``audio-file``...)."""

    def __init__(self, media_type: str):
        self.name = media_type

    def __repr__(self) -> str:
        return f"{self.name} media"


class ConstT(ColType):
    name = "const"

    def __init__(self, value: Any):
        self.value = value

    def params(self) -> tuple:
        return (_hashable(self.value),)

    def assign(self, value: Any) -> ColType | None:
        return self.assign_type(ConstT(value))

    def __repr__(self) -> str:
        return repr(self.value)

    def to_json(self) -> dict:
        return {"wb_type": self.name, "params": {"val": self.value}}


class Invalid(ColType):
    """A list whose own elements did not agree: nothing fits it."""

    name = "invalid"

    def assign_type(self, other: ColType) -> ColType | None:
        return None


class ListT(ColType):
    name = "list"

    def __init__(self, element: ColType | None = None, length: int | None = None):
        self.element = element if element is not None else Unknown()
        self.length = length

    def params(self) -> tuple:
        return (self.element, self.length)

    @classmethod
    def of(cls, value: Any) -> ListT:
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        element: ColType = (
            Union([Unknown(), NoneT()]) if any(v is None for v in items) else Unknown()
        )
        for item in items:
            element = element.assign(item) or Invalid()
        return cls(element, len(items))

    def assign(self, value: Any) -> ColType | None:
        if not hasattr(value, "__iter__") or isinstance(value, (str, bytes, dict)):
            return None
        items = list(value)
        element: ColType = self.element
        for item in items:
            assigned = element.assign(item)
            if assigned is None:
                return None
            element = assigned
        return ListT(element, len(items))

    def assign_type(self, other: ColType) -> ColType | None:
        if isinstance(other, ListT):
            element = self.element.assign_type(other.element)
            if element is not None:
                return ListT(element, self.length if self.length == other.length else None)
        return None

    def __repr__(self) -> str:
        return f"lists of {self.element!r}"

    def to_json(self) -> dict:
        return {
            "wb_type": self.name,
            "params": {"element_type": self.element.to_json(), "length": self.length},
        }


class NDArrayT(ColType):
    name = "ndarray"

    def __init__(self, shape: Any):
        self.shape = tuple(shape)

    def params(self) -> tuple:
        return self.shape

    @classmethod
    def of(cls, value: Any) -> NDArrayT:
        if isinstance(value, list):
            shape, target = [], value
            while isinstance(target, list):
                shape.append(len(target))
                if not target:
                    break
                target = target[0]
            return cls(shape)
        return cls(value.shape)

    def assign(self, value: Any) -> ColType | None:
        if isinstance(value, list) or _is_ndarray(value):
            return self.assign_type(NDArrayT.of(value))
        return None

    def assign_type(self, other: ColType) -> ColType | None:
        if isinstance(other, NDArrayT) and other.shape == self.shape:
            return self
        if isinstance(other, ListT):
            return self
        return None

    def __repr__(self) -> str:
        return f"arrays of shape {self.shape}"

    def to_json(self) -> dict:
        return {"wb_type": self.name, "params": {"shape": list(self.shape)}}


class DictT(ColType):
    name = "typedDict"

    def __init__(self, types: dict[str, ColType]):
        self.types = types

    def params(self) -> tuple:
        return tuple(sorted(self.types.items(), key=lambda kv: str(kv[0])))

    @classmethod
    def of(cls, value: dict) -> DictT:
        return cls({k: type_of(v) for k, v in value.items()})

    def assign(self, value: Any) -> ColType | None:
        if not isinstance(value, dict) or not set(value) <= set(self.types):
            return None
        out = {}
        for k, t in self.types.items():
            got = t.assign(value.get(k))
            if got is None:
                return None
            out[k] = got
        return DictT(out)

    def assign_type(self, other: ColType) -> ColType | None:
        if not isinstance(other, DictT) or not set(other.types) <= set(self.types):
            return None
        out = {}
        for k, t in self.types.items():
            got = t.assign_type(other.types.get(k, Unknown()))
            if got is None:
                return None
            out[k] = got
        return DictT(out)

    def __repr__(self) -> str:
        return "dicts {" + ", ".join(f"{k!r}: {t!r}" for k, t in self.types.items()) + "}"

    def to_json(self) -> dict:
        return {
            "wb_type": self.name,
            "params": {"type_map": {k: t.to_json() for k, t in self.types.items()}},
        }


class Union(ColType):
    """Any of several types: ``Optional(t)`` is ``Union([t, None])``."""

    name = "union"

    def __init__(self, allowed: list[ColType]):
        flat: list[ColType] = []
        for t in allowed:
            flat.extend(t.allowed if isinstance(t, Union) else [t])
        flat.sort(key=repr)
        self.allowed: list[ColType] = flat

    def params(self) -> tuple:
        return tuple(self.allowed)

    def assign(self, value: Any) -> ColType | None:
        t = type_of(value)
        if type(t) in _SIMPLE and t in self.allowed:  # the usual cell: nothing changes
            return self
        allowed = _union_assign(self.allowed, t, value, by_value=True)
        return None if allowed is None else Union(allowed)

    def assign_type(self, other: ColType) -> ColType | None:
        allowed: list[ColType] = self.allowed
        for t in other.allowed if isinstance(other, Union) else [other]:
            assigned = _union_assign(allowed, t)
            if assigned is None:
                return None
            allowed = assigned
        return Union(allowed)

    @property
    def optional(self) -> bool:
        return any(isinstance(t, NoneT) for t in self.allowed)

    def __repr__(self) -> str:
        others = [t for t in self.allowed if not isinstance(t, NoneT)]
        text = " or ".join(repr(t) for t in others) or "None"
        return f"{text} (or None)" if others and len(others) < len(self.allowed) else text

    def to_json(self) -> dict:
        return {
            "wb_type": self.name,
            "params": {"allowed_types": [t.to_json() for t in self.allowed]},
        }


def _union_assign(
    allowed: list[ColType], other: ColType, value: Any = None, by_value: bool = False
) -> list[ColType] | None:
    """wandb's union rule: the first allowed type ``other`` (the type of ``value``, when
    ``by_value``) fits takes it; else an Unknown member becomes ``other``; else it does not fit."""
    out: list[ColType] = []
    unknowns = 0
    done = False
    for t in allowed:
        if done:
            out.append(t)
        elif isinstance(t, Unknown):
            unknowns += 1
        else:
            got = t.assign(value) if by_value else t.assign_type(other)
            if got is None:
                out.append(t)
            else:
                out.append(got)
                done = True
    if not done:
        if not unknowns or isinstance(other, NoneT):
            return None
        out.append(other)
        unknowns -= 1
    out.extend(Unknown() for _ in range(unknowns))
    return out


def optional(t: ColType) -> Union:
    return Union([t, NoneT()])


class PrimaryKeyT(ColType):
    """``Table.set_pk(col)``: a column of unique string keys other tables may point to."""

    name = "primaryKey"

    def assign_type(self, other: ColType) -> ColType | None:
        return self if isinstance(other, (StringT, PrimaryKeyT)) else None

    def __repr__(self) -> str:
        return "primary keys (strings)"


class ForeignKeyT(ColType):
    """``Table.set_fk(col, table, table_col)``: strings naming keys of another table's column."""

    name = "foreignKey"

    def __init__(self, table: Any, column: str):
        self.table, self.column = table, column

    def params(self) -> tuple:
        return (id(self.table), self.column)

    def assign_type(self, other: ColType) -> ColType | None:
        if isinstance(other, StringT):
            return self
        if isinstance(other, ForeignKeyT) and other.params() == self.params():
            return self
        return None

    def __repr__(self) -> str:
        return f"foreign keys (strings) into column {self.column!r}"

    def to_json(self) -> dict:
        return {"wb_type": self.name, "params": {"col_name": self.column}}


class ForeignIndexT(ColType):
    """Row indexes of another table (``table.get_index()``, ``iterrows()``'s index)."""

    name = "foreignIndex"

    def __init__(self, table: Any):
        self.table = table

    def params(self) -> tuple:
        return (id(self.table),)

    def assign_type(self, other: ColType) -> ColType | None:
        if isinstance(other, NumberT):
            return self
        if isinstance(other, ForeignIndexT) and other.table is self.table:
            return self
        return None

    def __repr__(self) -> str:
        return "row indexes of another table"


_SIMPLE = (NoneT, StringT, NumberT, BooleanT, TimestampT, ObjectT, MediaT)


def fitting_classes(t: ColType) -> frozenset:
    """Classes whose every value fits ``t`` as it is (the type stays ``t``): the fast path of
    ``Table.add_data``. A float fits a number column only if it also takes None (NaN is None)."""
    members = t.allowed if isinstance(t, Union) else [t]
    takes_none = any(isinstance(m, NoneT) for m in members)
    out: set[type] = set()
    for m in members:
        if isinstance(m, NoneT):
            out.add(type(None))
        elif isinstance(m, StringT):
            out.add(str)
        elif isinstance(m, BooleanT):
            out.add(bool)
        elif isinstance(m, NumberT):
            out.update((int, float) if takes_none else (int,))
        elif isinstance(m, TimestampT):
            out.update((datetime.datetime, datetime.date))
    return frozenset(out)


# --- the type of a value, and of a dtype ----------------------------------------------------------

_NONE, _STRING, _NUMBER, _BOOLEAN, _TIMESTAMP = (
    NoneT(),
    StringT(),
    NumberT(),
    BooleanT(),
    TimestampT(),
)
_BY_CLASS: dict[type, ColType] = {
    type(None): _NONE,
    str: _STRING,
    int: _NUMBER,
    float: _NUMBER,
    bool: _BOOLEAN,
    datetime.datetime: _TIMESTAMP,
    datetime.date: _TIMESTAMP,
}


def _is_ndarray(value: Any) -> bool:
    return type(value).__name__ == "ndarray" and type(value).__module__ == "numpy"


def type_of(value: Any) -> ColType:
    """The type of one cell, by its exact class (a subclass of str is not a str, as in wandb)."""
    cls = value.__class__
    t = _BY_CLASS.get(cls)
    if t is not None:
        if cls is float and math.isnan(value):
            return _NONE
        return t
    if cls.__module__ == "numpy":
        import numpy as np

        if issubclass(cls, np.bool_):
            return _BOOLEAN
        if issubclass(cls, np.number):
            return _NUMBER
        if issubclass(cls, np.datetime64):
            return _TIMESTAMP
        if issubclass(cls, np.ndarray):
            return NDArrayT(value.shape)
    if cls in (list, tuple, set, frozenset):
        return ListT.of(value)
    if cls is dict:
        return DictT.of(value)
    from .base import Media
    from .table import TableIndex, TableKey

    if cls is TableKey:
        if value.table is not None and value.table_column is not None:
            return ForeignKeyT(value.table, value.table_column)
        return _STRING
    if cls is TableIndex:
        return ForeignIndexT(value.table) if value.table is not None else _NUMBER
    if isinstance(value, Media):
        return MediaT(media_type_name(cls))
    return ObjectT(cls.__name__)


def media_type_name(cls: type) -> str:
    return getattr(cls, "_type", cls.__name__)


_BY_DTYPE: dict[Any, ColType] = {
    type(None): _NONE,
    str: _STRING,
    int: _NUMBER,
    float: _NUMBER,
    complex: _NUMBER,
    bool: _BOOLEAN,
    datetime.datetime: _TIMESTAMP,
    datetime.date: _TIMESTAMP,
}


def from_dtype(dtype: Any) -> ColType:
    """The column type a ``dtype`` names (see the module docstring)."""
    if isinstance(dtype, ColType):
        return dtype
    if isinstance(dtype, type):
        if issubclass(dtype, ColType):
            return dtype()
        t = _BY_DTYPE.get(dtype)
        if t is not None:
            return t
        if dtype in (list, tuple, set, frozenset):
            return ListT()
        if dtype is dict:
            return DictT({})
        if dtype.__module__ == "numpy":
            import numpy as np

            if issubclass(dtype, np.bool_):
                return _BOOLEAN
            if issubclass(dtype, np.number):
                return _NUMBER
            if issubclass(dtype, np.datetime64):
                return _TIMESTAMP
        from .base import Media

        if issubclass(dtype, Media):
            return MediaT(media_type_name(dtype))
        return ObjectT(dtype.__name__)
    if isinstance(dtype, list):
        if not dtype:
            return ListT()
        if len(dtype) == 1:
            return ListT(from_dtype(dtype[0]))
        return Union([from_dtype(d) for d in dtype])
    if isinstance(dtype, dict):
        return DictT({k: from_dtype(v) for k, v in dtype.items()})
    return ConstT(dtype)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)
