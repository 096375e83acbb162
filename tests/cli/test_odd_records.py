"""Readers never crash: whatever a segment holds, show, export and verify print something sensible.

The recorder refuses odd values at the call now, but runs written by older versions (or by
hand) can hold them: keys that are not strings (a msgpack map key may even be an array),
bytes, values nested a thousand deep, timestamps, NaN, integers at the 64-bit edges, a
summary whose payload is not a map. These runs are written record by record here.
"""

from __future__ import annotations

import base64
import csv
import datetime
import io
import json
import math
import os
import struct
import traceback

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from localrun.cli import main
from localrun.cli.jsontext import deep_values

from ..conftest import cli
from .handmade import T0, log, write_run


@pytest.fixture(autouse=True)
def _deep():
    """The test too reads (and compares) values nested a thousand deep."""
    with deep_values():
        yield


READERS = (
    ("show",),
    ("show", "--json"),
    ("export",),
    ("export", "--format", "csv"),
    ("export", "--keys", "a,b"),
    ("export", "--format", "csv", "--keys", "a,b"),
    ("verify",),
    ("verify", "--json"),
)


def nested(depth, leaf=1):
    value = leaf
    for i in range(depth):
        value = {"x": value} if i % 2 else [value]
    return value


def read_all(path):
    """Every reading command on ``path``: none prints a traceback; show and export exit 0
    (export --keys a,b: 1 for a run with neither key)."""
    out = {}
    for args in READERS:
        proc = cli(*args, path, check=False)
        assert "Traceback" not in proc.stderr, (args, proc.stderr[-2000:])
        assert "bug in localrun" not in proc.stderr, (args, proc.stderr[-2000:])
        assert proc.returncode in (0, 1), (args, proc.returncode, proc.stderr[-2000:])
        if args[0] == "export" and "--keys" in args and proc.returncode == 1:
            # A run with neither key: export says so, with the keys it has (issue 13).
            assert "this run has no keys 'a', 'b'" in proc.stderr and not proc.stdout, args
        elif args[0] != "verify":
            assert proc.returncode == 0, (args, proc.stderr[-2000:])
        out[" ".join(args)] = proc
    if out["show --json"].stdout:
        json.loads(out["show --json"].stdout)  # valid JSON (NaN as Python's json writes it)
    return out


def exported(procs):
    return [json.loads(line) for line in procs["export"].stdout.split("\n")[:-1]]


def data_of(row):
    return {k: v for k, v in row.items() if k not in ("_step", "_runtime", "_timestamp")}


def test_a_nested_tuple_key_does_not_stop_any_reader(tmp_path):
    # Row 6 of issue 10: {"a": {(1, 2): 3}} made show, export and show --json fail for the run.
    path = write_run(
        str(tmp_path / "tk"),
        [log({"a": {(1, 2): 3}, "x": 1.0}, seq=1), log({"x": 2.0}, seq=2, writer_step=1)],
    )
    procs = read_all(path)
    rows = exported(procs)
    assert [data_of(r) for r in rows] == [{"a": {"[1,2]": 3}, "x": 1.0}, {"x": 2.0}]
    doc = json.loads(procs["show --json"].stdout)
    assert doc["rows"] == 2 and doc["summary"]["a"] == {"[1,2]": 3}
    assert '{"[1,2]": 3}' in procs["show"].stdout and "x" in procs["show"].stdout
    table = list(csv.reader(io.StringIO(procs["export --format csv"].stdout)))
    assert table[0][:3] == ["_step", "a", "x"] and table[1][1] == '{"[1,2]":3}'


ODD_VALUES = {
    "int and other scalar keys": (
        {"a": {1: "i", 2.5: "f", None: "n"}, "b": {True: "t", False: "f"}},
        {"a": {"1": "i", "2.5": "f", "null": "n"}, "b": {"true": "t", "false": "f"}},
    ),
    "a top-level int key": ({1: 2, "b": 3}, {"1": 2, "b": 3}),
    "array keys, nested": (
        {"a": {(1, (2, "x")): [{(3,): 4}]}},
        {"a": {'[1,[2,"x"]]': [{"[3]": 4}]}},
    ),
    "bytes": (
        {"a": b"\x00\xff", "b": {"c": [b"xyz"]}},
        {"a": base64.b64encode(b"\x00\xff").decode(), "b": {"c": ["eHl6"]}},
    ),
    "a bytes key": ({"a": {b"k": 1}}, {"a": {"aw==": 1}}),
    "NaN and infinities": (
        {"a": float("nan"), "b": {"c": [float("inf"), float("-inf")]}},
        {"a": math.nan, "b": {"c": [math.inf, -math.inf]}},
    ),
    "integers at the 64-bit edges": (
        {"a": 2**64 - 1, "b": -(2**63), "c": {"d": [2**64 - 1, -(2**63)]}},
        {"a": 2**64 - 1, "b": -(2**63), "c": {"d": [2**64 - 1, -(2**63)]}},
    ),
    "timestamps": (
        {"a": datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)},
        {"a": "2024-05-01T00:00:00+00:00"},
    ),
    "a timestamp inside": (
        {"a": {"b": datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc)}},
        {"a": {"b": "2024-05-01T12:00:00+00:00"}},
    ),
    "65 deep": ({"a": nested(65)}, {"a": nested(65)}),
    "1,000 deep": ({"a": nested(1000)}, {"a": nested(1000)}),
    "a huge string": ({"a": "x" * 20_000_000}, {"a": "x" * 20_000_000}),
    "markup in keys and values": (
        {"[red]k[/]": "[/]", "b": {"[/x]": "[bold"}},
        {"[red]k[/]": "[/]", "b": {"[/x]": "[bold"}},
    ),
}


