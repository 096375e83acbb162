"""The read API of a real `localrun ui`, the Host check, the token and its cookie, and the CLI."""

import json
import math
import os
import subprocess
import sys

import httpx
import msgpack
import pytest

from .. import forkcli
from .conftest import CLI, Ui

RUN = "/api/v1/runs/demo/scalars"


def strict(text: str):
    """Parse as a browser would: bare NaN/Infinity are errors."""

    def refuse(word):
        raise ValueError(f"bare {word} in strict JSON")

    return json.loads(text, parse_constant=refuse)


def test_runs_and_run_answer_as_the_server_does(ui):
    r = ui.get("/api/v1/runs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert {d["id"] for d in r.json()} >= {"scalars", "media", "long"}
    doc = ui.get(RUN).json()
    assert doc["state"] == "finished" and doc["rows"] == 300
    # A run's URL gives its document to a client that does not ask for HTML, the page otherwise.
    assert ui.get("/runs/demo/scalars").json()["id"] == "scalars"
    page = ui.get("/runs/demo/scalars", headers={"accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and b"/assets/" in page.content
    assert ui.get("/").json()["api"] == "/api/v1"


def test_localrun_show_and_export_read_a_run_from_the_ui(ui):
    out = forkcli.run(["show", ui.url + "runs/demo/scalars", "--json"])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"] == 300
    rows = forkcli.run(["export", ui.url + "runs/demo/scalars"], check=True).stdout.splitlines()
    assert len(rows) == 300


def test_rows_page_as_msgpack(ui):
    r = ui.get(RUN + "/rows", params={"after": 9, "limit": 5})
    assert r.headers["content-type"] == "application/msgpack"
    rows = msgpack.unpackb(r.content)
    assert [row["_step"] for row in rows] == [10, 11, 12, 13, 14]
    assert math.isnan(rows[0]["weird"])
    assert ui.get(RUN + "/rows", params={"limit": 0}).status_code == 400


def test_keys_and_series_are_strict_json_with_nonfinite_values_as_strings(ui):
    keys = strict(ui.get(RUN + "/keys").text)
    assert keys["keys"]["weird"]["type"] == "number"
    r = ui.get(RUN + "/series", params={"keys": "weird,train/loss", "x": "_step"})
    body = strict(r.text)
    weird = body["series"]["weird"]
    assert (
        weird["y"][10] == "NaN" and weird["y"][20] == "Infinity" and weird["y"][30] == "-Infinity"
    )
    assert weird["x"][:3] == [0, 1, 2] and weird["count"] == 300 and weird["sampled"] is False
    assert body["x"] == "_step" and body["points"] == 2000
    # A key holding a comma is asked for with key=.
    assert set(
        strict(ui.get(RUN + "/series", params={"key": "val/loss", "x": "epoch"}).text)["series"]
    ) == {"val/loss"}


def test_series_downsamples_and_zooms(ui):
    long = "/api/v1/runs/other/long/series"
    body = strict(ui.get(long, params={"keys": "spike", "points": 100}).text)["series"]["spike"]
    assert body["sampled"] and len(body["x"]) <= 102 and 1000.0 in body["y"]
    zoom = strict(
        ui.get(long, params={"keys": "spike", "points": 100, "min": 2480, "max": 2520}).text
    )
    assert (
        zoom["series"]["spike"]["x"] == list(range(2479, 2522))
        and not zoom["series"]["spike"]["sampled"]
    )


@pytest.mark.parametrize(
    "query, message",
    [
        ({}, "name the keys"),
        ({"keys": "a", "x": "nope"}, "x='nope'"),
        ({"keys": "a", "points": "1"}, "points must be between"),
        ({"keys": "a", "points": "many"}, "points must be an integer"),
        ({"keys": "a", "min": "nan"}, "min must be a finite number"),
        ({"keys": ",".join(f"k{i}" for i in range(101))}, "at most 100 keys"),
    ],
)
def test_bad_series_queries_get_400_saying_what_to_do(ui, query, message):
    r = ui.get(RUN + "/series", params=query)
    assert r.status_code == 400 and message in r.json()["error"]


def test_media_lists_values_and_files_are_served_with_their_type_and_a_sandbox(ui):
    m = strict(ui.get("/api/v1/runs/demo/media/media", params={"key": "samples/one"}).text)
    assert m["type"] == "image-file" and [i["step"] for i in m["items"]] == [0, 1, 2]
    path = m["items"][0]["value"]["path"]
    f = ui.get("/api/v1/runs/demo/media/file/" + path)
    assert f.status_code == 200 and f.headers["content-type"] == "image/png"
    assert f.content.startswith(b"\x89PNG")
    assert f.headers["x-content-type-options"] == "nosniff"
    assert f.headers["content-security-policy"].startswith("sandbox")
    html = strict(ui.get("/api/v1/runs/demo/media/media", params={"key": "page"}).text)
    h = ui.get("/api/v1/runs/demo/media/file/" + html["items"][0]["value"]["path"])
    assert h.headers["content-type"].startswith("text/html")
    assert "sandbox allow-scripts" in h.headers["content-security-policy"]
    assert "allow-same-origin" not in h.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "run.json",
        "segments/000001.lrs",
        "media/..%2Frun.json",
        "media/%2e%2e/run.json",
        "lock",
        "media/nope.png",
    ],
)
def test_files_outside_media_are_not_served(ui, path):
    r = ui.get("/api/v1/runs/demo/media/file/" + path)
    assert r.status_code == 404 and "error" in r.json()


def test_unknown_runs_and_bad_names_get_json_errors(ui):
    r = ui.get("/api/v1/runs/demo/nope")
    assert r.status_code == 404 and "no run 'demo'/'nope'" in r.json()["error"]
    assert ui.get("/api/v1/runs/demo/..x/keys").status_code in (400, 404)
    assert ui.get("/api/v1/nothing").status_code == 404


def test_every_response_has_a_csp_without_inline_script_and_nosniff(ui):
    for path in ("/", RUN, "/compare"):
        r = ui.get(path, headers={"accept": "text/html"})
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    index = ui.get("/", headers={"accept": "text/html"}).text
    assert "<script>" not in index and 'type="module"' in index
    asset = index.split('src="')[1].split('"')[0]
    a = ui.get(asset)
    assert a.status_code == 200 and "immutable" in a.headers["cache-control"]


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8090", "127.0.0.1.evil.example", "10.0.0.1"]
)
def test_a_tokenless_ui_refuses_other_host_names(ui, host):
    r = ui.get("/api/v1/runs", headers={"host": host})
    assert r.status_code == 403 and "localhost or 127.0.0.1" in r.json()["error"]


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "localhost:1", "127.0.0.2:80", "[::1]:8090"]
)
def test_a_tokenless_ui_answers_loopback_host_names(ui, host):
    assert ui.get("/api/v1/runs", headers={"host": host}).status_code == 200


