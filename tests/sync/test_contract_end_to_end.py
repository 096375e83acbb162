"""One value contract: what log() accepts at its limits, a real server stores; past them, log() refuses.

Each limit of localrun/contract.py is tried at its edge through the real recorder, a real
`localrun sync` and a real `localrun serve`: the value on the edge arrives exactly, the value
just past it is refused by the call that tried to log it, and the run goes on.
"""

from __future__ import annotations

import pytest

import localrun
from localrun import contract
from localrun.sync import RunView

from .conftest import same, sync


def nest(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_every_limit_of_the_contract_syncs_at_its_edge_and_is_refused_past_it(tmp_path, server):
    root = tmp_path / "runs"
    run = localrun.init(project="edge proj (v1)", id="e1", dir=str(root), settings={"quiet": True})
    # A record over COUNTED_ABOVE_BYTES may hold MAX_VALUES values (a list counts its items and
    # CONTAINER_WEIGHT): the record's envelope and the other keys here count about 650.
    fits = contract.MAX_VALUES - 1000
    edge = {
        "deep": nest(contract.MAX_DEPTH),
        "max_int": contract.MAX_INT,
        "min_int": contract.MIN_INT,
        "keys": {"1": "a", "true": "b"},
        "many": [0.5] * fits,
    }
    run.log(edge)
    for too_far, why in (
        ({"deep": nest(contract.MAX_DEPTH + 1)}, "nested deeper than"),
        ({"many": [0.5] * (contract.MAX_VALUES + 1)}, "values"),
        ({"blob": b"x"}, "bytes"),
        ({"s": "x" * (contract.MAX_RECORD_BYTES + 1)}, "MiB"),
    ):
        with pytest.raises(localrun.errors.ValueTypeError, match=why):
            run.log(too_far)
    run.log({"after": 1})  # the run goes on, at the next step
    localrun.finish(quiet=True)

    done = sync(root / "e1", server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    with server.remote() as remote:
        rows = list(remote.iter_rows("edge proj (v1)", "e1"))
    local = list(RunView(str(root / "e1")).rows())
    assert [r["_step"] for r in rows] == [0, 1]
    assert same(rows, local)
    assert rows[0]["deep"] == nest(contract.MAX_DEPTH)
    assert rows[0]["max_int"] == contract.MAX_INT and rows[0]["min_int"] == contract.MIN_INT
    assert len(rows[0]["many"]) == fits


def test_names_at_their_edges_sync_and_past_them_are_refused_at_init(tmp_path, server):
    root = tmp_path / "runs"
    long_id = "r" + "x" * 127
    project = "p" * 128
    localrun.init(project=project, id=long_id, dir=str(root), settings={"quiet": True})
    localrun.log({"a": 1})
    localrun.finish(quiet=True)
    for bad in ("exp: lr=0.1", "a/b", "p" * 129, "p\n"):
        with pytest.raises(localrun.errors.InvalidNameError):
            localrun.init(project=bad, dir=str(root), settings={"quiet": True})
    for bad in ("r" * 129, "r1\n", "../x"):
        with pytest.raises(localrun.errors.RunDirError):
            localrun.init(project="p", id=bad, dir=str(root), settings={"quiet": True})
    done = sync(root / long_id, server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    with server.remote() as remote:
        assert [r["a"] for r in remote.iter_rows(project, long_id)] == [1]