def same(a, b):
    return json.dumps(_utc(a), sort_keys=True) == json.dumps(_utc(b), sort_keys=True)


def _utc(value):
    """ISO 8601 in UTC may end in Z (msgspec writes that) or +00:00 (Python's isoformat)."""
    if isinstance(value, str) and value.endswith("Z") and value[:4].isdigit():
        return value[:-1] + "+00:00"
    if isinstance(value, dict):
        return {k: _utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utc(v) for v in value]
    return value


@pytest.mark.parametrize("name", list(ODD_VALUES))
def test_odd_values_are_read_by_every_command(tmp_path, name):
    data, expected = ODD_VALUES[name]
    path = write_run(
        str(tmp_path / "odd"), [log({"n": 0}, seq=1), log(data, seq=2), log({"n": 2}, seq=3)]
    )
    procs = read_all(path)
    rows = exported(procs)
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert same(data_of(rows[1]), expected)
    doc = json.loads(procs["show --json"].stdout)
    for k, v in expected.items():
        assert same(doc["summary"][k], v)
    assert procs["show"].stdout.startswith("hand (odd)")


def test_reserved_keys_in_the_data_do_not_crash_readers(tmp_path):
    path = write_run(
        str(tmp_path / "res"),
        [log({"_step": 5, "_runtime": "x", "_timestamp": None, "a": 1}, seq=1), log({"a": 2})],
    )
    rows = exported(read_all(path))
    assert [r["a"] for r in rows] == [1, 2]


RECORDS = {
    "a summary payload that is a list": [(3, 1, T0, [1, 2], None)],
    "a summary deleting odd keys": [(3, 1, T0, {1: 2, (1, 2): {3: 4}}, ["a", 1, [1]])],
    "a config payload that is an int": [(2, 1, T0, 5)],
    "config with odd keys": [(2, 1, T0, {2: 3, "c": {(1, 2): b"x"}})],
    "a meta payload that is a str": [(5, 1, T0, "x")],
    "odd meta values": [(5, 1, T0, {"tags": "abc", "name": 3, "notes": b"n", "group": [1]})],
    "more odd meta": [(5, 1, T0, {"tags": [1, None, {"a": 1}], "name": "[/]", "project": {}})],
    "a metric spec with a summary string": [
        (4, 1, T0, "a", {"summary": "notalist"}),
        log({"a": 1.0}, seq=2),
    ],
    "a metric spec with odd parts": [(4, 1, T0, "*", {"summary": [1, "best", "x"], "goal": 3})],
    "a metric with no name": [(4, 1, T0, 3, 4)],
    "chart specs that are odd": [(8, 1, T0, "k", {"fields": "x"}), (8, 2, T0, 3, 4)],
    "a log with a str time": [log({"a": 1}, seq=1, t="later")],
    "a log with no time": [log({"a": 1}, seq=1, t=None)],
    "a log with a NaN time": [log({"a": 1}, seq=1, t=float("nan"))],
    "a log with an infinite time": [log({"a": 1}, seq=1, t=float("inf"))],
    "a log with a huge time": [log({"a": 1}, seq=1, t=1e300)],
    "odd steps": [log({"a": 1}, seq=1, step="x", commit="y", writer_step="z")],
    "huge steps": [log({"a": 1}, seq=1, step=2**64 - 1), log({"a": 1}, seq=2, writer_step=-5)],
    "a log whose data is a list": [(1, 1, T0, [1, 2], None, None, 0)],
    "odd media values": [
        log({"img": {"_type": [1]}, "l": [{"_type": None}], "m": {"_type": "x", "path": 5}})
    ],
    "a finish with odd fields": [(7, 1, T0, "x", ["y"], None)],
    "a signal with odd fields": [(6, 1, T0, "TERM")],
    "an unknown kind": [(99, 1, T0, {"a": 1})],
    "a start record in the middle": [(0, 1, T0, {"start_step": "x", "tags": 5})],
}


