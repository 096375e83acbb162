"""scripts/typecheck.py names each file as it is installed, and checks every module there is."""

from __future__ import annotations

import importlib.util
import os

from .test_layers import ROOT, modules


def _typecheck():
    spec = importlib.util.spec_from_file_location(
        "typecheck", os.path.join(ROOT, "scripts", "typecheck.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_file_is_checked_under_its_installed_name():
    found = dict(_typecheck().sources())
    assert found["sync/push.py"] == "localrun.sync.push"
    assert found["sync/__init__.py"] == "localrun.sync"
    assert found["localrun/record/frame.py"] == "localrun.record.frame"
    assert found["viewer/columns.py"] == "localrun.viewer.columns"
    assert found["cli/__init__.py"] == "localrun.cli"


def test_every_module_is_checked():
    # Every .py file of every package folder (pyproject.toml's packages list included): a new
    # sub-package left out of that list would be neither installed nor type checked.
    checked = {module: path for path, module in _typecheck().sources()}
    assert checked == {module: path for module, (path, _) in modules().items()}
