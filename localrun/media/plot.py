"""Chart presets: ``localrun.plot.line(...)`` and friends, and ``localrun.plot_table(...)``.

A chart is a Table plus a spec (the preset id and which table column feeds which chart field).
``log({"pr": plot.pr_curve(...)})`` stores the table under ``"pr_table"`` in history, as wandb
does, and a chart record for ``"pr"`` holding the spec (``localrun show --json`` lists it under
``"charts"``). PR, ROC and confusion matrices are computed here with numpy: no scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import MediaError, MediaTypeError
from .base import KeyedMedia
from .table import Table

if TYPE_CHECKING:
    from ..blobs import BlobStore

__all__ = [
    "Chart",
    "bar",
    "confusion_matrix",
    "histogram",
    "line",
    "line_series",
    "plot_table",
    "pr_curve",
    "roc_curve",
    "scatter",
]


class Chart(KeyedMedia):
    """A table and the chart preset that draws it (wandb's ``CustomChart``)."""

    _type = "chart"

    def __init__(
        self, vega_spec_name: str, table: Table, fields: dict, string_fields: dict | None = None
    ):
        if not isinstance(vega_spec_name, str) or not vega_spec_name:
            raise MediaTypeError(
                f"plot_table(): vega_spec_name must be a preset id like 'wandb/line/v0', not {vega_spec_name!r}"
            )
        if not isinstance(table, Table):
            raise MediaTypeError(
                f"plot_table(): data_table must be a localrun.Table, not {type(table).__name__}"
            )
        if not isinstance(fields, dict):
            raise MediaTypeError(
                f"plot_table(): fields must be a dict of chart field -> table column, not {type(fields).__name__}"
            )
        for field, column in fields.items():
            if column is not None and column not in table.columns:
                raise MediaError(
                    f"plot_table(): fields[{field!r}] names column {column!r}, which the table does not have; "
                    f"its columns are {table.columns!r}"
                )
        if string_fields is not None and not isinstance(string_fields, dict):
            raise MediaTypeError(
                f"plot_table(): string_fields must be a dict, not {type(string_fields).__name__}"
            )
        self.vega_spec_name = vega_spec_name
        self.table = table
        self.fields = {str(k): v for k, v in fields.items() if v is not None}
        self.string_fields = {
            str(k): ("" if v is None else str(v)) for k, v in (string_fields or {}).items()
        }

    def spec(self, table_key: str) -> dict[str, Any]:
        return {
            "vega_spec_name": self.vega_spec_name,
            "fields": self.fields,
            "string_fields": self.string_fields,
            "table_key": table_key,
        }

    def expand(self, key: str, store: BlobStore) -> tuple[dict[str, Any], dict[str, Any]]:
        table_key = f"{key}_table"
        return {table_key: self.table}, self.spec(table_key)

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        return self.table.to_json(store)

    def __repr__(self) -> str:
        return f"<localrun.plot.Chart {self.vega_spec_name} fields={self.fields!r}>"


def plot_table(
    vega_spec_name: str,
    data_table: Table,
    fields: dict,
    string_fields: dict | None = None,
    split_table: bool = False,
) -> Chart:
    """A chart of ``data_table`` drawn with the preset ``vega_spec_name``; ``fields`` maps the
    preset's fields to the table's columns, ``string_fields`` fills its text fields (titles)."""
    return Chart(vega_spec_name, data_table, fields, string_fields)


def line(
    table: Table,
    x: str,
    y: str,
    stroke: str | None = None,
    title: str = "",
    split_table: bool = False,
) -> Chart:
    return Chart("wandb/line/v0", table, {"x": x, "y": y, "stroke": stroke}, {"title": title})


def scatter(table: Table, x: str, y: str, title: str = "", split_table: bool = False) -> Chart:
    return Chart("wandb/scatter/v0", table, {"x": x, "y": y}, {"title": title})


def bar(table: Table, label: str, value: str, title: str = "", split_table: bool = False) -> Chart:
    return Chart("wandb/bar/v0", table, {"label": label, "value": value}, {"title": title})


def histogram(table: Table, value: str, title: str = "", split_table: bool = False) -> Chart:
    return Chart("wandb/histogram/v0", table, {"value": value}, {"title": title})


def line_series(
    xs: Any,
    ys: Any,
    keys: list | None = None,
    title: str = "",
    xname: str = "x",
    split_table: bool = False,
) -> Chart:
    """Several lines in one chart: ``ys`` is a list of lines; ``xs`` one x list shared by all,
    or one per line."""
    ys = [_list(y, "line_series(): each of ys") for y in _list(ys, "line_series(): ys")]
    xs = _list(xs, "line_series(): xs")
    if xs and not isinstance(xs[0], (list, tuple)) and not hasattr(xs[0], "__len__"):
        xs = [xs] * len(ys)
    else:
        xs = [_list(x, "line_series(): each of xs") for x in xs]
    if len(xs) != len(ys):
        raise MediaError(
            f"line_series(): got {len(xs)} x lists for {len(ys)} lines; pass one shared x list or one per line"
        )
    if keys is None:
        keys = [f"key_{i}" for i in range(len(ys))]
    if len(keys) != len(ys):
        raise MediaError(f"line_series(): got {len(keys)} keys for {len(ys)} lines")
    table = Table(columns=["step", "lineKey", "lineVal"])
    for key, x, y in zip(keys, xs, ys, strict=True):
        if len(x) != len(y):
            raise MediaError(
                f"line_series(): line {key!r} has {len(x)} x values and {len(y)} y values"
            )
        for xv, yv in zip(x, y, strict=True):
            table.add_data(xv, str(key), yv)
    return Chart(
        "wandb/lineseries/v0",
        table,
        {"step": "step", "lineKey": "lineKey", "lineVal": "lineVal"},
        {"title": title, "xname": xname},
    )


def pr_curve(
    y_true: Any = None,
    y_probas: Any = None,
    labels: list | None = None,
    classes_to_plot: list | None = None,
    interp_size: int = 21,
    title: str = "Precision-Recall Curve",
    split_table: bool = False,
) -> Chart:
    """Precision against recall, one line per class (one-vs-rest), at most ``interp_size`` points each."""
    y, probas, names, classes = _scores(y_true, y_probas, labels, classes_to_plot, "pr_curve()")
    table = Table(columns=["class", "recall", "precision"])
    for c in classes:
        tp, fp, positives = _counts(y == c, probas[:, c])
        precision = tp / (tp + fp)
        recall = tp / positives if positives else tp * 0.0
        # Start at recall 0, precision 1, as scikit-learn's precision_recall_curve ends.
        recall, precision = _thin([0.0, *recall.tolist()], [1.0, *precision.tolist()], interp_size)
        for r, p in zip(recall, precision, strict=True):
            table.add_data(names[c], round(r, 6), round(p, 6))
    return Chart(
        "wandb/area-under-curve/v0",
        table,
        {"x": "recall", "y": "precision", "class": "class"},
        {"title": title, "x-axis-title": "Recall", "y-axis-title": "Precision"},
    )


def roc_curve(
    y_true: Any = None,
    y_probas: Any = None,
    labels: list | None = None,
    classes_to_plot: list | None = None,
    title: str = "ROC Curve",
    split_table: bool = False,
) -> Chart:
    """True positive rate against false positive rate, one line per class (one-vs-rest)."""
    y, probas, names, classes = _scores(y_true, y_probas, labels, classes_to_plot, "roc_curve()")
    table = Table(columns=["class", "fpr", "tpr"])
    for c in classes:
        tp, fp, positives = _counts(y == c, probas[:, c])
        negatives = len(y) - positives
        tpr = tp / positives if positives else tp * 0.0
        fpr = fp / negatives if negatives else fp * 0.0
        fpr, tpr = _thin([0.0, *fpr.tolist()], [0.0, *tpr.tolist()], 1000)
        for f, t in zip(fpr, tpr, strict=True):
            table.add_data(names[c], round(f, 6), round(t, 6))
    return Chart(
        "wandb/area-under-curve/v0",
        table,
        {"x": "fpr", "y": "tpr", "class": "class"},
        {
            "title": title,
            "x-axis-title": "False positive rate",
            "y-axis-title": "True positive rate",
        },
    )


def confusion_matrix(
    probs: Any = None,
    y_true: Any = None,
    preds: Any = None,
    class_names: list | None = None,
    title: str = "Confusion Matrix Curve",
    split_table: bool = False,
) -> Chart:
    """Counts of (actual, predicted) class pairs, every pair listed. Pass ``preds`` or ``probs``."""
    import numpy as np

    if (probs is None) == (preds is None):
        raise MediaError(
            "confusion_matrix(): pass exactly one of probs (N x classes scores) or preds (N class ids)"
        )
    if y_true is None:
        raise MediaError("confusion_matrix(): y_true (the N true class ids) is required")
    y = _ids(
        _by_name(y_true, class_names, "confusion_matrix(): y_true"), "confusion_matrix(): y_true"
    )
    if probs is not None:
        p = _matrix(probs, "confusion_matrix(): probs")
        predicted = p.argmax(axis=1)
    else:
        predicted = _ids(
            _by_name(preds, class_names, "confusion_matrix(): preds"), "confusion_matrix(): preds"
        )
    if len(predicted) != len(y):
        raise MediaError(
            f"confusion_matrix(): y_true has {len(y)} values but the predictions {len(predicted)}"
        )
    n = (
        len(class_names)
        if class_names is not None
        else int(max(y.max(initial=0), predicted.max(initial=0))) + 1
    )
    if probs is not None and p.shape[1] != n:
        raise MediaError(
            f"confusion_matrix(): probs has {p.shape[1]} columns but there are {n} class names"
        )
    if len(y) and (y.max() >= n or predicted.max() >= n):
        raise MediaError(
            f"confusion_matrix(): class ids must be below {n} (the number of class names)"
        )
    names = (
        [str(c) for c in class_names]
        if class_names is not None
        else [f"Class {i + 1}" for i in range(n)]
    )
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (y, predicted), 1)
    table = Table(columns=["Actual", "Predicted", "nPredictions"])
    for i in range(n):
        for j in range(n):
            table.add_data(names[i], names[j], int(counts[i, j]))
    return Chart(
        "wandb/confusion_matrix/v1",
        table,
        {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"},
        {"title": title},
    )


# --- helpers ------------------------------------------------------------------------------------


def _list(v: Any, where: str) -> list:
    if hasattr(v, "tolist"):
        v = v.tolist()
    if not isinstance(v, (list, tuple)):
        raise MediaTypeError(f"{where} must be a list, not {type(v).__name__}")
    return list(v)


def _matrix(v: Any, where: str):
    import numpy as np

    if type(v).__module__.startswith("torch"):
        v = v.detach().cpu().numpy()
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MediaTypeError(f"{where} must be numbers: {exc}") from None
    if arr.ndim != 2:
        raise MediaError(f"{where} has shape {arr.shape}; pass N x classes scores")
    return arr


def _ids(v: Any, where: str):
    import numpy as np

    if type(v).__module__.startswith("torch"):
        v = v.detach().cpu().numpy()
    arr = np.asarray(v)
    if arr.ndim != 1 or (
        arr.size
        and arr.dtype.kind not in "iub"
        and not (arr.dtype.kind == "f" and (arr == np.round(arr)).all())
    ):
        raise MediaError(
            f"{where} must be a 1-D list of integer class ids, got shape {arr.shape} dtype {arr.dtype}"
        )
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise MediaError(f"{where} holds a negative class id ({arr.min()})")
    return arr


def _by_name(values: Any, names: Any, where: str) -> Any:
    """Class names in ``values`` turned into their index in ``names`` (ids pass through)."""
    if names is None or values is None or type(values).__module__.startswith("torch"):
        return values
    seq = values.tolist() if hasattr(values, "tolist") else list(values)
    if not seq or not all(isinstance(v, str) for v in seq):
        return values
    index = {str(n): i for i, n in enumerate(names)}
    unknown = sorted({v for v in seq if v not in index})
    if unknown:
        raise MediaError(
            f"{where} holds {unknown[:5]!r}, which are not among the class names {list(index)!r}"
        )
    return [index[v] for v in seq]


def _scores(y_true: Any, y_probas: Any, labels: Any, classes_to_plot: Any, who: str):
    import numpy as np

    if y_true is None or y_probas is None:
        raise MediaError(
            f"{who}: y_true (N class ids) and y_probas (N x classes scores) are required"
        )
    y = _ids(_by_name(y_true, labels, f"{who}: y_true"), f"{who}: y_true")
    if not len(y):
        raise MediaError(f"{who}: y_true is empty; there is no curve without examples")
    if type(y_probas).__module__.startswith("torch"):
        y_probas = y_probas.detach().cpu().numpy()
    probas = np.asarray(y_probas, dtype=np.float64)
    if probas.ndim == 1:  # binary: the score of class 1
        probas = np.stack([1 - probas, probas], axis=1)
    if probas.ndim != 2 or probas.shape[0] != len(y):
        raise MediaError(
            f"{who}: y_probas has shape {probas.shape}; pass N x classes scores for the {len(y)} values of y_true"
        )
    n = probas.shape[1]
    if len(y) and y.max() >= n:
        raise MediaError(f"{who}: y_true holds class {y.max()} but y_probas has only {n} columns")
    names = [str(x) for x in labels] if labels is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise MediaError(f"{who}: {len(names)} labels for {n} classes (columns of y_probas)")
    classes = list(range(n)) if classes_to_plot is None else [int(c) for c in classes_to_plot]
    bad = [c for c in classes if not 0 <= c < n]
    if bad:
        raise MediaError(f"{who}: classes_to_plot {bad!r} are not class ids 0..{n - 1}")
    return y, probas, names, classes


def _counts(is_pos: Any, scores: Any):
    """True and false positives at each distinct score, highest first; and the positives."""
    import numpy as np

    order = np.argsort(-scores, kind="mergesort")
    s, pos = scores[order], is_pos[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last index of each distinct score
    tp = np.cumsum(pos)[last].astype(np.float64)
    fp = (last + 1) - tp
    return tp, fp, int(is_pos.sum())


def _thin(x: list, y: list, most: int) -> tuple[list, list]:
    """At most ``most`` evenly spaced points of a curve, first and last kept."""
    if len(x) <= most or most < 2:
        return x, y
    step = (len(x) - 1) / (most - 1)
    idx = [round(i * step) for i in range(most)]
    return [x[i] for i in idx], [y[i] for i in idx]
