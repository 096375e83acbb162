"""Table: rows and columns stored as one JSON file; media in cells are stored as their own files.

The file holds ``{"columns": [...], "data": [[...], ...]}``; a cell holding media holds that
media's value (an ``image-file`` dict, with ``path`` relative to the run directory). Every row
is stored: W&B's UI stops at 10,000 rows, so past that a warning says so, once per process.

Each column has a type, checked as wandb checks it (``coltypes.py``): the first value sets
it, and a row with a value of another type (or None in a column that is not optional) is
refused with ``MediaTypeError``. Dates and times in cells (``datetime``, ``date``,
``np.datetime64``, pandas ``Timestamp``) are stored as wandb stores them: milliseconds since
the epoch, UTC when no time zone is given.

``log_mode``: ``"IMMUTABLE"`` (the default) and ``"MUTABLE"`` store a table changed after it
was logged again when it is logged again (IMMUTABLE warns, once per table: wandb would keep
logging the old table); ``"INCREMENTAL"`` stores, at each log, only the rows added since the last one, as
an ``incremental-table-file`` value (wandb's).
"""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any

from .. import terminal
from ..errors import MediaError, MediaTypeError, MediaUsageError, UsageError
from . import coltypes
from .base import Media

if TYPE_CHECKING:
    from ..blobs import BlobStore

DEFAULT_COLUMNS = ["Input", "Output", "Expected"]
WANDB_MAX_ROWS = 10_000
LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")
MAX_INCREMENTS_SHOWN = 100
_warned_rows = False


class TableKey(str):
    """A cell of a primary or foreign key column: a str that knows the table and column it keys."""

    table: Any = None
    table_column: str | None = None

    def set_table(self, table: Any, column: str) -> None:
        if column not in table.columns:
            raise MediaUsageError(
                f"Table key: {column!r} is not a column of the table; its columns are {table.columns!r}"
            )
        self.table, self.table_column = table, column

    # wandb's names for them
    _table = property(lambda self: self.table)
    _col_name = property(lambda self: self.table_column)


class TableIndex(int):
    """A row index of a table (``iterrows()``, ``get_index()``): an int that knows its table."""

    table: Any = None

    def set_table(self, table: Any) -> None:
        self.table = table

    def get_row(self) -> dict:
        if self.table is None:
            return {}
        return dict(zip(self.table.columns, self.table.data[self], strict=True))

    _table = property(lambda self: self.table)