@pytest.fixture(scope="module")
def guarded(runs_dir):
    server = Ui(runs_dir, "--token", "s3cret token")
    yield server
    server.stop()


def test_with_a_token_every_run_path_needs_it(guarded):
    for path in ("/api/v1/runs", RUN, RUN + "/keys", "/api/v1/runs/demo/media/file/media/x.png"):
        r = guarded.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    page = guarded.get("/runs/demo/scalars", headers={"accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fruns%2Fdemo%2Fscalars"
    ok = guarded.get(RUN, headers={"authorization": "Bearer s3cret token"})
    assert ok.status_code == 200
    assert guarded.get(RUN, headers={"authorization": "Bearer wrong"}).status_code == 401
    # Any Host name is fine with a token: the token is the guard.
    assert (
        guarded.get(
            RUN, headers={"authorization": "Bearer s3cret token", "host": "box.lan"}
        ).status_code
        == 200
    )


def test_login_sets_an_httponly_samesite_strict_cookie_that_opens_the_api(guarded):
    login = guarded.get("/login")
    assert login.status_code == 200 and b'name="token"' in login.content
    assert b"data-login-error hidden" in login.content
    with httpx.Client(base_url=guarded.url) as client:
        wrong = client.post("/login?next=/compare", data={"token": "nope"})
        assert wrong.status_code == 401 and b"data-login-error hidden" not in wrong.content
        assert "set-cookie" not in wrong.headers
        r = client.post("/login?next=/runs/demo/scalars", data={"token": "s3cret token"})
        assert r.status_code == 303 and r.headers["location"] == "/runs/demo/scalars"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "s3cret" not in cookie
        assert client.get(RUN).status_code == 200  # the cookie jar now holds the session
        assert client.post("/logout").status_code == 303
        assert client.get(RUN).status_code == 401


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_login_never_sends_you_to_another_site(guarded, target):
    r = httpx.post(guarded.url + "login", params={"next": target}, data={"token": "s3cret token"})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_ui_refuses_a_public_address_without_a_token_and_bad_paths_without_a_traceback(tmp_path):
    r = forkcli.run(["ui", "--host", "0.0.0.0"])
    assert r.returncode == 2 and "without a token" in r.stderr and "Traceback" not in r.stderr
    r = forkcli.run(["ui", str(tmp_path / "missing")])
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = forkcli.run(["ui", str(tmp_path), "--token", " "])
    assert r.returncode == 2 and "--token is empty" in r.stderr


def test_ui_says_so_when_the_port_is_taken(runs_dir):
    first = Ui(runs_dir)
    try:
        r = subprocess.run(
            [*CLI, "ui", runs_dir, "--port", str(first.port)],
            capture_output=True,
            text=True,
            env={**os.environ, "LOCALRUN_SILENT": "1"},
            timeout=60,
        )
        assert r.returncode == 1 and "cannot listen" in r.stderr and "--port" in r.stderr
    finally:
        first.stop()


def test_ui_prints_its_url_on_one_line_after_listening(runs_dir):
    server = Ui(runs_dir)
    try:
        assert server.line.startswith("localrun ui: http://127.0.0.1:")
        assert "5 runs" in server.line
        assert httpx.get(server.url + "api/v1/runs").status_code == 200
    finally:
        server.stop()


def test_the_viewer_imports_neither_the_server_nor_the_cli():
    import re

    viewer = os.path.join(os.path.dirname(__file__), "..", "..", "viewer")
    pattern = re.compile(
        r"^\s*(?:from|import)\s+(localrun\.server|localrun\.cli|cli|server)\b", re.M
    )
    offenders = []
    for name in os.listdir(viewer):
        if name.endswith(".py"):
            with open(os.path.join(viewer, name), encoding="utf-8") as f:
                offenders += [(name, m) for m in pattern.findall(f.read())]
    assert offenders == []
    code = "import sys, localrun.viewer.app; print(sorted(m for m in sys.modules if m.startswith(('localrun.server', 'localrun.cli'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_built_front_end_is_complete_and_lists_its_licences():
    import re

    from localrun.viewer.app import STATIC

    for page in ("index.html", "login.html"):
        with open(os.path.join(STATIC, page), encoding="utf-8") as f:
            html = f.read()
        assets = re.findall(r'(?:src|href)="/assets/([^"]+)"', html)
        assert assets and all(os.path.isfile(os.path.join(STATIC, "assets", a)) for a in assets)
        assert "<script>" not in html and " style=" not in html and "http" not in html
    with open(os.path.join(STATIC, "LICENSES.txt"), encoding="utf-8") as f:
        licences = f.read()
    assert "uplot 1.6.32 (MIT)" in licences and "Leon Sorokin" in licences