@pytest.mark.parametrize("name", list(RECORDS))
def test_odd_records_are_read_by_every_command(tmp_path, name):
    path = write_run(
        str(tmp_path / "rec"),
        [*RECORDS[name], log({"after": 1.5}, seq=50, t=T0 + 50)],
    )
    procs = read_all(path)
    rows = exported(procs)
    assert rows and rows[-1]["after"] == 1.5


@pytest.mark.parametrize("t", [math.nan, math.inf, -math.inf, 1e300, -1e300, "x", None, 2**64 - 1])
def test_an_odd_time_on_the_last_record_is_read(tmp_path, t):
    path = write_run(
        str(tmp_path / "t"),
        [log({"a": 1.0}, seq=1), log({"a": 2.0}, seq=2, t=t), (3, 3, t, {"s": 1}, [])],
        finish=False,
    )
    rows = exported(read_all(path))
    assert rows[0]["a"] == 1.0


RUN_JSONS = {
    "odd types": {"format": 1, "id": {"x": 1}, "project": ["a"], "name": 3, "created_at": "now"},
    "markup": {"format": 1, "id": "[/]", "project": "[bold", "name": "[/x]", "created_at": None},
    "huge numbers": {"format": 1, "created_at": 1e300, "updated_at": -1e300},
    "an empty object": {},
}


@pytest.mark.parametrize("name", list(RUN_JSONS))
def test_an_odd_run_json_is_read(tmp_path, name):
    path = write_run(str(tmp_path / "rj"), [log({"a": 1.0})], run_json=RUN_JSONS[name])
    rows = exported(read_all(path))
    assert [r["a"] for r in rows] == [1.0]
    proc = cli("show", str(tmp_path), check=False)  # the folder's table
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


def test_a_folder_of_odd_runs_shows_as_a_table(tmp_path):
    write_run(str(tmp_path / "a"), [log({1: 2, "b": {(1,): 2}, "c": b"x"})])
    write_run(str(tmp_path / "b"), [log({"d": nested(900)}), (3, 2, T0, [1], None)])
    for args in (("show",), ("show", "--json"), ("verify",), ("verify", "--json")):
        proc = cli(*args, str(tmp_path), check=False)
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr


def test_a_record_too_deep_to_read_is_reported_not_crashed(tmp_path):
    # Deeper than any reader follows: one damaged record, reported; the rest of the run reads.
    payload = b"\x97\x01\x02\xcb" + struct.pack(">d", T0 + 2) + b"\x81\xa1a"
    payload += b"\x91" * 200_000 + b"\x01" + b"\xc0\xc0\x00"
    path = write_run(str(tmp_path / "deep"), [log({"a": 1}, seq=1), payload, log({"a": 3}, seq=3)])
    procs = read_all(path)
    assert [r["a"] for r in exported(procs)] == [1, 3]
    assert "damaged record" in procs["export"].stderr
    assert procs["verify"].returncode == 1