class Table(Media):
    """A table, logged as wandb's ``table-file``.

    ``Table(columns=None, data=None, rows=None, dataframe=None, dtype=None, optional=True,
    allow_mixed_types=False, log_mode="IMMUTABLE")``: ``data`` is a list of rows (or a 2-D
    numpy array, or a pandas DataFrame); ``dataframe`` a pandas DataFrame (pandas is only
    needed if you pass one). ``dtype`` and ``optional`` set the columns' types and whether
    they take None (one for all columns, or a list with one per column).
    """

    _type = "table-file"
    MAX_ROWS = WANDB_MAX_ROWS
    MAX_ARTIFACT_ROWS = 200_000

    def __init__(
        self,
        columns: list | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = "IMMUTABLE",
    ):
        if log_mode is None:
            log_mode = "IMMUTABLE"
        if log_mode not in LOG_MODES:
            raise MediaUsageError(
                f"Table(): log_mode={log_mode!r} is not a log mode; use one of {', '.join(LOG_MODES)}"
            )
        self.log_mode = log_mode
        self._increment_num: int | None = None
        self._last_logged = -1  # INCREMENTAL: the last row stored by a log
        self._previous_increments: list[str] = []
        self._pk_col: str | None = None
        self._fk_cols: set[str] = set()
        self._warned: set[str] = set()  # the warnings this table gave (each is given once)
        if allow_mixed_types:
            dtype = coltypes.AnyT
        if dataframe is None and _is_dataframe(data):
            dataframe, data = data, None  # Table(data=df) as well as Table(dataframe=df)
        if dataframe is not None:
            if not _is_dataframe(dataframe):
                raise MediaUsageError(
                    f"Table(): dataframe must be a pandas DataFrame, not {type(dataframe).__name__}; "
                    "pass a list of rows as data="
                )
            columns = [str(c) for c in dataframe.columns] if columns is None else columns
            data = _dataframe_rows(dataframe)
        if _is_dataframe(columns) or type(columns).__module__.startswith("numpy"):
            raise MediaUsageError(
                f"Table(): columns must be a list of column names, not a {type(columns).__name__}; "
                "pass the data as Table(data=...)"
            )
        if data is None:
            data = rows
        if data is not None and type(data).__module__.startswith("numpy"):
            if getattr(data, "ndim", 2) < 2:
                raise MediaError(
                    f"Table(): a numpy array as data must be 2-D (rows x columns) or more (an array "
                    f"per cell), not shape {data.shape}"
                )
            data = list(data)
        if data is not None and not isinstance(data, (list, tuple)):
            raise MediaTypeError(f"Table(): data must be a list of rows, not {type(data).__name__}")
        if columns is None:
            if data:
                first = data[0]
                n = (
                    len(first)
                    if isinstance(first, (list, tuple)) or hasattr(first, "__len__")
                    else 1
                )
                columns = (
                    DEFAULT_COLUMNS if n == len(DEFAULT_COLUMNS) else [str(i) for i in range(n)]
                )
            else:
                columns = DEFAULT_COLUMNS
        _check_columns(columns)
        self.columns = [str(c) for c in columns]
        if len(set(self.columns)) != len(self.columns):
            raise MediaError(f"Table(): columns has duplicate names: {self.columns!r}")
        self.data: list[list] = []
        self._types: dict[str, coltypes.ColType] = {}
        self._fits: dict[str, frozenset] = {}  # coltypes.fitting_classes of each column's type
        dtypes = _per_column(dtype, self.columns, "dtype")
        optionals = _per_column(optional, self.columns, "optional")
        for name, dt, opt in zip(self.columns, dtypes, optionals, strict=True):
            self._set_type(name, _column_type(dt, opt))
        if data is not None:
            self._extend(data)

    def _extend(self, rows: Any) -> None:
        """``add_data`` for each of ``rows`` (the constructor's), with the usual row's checks
        inlined: each cell's class is one its column takes as it is."""
        n = len(self.columns)
        fits = list(self._fits.values())
        append = self.data.append
        for row in rows:
            row = _row(row)
            if len(row) == n:
                for v, f in zip(row, fits):  # noqa: B905 (lengths checked above)
                    if v.__class__ not in f:
                        break
                else:
                    append(row)
                    continue
            self.add_data(*row)  # checks, types, keys; or the error
            fits = list(self._fits.values())

    # --- changing the table -------------------------------------------------------------------

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            terminal.warn(message)

    def _mutating(self, op: str) -> None:
        """What a change does to a logged table, by ``log_mode`` (wandb's rules)."""
        if self.log_mode == "INCREMENTAL":
            if op in ("add_column", "add_computed_columns"):
                raise UsageError(
                    f"Operation {op!r} is not supported for tables with log_mode='INCREMENTAL'. "
                    "Use a different log mode like 'MUTABLE' or 'IMMUTABLE'."
                )
            return
        if "_lr_json" not in self.__dict__:
            return
        if self.log_mode == "IMMUTABLE":
            self._warn_once(
                "You are mutating a Table with log_mode='IMMUTABLE' that has been logged already. "
                "wandb would ignore later log() calls of it; localrun stores it again, as it is then, "
                "each time it is logged. Set log_mode='MUTABLE' to say that is meant"
            )
        self.__dict__.pop("_lr_json", None)  # the table changed: encode it again when logged

    def add_data(self, *data: Any) -> None:
        """Append one row; it must have one value per column, each of its column's type."""
        if "_lr_json" in self.__dict__:
            self._mutating("add_data")
        if len(data) != len(self.columns):
            raise MediaError(
                f"Table.add_data(): got {len(data)} values for {len(self.columns)} columns {self.columns!r}; "
                "pass one value per column"
            )
        for v, fits in zip(data, self._fits.values()):  # noqa: B905 (lengths checked above)
            if v.__class__ not in fits:
                self._check_row(data)  # a cell that may change its column's type, or not fit
                break
        self.data.append(list(data))
        if self._pk_col is not None or self._fk_cols:
            self._wrap_keys(only_last=True)
        if self.log_mode == "INCREMENTAL":
            self._appended()

    def _check_row(self, data: tuple) -> None:
        for name, v in zip(self.columns, data, strict=True):
            if isinstance(v, (TableKey, TableIndex)) and v.table is not None:
                self.cast(name, coltypes.type_of(v), optional=False)
        new_types = {}
        for name, v in zip(self.columns, data, strict=True):
            t = self._types[name]
            got = t.assign(v)
            if got is None:
                raise _misfit("Table.add_data()", name, t, v, f"row {len(self.data)}")
            if got is not t:
                new_types[name] = got
        for name, t in new_types.items():
            self._set_type(name, t)

    def _set_type(self, name: str, t: coltypes.ColType) -> None:
        self._types[name] = t
        self._fits[name] = coltypes.fitting_classes(t)

    def add_row(self, *row: Any) -> None:
        """The old name of ``add_data`` (wandb keeps it, deprecated)."""
        self.add_data(*row)

    def _appended(self) -> None:
        """INCREMENTAL: the first row added after a log starts the next increment."""
        if "_lr_json" not in self.__dict__:
            return
        value = self.__dict__.pop("_lr_json")[1]
        self._previous_increments.append(value["path"])
        self._increment_num = (self._increment_num or 0) + 1
        if self._increment_num >= MAX_INCREMENTS_SHOWN:
            self._warn_once(
                f"You have exceeded {MAX_INCREMENTS_SHOWN} increments for this table. Only the latest "
                f"{MAX_INCREMENTS_SHOWN} increments will be visualized in the run workspace."
            )

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        """Append a column; ``data`` (a list or numpy array) has one value per row. The first
        column of a table with none sets the number of rows."""
        self._mutating("add_column")
        name = str(name)
        if name in self.columns:
            raise MediaUsageError(f"Table.add_column(): a column named {name!r} already exists")
        if not (isinstance(data, list) or type(data).__module__.startswith("numpy")):
            raise MediaUsageError(
                f"Table.add_column(): data must be a list or numpy array of values, not {type(data).__name__}"
            )
        first = not self.columns
        if not first and len(data) != len(self.data):
            raise MediaUsageError(
                f"Table.add_column(): got {len(data)} values for {len(self.data)} rows; "
                "pass one value per row"
            )
        t: coltypes.ColType = _column_type(None, optional)
        for i, v in enumerate(data):
            got = t.assign(v)
            if got is None:
                raise _misfit("Table.add_column()", name, t, v, f"row {i}")
            t = got
        if first:
            self.data = [[v] for v in data]
        else:
            for row, v in zip(self.data, data, strict=True):
                row.append(v)
        self.columns.append(name)
        self._set_type(name, t)

    def add_computed_columns(self, fn: Any) -> None:
        """Add the columns ``fn(index, row_dict) -> {new column: value}`` computes for each row."""
        self._mutating("add_computed_columns")
        new: dict[str, list] = {}
        for ndx, row in self.iterrows():
            got = fn(ndx, dict(zip(self.columns, row, strict=True)))
            if not isinstance(got, dict):
                raise MediaUsageError(
                    f"Table.add_computed_columns(): fn must return a dict of new column -> value, not {got!r:.60}"
                )
            for k, v in got.items():
                new.setdefault(k, []).append(v)
        for k, values in new.items():
            self.add_column(k, values)

    def cast(self, col_name: str, dtype: Any, optional: bool = False) -> coltypes.ColType:
        """Set a column's type (see ``coltypes``); every value it holds must fit it."""
        self._mutating("cast")
        if col_name not in self.columns:
            raise MediaUsageError(
                f"Table.cast(): no column {col_name!r}; the columns are {self.columns!r}"
            )
        t: coltypes.ColType = _column_type(dtype, optional)
        key = isinstance(
            dtype, (coltypes.PrimaryKeyT, coltypes.ForeignKeyT, coltypes.ForeignIndexT)
        )
        if key and optional:
            raise MediaUsageError(
                "Table.cast(): primary keys, foreign keys and foreign indexes cannot be optional"
            )
        i = self.columns.index(col_name)
        for n, row in enumerate(self.data):
            got = t.assign(row[i])
            if got is None:
                raise _misfit("Table.cast()", col_name, t, row[i], f"row {n}")
            t = got
        if isinstance(t, (coltypes.ForeignKeyT, coltypes.ForeignIndexT)) and t.table is self:
            raise MediaUsageError(
                "Table.cast(): a foreign key cannot point into the same table; use set_pk()"
            )
        if isinstance(t, coltypes.PrimaryKeyT) and self._pk_col not in (None, col_name):
            raise MediaUsageError(
                f"Table.set_pk(): {self._pk_col!r} is the primary key already; a table has one"
            )
        if col_name == self._pk_col and not isinstance(t, coltypes.PrimaryKeyT):
            raise MediaUsageError(
                f"Table.cast(): {col_name!r} is the primary key, which cannot be unset"
            )
        if col_name in self._fk_cols and not isinstance(
            t, (coltypes.ForeignKeyT, coltypes.ForeignIndexT)
        ):
            raise MediaUsageError(
                f"Table.cast(): {col_name!r} is a foreign key, which cannot be unset"
            )
        self._set_type(col_name, t)
        if isinstance(t, coltypes.PrimaryKeyT):
            self._pk_col = col_name
        elif isinstance(t, (coltypes.ForeignKeyT, coltypes.ForeignIndexT)):
            self._fk_cols.add(col_name)
        self._wrap_keys()
        return t

    def set_pk(self, col_name: str) -> None:
        """Make a column of strings the table's primary key (other tables' foreign keys name its values)."""
        self.cast(col_name, coltypes.PrimaryKeyT())

    def set_fk(self, col_name: str, table: Table, table_col: str) -> None:
        """Make a column of strings a foreign key into ``table``'s column ``table_col``."""
        if col_name == self._pk_col:
            raise MediaUsageError(
                f"Table.set_fk(): {col_name!r} is this table's primary key; it cannot also be a foreign key"
            )
        if not isinstance(table, Table) or table_col not in table.columns:
            raise MediaUsageError(
                f"Table.set_fk(): pass a Table and one of its columns; got {type(table).__name__} and {table_col!r}"
            )
        self.cast(col_name, coltypes.ForeignKeyT(table, str(table_col)))

    def _wrap_keys(self, only_last: bool = False) -> None:
        """Key columns hold TableKey / TableIndex values that know what they point to."""
        if self._pk_col is None and not self._fk_cols:
            return
        rows = self.data[-1:] if only_last else self.data
        for name in [self._pk_col, *self._fk_cols]:
            if name is None:
                continue
            i, t = self.columns.index(name), self._types[name]
            for row in rows:
                v = row[i]
                if isinstance(t, coltypes.PrimaryKeyT):
                    key = TableKey(v)
                    key.set_table(self, name)
                    row[i] = key
                elif isinstance(t, coltypes.ForeignKeyT) and not isinstance(v, TableKey):
                    key = TableKey(v)
                    key.set_table(t.table, t.column)
                    row[i] = key
                elif isinstance(t, coltypes.ForeignIndexT) and not isinstance(v, TableIndex):
                    index = TableIndex(v)
                    index.set_table(t.table)
                    row[i] = index

    # --- reading it ------------------------------------------------------------------------------

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of a column; ``convert_to="numpy"`` gives a numpy array (media as their data)."""
        if name not in self.columns:
            raise MediaUsageError(
                f"Table.get_column(): no column {name!r}; the columns are {self.columns!r}"
            )
        if convert_to not in (None, "numpy"):
            raise MediaUsageError(
                f"Table.get_column(): convert_to={convert_to!r}; use None or 'numpy'"
            )
        i = self.columns.index(name)
        values = [row[i] for row in self.data]
        if convert_to == "numpy":
            import numpy as np

            return np.array(
                [v.to_data_array() if hasattr(v, "to_data_array") else v for v in values]
            )
        return values

    def get_index(self) -> list[TableIndex]:
        """A row index per row, for other tables to link to this one."""
        return [self.index_ref(i) for i in range(len(self.data))]

    def index_ref(self, index: int) -> TableIndex:
        if not 0 <= index < len(self.data):
            raise MediaUsageError(
                f"Table.index_ref(): no row {index}; the table has {len(self.data)}"
            )
        ref = TableIndex(index)
        ref.set_table(self)
        return ref

    def iterrows(self):
        """``(index, row)`` for each row, as wandb's Table gives them."""
        for i, row in enumerate(self.data):
            yield self.index_ref(i), row

    def get_dataframe(self):
        """The table as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.data, columns=self.columns)

    @property
    def column_types(self) -> dict[str, coltypes.ColType]:
        """Each column's type, by name."""
        return dict(self._types)

    def _to_table_json(self) -> dict[str, Any]:
        """``{"columns", "data"}``: what the table's file holds (INCREMENTAL: the rows since the last log)."""
        rows = self.data[self._last_logged + 1 :] if self.log_mode == "INCREMENTAL" else self.data
        return {"columns": self.columns, "data": rows}

    def _eq_debug(self, other: Any, should_assert: bool = False) -> bool:
        def differ(why: str) -> bool:
            if should_assert:
                raise AssertionError(why)
            return False

        if not isinstance(other, Table):
            return differ(f"Found type {type(other).__name__}, expected Table")
        if len(self.data) != len(other.data):
            return differ(f"Found {len(other.data)} rows, expected {len(self.data)}")
        if self.columns != other.columns:
            return differ(f"Found columns {other.columns}, expected {self.columns}")
        if self._types != other._types:
            return differ(f"Found column types {other._types}, expected {self._types}")
        for r, (mine, theirs) in enumerate(zip(self.data, other.data, strict=True)):
            for c, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                if not _same(a, b):
                    return differ(
                        f"Unequal data at row {r} column {c}: found {b!r}, expected {a!r}"
                    )
        return True

    def __eq__(self, other: object) -> bool:
        return self._eq_debug(other)

    def __ne__(self, other: object) -> bool:
        return not self._eq_debug(other)

    __hash__ = None  # type: ignore[assignment]

    # --- storing it ------------------------------------------------------------------------------

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        from ..values import normalize

        global _warned_rows
        if len(self.data) > WANDB_MAX_ROWS and not _warned_rows:
            _warned_rows = True
            terminal.warn(
                f"a Table with {len(self.data)} rows was logged: localrun stores every row, but W&B shows "
                f"only the first {WANDB_MAX_ROWS} if you sync it there"
            )
        body = self._to_table_json()
        rows = [
            normalize([_cell(v) for v in row], store, f"table row {i}")
            for i, row in enumerate(body["data"], start=len(self.data) - len(body["data"]))
        ]
        text = json.dumps(
            {"columns": self.columns, "data": rows}, ensure_ascii=False, separators=(",", ":")
        )
        ref = store.put(text.encode("utf-8"), "table.json")
        value = {
            "_type": "table-file",
            **ref,
            "ncols": len(self.columns),
            "nrows": len(self.data),
            "log_mode": self.log_mode,
        }
        if self.log_mode == "INCREMENTAL":
            value["_type"] = "incremental-table-file"
            value["increment_num"] = self._increment_num or 0
            value["previous_increments_paths"] = list(self._previous_increments)
            self._last_logged = len(self.data) - 1
        return value

    def __repr__(self) -> str:
        return f"<localrun.Table {len(self.data)} rows x {len(self.columns)} columns>"


