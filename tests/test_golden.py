"""Golden runs: directories written by format 1, read back exactly as they first were."""

import json
import math
import os

from localrun.sync import RunView

from .conftest import REPO

GOLDEN = os.path.join(REPO, "fixtures", "golden", "format1")


def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


def test_format1_golden_run_reads_back_exactly():
    with open(os.path.join(GOLDEN, "steps.expected.json")) as f:
        expected = json.load(f)
    view = RunView(os.path.join(GOLDEN, "steps"))
    rows = list(view.rows())
    assert same(rows, expected["rows"])
    got = {k: v for k, v in view.to_json().items() if k != "path"}
    assert same(json.loads(json.dumps(got)), expected["show"])


def test_format1_golden_run_has_the_rules_in_it():
    with open(os.path.join(GOLDEN, "steps.expected.json")) as f:
        expected = json.load(f)
    assert [r["_step"] for r in expected["rows"]] == [0, 1, 5, 6]
    assert expected["show"]["dropped"] == [{"step": 2, "current_step": 5, "keys": ["late"]}]
    assert expected["show"]["summary"]["loss"] == {"min": 1.0} and expected["show"]["segments"] == 2
