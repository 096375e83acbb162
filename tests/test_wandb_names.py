"""docs/wandb.md's tables say which wandb names exist: hold them to the code.

The ``localrun run`` column is checked on the stand-in wandb package (localrun/wandb_shim),
the ``import localrun as wandb`` column on localrun itself; ``run.X`` rows on a real run.
"works" and "no-op" names must resolve, "missing" ones must not (hasattr() is False);
"forwarded" ones come with another issue and are not checked.
"""

from __future__ import annotations

import os
import re

import pytest

import localrun

from .conftest import REPO

ROW = re.compile(r"^\| `((?:wandb|run)\.[\w.]+)` \| (\w[\w-]*) \| (\w[\w-]*) \| ")
STATUSES = {"works", "no-op", "missing", "forwarded"}


def _rows() -> list[tuple[str, str, str]]:
    with open(os.path.join(REPO, "docs", "wandb.md"), encoding="utf-8") as f:
        return [m.groups() for m in map(ROW.match, f) if m]


def _resolves(obj, dotted: str) -> bool:
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return False
    return True


def test_the_tables_are_there_and_use_the_four_statuses():
    rows = _rows()
    assert len(rows) > 60
    assert {s for _, a, b in rows for s in (a, b)} <= STATUSES
    names = [name for name, _, _ in rows]
    assert len(names) == len(set(names))
    for name in ("wandb.sdk.lib.config_util.ConfigError", "wandb.wandb_run.Run", "run._label"):
        assert name in names


@pytest.mark.parametrize("name,under_run,under_import", _rows())
def test_each_documented_name_is_as_the_table_says(name, under_run, under_import, tmp_path):
    from localrun.wandb_shim import wandb as shim

    owner, _, rest = name.partition(".")
    if owner == "run":
        run = localrun.init(dir=str(tmp_path), settings={"silent": True})
        try:
            targets = [(under_run, run), (under_import, run)]
            for status, obj in targets:
                if status != "forwarded":
                    assert _resolves(obj, rest) == (status != "missing"), (name, status)
        finally:
            run.finish()
        return
    for status, module in ((under_run, shim), (under_import, localrun)):
        if status != "forwarded":
            assert _resolves(module, rest) == (status != "missing"), (name, status, module)
