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
    if xs and (isinstance(xs[0], (str, bytes)) or not hasattr(xs[0], "__iter__")):
        xs = [xs] * len(ys)  # one x list shared by every line (its values may be strings)
    else:
        xs = [_list(x, "line_series(): each of xs") for x in xs]
    if len(xs) != len(ys):
        raise MediaError(
            f"line_series(): got {len(xs)} x lists for {len(ys)} lines; pass one shared x list or one per line"
        )
    if keys is None:
        keys = [f"line_{i}" for i in range(len(ys))]
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
    """Precision against recall, one line per class (one-vs-rest), computed as wandb does:
    the precision at ``interp_size`` evenly spaced recalls from 1 to 0, each the best
    precision reached at that recall or above; rounded to 3 decimals."""
    import numpy as np

    table = Table(columns=["class", "precision", "recall"])
    recalls = np.linspace(0, 1, int(interp_size))[::-1]
    for label, is_pos, scores in _scores(y_true, y_probas, labels, classes_to_plot, "pr_curve()"):
        tp, fp, positives = _counts(is_pos, scores)
        precision = tp / (tp + fp)
        recall = tp / positives
        # From the lowest threshold up, ending at recall 0, precision 1 (scikit-learn's
        # precision_recall_curve); each precision the best at its recall or above.
        precision = np.maximum.accumulate(np.r_[precision[::-1], 1.0])[::-1]
        recall = np.r_[recall[::-1], 0.0][::-1]
        at = precision[np.searchsorted(recall, recalls, side="left")]
        for p, r in zip(np.round(at, 3).tolist(), np.round(recalls, 3).tolist(), strict=True):
            table.add_data(label, p, r)
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
    """True positive rate against false positive rate, one line per class (one-vs-rest),
    computed as wandb does (scikit-learn's ``roc_curve``: from (0, 0), the points where the
    curve turns); rounded to 3 decimals."""
    import numpy as np

    table = Table(columns=["class", "fpr", "tpr"])
    for label, is_pos, scores in _scores(y_true, y_probas, labels, classes_to_plot, "roc_curve()"):
        tp, fp, _ = _counts(is_pos, scores)
        if len(fp) > 2:  # keep only the corners of the curve
            turns = np.r_[True, np.logical_or(np.diff(fp, 2), np.diff(tp, 2)), True]
            tp, fp = tp[turns], fp[turns]
        tp, fp = np.r_[0.0, tp], np.r_[0.0, fp]
        fpr = fp / fp[-1] if fp[-1] > 0 else np.full(len(fp), np.nan)
        tpr = tp / tp[-1] if tp[-1] > 0 else np.full(len(tp), np.nan)
        for f, t in zip(np.round(fpr, 3).tolist(), np.round(tpr, 3).tolist(), strict=True):
            table.add_data(label, f, t)
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
    if class_names is not None:
        n = len(class_names)
        if probs is not None and p.shape[1] != n:
            raise MediaError(
                f"confusion_matrix(): probs has {p.shape[1]} columns but there are {n} class names"
            )
        if len(y) and (y.max() >= n or predicted.max() >= n):
            raise MediaError(
                f"confusion_matrix(): class ids must be below {n} (the number of class names)"
            )
        ids = list(range(n))
        names = [str(c) for c in class_names]
    else:
        # As wandb: the classes are the ids that occur, in order, named Class_1, Class_2...
        ids = sorted({int(v) for v in y.tolist()} | {int(v) for v in predicted.tolist()})
        n = len(ids)
        names = [f"Class_{i + 1}" for i in range(n)]
    rank = np.full(max(ids, default=-1) + 1, -1, dtype=np.int64)
    rank[ids] = np.arange(n)
    counts = np.zeros((n, n), dtype=np.float64)  # floats, as wandb's counts
    np.add.at(counts, (rank[y], rank[predicted]), 1)
    table = Table(columns=["Actual", "Predicted", "nPredictions"])
    for i in range(n):
        for j in range(n):
            table.add_data(names[i], names[j], float(counts[i, j]))
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


def _scores(y_true: Any, y_probas: Any, labels: Any, classes_to_plot: Any, who: str) -> list:
    """``(label, is_positive, scores)`` per class to plot, as wandb picks them: the classes are
    the distinct values of ``y_true``, sorted; the i-th of them is scored by column i of
    ``y_probas``; its label is ``labels[class]`` when the classes are integers and ``labels``
    is given, else the class itself. ``classes_to_plot`` holds classes (values of ``y_true``)."""
    import numpy as np

    if y_true is None or y_probas is None:
        raise MediaError(
            f"{who}: y_true (N class ids) and y_probas (N x classes scores) are required"
        )
    if type(y_true).__module__.startswith("torch"):
        y_true = y_true.detach().cpu().numpy()
    y = np.asarray(y_true)
    if y.ndim != 1 or not len(y):
        raise MediaError(
            f"{who}: y_true must be a non-empty 1-D list of classes, got shape {y.shape}"
        )
    if type(y_probas).__module__.startswith("torch"):
        y_probas = y_probas.detach().cpu().numpy()
    try:
        probas = np.asarray(y_probas, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MediaTypeError(f"{who}: y_probas must be numbers: {exc}") from None
    if probas.ndim == 1:  # binary: the score of class 1
        probas = np.stack([1 - probas, probas], axis=1)
    if probas.ndim != 2 or probas.shape[0] != len(y):
        raise MediaError(
            f"{who}: y_probas has shape {probas.shape}; pass N x classes scores for the {len(y)} values of y_true"
        )
    classes = np.unique(y)
    if len(classes) > probas.shape[1]:
        raise MediaError(
            f"{who}: y_true holds {len(classes)} classes but y_probas has only {probas.shape[1]} columns"
        )
    wanted = classes if classes_to_plot is None else np.asarray(classes_to_plot)
    out = []
    for i in np.flatnonzero(np.isin(classes, wanted)).tolist():
        c = classes[i]
        if labels is not None and isinstance(c, (int, np.integer)):
            if not 0 <= int(c) < len(labels):
                raise MediaError(
                    f"{who}: class {int(c)} has no label among the {len(labels)} labels"
                )
            label = labels[int(c)]
        else:
            label = c.item() if hasattr(c, "item") else c
        out.append((label, y == c, probas[:, i]))
    return out


def _counts(is_pos: Any, scores: Any):
    """True and false positives at each distinct score, highest first; and the positives."""
    import numpy as np

    order = np.argsort(-scores, kind="mergesort")
    s, pos = scores[order], is_pos[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last index of each distinct score
    tp = np.cumsum(pos)[last].astype(np.float64)
    fp = (last + 1) - tp
    return tp, fp, int(is_pos.sum())
