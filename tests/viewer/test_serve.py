"""`localrun serve` serves the viewer: the same read API as `localrun ui`, over its storage.

Runs made by the real recorder (every phase-1 and phase-2 media type, NaN and infinities, a
step metric) are synced with the real `localrun sync` to a real `localrun serve`, and every
answer of the viewer's read API (keys, series, media, file bytes) is compared with what a real
`localrun ui` gives over the same run directories: one interface, two sources. Then `GET /`
and the run URLs sync prints (JSON to scripts, the page to a browser), the token and its
cookie, the Host check, and a run whose document has not arrived.
"""

from __future__ import annotations

import json
import re
import subprocess

import httpx
import msgpack
import pytest

from localrun.viewer.files import FILE_CSP
from tests import forkcli
from tests.sync.conftest import Server, export_rows, show_json, sync

from .conftest import Ui
from .runs import media2_run

TOKEN = "s3cret-t0ken"
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser sends


def run_urls(stdout: str) -> dict[str, str]:
    """``{run id: URL}`` from `localrun sync`'s lines (``r1: sent ... -> URL``)."""
    return dict(re.findall(r"^(\S+): .* -> (\S+)$", stdout, re.M))


@pytest.fixture(scope="module")
def media2_dir(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("serve-media2") / "runs")
    media2_run(root)
    return root


@pytest.fixture(scope="module")
def served(runs_dir, media2_dir, tmp_path_factory):
    """A real `localrun serve` holding the viewer's test runs, synced by `localrun sync`."""
    server = Server(str(tmp_path_factory.mktemp("serve") / "data"))
    urls = {}
    for root in (runs_dir, media2_dir):
        done = sync(root, server.url)
        assert done.returncode == 0, done.stdout + done.stderr
        urls.update(run_urls(done.stdout))
    server.run_urls = urls
    yield server
    server.stop()


@pytest.fixture(scope="module")
def local(runs_dir, media2_dir):
    """A real `localrun ui` over the same run directories."""
    ui = Ui(runs_dir, media2_dir)
    yield ui
    ui.stop()


def get(base: str, path: str, **kw) -> httpx.Response:
    return httpx.get(base.rstrip("/") + path, timeout=60, **kw)


RUNS = [
    ("demo", "scalars"),
    ("demo", "scalars2"),
    ("other", "long"),
    ("demo", "media"),
    ("demo", "xss"),
    ("demo", "media2"),
]


def media_paths(value) -> list[str]:
    """The files a media value names (a value, or a list of them)."""
    out = []
    for v in value if type(value) is list else [value]:
        if type(v) is dict and type(v.get("path")) is str:
            out.append(v["path"])
    return out


