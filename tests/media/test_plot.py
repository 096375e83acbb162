"""Chart presets: the table under K_table in history, the spec in show --json "charts"."""

from __future__ import annotations

import json

import numpy as np
import pytest

import localrun
from localrun.errors import MediaError, MediaTypeError

from .readback import export, file_of, show_json


def logged_chart(run, key):
    rows = export(run)
    values = [r[f"{key}_table"] for r in rows if f"{key}_table" in r]
    assert values and all(key not in r for r in rows)
    body = json.loads(file_of(run, values[-1]).read_text())
    return body, show_json(run)["charts"][key]


def test_line(run):
    table = localrun.Table(data=[[x, x * x] for x in range(5)], columns=["x", "y"])
    localrun.log(
        {"my_custom_plot_id": localrun.plot.line(table, "x", "y", title="Custom Y vs X Line Plot")}
    )
    body, spec = logged_chart(run, "my_custom_plot_id")
    assert body["data"] == [[x, x * x] for x in range(5)]
    assert spec == {
        "vega_spec_name": "wandb/line/v0",
        "fields": {"x": "x", "y": "y"},
        "string_fields": {"title": "Custom Y vs X Line Plot"},
        "table_key": "my_custom_plot_id_table",
    }


@pytest.mark.parametrize(
    ("make", "preset", "fields"),
    [
        (lambda t: localrun.plot.scatter(t, "a", "b"), "wandb/scatter/v0", {"x": "a", "y": "b"}),
        (
            lambda t: localrun.plot.bar(t, "a", "b", title="t"),
            "wandb/bar/v0",
            {"label": "a", "value": "b"},
        ),
        (lambda t: localrun.plot.histogram(t, "b"), "wandb/histogram/v0", {"value": "b"}),
    ],
)
def test_simple_presets(run, make, preset, fields):
    table = localrun.Table(data=[["p", 1], ["q", 2]], columns=["a", "b"])
    localrun.log({"c": make(table)})
    body, spec = logged_chart(run, "c")
    assert body["data"] == [["p", 1], ["q", 2]]
    assert spec["vega_spec_name"] == preset and spec["fields"] == fields


def test_line_series(run):
    localrun.log(
        {
            "ls": localrun.plot.line_series(
                xs=[0, 1, 2], ys=[[1, 2, 3], [4, 5, 6]], keys=["a", "b"], title="t", xname="step"
            )
        }
    )
    body, spec = logged_chart(run, "ls")
    assert body["columns"] == ["step", "lineKey", "lineVal"]
    assert body["data"] == [
        [0, "a", 1],
        [1, "a", 2],
        [2, "a", 3],
        [0, "b", 4],
        [1, "b", 5],
        [2, "b", 6],
    ]
    assert (
        spec["vega_spec_name"] == "wandb/lineseries/v0" and spec["string_fields"]["xname"] == "step"
    )


def test_pr_curve_as_wandb_computes_it(run):
    # Worked by hand from wandb's pr_curve (scikit-learn's precision_recall_curve, the best
    # precision at each recall or above, interp_size recalls from 1 to 0): issue 14.
    y = [1, 0, 1, 1, 0]
    localrun.log(
        {"pr": localrun.plot.pr_curve(y, np.array([0.9, 0.8, 0.7, 0.6, 0.5]), interp_size=5)}
    )
    body, spec = logged_chart(run, "pr")
    assert spec["vega_spec_name"] == "wandb/area-under-curve/v0"
    assert spec["fields"] == {"x": "recall", "y": "precision", "class": "class"}
    assert body["columns"] == ["class", "precision", "recall"]
    assert body["data"] == [
        [0, 0.5, 1.0],
        [0, 0.5, 0.75],
        [0, 1.0, 0.5],
        [0, 1.0, 0.25],
        [0, 1.0, 0.0],
        [1, 0.75, 1.0],
        [1, 0.75, 0.75],
        [1, 0.75, 0.5],
        [1, 1.0, 0.25],
        [1, 1.0, 0.0],
    ]


