"""Bokeh: a bokeh model or document stored as wandb's bokeh-file (bokeh is optional)."""

from __future__ import annotations

import json

import pytest

import localrun

from .readback import file_of, last


def test_a_bokeh_figure(run, tmp_path):
    plotting = pytest.importorskip("bokeh.plotting")
    p = plotting.figure(title="simple line example", x_axis_label="x", y_axis_label="y")
    p.line([1, 2, 3, 4, 5], [6, 7, 2, 4, 5], legend_label="Temp.", line_width=2)
    plot = localrun.Bokeh(p)
    # A bokeh JSON file is stored as it is.
    (tmp_path / "plot.bokeh.json").write_bytes(plot._json)
    localrun.log({"bokeh": plot, "again": localrun.Bokeh(str(tmp_path / "plot.bokeh.json"))})
    value = last(run, "bokeh")
    assert value["_type"] == "bokeh-file" and value["path"].endswith(".bokeh.json")
    body = json.loads(file_of(run, value).read_text())
    assert "roots" in body
    assert last(run, "again")["sha256"] == value["sha256"]


def test_bad_input():
    with pytest.raises(TypeError, match="bokeh"):
        localrun.Bokeh(object())
