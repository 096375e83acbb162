"""Phase-2 media drawn in a real browser (Playwright driving Debian's Chromium, as test_browser.py):
masks and boxes on images, media in table cells, Object3D and Molecule in 3-D, the plot.*
presets, a matplotlib figure. Pixels are read from screenshots of the elements (what a person
sees, whatever draws it: a 2-D canvas, WebGL, or HTML). One browser and one run for the module.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from .conftest import Ui
from .runs import media2_run
from .test_browser import Page, browser, wait_js  # noqa: F401  (browser: the module's fixture)

Image = pytest.importorskip("PIL.Image")

BACKGROUND_3D = (0xF4, 0xF5, 0xF7)


@pytest.fixture(scope="module")
def ui2(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("viewer-media") / "runs")
    old = os.environ.get("LOCALRUN_SILENT")
    os.environ["LOCALRUN_SILENT"] = "1"
    try:
        media2_run(root)
    finally:
        if old is None:
            os.environ.pop("LOCALRUN_SILENT", None)
        else:
            os.environ["LOCALRUN_SILENT"] = old
    server = Ui(root)
    yield server
    server.stop()


class StrictPage(Page):
    """A Page on which any console error (not only a CSP one) is a problem too."""

    def __init__(self, context, base):
        super().__init__(context, base)
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console error: {m.text}")
                if m.type == "error" and "Content Security Policy" not in m.text
                else None
            ),
        )


@pytest.fixture(scope="module")
def media_page(browser, ui2):  # noqa: F811
    """The media2 run's page, opened once for the module (its 3-D views and charts are costly)."""
    p = StrictPage(browser, ui2.url)
    p.goto("/runs/demo/media2")
    p.page.wait_for_selector(".media-panel")
    yield p
    p.close()


@pytest.fixture(autouse=True)
def no_problems(request):
    """After each test on the shared page: no page error, console error or CSP violation."""
    yield
    if "media_page" in request.fixturenames:
        p = request.getfixturevalue("media_page")
        problems, p.problems[:] = list(p.problems), []
        assert problems == []


def panel(pg, key):
    loc = pg.locator(f'.media-panel[data-key="{key}"]')
    loc.scroll_into_view_if_needed()
    return loc


def shot(locator) -> np.ndarray:
    """A screenshot of the element: an H x W x 3 array of its pixels (as ints)."""
    img = Image.open(io.BytesIO(locator.screenshot())).convert("RGB")
    return np.asarray(img).astype(np.int32)


def count(img: np.ndarray, test) -> int:
    return int(test(img).sum())


def changed(a: np.ndarray, b: np.ndarray) -> int:
    return int((a != b).any(axis=2).sum())


def differs_from(bg, by=40):
    return lambda img: np.abs(img - np.array(bg)).sum(axis=2) > by


def matrix(*cases):
    """The first case runs in the default suite; the others are the browser matrix (--slow)."""
    return [cases[0], *(pytest.param(*c, marks=pytest.mark.slow) for c in cases[1:])]


def reddish(img):
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return (r > 150) & (g < 90) & (b < 90)


def colourful(img):
    """Marks in colour, not grey axes, text or background."""
    return img.max(axis=2) - img.min(axis=2) > 60