def test_roc_curve_as_wandb_computes_it(run):
    # scikit-learn's roc_curve (from (0, 0), only the points where the curve turns), rounded
    # to 3 decimals; the class column holds the classes themselves (ints), as wandb's.
    y = [1, 0, 1, 1, 0]
    localrun.log(
        {
            "roc": localrun.plot.roc_curve(
                y, np.array([0.9, 0.8, 0.7, 0.6, 0.5]), classes_to_plot=[1]
            )
        }
    )
    body, spec = logged_chart(run, "roc")
    assert spec["fields"] == {"x": "fpr", "y": "tpr", "class": "class"}
    assert body["columns"] == ["class", "fpr", "tpr"]
    assert body["data"] == [
        [1, 0.0, 0.0],
        [1, 0.0, 0.333],
        [1, 0.5, 0.333],
        [1, 0.5, 1.0],
        [1, 1.0, 1.0],
    ]


def _wandb_pr_rows(y, probas, labels, interp_size):
    """wandb's own pr_curve computation (scikit-learn), to compare with on random data."""
    metrics = pytest.importorskip("sklearn.metrics")
    classes = np.unique(y)
    recalls = np.linspace(0, 1, interp_size)[::-1]
    rows = []
    for i, c in enumerate(classes):
        p, r, _ = metrics.precision_recall_curve(y, probas[:, i], pos_label=c)
        p = np.maximum.accumulate(p)[::-1]
        r = r[::-1]
        at = p[np.searchsorted(r, recalls, side="left")]
        rows += [
            [labels[c], pp, rr]
            for pp, rr in zip(np.round(at, 3), np.round(recalls, 3), strict=True)
        ]
    return rows


def _wandb_roc_rows(y, probas):
    metrics = pytest.importorskip("sklearn.metrics")
    rows = []
    for i, c in enumerate(np.unique(y)):
        f, t, _ = metrics.roc_curve(y, probas[..., i], pos_label=c)
        rows += [[int(c), ff, tt] for ff, tt in zip(np.round(f, 3), np.round(t, 3), strict=True)]
    return rows


def test_pr_and_roc_curves_match_scikit_learn_as_wandb_uses_it(run):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 80)
    probas = rng.random((80, 3)).round(2)  # ties on purpose
    labels = ["cat", "dog", "bird"]
    expected_pr = _wandb_pr_rows(y, probas, labels, 21)
    expected_roc = _wandb_roc_rows(y, probas)
    localrun.log(
        {
            "pr": localrun.plot.pr_curve(y, probas, labels=labels),
            "roc": localrun.plot.roc_curve(y, probas),
        }
    )
    pr, _ = logged_chart(run, "pr")
    roc, _ = logged_chart(run, "roc")
    assert [r[0] for r in roc["data"]] == [r[0] for r in expected_roc]
    np.testing.assert_allclose([r[1:] for r in roc["data"]], [r[1:] for r in expected_roc])
    np.testing.assert_allclose(
        [r[1:] for r in pr["data"]], [[float(a), float(b)] for _, a, b in expected_pr]
    )
    assert [r[0] for r in pr["data"]] == [r[0] for r in expected_pr]


def test_pr_curve_plots_the_classes_asked_for(run):
    rng = np.random.default_rng(1)
    localrun.log(
        {
            "pr": localrun.plot.pr_curve(
                rng.integers(0, 2, 500), rng.random((500, 2)), classes_to_plot=[1]
            )
        }
    )
    body, _ = logged_chart(run, "pr")
    assert len(body["data"]) == 21 and {row[0] for row in body["data"]} == {1}
    assert [row[2] for row in body["data"]][:2] == [1.0, 0.95]  # recalls from 1 down to 0
    assert body["data"][-1][2] == 0.0


def test_confusion_matrix_counts(run):
    y = [0, 1, 2, 2, 1, 0, 2]
    preds = [0, 2, 2, 2, 1, 1, 0]
    localrun.log(
        {"cm": localrun.plot.confusion_matrix(y_true=y, preds=preds, class_names=["a", "b", "c"])}
    )
    body, spec = logged_chart(run, "cm")
    assert spec["vega_spec_name"] == "wandb/confusion_matrix/v1"
    counts = {(a, p): n for a, p, n in body["data"]}
    assert len(counts) == 9
    for a, p in zip("abc", "abc", strict=True):
        expected = sum(1 for t, q in zip(y, preds, strict=True) if "abc"[t] == a and "abc"[q] == p)
        assert counts[(a, p)] == expected
    assert counts[("c", "a")] == 1 and counts[("b", "c")] == 1


