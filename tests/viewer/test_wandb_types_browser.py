"""Issue 14's values in a real browser: a list of Object3D (one object3D value) drawn with a
chooser, an INCREMENTAL table read as all its increments, a boxes2D file drawn over its image,
and the types the viewer does not draw (plotly, graph) listed as their JSON."""

from __future__ import annotations

import os

import numpy as np
import pytest

import localrun

from .conftest import Ui
from .test_browser import Page, browser, wait_js  # noqa: F401  (browser: the module's fixture)


def wandb_types_run(root: str) -> None:
    run = localrun.init(dir=root, project="demo", id="types", settings={"quiet": True})
    rng = np.random.default_rng(0)
    table = localrun.Table(columns=["n", "word"], data=[[1, "one"]], log_mode="INCREMENTAL")
    run.log({"inc": table})
    table.add_data(2, "two")
    table.add_data(3, "three")
    box = {"position": {"minX": 0.25, "maxX": 0.75, "minY": 0.25, "maxY": 0.75}, "class_id": 1}
    graph = localrun.Graph()
    graph.add_node(localrun.Node("a", "A"))
    run.log(
        {
            "inc": table,
            "objs": [
                localrun.Object3D(rng.normal(0, 1, (200, 3))),
                localrun.Object3D(rng.normal(0, 1, (300, 3))),
            ],
            "boxed": localrun.Image(
                np.zeros((16, 16, 3), np.uint8),
                boxes={"found": {"box_data": [box], "class_labels": {1: "thing"}}},
            ),
            "plotly": localrun.Plotly({"data": [{"y": [1, 3, 2]}], "layout": {}}),
            "graph": graph,
        }
    )
    run.finish()


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("viewer-types") / "runs")
    old = os.environ.get("LOCALRUN_SILENT")
    os.environ["LOCALRUN_SILENT"] = "1"
    try:
        wandb_types_run(root)
    finally:
        if old is None:
            os.environ.pop("LOCALRUN_SILENT", None)
        else:
            os.environ["LOCALRUN_SILENT"] = old
    server = Ui(root)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(browser, ui):  # noqa: F811
    p = Page(browser, ui.url)
    p.goto("/runs/demo/types")
    p.page.wait_for_selector(".media-panel")
    yield p
    assert p.problems == []
    p.close()


def panel(pg, key):
    loc = pg.locator(f'.media-panel[data-key="{key}"]')
    loc.scroll_into_view_if_needed()
    return loc


def test_a_list_of_object3d_is_drawn_with_a_chooser(page):
    p = panel(page.page, "objs")
    p.locator("canvas.three[data-drawn]").wait_for()
    assert p.locator(".toolbar button").all_inner_texts() == ["1", "2"]
    assert p.locator(".three-info").inner_text() == "200 points"
    p.locator(".toolbar button", has_text="2").click()
    wait_js(
        page.page,
        "document.querySelector('.media-panel[data-key=\"objs\"] .three-info').textContent === '300 points'",
    )


def test_an_incremental_table_shows_every_increment(page):
    p = panel(page.page, "inc")
    p.locator("tbody tr").first.wait_for()
    wait_js(
        page.page,
        "document.querySelectorAll('.media-panel[data-key=\"inc\"] tbody tr').length === 3",
    )
    assert [r.locator("td").first.inner_text() for r in p.locator("tbody tr").all()] == [
        "1",
        "2",
        "3",
    ]


def test_boxes_are_read_from_their_boxes2d_file(page):
    p = panel(page.page, "boxed")
    p.locator(".box").first.wait_for()
    assert p.locator(".box-label").all_inner_texts() == ["thing"]


@pytest.mark.parametrize("key, kind", [("plotly", "plotly-file"), ("graph", "graph-file")])
def test_types_not_drawn_are_listed(page, key, kind):
    p = panel(page.page, key)
    p.locator("pre.value").wait_for()
    assert f"{kind} values are not drawn yet" in p.inner_text()
    assert f'"_type": "{kind}"' in p.locator("pre.value").inner_text()
