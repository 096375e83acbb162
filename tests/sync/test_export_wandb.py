"""`localrun export RUN --format wandb -o DIR`: a wandb offline run that `wandb sync` uploads.

The directory is read back by wandb itself: `wandb sync DIR` (wandb 0.31's, whose wandb-core
service reads the transaction log) uploads it to a stand-in W&B server on 127.0.0.1
(wandbserver.py), and what it sent is compared with `localrun export` and `localrun show`.
wandb never reaches the network: its server is the stand-in, and any proxy it would use is
a closed local port.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

from localrun.mediarefs import file_refs, media_values

from .. import forkcli
from ..conftest import run_python
from .conftest import export_rows, show_json
from .mediarun import make_media_run
from .wandbserver import WandbServer

# Looked for, not imported: the real wandb stays out of the test process (the seed examples
# put localrun in its place there); only the export and `wandb sync` import it.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("wandb") is None,
    reason="the wandb extra is not installed: pip install 'localrun[wandb]'",
)


def export(*args: str) -> subprocess.CompletedProcess:
    return forkcli.run(["export", *args], timeout=120)


def wandb_env(tmp_path, server: WandbServer) -> dict:
    """wandb pointed at the stand-in server, with its own home, and no way out."""
    home = tmp_path / "wandb-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        HOME=str(home),
        WANDB_BASE_URL=server.url,
        WANDB_API_KEY="x" * 40,
        WANDB_DIR=str(home),
        WANDB_CONFIG_DIR=str(home / "config"),
        WANDB_CACHE_DIR=str(home / "cache"),
        WANDB_DATA_DIR=str(home / "data"),
        WANDB_ERROR_REPORTING="false",
        WANDB_X_DISABLE_UPDATE_CHECK="true",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def plain(value):
    """A value as compared across JSON writers: 1.0 and 1 alike, NaN equal to NaN."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


@pytest.fixture
def wandb_server():
    server = WandbServer()
    yield server
    server.close()


def test_wandb_sync_uploads_the_exported_run_as_localrun_reads_it(tmp_path, wandb_server):
    run_dir = make_media_run(str(tmp_path / "runs"))
    out = tmp_path / "wandb-export"
    proc = export(run_dir, "--format", "wandb", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"upload it with: wandb sync {out}" in proc.stdout
    # The layout wandb's offline mode writes, which `wandb sync` looks for.
    (folder,) = glob.glob(str(out / "offline-run-*-media"))
    assert os.path.isfile(os.path.join(folder, "run-media.wandb"))

    sync = subprocess.run(
        [sys.executable, "-m", "wandb", "sync", str(out)],
        env=wandb_env(tmp_path, wandb_server),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert sync.returncode == 0, sync.stderr + sync.stdout
    assert wandb_server.complete and wandb_server.exitcode == 0

    # History: the same rows, step by step, as `localrun export` prints them.
    rows = export_rows(run_dir)
    sent = wandb_server.rows()
    assert [r["_step"] for r in sent] == [r["_step"] for r in rows]
    for got, want in zip(sent, rows, strict=True):
        assert plain(got) == plain(want)

    # The run, its config and summary, as `localrun show --json` has them.
    doc = show_json(run_dir)
    run = wandb_server.runs["media"]
    assert (run["project"], run["displayName"], run["groupName"], run["notes"]) == (
        "exports",
        "every value",
        "g1",
        "for the exports",
    )
    assert run["tags"] == ["a", "b"]
    config = {k: v["value"] for k, v in run["config"].items() if k != "_wandb"}
    assert plain(config) == plain(doc["config"])
    summary = {k: v for k, v in wandb_server.summary.items() if k != "_wandb"}
    assert plain(summary) == plain(doc["summary"])

    # Every file a value names (a table's cells too) was uploaded, byte for byte, under the
    # name the value gives it.
    named = {}
    for value in [*rows, doc["summary"]]:
        for media in media_values(value):
            named.update(dict(file_refs(media)))
            if media["_type"] == "table-file":
                with open(os.path.join(run_dir, media["path"])) as f:
                    for inner in media_values(json.load(f)):
                        named.update(dict(file_refs(inner)))
    assert len(named) > 15
    for path in named:
        with open(os.path.join(run_dir, path), "rb") as f:
            assert wandb_server.uploads[path] == f.read(), path
        assert os.path.isfile(os.path.join(folder, "files", path))


def test_export_wandb_of_a_run_on_a_server(tmp_path, server, wandb_server):
    run_dir = make_media_run(str(tmp_path / "runs"))
    pushed = forkcli.run(["sync", run_dir, "--to", server.url], timeout=120)
    assert pushed.returncode == 0, pushed.stderr
    url = f"{server.url}/runs/exports/media"
    out = tmp_path / "from-url"
    proc = export(url, "--format", "wandb", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    sync = subprocess.run(
        [sys.executable, "-m", "wandb", "sync", str(out)],
        env=wandb_env(tmp_path, wandb_server),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert sync.returncode == 0, sync.stderr + sync.stdout
    rows = export_rows(run_dir)
    assert [plain(r) for r in wandb_server.rows()] == [plain(r) for r in rows]
    image = rows[0]["img"]["path"]
    with open(os.path.join(run_dir, image), "rb") as f:
        assert wandb_server.uploads[image] == f.read()


def test_export_wandb_needs_an_empty_output_folder(tmp_path):
    run_dir = make_media_run(str(tmp_path / "runs"))
    missing = export(run_dir, "--format", "wandb")
    assert missing.returncode == 2
    assert "--format wandb writes a folder: name it with -o DIR" in missing.stderr
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.txt").write_text("x")
    proc = export(run_dir, "--format", "wandb", "-o", str(full))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: {full} is not empty (it holds old.txt)")
    assert os.listdir(full) == ["old.txt"]
    keys = export(run_dir, "--format", "wandb", "-o", str(tmp_path / "k"), "--keys", "loss")
    assert keys.returncode == 2 and "--keys 'loss' is for --format jsonl and csv" in keys.stderr


def test_export_wandb_without_the_extra_says_how_to_install_it(tmp_path):
    run_dir = make_media_run(str(tmp_path / "runs"))
    code = (
        "import sys; sys.modules['wandb'] = None\n"  # what an environment without wandb imports
        "from localrun.cli import main\n"
        f"main(['export', {run_dir!r}, '--format', 'wandb', '-o', {str(tmp_path / 'o')!r}])\n"
    )
    proc = run_python(code, check=False)
    assert proc.returncode == 1
    assert "needs the 'wandb' package" in proc.stderr
    assert "pip install 'localrun[wandb]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wandb_sync_gets_the_runs_exit_code(tmp_path, wandb_server):
    import localrun

    run = localrun.init(
        dir=str(tmp_path / "runs"), id="failed", project="p", settings={"quiet": True}
    )
    run.log({"x": 1})
    run.finish(exit_code=3, quiet=True)
    out = tmp_path / "out"
    assert export(run.dir, "--format", "wandb", "-o", str(out)).returncode == 0
    sync = subprocess.run(
        [sys.executable, "-m", "wandb", "sync", str(out)],
        env=wandb_env(tmp_path, wandb_server),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert sync.returncode == 0, sync.stderr + sync.stdout
    assert wandb_server.complete and wandb_server.exitcode == 3
    assert [r["x"] for r in wandb_server.rows()] == [1]