# --- helpers ------------------------------------------------------------------------------------


def _is_dataframe(obj: Any) -> bool:
    return hasattr(obj, "itertuples") and hasattr(obj, "columns")


def _dataframe_rows(df: Any) -> list[list]:
    """A DataFrame's rows as wandb reads them: each column's numpy values (so a ``datetime64``
    column gives ``np.datetime64`` cells)."""
    columns = [df[c].values for c in df.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def _check_columns(columns: Any) -> None:
    if not isinstance(columns, (list, tuple)):
        raise MediaUsageError(
            f"Table(): columns must be a list of names, not {type(columns).__name__}: {columns!r:.60}"
        )
    for c in columns:
        if (
            isinstance(c, (list, tuple, dict))
            or type(c).__module__.startswith("numpy")
            and bool(getattr(c, "ndim", 0))
        ):
            raise MediaUsageError(
                f"Table(): columns must be a list of names (str or int), but it holds {c!r:.60}, which "
                "looks like a row of data. Pass rows as Table(data=[...]) (with columns=[names] if you have them)"
            )
        if not isinstance(c, (str, int)) and not type(c).__module__.startswith("numpy"):
            raise MediaUsageError(
                f"Table(): columns must be a list of names (str or int), but it holds {c!r:.60} "
                f"({type(c).__name__}); name each column with a str"
            )


def _per_column(value: Any, columns: list[str], what: str) -> list:
    if isinstance(value, list):
        if len(value) != len(columns):
            raise MediaUsageError(
                f"Table(): {what} has {len(value)} entries for {len(columns)} columns; "
                "give one per column, or a single value for all"
            )
        return value
    return [value] * len(columns)


def _column_type(dtype: Any, optional: Any) -> coltypes.ColType:
    t = coltypes.Unknown() if dtype is None else coltypes.from_dtype(dtype)
    return coltypes.optional(t) if optional else t


def _misfit(who: str, column: str, t: coltypes.ColType, value: Any, where: str) -> MediaTypeError:
    from ..values import short

    if coltypes.type_of(value) == coltypes.NoneT():
        return MediaTypeError(
            f"{who}: column {column!r} does not take None (it holds {t!r}, optional=False), but "
            f"{where} gives {short(value)}. Pass a value, or make the column optional "
            f"(Table(..., optional=True), or table.cast({column!r}, dtype, optional=True))"
        )
    return MediaTypeError(
        f"{who}: column {column!r} holds {t!r}, but {where} gives {short(value)} "
        f"({type(value).__name__}). Keep one type per column (convert the value), or pass "
        "allow_mixed_types=True to Table()"
    )


def _same(a: Any, b: Any) -> bool:
    eq = a == b
    if hasattr(eq, "all") and not isinstance(eq, bool):
        try:
            return bool(eq.all()) and getattr(a, "shape", None) == getattr(b, "shape", None)
        except (TypeError, ValueError):
            return False
    return bool(eq)


def _row(row: Any) -> list:
    if isinstance(row, (list, tuple)):
        return list(row)
    if type(row).__module__.startswith("numpy") and getattr(row, "ndim", 0) == 1:
        return list(row)
    if isinstance(row, (str, bytes, dict)) or not hasattr(row, "__iter__"):
        return [row]
    return list(row)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _cell(v: Any) -> Any:
    """A cell as stored: an array kept whole as a (nested) list, not summarised as a histogram;
    keys as their str or int; dates and times as wandb stores them, milliseconds since the
    epoch (UTC when no time zone is given)."""
    cls = v.__class__
    if cls is TableKey:
        return str.__str__(v)
    if cls is TableIndex:
        return int(v)
    module = cls.__module__
    if module.startswith("torch") and hasattr(v, "detach"):
        return v.detach().cpu().numpy().tolist()
    if module.startswith("numpy"):
        if getattr(v, "ndim", 0) > 0:
            return v.tolist()
        if cls.__name__ == "datetime64":
            return _datetime64_ms(v)
    if isinstance(v, datetime.date):
        return _date_ms(v)
    return v


def _date_ms(v: datetime.date) -> int | None:
    if isinstance(v, datetime.datetime):
        if v != v:  # pandas NaT
            return None
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return int(v.timestamp() * 1000)
    return int(
        datetime.datetime(v.year, v.month, v.day, tzinfo=datetime.timezone.utc).timestamp() * 1000
    )


def _datetime64_ms(v: Any) -> int | None:
    import numpy as np

    if np.isnat(v):
        return None
    return int(v.astype("datetime64[ms]").astype(np.int64))
