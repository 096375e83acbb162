"""What a run's index must answer: the same as a fresh replay of its segments.

``fresh(path)`` replays a run as phase 1 did (``RunView`` into a ``TableBuilder``), and
``assert_same(source, ref, path)`` checks every answer of ``source`` (documents, keys, series
on every x axis, zoomed and not, and media) against it.
"""

from __future__ import annotations

import json

import numpy as np

from localrun.sync import RunView
from localrun.viewer.source import table_keys, table_media, table_series
from localrun.viewer.table import TableBuilder, step_metric_names


def fresh(path: str):
    view = RunView(path)
    builder = TableBuilder()
    builder.add(view.rows())
    doc = view.to_json()
    return doc, builder.build(step_metric_names(doc.get("metrics")))


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=repr)


def same_series(a, b, what: str) -> None:
    assert set(a) == set(b), what
    for key in a:
        sa, sb = a[key], b[key]
        assert sa.count == sb.count and sa.sampled == sb.sampled, (what, key, sa, sb)
        np.testing.assert_array_equal(sa.x, sb.x, err_msg=f"{what} {key} x")
        np.testing.assert_array_equal(sa.y, sb.y, err_msg=f"{what} {key} y")  # NaN == NaN here


def assert_same(source, ref, path: str, points=(2, 7, 2000)) -> None:
    doc, table = fresh(path)
    keys = source.keys(ref)  # first, as the run page asks: one replay gives both
    assert dumps(keys) == dumps(table_keys(table))
    assert dumps(source.run(ref)) == dumps(doc)
    numeric = [k for k, v in keys["keys"].items() if "number" in v["types"]]
    for x in keys["x"]:
        column = table.x_values(x)
        finite = column[np.isfinite(column)]
        ranges = [(None, None)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            mid = (lo + hi) / 2
            ranges += [(mid, None), (None, mid), (lo + 0.25, hi - 0.5), (hi + 1, None)]
        for n in points:
            for lo, hi in ranges:
                what = f"x={x} points={n} lo={lo} hi={hi}"
                got = source.series(ref, numeric + ["absent"], x, n, lo, hi)
                want = table_series(table, ref, numeric + ["absent"], x, n, lo, hi)
                same_series(got, want, what)
    for key, v in keys["keys"].items():
        if any(k not in ("number", "other") for k in v["types"]):
            for n in (None, 1, 3):
                assert dumps(source.media(ref, key, n)) == dumps(table_media(table, key, n))
