"""Table: rows and columns stored as one JSON file; media in cells are stored as their own files.

The file holds ``{"columns": [...], "data": [[...], ...]}``; a cell holding media holds that
media's value (an ``image-file`` dict, with ``path`` relative to the run directory). Every row
is stored: W&B's UI stops at 10,000 rows, so past that a warning says so, once per process.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import terminal
from ..errors import MediaError, MediaTypeError
from .base import Media

if TYPE_CHECKING:
    from ..blobs import BlobStore

DEFAULT_COLUMNS = ["Input", "Output", "Expected"]
WANDB_MAX_ROWS = 10_000
_warned_rows = False


class Table(Media):
    """A table, logged as wandb's ``table-file``.

    ``Table(columns=None, data=None, rows=None, dataframe=None)``: ``data`` is a list of rows
    (or a 2-D numpy array); ``dataframe`` a pandas DataFrame (pandas is only needed if you
    pass one). ``add_data(*values)`` appends a row.
    """

    _type = "table-file"

    def __init__(
        self,
        columns: list | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = None,
    ):
        # optional, allow_mixed_types and log_mode are wandb's column-typing and artifact
        # options: accepted so wandb code runs, with no effect here (every cell is stored).
        if dataframe is None and hasattr(data, "itertuples") and hasattr(data, "columns"):
            dataframe, data = data, None  # Table(data=df) as well as Table(dataframe=df)
        if dataframe is not None:
            if not (hasattr(dataframe, "columns") and hasattr(dataframe, "itertuples")):
                raise MediaTypeError(
                    f"Table(): dataframe must be a pandas DataFrame, not {type(dataframe).__name__}"
                )
            columns = [str(c) for c in dataframe.columns] if columns is None else columns
            data = [list(row) for row in dataframe.itertuples(index=False, name=None)]
        if data is None:
            data = rows
        if data is not None and type(data).__module__.startswith("numpy"):
            if getattr(data, "ndim", 2) != 2:
                raise MediaError(
                    f"Table(): a numpy array as data must be 2-D (rows x columns), not shape {data.shape}"
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
        if not isinstance(columns, (list, tuple)) or not columns:
            raise MediaTypeError(
                f"Table(): columns must be a non-empty list of names, not {columns!r}"
            )
        self.columns = [str(c) for c in columns]
        if len(set(self.columns)) != len(self.columns):
            raise MediaError(f"Table(): columns has duplicate names: {self.columns!r}")
        self.data: list[list] = []
        if data is not None:
            for row in data:
                self.add_data(*_row(row))

    def add_data(self, *data: Any) -> None:
        """Append one row; it must have one value per column."""
        if len(data) != len(self.columns):
            raise MediaError(
                f"Table.add_data(): got {len(data)} values for {len(self.columns)} columns {self.columns!r}; "
                "pass one value per column"
            )
        self.data.append(list(data))
        self.__dict__.pop("_lr_json", None)  # the table changed: encode it again when logged

    def add_column(self, name: str, data: list) -> None:
        """Append a column; ``data`` has one value per row."""
        if str(name) in self.columns:
            raise MediaError(f"Table.add_column(): a column named {name!r} already exists")
        if len(data) != len(self.data):
            raise MediaError(
                f"Table.add_column(): got {len(data)} values for {len(self.data)} rows"
            )
        self.columns.append(str(name))
        for row, v in zip(self.data, data, strict=True):
            row.append(v)
        self.__dict__.pop("_lr_json", None)

    def get_column(self, name: str) -> list:
        try:
            i = self.columns.index(name)
        except ValueError:
            raise MediaError(
                f"Table.get_column(): no column {name!r}; the columns are {self.columns!r}"
            ) from None
        return [row[i] for row in self.data]

    def get_index(self) -> list[int]:
        return list(range(len(self.data)))

    def iterrows(self):
        """``(index, row)`` for each row, as wandb's Table gives them."""
        yield from enumerate(self.data)

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        from ..values import normalize

        global _warned_rows
        if len(self.data) > WANDB_MAX_ROWS and not _warned_rows:
            _warned_rows = True
            terminal.warn(
                f"a Table with {len(self.data)} rows was logged: localrun stores every row, but W&B shows "
                f"only the first {WANDB_MAX_ROWS} if you sync it there"
            )
        rows = [
            normalize([_cell(v) for v in row], store, f"table row {i}")
            for i, row in enumerate(self.data)
        ]
        body = json.dumps(
            {"columns": self.columns, "data": rows}, ensure_ascii=False, separators=(",", ":")
        )
        ref = store.put(body.encode("utf-8"), "table.json")
        return {"_type": "table-file", **ref, "ncols": len(self.columns), "nrows": len(self.data)}

    def __repr__(self) -> str:
        return f"<localrun.Table {len(self.data)} rows x {len(self.columns)} columns>"


def _row(row: Any) -> list:
    if isinstance(row, (list, tuple)):
        return list(row)
    if type(row).__module__.startswith("numpy") and getattr(row, "ndim", 0) == 1:
        return row.tolist()
    if isinstance(row, (str, bytes, dict)) or not hasattr(row, "__iter__"):
        return [row]
    return list(row)


def _cell(v: Any) -> Any:
    """An array in a cell is kept whole as a (nested) list, not summarised as a histogram."""
    module = type(v).__module__
    if module.startswith("torch") and hasattr(v, "detach"):
        return v.detach().cpu().numpy().tolist()
    if module.startswith("numpy") and getattr(v, "ndim", 0) > 0:
        return v.tolist()
    return v
