"""The viewer in a real browser: Playwright driving Debian's Chromium (launched by its path).

One browser for the module; each test gets a fresh page. Skipped, saying why, when Chromium or
Playwright is missing (scripts/test.sh installs both).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from . import runs as made
from .conftest import Ui
from .runs import XSS, XSS_SCRIPT

CHROMIUM = os.environ.get("LOCALRUN_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]

if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install it (apt-get install chromium) to run the browser tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[test]'"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = str(tmp_path_factory.mktemp("chromium-profile"))
    with sync_api.sync_playwright() as pw:
        # A persistent context on a fresh profile folder: nothing from another run of Chromium.
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


class Page:
    """A page that records what must never happen: dialogs, page errors, CSP violations."""

    def __init__(self, context, base: str):
        self.base = base.rstrip("/")
        self.page = context.new_page()
        self.page.set_default_timeout(20_000)
        self.problems: list[str] = []
        self.page.on(
            "dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss())
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console: {m.text}")
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )

    def goto(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def close(self):
        self.page.close()
        assert self.problems == []


@pytest.fixture
def page(browser, ui):
    p = Page(browser, ui.url)
    yield p
    p.close()


BLUE = "blue"  # PALETTE[0], #1f77b4
RED = "red"  # PALETTE[1], #d62728

# (Counted by DevTools' own evaluation: the page's CSP forbids eval and new Function, which
# is also why nothing here uses wait_for_function, whose predicates run through eval.)
COUNT_PIXELS = """([sel, color]) => {
  const canvas = document.querySelector(sel);
  if (!canvas || !canvas.width) return -1;
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
    if (a === 0) continue;
    if (color === 'blue' ? r < 90 && g > 90 && g < 150 && b > 150 : r > 180 && g < 80 && b < 80) n++;
  }
  return n;
}"""


def colored_pixels(pg, selector: str, color: str) -> int:
    return pg.evaluate(COUNT_PIXELS, [selector, color])


def wait_js(pg, expr: str, timeout_s: float = 10.0) -> None:
    """Poll a JavaScript expression until it is truthy."""
    end = time.monotonic() + timeout_s
    while not pg.evaluate(expr):
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for: {expr}")
        pg.wait_for_timeout(25)


def chart(key: str) -> str:
    return f'.chart[data-key="{key}"]'


def test_the_runs_page_shows_many_runs_a_hundred_at_a_time(browser, tmp_path):
    """250 runs: 100 rows a page, sorted and filtered over all of them."""
    import json as _json

    root = str(tmp_path / "many")
    one = made.scalar_run(root, "r000", rows=5)
    with open(os.path.join(one, "run.json")) as f:
        meta = _json.load(f)
    for i in range(1, 250):
        d = os.path.join(root, f"r{i:03d}")
        shutil.copytree(one, d)
        with open(os.path.join(d, "run.json"), "w") as f:
            _json.dump(
                {
                    **meta,
                    "id": f"r{i:03d}",
                    "name": f"run-{i:03d}",
                    "incarnation": f"{i:032x}",
                    "created_at": meta["created_at"] + i,
                },
                f,
            )
    server = Ui(root)
    p = Page(browser, server.url)
    try:
        pg = p.goto("/")
        wait_js(pg, "document.querySelectorAll('table.runs tbody tr').length === 100")
        assert "250 of 250 runs" in pg.inner_text(".count")
        assert pg.inner_text(".pager span") == "1–100 of 250"
        assert pg.locator("tr[data-run='demo/r249']").count() == 1  # newest first
        pg.click(".pager .next")
        pg.click(".pager .next")
        wait_js(pg, "document.querySelectorAll('table.runs tbody tr').length === 50")
        assert pg.inner_text(".pager span") == "201–250 of 250"
        assert pg.locator("tr[data-run='demo/r000']").count() == 1
        assert pg.locator(".pager .next").is_disabled()
        pg.fill("input.filter", "r12")  # ids r120 ... r129: back to the first page
        wait_js(pg, "document.querySelectorAll('table.runs tbody tr').length === 10")
        assert pg.locator(".pager button").count() == 0
    finally:
        p.close()
        server.stop()


def test_runs_page_lists_runs_and_filters_them(page):
    pg = page.goto("/")
    pg.wait_for_selector("table.runs tbody tr")
    assert pg.locator("table.runs tbody tr").count() == 5
    pg.fill("input.filter", "scalars2")
    assert pg.locator("table.runs tbody tr").count() == 1
    assert pg.locator("table.runs tbody tr a").inner_text() == "scalars2-name"
    pg.fill("input.filter", "")
    pg.select_option("select[aria-label=project]", "other")
    assert pg.locator("table.runs tbody tr").count() == 1
    pg.select_option("select[aria-label=project]", "")
    pg.select_option("select[aria-label=state]", "running")
    assert pg.locator("table.runs tbody tr").count() == 0
    pg.select_option("select[aria-label=state]", "finished")
    assert pg.locator("table.runs tbody tr").count() == 5
    # Sorting by name, then a config column chosen in the Columns picker.
    pg.click("th:has-text('name')")
    names = pg.locator("table.runs tbody td.col-name").all_inner_texts()
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    pg.click(".columns-picker summary")
    pg.check(".columns-list label:has-text('lr') input")
    assert pg.locator("table.runs thead th[title='config.lr']").count() == 1
    assert "0.02" in pg.locator("tr[data-run='demo/scalars2']").inner_text()


def test_run_page_draws_charts_in_sections_with_nan_and_inf_marked(page):
    pg = page.goto("/runs/demo/scalars")
    pg.wait_for_selector(chart("train/loss") + " canvas")
    sections = pg.locator("section.charts details.section").evaluate_all(
        "els => els.map(e => e.dataset.section)"
    )
    assert sections == ["", "train", "val"]
    wait_js(
        pg, "document.querySelector('.chart[data-key=\"train/loss\"]').dataset.points === '300'"
    )
    assert colored_pixels(pg, chart("train/loss") + " canvas", BLUE) > 50
    # NaN, +inf and -inf are drawn as marks; hovering a NaN names it.
    wait_js(pg, "document.querySelector('.chart[data-key=\"weird\"]').dataset.points === '300'")
    assert colored_pixels(pg, chart("weird") + " canvas", BLUE) > 50
    assert "1 dropped call" in pg.locator(".dropped summary").inner_text()
    assert "adam" in pg.locator(".overview").inner_text()
    # val/loss is drawn against its define_metric step metric (when it scrolls into view).
    pg.locator(chart("val/loss")).scroll_into_view_if_needed()
    pg.wait_for_selector(chart("val/loss") + " canvas")
    assert "epoch" in pg.locator(chart("val/loss") + " .u-legend").inner_text()


@pytest.mark.slow
def test_zooming_refetches_at_full_resolution_and_double_click_zooms_out(page):
    pg = page.goto("/runs/other/long")
    sel = chart("spike")
    wait_js(pg, f"document.querySelector('{sel}')?.dataset.count === '5000'")
    assert int(pg.get_attribute(sel, "data-points")) < 2100
    asked = []
    pg.on(
        "request",
        lambda r: asked.append(r.url) if "/series?" in r.url and "min=" in r.url else None,
    )
    over = pg.locator(sel + " .u-over")
    box = over.bounding_box()
    y = box["y"] + box["height"] / 2
    pg.mouse.move(box["x"] + box["width"] * 0.45, y)
    pg.mouse.down()
    pg.mouse.move(box["x"] + box["width"] * 0.55, y, steps=5)
    pg.mouse.up()
    wait_js(pg, f"Number(document.querySelector('{sel}').dataset.count) < 1000")
    assert asked
    zoomed = pg.get_attribute(sel, "data-points")
    assert zoomed == pg.get_attribute(sel, "data-count")  # full resolution: nothing left out
    over.dblclick()
    wait_js(pg, f"document.querySelector('{sel}').dataset.count === '5000'")


@pytest.mark.slow
def test_smoothing_and_log_scale_redraw_the_charts(page):
    pg = page.goto("/runs/demo/scalars")
    pg.wait_for_selector(chart("train/loss") + " canvas")
    pg.check("text=log scale >> input")
    pg.wait_for_selector(chart("train/loss") + " canvas")
    assert colored_pixels(pg, chart("train/loss") + " canvas", BLUE) > 50
    pg.locator("input[aria-label=smoothing]").fill("0.9")
    pg.locator("input[aria-label=smoothing]").dispatch_event("change")
    pg.wait_for_selector(chart("train/loss") + " .u-legend :text('(raw)')")
    pg.uncheck("text=log scale >> input")
    pg.locator("input[aria-label=smoothing]").fill("0")
    pg.locator("input[aria-label=smoothing]").dispatch_event("change")


def test_media_images_histograms_tables_audio_video_and_html(page):
    pg = page.goto("/runs/demo/media")

    def panel(key):
        loc = pg.locator(f'.media-panel[data-key="{key}"]')
        loc.scroll_into_view_if_needed()
        return loc

    one = panel("samples/one")
    one.locator("img").wait_for()
    wait_js(
        pg,
        "[...document.querySelectorAll('.media-panel[data-key=\"samples/one\"] img')].every(i => i.complete && i.naturalWidth > 0)",
    )
    assert one.locator("figcaption").inner_text() == "one at 2"
    one.locator("input[type=range]").fill("0")
    assert one.locator("figcaption").inner_text() == "one at 0"
    grid = panel("samples/grid")
    grid.locator("img").first.wait_for()
    assert grid.locator("img").count() == 4
    assert grid.locator("figcaption").all_inner_texts() == ["grid 0", "grid 1", "grid 2", "grid 3"]
    wait_js(
        pg,
        "[...document.querySelectorAll('.media-panel[data-key=\"samples/grid\"] img')].every(i => i.complete && i.naturalWidth === 16)",
    )

    hist = panel("weights")
    hist.locator("canvas.heat").wait_for()
    wait_js(
        pg, "document.querySelector('.media-panel[data-key=\"weights\"] .bars canvas') !== null"
    )
    assert colored_pixels(pg, '.media-panel[data-key="weights"] canvas.heat', BLUE) > 100
    assert colored_pixels(pg, '.media-panel[data-key="weights"] .bars canvas', BLUE) > 100

    table = panel("preds")
    table.locator("table.data tbody tr").first.wait_for()
    assert table.locator("tbody tr").count() == 25
    assert "rows 1–25 of 60" in table.inner_text()
    table.locator("button:has-text('next')").click()
    assert table.locator("tbody tr").first.locator("td").first.inner_text() == "25"
    table.locator("th:has-text('score')").click()
    table.locator("th:has-text('score')").click()  # descending: the NaN goes last either way
    assert table.locator("tbody tr").first.locator("td").nth(2).inner_text() in ("8", "NaN")
    table.locator("input[type=search]").fill("item 59")
    assert table.locator("tbody tr").count() == 1

    sound = panel("sound")
    sound.locator("audio").wait_for()
    state = sound.locator("audio").evaluate(
        """async (a) => { a.muted = true; await a.play();
           const end = Date.now() + 10000;  // until it plays (a deadline, not a fixed wait)
           while (!a.error && a.currentTime === 0 && Date.now() < end) await new Promise(r => setTimeout(r, 20));
           return {error: a.error && a.error.code, ready: a.readyState, t: a.currentTime, d: a.duration}; }"""
    )
    assert (
        state["error"] is None
        and state["ready"] >= 2
        and state["t"] > 0
        and state["d"] == pytest.approx(1.0, abs=0.05)
    )

    clip = panel("clip")
    clip.locator("video").wait_for()
    state = clip.locator("video").evaluate(
        """async (v) => { v.muted = true; await v.play();
           const end = Date.now() + 10000;  // until it plays (a deadline, not a fixed wait)
           while (!v.error && v.currentTime === 0 && Date.now() < end) await new Promise(r => setTimeout(r, 20));
           return {error: v.error && v.error.code, ready: v.readyState, w: v.videoWidth, t: v.currentTime}; }"""
    )
    assert state["error"] is None and state["ready"] >= 2 and state["w"] == 16 and state["t"] > 0

    html = panel("page")
    frame_el = html.locator("iframe")
    frame_el.wait_for()
    sandbox = frame_el.get_attribute("sandbox")
    assert sandbox == "allow-scripts" and "allow-same-origin" not in sandbox
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_selector("#inside")
    assert frame.inner_text("#inside") == "hello from an Html value"
    assert frame.evaluate("window.__html_ran") == 1  # its script ran, in its own origin
    assert (
        frame.evaluate(
            "(() => { try { return parent.document.title; } catch (e) { return 'blocked'; } })()"
        )
        == "blocked"
    )
    assert frame.evaluate("origin") == "null"
    assert pg.evaluate("window.__html_ran") is None


def test_compare_overlays_runs_in_their_colours_and_lists_config_that_differs(page):
    pg = page.goto("/compare?run=demo/scalars&run=demo/scalars2")
    sel = chart("train/acc")
    wait_js(pg, f"document.querySelector('{sel}')?.dataset.count === '550'")
    assert colored_pixels(pg, sel + " canvas", BLUE) > 50
    assert colored_pixels(pg, sel + " canvas", RED) > 50
    diff = pg.locator("table.config-diff")
    assert diff.locator("tbody tr").count() == 1
    assert diff.locator("tbody tr").inner_text().split() == ["lr", "0.01", "0.02"]
    assert pg.locator(".legend li").count() == 2


@pytest.mark.slow
def test_compare_is_reached_from_the_runs_page(page):
    pg = page.goto("/")
    pg.wait_for_selector("table.runs tbody tr")
    pg.check("tr[data-run='demo/scalars'] input[type=checkbox]")
    pg.check("tr[data-run='demo/scalars2'] input[type=checkbox]")
    pg.click("button.compare")
    pg.wait_for_selector("table.config-diff")
    assert "run=demo%2Fscalars" in pg.url


def test_xss_payloads_in_a_run_stay_text(page):
    for path in ("/", "/runs/demo/xss", "/compare?run=demo/xss&run=demo/scalars"):
        pg = page.goto(path)
        pg.wait_for_load_state("networkidle")
        pg.mouse.wheel(0, 5000)
        pg.wait_for_timeout(300)
        pg.wait_for_load_state("networkidle")
        assert pg.evaluate("window.__xss") is None
        assert pg.evaluate("document.querySelectorAll('img[src=\"x\"], img[onerror]').length") == 0
        assert pg.evaluate("document.querySelectorAll('script').length") == 1  # the viewer's own
        assert XSS in pg.locator("body").inner_text()
    pg = page.goto("/runs/demo/xss")
    pg.locator(".media-panel[data-key='tbl']").scroll_into_view_if_needed()
    pg.locator(".media-panel[data-key='tbl'] tbody td").first.wait_for()
    assert pg.locator(".media-panel[data-key='tbl'] tbody td").first.inner_text() == XSS
    assert pg.locator(".media-panel[data-key='img'] figcaption").inner_text() == XSS
    assert pg.locator(f'.chart[data-key="{XSS}"] .chart-title').inner_text() == XSS
    # Phase 2: mask and box class labels, set and score names, box captions, table media cells,
    # 3-D box labels and captions, chart labels and titles (drawn on a canvas).
    marked = pg.locator(".media-panel[data-key='marked']")
    marked.scroll_into_view_if_needed()
    marked.locator(".box-label").first.wait_for()
    assert marked.locator(".box-label").all_inner_texts() == [
        f"{XSS_SCRIPT} ({XSS} 0.5)",
        "class_2",
    ]
    controls = marked.locator(".overlay-controls").inner_text()
    assert f"mask: {XSS}" in controls and f"boxes: {XSS_SCRIPT}" in controls
    assert controls.count(XSS) >= 4  # set, its class, the box class, the score slider
    marked.locator("canvas.mask-layer[data-ready]").wait_for()
    cells = pg.locator(".media-panel[data-key='cells']")
    cells.scroll_into_view_if_needed()
    cells.locator("td.media-cell figcaption").wait_for()
    assert cells.locator("td.media-cell figcaption").inner_text() == XSS
    assert cells.locator("tbody td").nth(1).inner_text() == XSS
    scene = pg.locator(".media-panel[data-key='scene']")
    scene.scroll_into_view_if_needed()
    scene.locator(".three-legend li").wait_for()
    assert scene.locator(".three-legend li").inner_text() == XSS
    assert XSS in scene.locator(".three-info").inner_text()
    bars = pg.locator(".media-panel[data-key='bars']")
    bars.scroll_into_view_if_needed()
    bars.locator(".vega-stage canvas").wait_for()
    assert pg.evaluate("window.__xss") is None
    assert (
        pg.evaluate(
            "document.querySelectorAll('img[src=\"x\"], img[onerror], script:not([src])').length"
        )
        == 0
    )


def test_a_running_runs_page_updates_within_two_seconds_of_a_log(browser, writer, figures):
    server = Ui(writer.root)
    page = Page(browser, server.url)
    try:
        pg = page.goto("/runs/live/writer")
        sel = chart("live/x")
        wait_js(pg, f"document.querySelector('{sel}')?.dataset.points === '20'")
        assert "running" in pg.locator(".run-head").inner_text()
        delays = []
        for expected in (21, 22):
            logged_at = writer.log_once()
            wait_js(pg, f"document.querySelector('{sel}').dataset.points === '{expected}'", 5)
            delays.append(time.time() - logged_at)
        pg.wait_for_selector(chart("live/new") + " canvas", timeout=5000)
        figures["viewer_live_update_s"] = [round(d, 3) for d in delays]
        assert max(delays) < 2.0, delays
        writer.stop()
        pg.wait_for_selector(".run-head .state-finished", timeout=5000)
    finally:
        page.close()
        server.stop()


def test_with_a_token_the_browser_logs_in_once_and_keeps_an_httponly_cookie(browser, runs_dir):
    server = Ui(runs_dir, "--token", "letmein")
    page = Page(browser, server.url)
    try:
        pg = page.goto("/runs/demo/scalars")
        assert "/login" in pg.url
        pg.fill("input[name=token]", "wrong")
        pg.click("button[type=submit]")
        assert pg.locator("[data-login-error]").is_visible()
        pg.fill("input[name=token]", "letmein")
        pg.click("button[type=submit]")
        pg.wait_for_selector(chart("train/loss") + " canvas")
        assert pg.url.endswith("/runs/demo/scalars") and "letmein" not in pg.url
        cookies = [c for c in browser.cookies(server.url) if c["name"].startswith("localrun_")]
        assert len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
        assert pg.evaluate("document.cookie") == ""
    finally:
        page.close()
        server.stop()
