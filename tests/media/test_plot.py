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


def brute_force_curve(is_pos, scores):
    """(recall, precision, fpr, tpr) at each distinct threshold, highest first, by counting."""
    out = []
    for t in sorted(set(scores.tolist()), reverse=True):
        pred = scores >= t
        tp = int((pred & is_pos).sum())
        fp = int((pred & ~is_pos).sum())
        out.append((tp / is_pos.sum(), tp / (tp + fp), fp / (~is_pos).sum(), tp / is_pos.sum()))
    return out


def test_pr_curve_matches_counting(run):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    probas = rng.random((60, 3)).round(2)  # ties on purpose
    localrun.log(
        {"pr": localrun.plot.pr_curve(y, probas, labels=["cat", "dog", "bird"], interp_size=1000)}
    )
    body, spec = logged_chart(run, "pr")
    assert spec["vega_spec_name"] == "wandb/area-under-curve/v0"
    assert spec["fields"] == {"x": "recall", "y": "precision", "class": "class"}
    for c, name in enumerate(["cat", "dog", "bird"]):
        got = [v for cls, r, p in body["data"] if cls == name for v in (r, p)]
        expected = [0.0, 1.0] + [
            v for r, p, _, _ in brute_force_curve(y == c, probas[:, c]) for v in (r, p)
        ]
        assert got == pytest.approx(expected, abs=1e-6)


def test_pr_curve_keeps_at_most_interp_size_points_per_class(run):
    rng = np.random.default_rng(1)
    localrun.log(
        {
            "pr": localrun.plot.pr_curve(
                rng.integers(0, 2, 500), rng.random((500, 2)), classes_to_plot=[1]
            )
        }
    )
    body, _ = logged_chart(run, "pr")
    assert len(body["data"]) == 21 and {row[0] for row in body["data"]} == {"1"}
    assert body["data"][-1][1] == 1.0  # the curve ends at recall 1


def test_roc_curve_matches_counting(run):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 40)
    p1 = rng.random(40).round(1)
    localrun.log({"roc": localrun.plot.roc_curve(y, np.stack([1 - p1, p1], axis=1))})
    body, spec = logged_chart(run, "roc")
    assert spec["fields"] == {"x": "fpr", "y": "tpr", "class": "class"}
    got = [v for cls, f, t in body["data"] if cls == "1" for v in (f, t)]
    expected = [0.0, 0.0] + [v for _, _, f, t in brute_force_curve(y == 1, p1) for v in (f, t)]
    assert got == pytest.approx(expected, abs=1e-6)


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
        ["Class 1", "Class 1", 1],
        ["Class 1", "Class 2", 0],
        ["Class 2", "Class 1", 1],
        ["Class 2", "Class 2", 1],
    ]


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
        (lambda: localrun.plot.pr_curve([0, 3], [[0.5, 0.5], [0.5, 0.5]]), MediaError, "class 3"),
        (
            lambda: localrun.plot.pr_curve([0, 1], [[0.5, 0.5], [0.5, 0.5]], labels=["a"]),
            MediaError,
            "1 labels",
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
