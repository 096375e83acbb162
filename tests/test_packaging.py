"""Packaging promises: the folder mapping, and what `import localrun` costs."""

import importlib.util
import json
import os
import subprocess
import sys

from .conftest import REPO


def test_sync_and_cli_install_inside_localrun():
    sync = importlib.util.find_spec("localrun.sync")
    cli = importlib.util.find_spec("localrun.cli")
    assert os.path.realpath(sync.origin) == os.path.join(REPO, "sync", "__init__.py")
    assert os.path.realpath(cli.origin) == os.path.join(REPO, "cli", "__init__.py")


def test_no_generic_top_level_sync_cli_or_server_module_is_installed(tmp_path):
    # From a neutral directory, the names `sync`, `cli` and `server` must not resolve to our folders.
    code = "import importlib.util, json; print(json.dumps([str(importlib.util.find_spec(n) and importlib.util.find_spec(n).origin) for n in ('sync', 'cli', 'server')]))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    for origin in json.loads(out):
        assert REPO not in origin


def test_pyproject_maps_the_folders():
    import tomllib

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        conf = tomllib.load(f)
    mapping = conf["tool"]["setuptools"]["package-dir"]
    assert mapping["localrun.sync"] == "sync" and mapping["localrun.cli"] == "cli"
    assert mapping["localrun.server"] == "server"
    assert mapping["localrun.viewer"] == "viewer"
    assert conf["project"]["scripts"]["localrun"] == "localrun.cli:main"


def test_import_localrun_pulls_in_no_http_cli_or_heavy_modules():
    code = "import sys, localrun; print(' '.join(sorted(m for m in ('httpx', 'click', 'rich', 'numpy', 'PIL', 'starlette', 'msgspec', 'localrun.sync') if m in sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_reading_commands_do_not_import_httpx_and_the_sync_side_still_exports_it():
    code = (
        "import sys; from localrun.cli import main; from localrun.sync import RunView, find_runs; "
        "print('httpx' in sys.modules, end=' '); from localrun.sync import Remote, push_runs, PushResult; "
        "print('httpx' in sys.modules, Remote.__name__, push_runs.__name__, PushResult.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False True Remote push_runs PushResult"
    done = subprocess.run(
        [sys.executable, "-c", "from localrun.sync import nothing_here"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "nothing_here" in done.stderr


def test_the_cli_imports_the_viewer_and_numpy_only_for_the_commands_that_use_them():
    code = (
        "import sys, localrun.cli; "
        "print(' '.join(m for m in ('numpy', 'localrun.viewer', 'starlette', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_recorder_source_never_imports_the_sync_side():
    import re

    pattern = re.compile(
        r"^\s*(?:from|import)\s+(httpx|click|rich|starlette|uvicorn|localrun\.sync|localrun\.cli|localrun\.server)\b",
        re.M,
    )
    offenders = []
    for folder, _, files in os.walk(os.path.join(REPO, "localrun")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    offenders += [(name, m) for m in pattern.findall(f.read())]
    assert offenders == []


def test_console_script_runs():
    exe = os.path.join(os.path.dirname(sys.executable), "localrun")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert "localrun" in out


def test_every_package_under_localrun_is_listed_and_the_wandb_stand_ins_record_ships():
    import fnmatch

    import tomllib

    from localrun.wandb_shim import WANDB_VERSION

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        conf = tomllib.load(f)
    listed = set(conf["tool"]["setuptools"]["packages"])
    found = set()
    for folder, dirs, files in os.walk(os.path.join(REPO, "localrun")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        if "__init__.py" in files:
            found.add(os.path.relpath(folder, REPO).replace(os.sep, "."))
    assert "localrun.wandb_shim.wandb.sdk.lib" in found
    assert found <= listed, sorted(found - listed)
    globs = conf["tool"]["setuptools"]["package-data"]["localrun.wandb_shim"]
    assert any(fnmatch.fnmatch(f"wandb-{WANDB_VERSION}.dist-info/METADATA", g) for g in globs)