def test_masks_are_drawn_over_images_and_class_toggles_change_their_pixels(media_page):
    pg = media_page.page
    one = panel(pg, "seg/one")
    one.locator("canvas.mask-layer[data-ready]").wait_for()
    opaque = """(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    mask = one.locator("canvas.mask-layer")
    assert mask.evaluate("c => [c.width, c.height]") == [48, 32]
    assert mask.evaluate(opaque) == 12 * 12 + 8 * 48  # class 1 (a square), class 2 (a bar)
    layers = one.locator(".layers")
    before = shot(layers)
    one.locator("[data-toggle='m|predictions|1'] input").uncheck()
    assert mask.evaluate(opaque) == 8 * 48
    after = shot(layers)
    assert changed(before, after) > 0.05 * before.shape[0] * before.shape[1]  # the square is gone
    one.locator("[data-toggle='m|predictions'] input").uncheck()
    assert mask.evaluate(opaque) == 0
    one.locator("[data-toggle='m|predictions'] input").check()
    one.locator("[data-toggle='m|predictions|1'] input").check()
    assert mask.evaluate(opaque) == 12 * 12 + 8 * 48
    labels = one.locator("fieldset[data-kind=mask] > .class-toggle").all_inner_texts()
    assert [t.strip() for t in labels] == ["square", "bar"]
    # A 16-bit mask (class id 300) is decoded exactly: the right half, labelled.
    wide = panel(pg, "seg/wide")
    wide.locator("canvas.mask-layer[data-ready]").wait_for()
    assert wide.locator("canvas.mask-layer").evaluate(opaque) == 32
    assert "three hundred" in wide.locator(".overlay-controls").inner_text()
    # In a grid, the toggles apply to every image.
    grid = panel(pg, "seg/grid")
    wait_js(
        pg,
        "document.querySelectorAll('.media-panel[data-key=\"seg/grid\"] canvas.mask-layer[data-ready]').length === 3",
    )
    grid.locator("[data-toggle='m|predictions|2'] input").uncheck()
    counts = grid.locator("canvas.mask-layer").evaluate_all(
        f"cs => cs.map({opaque.replace(chr(10), ' ')})"
    )
    assert counts == [12 * 12] * 3
    grid.locator("[data-toggle='m|predictions|2'] input").check()


@pytest.mark.slow
def test_boxes_have_labels_and_the_score_threshold_hides_them(media_page):
    pg = media_page.page
    one = panel(pg, "seg/one")
    one.locator(".box").first.wait_for()
    visible = lambda loc: loc.locator(".box:not([hidden])").count()  # noqa: E731
    assert one.locator(".box-label").all_inner_texts() == ["square (conf 0.9)", "a bar (conf 0.3)"]
    # The pixel-domain box (middle 24,24, 40 x 10 of a 48 x 32 image) sits where it says.
    img = one.locator(".layers").bounding_box()
    bar = one.locator(".box[data-class='2']").bounding_box()
    assert bar["x"] - img["x"] == pytest.approx(img["width"] * 4 / 48, abs=1.5)
    assert bar["width"] == pytest.approx(img["width"] * 40 / 48, abs=1.5)
    assert bar["y"] - img["y"] == pytest.approx(img["height"] * 19 / 32, abs=1.5)
    assert visible(one) == 2
    slider = one.locator(".score-filter[data-score=conf] input")
    slider.fill("0.5")
    assert visible(one) == 1 and one.locator(".box:not([hidden]) .box-label").inner_text() == (
        "square (conf 0.9)"
    )
    slider.fill("0.9")  # the slider's top: the best box stays
    assert visible(one) == 1
    slider.fill("0.3")
    assert visible(one) == 2
    one.locator("[data-toggle='b|predictions|1'] input").uncheck()
    assert visible(one) == 1
    one.locator("[data-toggle='b|predictions|1'] input").check()
    grid = panel(pg, "seg/grid")
    grid.locator(".box").first.wait_for()
    assert visible(grid) == 6
    grid.locator(".score-filter[data-score=conf] input").fill("0.5")
    assert visible(grid) == 3


def test_table_cells_draw_images_players_histograms_and_open_3d_views(media_page):
    pg = media_page.page
    cells = panel(pg, "cells")
    cells.locator("td.media-cell img").first.wait_for()
    assert cells.locator("tbody tr").count() == 3
    wait_js(
        pg,
        "[...document.querySelectorAll('.media-panel[data-key=\"cells\"] td.media-cell img')].every(i => i.complete && i.naturalWidth === 48)",
    )
    assert cells.locator("td.media-cell img").count() == 3
    assert cells.locator("td.media-cell .box").count() == 6  # boxes drawn on the thumbnails
    wait_js(
        pg,
        "document.querySelectorAll('.media-panel[data-key=\"cells\"] canvas.mask-layer[data-ready]').length === 3",
    )
    assert cells.locator("audio").count() == 3
    hist = shot(cells.locator("canvas.cell-hist").first)
    assert count(hist, lambda im: (im[..., 2] > 150) & (im[..., 0] < 90)) > 50  # blue bars
    cells.locator("button.open-3d:has-text('view 3-D')").nth(1).click()
    canvas = cells.locator(".cell-viewer canvas.three[data-drawn]")
    canvas.wait_for()
    assert "100 points" in cells.locator(".cell-viewer .three-info").inner_text()
    assert count(shot(canvas), differs_from(BACKGROUND_3D)) > 100
    cells.locator("button.open-3d:has-text('view molecule')").first.click()
    cells.locator(".cell-viewer .mol-stage[data-drawn]").wait_for()
    assert count(shot(cells.locator(".cell-viewer .mol-stage")), differs_from(BACKGROUND_3D)) > 500
    cells.locator(".cell-viewer button:has-text('close')").click()
    assert cells.locator(".cell-viewer").is_hidden()
    # Filtering, in one column, and sorting still work with media cells.
    cells.locator("select[aria-label='filter in column']").select_option(label="note")
    cells.locator("input[type=search]").fill("row 2")
    assert cells.locator("tbody tr").count() == 1
    cells.locator("input[type=search]").fill("")
    cells.locator("th:has-text('id')").click()
    cells.locator("th:has-text('id')").click()
    assert cells.locator("tbody tr").first.locator("td").first.inner_text() == "2"


@pytest.mark.parametrize(
    "key, what",
    matrix(
        ("cloud/scene", "lidar/beta: 500 points, 1 boxes, 1 vectors"),
        ("cloud/xyz", "400 points"),
        ("cloud/category", "300 points"),
        ("cloud/rgb", "300 points"),
        ("model/obj", "obj model"),
        ("model/glb", "glb model"),
        ("model/gltf", "gltf model"),
        ("model/stl", "stl model"),
    ),
)
def test_object3d_values_are_drawn_in_3d(media_page, key, what):
    pg = media_page.page
    p = panel(pg, key)
    canvas = p.locator("canvas.three[data-drawn]")
    canvas.wait_for()
    assert p.locator(".three-info").inner_text() == what
    img = shot(canvas)
    drawn = count(img, differs_from(BACKGROUND_3D))
    assert drawn > 300, drawn
    if key == "cloud/rgb":  # every point is (230, 20, 20): red, or red blended into the grey
        assert count(img, reddish) > 0.3 * drawn
        not_red = lambda im: (im[..., 1] > im[..., 0] + 20) | (im[..., 2] > im[..., 0] + 20)  # noqa: E731
        assert count(img, not_red) == 0
    if key == "cloud/scene":  # the box's red edges, its label beside it
        assert count(img, reddish) > 30
        assert p.locator(".three-legend li").inner_text() == "car 0.8"
    if key == "model/obj":  # orbit controls: a drag turns the view
        box = canvas.bounding_box()
        pg.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        pg.mouse.down()
        pg.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2, steps=6)
        pg.mouse.up()
        turned = shot(canvas)
        assert changed(img, turned) > 500


@pytest.mark.parametrize(
    "key, atoms", matrix(("mol/pdb", "5 atoms (pdb) · glycine"), ("mol/sdf", "5 atoms (sdf)"))
)
def test_molecules_are_drawn_in_3d(media_page, key, atoms):
    pg = media_page.page
    p = panel(pg, key)
    stage = p.locator(".mol-stage[data-drawn]")
    stage.wait_for()
    assert p.locator(".mol-info").inner_text() == atoms
    assert count(shot(stage), differs_from(BACKGROUND_3D)) > 500


PRESETS = ["line", "scatter", "bar", "histogram", "series", "pr", "roc", "confusion"]


@pytest.mark.parametrize(
    "name", [PRESETS[0], *(pytest.param(n, marks=pytest.mark.slow) for n in PRESETS[1:])]
)
def test_plot_presets_are_drawn_with_vega(media_page, name):
    pg = media_page.page
    p = panel(pg, f"plots/{name}")
    assert p.get_attribute("data-type") == "chart"
    canvas = p.locator(".vega-stage canvas")
    canvas.wait_for()
    wait_js(
        pg,
        f"document.querySelector('.media-panel[data-key=\"plots/{name}\"] .vega-stage canvas').width > 100",
    )
    img = shot(canvas)
    coloured = count(img, colourful)
    assert count(img, differs_from((255, 255, 255))) > 500 and coloured > 100, coloured
    assert "cannot draw" not in p.inner_text()


@pytest.mark.slow
def test_a_custom_plot_table_preset_is_shown_as_its_table(media_page):
    p = panel(media_page.page, "plots/custom")
    p.locator("table.data tbody tr").first.wait_for()
    assert "me/my-chart/v0 is not one of wandb's built-in presets" in p.inner_text()


@pytest.mark.slow
def test_a_matplotlib_figure_shows_as_an_image(media_page):
    pg = media_page.page
    p = panel(pg, "figure")
    p.locator("img").wait_for()
    wait_js(
        pg, "document.querySelector('.media-panel[data-key=\"figure\"] img').naturalWidth === 180"
    )
    assert count(shot(p.locator("img")), reddish) > 200  # the red line


@pytest.mark.slow
def test_the_run_page_loads_no_3d_or_chart_code_until_a_value_needs_it(browser, ui2):  # noqa: F811
    page = StrictPage(browser, ui2.url)
    try:
        scripts = []
        page.page.on("request", lambda r: scripts.append(r.url) if r.url.endswith(".js") else None)
        page.page.set_viewport_size({"width": 1280, "height": 200})  # no media panel in view
        pg = page.goto("/runs/demo/media2")
        pg.wait_for_selector(".media-panel")
        pg.wait_for_load_state("networkidle")
        names = [u.rsplit("/", 1)[1] for u in scripts]
        assert len(names) == 1 and names[0].startswith("index-"), names
        panel(pg, "cloud/xyz").locator("canvas.three[data-drawn]").wait_for()
        assert any("three-view" in u for u in scripts)
        assert not any("vega-chart" in u or "3Dmol" in u for u in scripts)
    finally:
        page.close()


@pytest.mark.slow
def test_past_eight_3d_views_the_least_recent_is_kept_as_a_picture_until_clicked(media_page):
    pg = media_page.page
    keys = ["cloud/xyz", "cloud/category", "cloud/rgb", "cloud/scene"]
    keys += ["model/glb", "model/gltf", "model/obj", "model/stl"]
    for key in keys:
        panel(pg, key).locator("canvas.three[data-drawn], img.three-parked").first.wait_for()
    assert pg.locator("canvas.three").count() == 8 and pg.locator("img.three-parked").count() == 0
    cells = panel(pg, "cells")
    cells.locator("button.open-3d:has-text('view 3-D')").first.click()
    cells.locator(".cell-viewer canvas.three[data-drawn]").wait_for()
    assert pg.locator("canvas.three").count() == 8  # a ninth view: the least recent is parked
    parked = pg.locator("img.three-parked")
    assert parked.count() == 1
    key = parked.evaluate("img => img.closest('.media-panel').dataset.key")
    assert count(shot(parked), differs_from(BACKGROUND_3D)) > 300  # its last picture
    parked.click()
    panel(pg, key).locator("canvas.three[data-drawn]").wait_for()
    assert pg.locator("canvas.three").count() == 8 and pg.locator("img.three-parked").count() == 1
    assert count(shot(panel(pg, key).locator("canvas.three")), differs_from(BACKGROUND_3D)) > 300
    cells.locator(".cell-viewer button:has-text('close')").click()
