"""`localrun serve`'s viewer in a real browser (Playwright driving Debian's Chromium).

The run URLs `localrun sync` prints open their run's page: charts drawn, images loaded. A run
whose document has not arrived lists as syncing, and its page turns finished when the document
comes. With a token, the browser logs in once and keeps an HttpOnly, SameSite=Strict cookie.
"""

from __future__ import annotations

import re
import time

import httpx
import msgpack
import pytest

from tests.sync.conftest import Server, sync

from .runs import XSS
from .test_browser import BLUE, Page, browser, chart, colored_pixels, wait_js  # noqa: F401

TOKEN = "open sesame"


def run_urls(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^(\S+): .* -> (\S+)$", stdout, re.M))


@pytest.fixture(scope="module")
def served(runs_dir, tmp_path_factory):
    server = Server(str(tmp_path_factory.mktemp("serve-browser") / "data"))
    done = sync(runs_dir, server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    server.run_urls = run_urls(done.stdout)
    yield server
    server.stop()


@pytest.fixture
def page(browser, served):  # noqa: F811
    p = Page(browser, served.url)
    yield p
    p.close()


def test_the_run_urls_sync_prints_open_their_pages_with_charts_and_images(page, served):
    pg = page.page
    pg.goto(served.run_urls["scalars"])
    pg.wait_for_selector(chart("train/loss") + " canvas")
    wait_js(
        pg, "document.querySelector('.chart[data-key=\"train/loss\"]').dataset.points === '300'"
    )
    assert colored_pixels(pg, chart("train/loss") + " canvas", BLUE) > 50
    assert colored_pixels(pg, chart("weird") + " canvas", BLUE) > 50  # NaN and infinities
    assert "finished" in pg.locator(".run-head").inner_text()
    assert "adam" in pg.locator(".overview").inner_text()

    pg.goto(served.run_urls["media"])
    one = pg.locator('.media-panel[data-key="samples/one"]')
    one.scroll_into_view_if_needed()
    one.locator("img").wait_for()
    wait_js(
        pg,
        "[...document.querySelectorAll('.media-panel[data-key=\"samples/one\"] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
    )
    assert one.locator("figcaption").inner_text() == "one at 2"
    hist = pg.locator('.media-panel[data-key="weights"]')
    hist.scroll_into_view_if_needed()
    hist.locator("canvas.heat").wait_for()
    assert colored_pixels(pg, '.media-panel[data-key="weights"] canvas.heat', BLUE) > 100
    table = pg.locator('.media-panel[data-key="preds"]')
    table.scroll_into_view_if_needed()
    table.locator("table.data tbody tr").first.wait_for()
    assert "rows 1–25 of 60" in table.inner_text()
    html = pg.locator('.media-panel[data-key="page"] iframe')
    html.scroll_into_view_if_needed()
    html.wait_for()
    assert html.get_attribute("sandbox") == "allow-scripts"


def test_the_runs_page_lists_the_servers_runs_and_payloads_stay_text(page):
    pg = page.goto("/")
    pg.wait_for_selector("table.runs tbody tr")
    assert pg.locator("table.runs tbody tr").count() == 5
    pg.goto(page.base + "/runs/demo/xss")
    pg.wait_for_load_state("networkidle")
    assert pg.evaluate("window.__xss") is None
    assert XSS in pg.locator("body").inner_text()


def test_a_run_whose_document_has_not_arrived_shows_as_syncing_then_finished(page, served, figures):
    base = f"{served.url}/api/v1/runs/proj/halfway"
    msgpack_body = {"content-type": "application/msgpack"}
    with httpx.Client() as c:
        assert c.put(base, json={"created_at": 2e9}).status_code == 201
        rows = msgpack.packb([{"_step": i, "loss": 1.0 / (i + 1)} for i in range(10)])
        assert c.post(base + "/rows", content=rows, headers=msgpack_body).status_code == 200
        pg = page.goto("/")
        row = pg.locator("tr[data-run='proj/halfway']")
        row.wait_for()
        assert row.locator(".state").inner_text() == "syncing"
        pg.select_option("select[aria-label=state]", "syncing")
        assert pg.locator("table.runs tbody tr").count() == 1
        pg.goto(served.url + "/runs/proj/halfway")
        pg.wait_for_selector(chart("loss") + " canvas")
        assert pg.locator(".run-head .state").inner_text() == "syncing"
        # The rest of the sync: more rows, then the document; the open page follows.
        more = msgpack.packb([{"_step": 10, "loss": 0.01}])
        assert c.post(base + "/rows", content=more, headers=msgpack_body).status_code == 200
        wait_js(pg, "document.querySelector('.chart[data-key=\"loss\"]').dataset.points === '11'")
        doc = {"id": "halfway", "project": "proj", "state": "finished", "config": {"lr": 0.5}}
        sent = time.monotonic()
        assert c.put(base + "/doc", json=doc).status_code == 200
        pg.wait_for_selector(".run-head .state-finished", timeout=5000)
        figures["serve_syncing_page_finished_after_doc_s"] = round(time.monotonic() - sent, 3)


@pytest.mark.slow
def test_with_a_token_the_browser_logs_in_once_and_keeps_an_httponly_cookie(
    browser,  # noqa: F811
    runs_dir,
    tmp_path_factory,
):
    server = Server(str(tmp_path_factory.mktemp("serve-login") / "data"), TOKEN)
    page = Page(browser, server.url)
    try:
        done = sync(f"{runs_dir}/scalars", server.url, "--token", TOKEN)
        assert done.returncode == 0, done.stdout + done.stderr
        url = run_urls(done.stdout)["scalars"]
        pg = page.page
        pg.goto(url)
        assert "/login" in pg.url
        pg.fill("input[name=token]", "wrong")
        pg.click("button[type=submit]")
        assert pg.locator("[data-login-error]").is_visible()
        pg.fill("input[name=token]", TOKEN)
        pg.click("button[type=submit]")
        pg.wait_for_selector(chart("train/loss") + " canvas")
        assert pg.url == url and "sesame" not in pg.url
        cookies = [c for c in browser.cookies(server.url) if c["name"].startswith("localrun_")]
        assert len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
        assert pg.evaluate("document.cookie") == ""
        wait_js(
            pg,
            "document.querySelector('.chart[data-key=\"train/loss\"]').dataset.points === '300'",
        )
        assert colored_pixels(pg, chart("train/loss") + " canvas", BLUE) > 50
        pg.goto(server.url + "/")  # logged in once: the runs page opens without asking again
        pg.wait_for_selector("table.runs tbody tr")
        assert "/login" not in pg.url
    finally:
        page.close()
        server.stop()