@pytest.mark.parametrize("project,run_id", RUNS)
def test_serve_answers_the_read_api_as_ui_does_for_the_same_run(
    served, local, project, run_id, figures
):
    base = f"/api/v1/runs/{project}/{run_id}"
    tally = figures.setdefault("serve_equals_ui", {"runs": 0, "answers": 0, "files": 0})
    tally["runs"] += 1
    keys = get(served.url, base + "/keys")
    assert keys.status_code == 200, keys.text
    assert keys.json() == get(local.url, base + "/keys").json()
    info = keys.json()
    numeric = [k for k, e in info["keys"].items() if "number" in e["types"]]
    for x in info["x"] if numeric else ():
        for points in (2000, 50):
            q = {"keys": ",".join(numeric), "x": x, "points": points}
            s = get(served.url, base + "/series", params=q)
            assert s.status_code == 200, s.text
            assert s.text == get(local.url, base + "/series", params=q).text, (x, points)
            tally["answers"] += 1
    q = {"keys": ",".join(numeric), "min": 3, "max": 40}
    if numeric:
        zoomed = get(served.url, base + "/series", params=q).text
        assert zoomed == get(local.url, base + "/series", params=q).text
    files = set()
    for key, e in info["keys"].items():
        if e["type"] in ("number", "other"):
            continue
        for points in (None, 2):
            q = {"key": key} if points is None else {"key": key, "points": points}
            m = get(served.url, base + "/media", params=q)
            assert m.status_code == 200, m.text
            assert m.text == get(local.url, base + "/media", params=q).text, key
            tally["answers"] += 1
        for item in m.json()["items"]:
            files.update(media_paths(item["value"]))
    for path in sorted(files):
        mine = get(served.url, f"{base}/file/{path}")
        theirs = get(local.url, f"{base}/file/{path}")
        assert mine.status_code == theirs.status_code == 200, (path, mine.text)
        assert mine.content == theirs.content
        assert mine.headers["content-type"] == theirs.headers["content-type"]
        assert mine.headers["content-security-policy"] == FILE_CSP
        assert mine.headers["x-content-type-options"] == "nosniff"
        tally["files"] += 1
    # The documents: what `localrun show --json` prints of the local run, but for `path`.
    doc = get(served.url, base).json()
    mine, theirs = dict(doc), get(local.url, base).json()
    mine.pop("path"), theirs.pop("path")
    assert json.dumps(mine, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    tally["answers"] += 2  # keys and the document
    if run_id in ("media", "media2", "xss"):
        assert files  # the runs with media had their files compared


def test_every_media_type_is_compared(served):
    types = set()
    for project, run_id in RUNS:
        for e in get(served.url, f"/api/v1/runs/{project}/{run_id}/keys").json()["keys"].values():
            types.update(e["types"])
    assert {
        "number",
        "image-file",
        "images/separated",
        "histogram",
        "table-file",
        "audio-file",
        "html-file",
        "video-file",
        "object3D-file",
        "molecule-file",
    } <= types, types


def test_root_is_json_for_scripts_and_the_viewer_for_browsers(served):
    for headers in ({}, {"accept": "*/*"}, {"accept": "application/json"}):
        r = get(served.url, "/", headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        body = r.json()
        assert body["api"] == "/api/v1" and body["localrun"] and body["limits"]["max_hashes"]
    curl = subprocess.run(["curl", "-s", served.url + "/"], capture_output=True, text=True)
    if curl.returncode == 0:  # curl is not everywhere
        assert json.loads(curl.stdout)["api"] == "/api/v1"
    page = get(served.url, "/", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert b'type="module"' in page.content and b"<script>" not in page.content
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe" not in csp and page.headers["x-content-type-options"] == "nosniff"
    asset = page.text.split('src="')[1].split('"')[0]
    js = get(served.url, asset)
    assert js.status_code == 200 and "immutable" in js.headers["cache-control"]
    assert js.headers["content-type"].startswith(("text/javascript", "application/javascript"))


def test_the_run_urls_sync_prints_are_json_for_scripts_and_pages_for_browsers(served, runs_dir):
    url = served.run_urls["scalars"]
    assert url == f"{served.url}/runs/demo/scalars"
    doc = httpx.get(url).json()
    assert doc["id"] == "scalars" and doc["rows"] == 300 and doc["path"] == url
    page = httpx.get(url, headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # `localrun show URL` and `localrun export URL` keep reading the same URL.
    assert show_json(url) == show_json(f"{runs_dir}/scalars")
    assert len(export_rows(url)) == 300
    for path in ("/runs", "/compare", "/runs/demo/scalars"):
        r = get(served.url, path, headers=HTML)
        assert r.status_code == 200 and "default-src 'self'" in r.headers["content-security-policy"]


def test_viewer_endpoints_refuse_what_they_should(served):
    base = "/api/v1/runs/demo/media"
    for path in ("run.json", "media", "media/", "media/../run.json", "media/.x", "x/y.png"):
        r = get(served.url, f"{base}/file/{path}")
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]
    # A file name that is a hash the server lacks, and a name no value of the run gives.
    r = get(served.url, f"{base}/file/media/{'0' * 64}.png")
    assert r.status_code == 404 and "does not have" in r.json()["error"]
    assert get(served.url, f"{base}/file/media/nothing.png").status_code == 404
    image = get(served.url, base + "/media", params={"key": "samples/one"}).json()["items"][0]
    path = image["value"]["path"]
    assert get(served.url, f"{base}/file/{path}").status_code == 200
    assert get(served.url, f"/api/v1/runs/demo/nope/file/{path}").status_code == 404
    r = get(served.url, "/api/v1/runs/demo/nope/keys")
    assert r.status_code == 404 and "no run" in r.json()["error"]
    assert get(served.url, "/api/v1/runs/demo/a..b/keys").status_code == 400
    r = get(served.url, "/api/v1/runs/demo/scalars/series", params={"keys": "train/loss", "x": "z"})
    assert r.status_code == 400 and "x axis" in r.json()["error"]
    # Not a page: an unknown path is a JSON 404, to a browser too.
    r = get(served.url, "/runs/demo/scalars/more", headers=HTML)
    assert r.status_code == 404 and r.json()["error"]


def test_a_tokenless_serve_answers_its_pages_only_under_loopback_names(served):
    for host in ("localhost", f"127.0.0.1:{served.port}", "[::1]"):
        r = get(served.url, "/runs/demo/scalars", headers={**HTML, "host": host})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for host in ("evil.example", f"evil.example:{served.port}", "127.0.0.1.evil.example"):
        for path in ("/", "/runs/demo/scalars", "/api/v1/runs/demo/scalars/keys", "/compare"):
            r = get(served.url, path, headers={**HTML, "host": host})
            assert r.status_code == 421 and "token" in r.json()["error"], (host, path)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, runs_dir):
    server = Server(str(tmp_path_factory.mktemp("serve-token") / "data"), TOKEN)
    done = sync(f"{runs_dir}/scalars", server.url, "--token", TOKEN)
    assert done.returncode == 0, done.stdout + done.stderr  # sync with the Bearer token
    server.run_urls = run_urls(done.stdout)
    yield server
    server.stop()


def test_with_a_token_pages_ask_to_log_in_and_the_api_wants_the_token_or_the_cookie(guarded):
    url = guarded.run_urls["scalars"]
    page = httpx.get(url, headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fruns%2Fdemo%2Fscalars"
    assert get(guarded.url, "/", headers=HTML).headers["location"] == "/login?next=%2F"
    login = get(guarded.url, "/login")
    assert login.status_code == 200 and b'name="token"' in login.content
    assert "default-src 'self'" in login.headers["content-security-policy"]
    api = "/api/v1/runs/demo/scalars"
    for path in ("/", "/api/v1/runs", api, api + "/keys", api + "/rows", "/runs/demo/scalars"):
        r = get(guarded.url, path)  # neither the token nor the cookie
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), path
        assert "token" in r.json()["error"]
    assert get(guarded.url, api, headers={"authorization": "Bearer nope"}).json() == {
        "error": "wrong token"
    }
    with httpx.Client(base_url=guarded.url) as browser:
        wrong = browser.post("/login?next=/runs/demo/scalars", data={"token": "nope"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        r = browser.post("/login?next=/runs/demo/scalars", data={"token": TOKEN})
        assert r.status_code == 303 and r.headers["location"] == "/runs/demo/scalars"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        assert TOKEN not in r.headers["location"]
        # The cookie opens the pages and every read endpoint.
        assert browser.get("/runs/demo/scalars", headers=HTML).status_code == 200
        assert browser.get(api).json()["rows"] == 300
        assert browser.get(api + "/keys").json()["rows"] == 300
        s = browser.get(api + "/series", params={"keys": "train/loss"}).json()
        assert s["series"]["train/loss"]["count"] == 300
        assert msgpack.unpackb(browser.get(api + "/rows", params={"limit": 3}).content)
        # The cookie opens reads only: a write carrying it (a forged one) is refused.
        row = msgpack.packb([{"_step": 300, "loss": 0.0}])
        forged = browser.post(
            api + "/rows", content=row, headers={"content-type": "application/msgpack"}
        )
        assert forged.status_code == 401 and "reads only" in forged.json()["error"]
        assert browser.put(api + "/doc", json={"state": "crashed"}).status_code == 401
        assert browser.put("/api/v1/runs/demo/new", json={"created_at": 1.0}).status_code == 401
        assert browser.get(api).json()["rows"] == 300
        assert browser.get(api).json()["state"] == "finished"
        assert browser.get("/api/v1/runs/demo/new").status_code == 404
        assert browser.post("/logout").status_code == 303
        assert browser.get(api).status_code == 401
    # The Bearer token keeps working for scripts: show and export a run URL.
    env = {"LOCALRUN_TOKEN": TOKEN}
    out = forkcli.run(["show", url, "--json"], env=_env(env))
    assert out.returncode == 0 and json.loads(out.stdout)["rows"] == 300, out.stderr
    assert len(export_rows(url, env=_env(env))) == 300


def _env(extra: dict) -> dict:
    import os

    return {**{k: v for k, v in os.environ.items() if k != "LOCALRUN_TOKEN"}, **extra}


def test_a_run_whose_document_has_not_arrived_is_syncing(served):
    """As `localrun sync` leaves a run between its rows and its document (it sends the
    document last): null on the wire, as docs/protocol.md says; "syncing" to the viewer."""
    base = f"{served.url}/api/v1/runs/proj/halfway"
    with httpx.Client() as c:
        assert c.put(base, json={"created_at": 1.0}).status_code == 201
        rows = [{"_step": i, "loss": 1.0 / (i + 1)} for i in range(5)]
        body = msgpack.packb(rows)
        r = c.post(base + "/rows", content=body, headers={"content-type": "application/msgpack"})
        assert r.status_code == 200
        assert c.get(base).json()["state"] is None
        listed = {d["id"]: d for d in c.get(f"{served.url}/api/v1/runs").json()}
        assert listed["halfway"]["state"] is None and listed["halfway"]["rows"] == 5
        keys = c.get(base + "/keys").json()
        assert keys["rows"] == 5 and keys["keys"]["loss"]["count"] == 5
        # A sync's next batch is seen at once: the run's table is built again.
        more = msgpack.packb([{"_step": 5, "loss": 0.1}])
        c.post(base + "/rows", content=more, headers={"content-type": "application/msgpack"})
        assert c.get(base + "/keys").json()["rows"] == 6
