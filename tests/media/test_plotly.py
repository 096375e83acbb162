"""Plotly: a figure (or its dict, or a matplotlib figure) stored as wandb's plotly-file."""

from __future__ import annotations

import json

import numpy as np
import pytest

import localrun

from .readback import file_of, last, show_json


def test_a_dict_figure_needs_no_plotly(run):
    fig = {
        "data": [{"type": "scatter", "x": np.arange(3), "y": [1, 4, 9]}],
        "layout": {"title": "t"},
    }
    localrun.log({"chart": localrun.Plotly(fig)})
    value = last(run, "chart")
    assert value["_type"] == "plotly-file" and value["path"].endswith(".plotly.json")
    assert json.loads(file_of(run, value).read_text()) == {
        "data": [{"type": "scatter", "x": [0, 1, 2], "y": [1, 4, 9]}],
        "layout": {"title": "t"},
    }


def test_a_plotly_figure_and_the_summary(run):
    go = pytest.importorskip("plotly.graph_objects")
    fig = go.Figure(go.Bar(x=["a", "b"], y=[2, 3]))
    run.summary["bars"] = localrun.Plotly(fig)
    run.finish(quiet=True)
    value = show_json(run)["summary"]["bars"]
    body = json.loads(file_of(run, value).read_text())
    assert body["data"][0]["type"] == "bar" and body["data"][0]["y"] == [2, 3]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # plotly's converter, on new matplotlib
def test_matplotlib_figures(run):
    pytest.importorskip("plotly")
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, axes = plt.subplots(2)
    axes[0].plot([1, 2, 3])  # the other axes are empty: still converted
    assert isinstance(localrun.Plotly.make_plot_media(fig), localrun.Plotly)
    localrun.log({"mpl": localrun.Plotly(fig)})
    assert json.loads(file_of(run, last(run, "mpl")).read_text())["data"]
    with_image, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="localrun.Image"):
        localrun.Plotly(with_image)
    assert isinstance(localrun.Plotly.make_plot_media(with_image), localrun.Image)
    plt.close("all")


def test_bad_input():
    with pytest.raises(ValueError, match="plotly figure"):
        localrun.Plotly([1, 2, 3])
