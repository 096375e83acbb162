"""The sync, serve, show and export commands around a server, through click's CliRunner."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from localrun.cli import main
from localrun.cli.sync import describe
from localrun.errors import TransportError
from localrun.sync.push import PushResult

from .conftest import make_run

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "cli.md")


@pytest.mark.parametrize("command", ["sync", "serve", "show", "export"])
def test_every_command_has_help_and_is_documented(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    with open(DOCS, encoding="utf-8") as f:
        assert f"`localrun {command} " in f.read()


def test_the_line_per_run_ends_with_the_run_url():
    url = "http://127.0.0.1:8080/runs/p/r1"
    r = PushResult(
        "runs/r1",
        "r1",
        "p",
        url,
        state="finished",
        rows_sent=1234,
        files_sent=2,
        file_bytes_sent=45_100,
    )
    assert describe(r) == f"r1: sent 1,234 rows and 2 media files (45.1 kB) -> {url}"
    r = PushResult("runs/r1", "r1", "p", url, state="running", rows_sent=1, held_back=1, dropped=2)
    assert describe(r) == (
        "r1: sent 1 row; still running, sync again for more (its last row is still open); "
        f"2 dropped calls not sent (step went backwards, see localrun show) -> {url}"
    )
    r = PushResult("runs/r1", "r1", "p", url, state="finished")
    assert describe(r) == f"r1: nothing new to send -> {url}"
    r = PushResult("runs/r1", "r1", "p", url, error=TransportError("cannot reach it"))
    # A run that did not sync ends in no URL: it is not (all) there (issue 13).
    assert describe(r) == "r1: FAILED: cannot reach it"


def test_show_and_export_read_a_server(tmp_path, server):
    make_run(tmp_path / "runs", run_id="a", rows=3)
    make_run(tmp_path / "runs", run_id="b", rows=4)
    runner = CliRunner()
    synced = runner.invoke(main, ["sync", str(tmp_path / "runs"), "--to", server.url])
    assert synced.exit_code == 0, synced.output
    listed = runner.invoke(main, ["show", server.url, "--json"])
    assert [(d["id"], d["rows"]) for d in json.loads(listed.output)] == [("a", 3), ("b", 4)]
    table = runner.invoke(main, ["show", server.url])
    assert table.exit_code == 0 and "2 runs" in table.output
    one = runner.invoke(main, ["show", f"{server.url}/runs/proj/b"])
    assert one.exit_code == 0 and "4 rows" in one.output
    csv = runner.invoke(
        main, ["export", f"{server.url}/runs/proj/b", "--format", "csv", "--keys", "loss"]
    )
    assert csv.output.splitlines()[0] == "_step,loss" and len(csv.output.splitlines()) == 5
    missing = runner.invoke(main, ["show", f"{server.url}/runs/proj/nope", "--json"])
    assert missing.exit_code == 3 and "no run 'proj'/'nope' on this server" in missing.output
    whole = runner.invoke(main, ["export", server.url])
    assert whole.exit_code == 1 and "export takes one run" in whole.output


def test_the_line_per_run_says_what_was_not_sent_and_stderr_names_each():
    from localrun.cli.sync import details

    url = "http://127.0.0.1:8080/runs/p/r1"
    r = PushResult("runs/r1", "r1", "p", url, state="finished", rows_sent=3000, files_sent=19)
    r.file_bytes_sent = 1500
    r.lost_media = {"ab": ("media/ab.png", "damaged (its bytes hash to 9f3c..., not to its name)")}
    r.not_sent = [f"step {i}: 'blob' not sent: bytes (b'x') cannot be stored" for i in range(25)]
    assert describe(r) == (
        "r1: sent 3,000 rows and 19 media files (1.5 kB); 1 media file not sent; "
        f"25 values not sent -> {url}"
    )
    lines = details(r)
    assert (
        lines[0]
        == "r1: media/ab.png not sent: damaged (its bytes hash to 9f3c..., not to its name)"
    )
    assert lines[1] == "r1: step 0: 'blob' not sent: bytes (b'x') cannot be stored"
    assert len(lines) == 21 and lines[-1] == "r1: ... and 6 more not sent"
    r = PushResult("runs/r1", "r1", "p", url, state="finished", rows_sent=8, replaced=True)
    assert describe(r) == f"r1: sent 8 rows; replaced the server's copy of another run -> {url}"
