"""localrun ships ``py.typed`` (PEP 561): a user's type checker reads localrun's annotations."""

from __future__ import annotations

import importlib.resources
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_installed_package_has_py_typed():
    assert importlib.resources.files("localrun").joinpath("py.typed").is_file()


def test_the_wheel_has_py_typed(tmp_path):
    # Built from a copy of the sources, with the setuptools of this environment and nothing
    # fetched: what `pip install localrun` would put in site-packages.
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} here; pyproject.toml needs >= 77")
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "node_modules", "frontend")
    for folder in ("localrun", "sync", "server", "viewer", "cli"):
        shutil.copytree(os.path.join(ROOT, folder), src / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), src / name)
    out = tmp_path / "dist"
    build = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, setuptools.build_meta as b; print(b.build_wheel(sys.argv[1]))",
            str(out),
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = out / build.stdout.strip().splitlines()[-1]
    names = zipfile.ZipFile(wheel).namelist()
    assert "localrun/py.typed" in names
    # The folders installed as sub-packages are in it too, under their installed names.
    assert "localrun/sync/push.py" in names and "localrun/cli/__init__.py" in names