def test_confusion_matrix_from_probs(run):
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    localrun.log({"cm": localrun.plot.confusion_matrix(probs=probs, y_true=[0, 1, 1])})
    body, _ = logged_chart(run, "cm")
    assert body["data"] == [
        ["Class_1", "Class_1", 1.0],
        ["Class_1", "Class_2", 0.0],
        ["Class_2", "Class_1", 1.0],
        ["Class_2", "Class_2", 1.0],
    ]


def test_confusion_matrix_without_names_has_the_classes_that_occur(run):
    # wandb: the distinct ids of y_true and preds, in order, named Class_1...; 3 classes
    # here (ids 0, 5, 48), so 9 rows, not 49 (issue 14).
    localrun.log({"cm": localrun.plot.confusion_matrix(y_true=[0, 5, 48, 5], preds=[0, 48, 48, 5])})
    body, _ = logged_chart(run, "cm")
    assert len(body["data"]) == 9
    counts = {(a, p): n for a, p, n in body["data"]}
    assert counts[("Class_2", "Class_3")] == 1.0 and counts[("Class_2", "Class_2")] == 1.0
    assert counts[("Class_3", "Class_3")] == 1.0 and counts[("Class_1", "Class_1")] == 1.0
    assert sum(counts.values()) == 4


def test_plot_table_custom_preset(run):
    table = localrun.Table(data=[[1, 2.0]], columns=["step", "height"])
    chart = localrun.plot_table(
        vega_spec_name="carey/new_chart",
        data_table=table,
        fields={"x": "step", "value": "height"},
        string_fields={"title": "h"},
    )
    localrun.log({"custom": chart, "loss": 0.5})
    body, spec = logged_chart(run, "custom")
    assert spec["vega_spec_name"] == "carey/new_chart" and spec["fields"] == {
        "x": "step",
        "value": "height",
    }
    assert export(run)[0]["loss"] == 0.5


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: localrun.plot.line(localrun.Table(columns=["x"]), "x", "nope"),
            MediaError,
            "'nope'",
        ),
        (lambda: localrun.plot.line([[1, 2]], "x", "y"), MediaTypeError, "localrun.Table"),
        (lambda: localrun.plot.pr_curve([0, 1], [[0.5, 0.5]]), MediaError, "shape"),
        (
            lambda: localrun.plot.pr_curve([0, 1, 2], np.full((3, 2), 0.5)),
            MediaError,
            "3 classes but y_probas has only 2 columns",
        ),
        (
            lambda: localrun.plot.pr_curve([0, 1], [[0.5, 0.5], [0.5, 0.5]], labels=["a"]),
            MediaError,
            "class 1 has no label",
        ),
        (lambda: localrun.plot.confusion_matrix(y_true=[0]), MediaError, "exactly one"),
        (lambda: localrun.plot.line_series([0, 1], [[1]]), MediaError, "2 x values"),
    ],
)
def test_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_a_chart_that_fails_to_write_writes_no_chart_record(run):
    table = localrun.Table(columns=["x", "y"], data=[[1, 2]])
    with pytest.raises(TypeError):
        localrun.log({"c": localrun.plot.line(table, "x", "y"), "bad": object()})
    localrun.log({"ok": 1})
    run.finish(quiet=True)
    assert show_json(run)["charts"] == {}


def test_class_names_in_y_true(run):
    names = ["cat", "dog"]
    y = ["dog", "cat", "dog"]
    localrun.log(
        {
            "cm": localrun.plot.confusion_matrix(
                y_true=y, preds=["dog", "dog", "cat"], class_names=names
            ),
            "pr": localrun.plot.pr_curve(y, [[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]], labels=names),
        }
    )
    body, _ = logged_chart(run, "cm")
    assert {(a, p): n for a, p, n in body["data"]} == {
        ("cat", "cat"): 0,
        ("cat", "dog"): 1,
        ("dog", "cat"): 1,
        ("dog", "dog"): 1,
    }
    with pytest.raises(MediaError, match="bird"):
        localrun.plot.confusion_matrix(y_true=["bird"], preds=["cat"], class_names=names)


def test_line_series_default_keys_and_string_x_values(run):
    # wandb: keys default to line_0, line_1...; a shared x list may hold strings (issue 14).
    localrun.log({"ls": localrun.plot.line_series(xs=["a", "b"], ys=[[1, 2], [3, 4]])})
    body, _ = logged_chart(run, "ls")
    assert body["data"] == [
        ["a", "line_0", 1],
        ["b", "line_0", 2],
        ["a", "line_1", 3],
        ["b", "line_1", 4],
    ]
