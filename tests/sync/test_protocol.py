"""The protocol's names (localrun.sync.protocol): one definition for client, server and viewer."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from localrun.server import create_app
from localrun.sync.protocol import API, RUN_ROUTE, api_run_path, run_path, split_run_url


@pytest.mark.parametrize(
    ("project", "run_id", "path"),
    [
        ("proj", "r1", "/runs/proj/r1"),
        (
            "моя модель v2",
            "r.1",
            "/runs/%D0%BC%D0%BE%D1%8F%20%D0%BC%D0%BE%D0%B4%D0%B5%D0%BB%D1%8C%20v2/r.1",
        ),
        ("a&b=c", "x-y_z", "/runs/a%26b%3Dc/x-y_z"),
    ],
)
def test_a_run_path_is_one_segment_per_name_and_reads_back(project, run_id, path):
    assert run_path(project, run_id) == path
    assert api_run_path(project, run_id) == API + path
    assert split_run_url("http://h:8080" + path + "/") == ("http://h:8080", project, run_id)


def test_a_server_url_names_no_run():
    assert split_run_url("http://h:8080/") == ("http://h:8080", None, None)
    assert split_run_url("http://h/base/runs") == ("http://h/base", None, None)


def test_the_server_routes_runs_where_the_client_sends_them(tmp_path):
    app = create_app(str(tmp_path))
    while not hasattr(app, "routes"):  # the app inside its middleware
        app = app.app
    paths = {r.path for r in app.routes if isinstance(r, Route)}
    assert {RUN_ROUTE, API + RUN_ROUTE, API + RUN_ROUTE + "/rows"} <= paths