def test_verify_names_each_record_that_cannot_be_synced(tmp_path):
    # Rows 3 and 6: verify said "sound" for records the server refuses.
    path = write_run(
        str(tmp_path / "v"),
        [
            log({"a": {(1, 2): 3}}, seq=1),
            log({"ok": 1.0, "b": b"x"}, seq=2),
            log({"c": nested(70)}, seq=3),
            log({"_step": 3}, seq=4),
            log({"fine": [1, {"x": "y"}]}, seq=5),
            (3, 6, T0, {"s": {4: 5}}, []),
            (2, 7, T0, {"cfg": b"x"}),
        ],
    )
    proc = cli("verify", path, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 6, proc.stdout
    for line, key in zip(lines, ["'a'", "'b'", "'c'", "'_step'", "'s'", "'cfg'"], strict=True):
        assert "000001.lrs at byte " in line and key in line, line
    assert "(1, 2)" in lines[0] and "bytes" in lines[1] and "deeper than 64" in lines[2]
    report = json.loads(cli("verify", path, "--json", check=False).stdout)
    assert not report["ok"]
    values = [d for d in report["runs"][0]["damaged"] if d["kind"] == "value"]
    assert [d["key"] for d in values] == ["a", "b", "c", "_step", "s", "cfg"]
    assert all(d["where"] == os.path.join("segments", "000001.lrs") for d in values)
    assert all(type(d["offset"]) is int and d["reason"] for d in values)


def test_verify_still_calls_a_plain_run_sound(tmp_path):
    path = write_run(
        str(tmp_path / "p"), [log({"a": [1, {"b": "c"}], "n": None}, seq=i) for i in range(5)]
    )
    proc = cli("verify", path)
    assert proc.stdout == "" and "sound" in proc.stderr


# --- any record at all (hypothesis) ------------------------------------------------------------

UTC = datetime.timezone.utc
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from([-(2**63), 2**63 - 1, 2**64 - 1, 0]),
    st.floats(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.datetimes(timezones=st.just(UTC)),
)
hashables = st.recursive(
    st.one_of(st.text(max_size=10), st.integers(-10, 10), st.booleans(), st.none()),
    lambda inner: st.tuples(inner, inner),
    max_leaves=4,
)
keys = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["_step", "_runtime", "_timestamp", "[red]", "_x", "a/b"]),
    hashables,
    st.binary(max_size=5),
    st.floats(allow_nan=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
nested_values = st.builds(nested, st.sampled_from([1, 64, 65, 300]), values)
odd_values = st.one_of(values, values, values, nested_values)
data = st.dictionaries(st.one_of(st.text(max_size=8), st.text(max_size=8), keys), odd_values)
times = st.one_of(st.floats(T0, T0 + 1000), st.sampled_from([math.nan, math.inf, "then", None, 5]))
records = st.one_of(
    st.tuples(st.just("log"), data, times),
    st.tuples(st.just("log"), data, times),
    st.tuples(st.just("log"), odd_values, times),
    st.tuples(st.sampled_from([2, 3, 5]), odd_values, odd_values),
    st.tuples(st.sampled_from([4, 8]), keys, odd_values),
    st.tuples(st.sampled_from([0, 6, 7, 99]), odd_values, odd_values),
)


def expected_json(value):
    """What export writes for a value, by the rules in docs/cli.md (an independent spelling)."""
    if isinstance(value, dict):
        return {expected_key(k): expected_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [expected_json(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def expected_key(k):
    if isinstance(k, str):
        return k
    if isinstance(k, bytes):
        return base64.b64encode(k).decode()
    return json.dumps(expected_json(k), separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(recs=st.lists(records, min_size=1, max_size=6))
# Found once: a define_metric record, then a row whose key is a tuple of odd keys (the summary
# took the tuple for a path inside a value).
@example(recs=[(4, "", {}), ("log", {"": None, (None, 0): []}, 1700000000.0)])
def test_any_records_are_read_and_nothing_is_invented(tmp_path_factory, recs):
    path = str(tmp_path_factory.mktemp("hyp") / "run")
    written, logged = [], []
    for seq, rec in enumerate(recs, 1):
        if rec[0] == "log":
            _, payload, t = rec
            written.append(log(payload, seq=seq, t=t))
            if type(payload) is dict and type(t) in (int, float):
                logged.append(payload)
        else:
            written.append((rec[0], seq, T0 + seq, rec[1], rec[2]))
    write_run(path, written)
    runner = CliRunner()
    out = {}
    for args in READERS:
        result = runner.invoke(main, [*args, path])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args,
            "".join(traceback.format_exception(result.exception)),
        )
        assert result.exit_code in (0, 1), (args, result.output)
        assert "bug in localrun" not in result.output, (args, result.output)
        if args[0] == "export" and "--keys" in args and result.exit_code == 1:
            # A run with neither key: export says so (issue 13).
            assert "this run has no keys 'a', 'b'" in result.output, (args, result.output)
        elif args[0] != "verify":
            assert result.exit_code == 0, (args, result.output)
        out[" ".join(args)] = result
    json.loads(out["show --json"].stdout)
    json.loads(out["verify --json"].stdout)
    # (Lines end in "\n" only: a string may hold U+2028, which str.splitlines() splits at.)
    rows = [json.loads(line) for line in out["export"].stdout.split("\n")[:-1]]
    # A row per log() record with a map and a time, in order, holding exactly its data (but
    # for _step, _runtime and _timestamp, which replay sets too).
    assert len(rows) == len(logged), (rows, logged)
    for row, data in zip(rows, logged, strict=True):
        want, row = canon(expected_json(data)), canon(row)
        assert set(row) - set(want) <= REPLAYS
        for k, v in want.items():
            if k not in REPLAYS:
                assert json.dumps(row[k]) == json.dumps(v), (k, row[k], v)


REPLAYS = {"_step", "_runtime", "_timestamp"}


def canon(value):
    """A value as read back from JSON, with what may be spelled two ways spelled one way."""
    if isinstance(value, dict):
        return {number_key(k): canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canon(v) for v in value]
    return _utc(value)


def number_key(k):
    """A key that is a float's text, as a float: the json module writes 1e16 as "1e+16" and
    the infinity as "Infinity", msgspec as "1e16" and "inf". A NaN's text (a key "NAN" or "nan")
    stays one string: NaN is not equal to itself, so as a float it would never match."""
    try:
        f = float(k)
    except ValueError:
        return k
    return "nan" if math.isnan(f) else f
