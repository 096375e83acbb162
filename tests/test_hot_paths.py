"""What the benchmarks rely on: the fast paths of log(), the segment reader and histograms
behave exactly as the plain code they stand in for. (No timings here: benchmarks/ has those.)"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import os
import re
import subprocess
import sys
import uuid

import msgpack
import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import localrun
from localrun.contract import RESERVED_KEYS
from localrun.errors import KeyTypeError, ValueTypeError
from localrun.media.histogram import histogram_value
from localrun.record import frame, kinds
from localrun.record.segment import SegmentReader


def _segment(run) -> str:
    return os.path.join(run.dir, "segments", "000001.lrs")


def _records(path: str) -> list[list]:
    return [list(rec) for _, rec, _ in SegmentReader(path)]


@pytest.fixture
def run(tmp_path):
    r = localrun.init(project="p", dir=str(tmp_path), settings={"quiet": True})
    yield r
    r.finish(quiet=True)


def test_import_localrun_leaves_heavy_modules_unimported():
    code = (
        "import sys, localrun\n"
        "heavy = ('numpy', 'PIL', 'httpx', 'click', 'rich', 'localrun.sync', 'localrun.cli')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


class Key(str):
    pass


def test_log_records_every_call_as_made(run):
    run.log({"a": 1.5, "b": 2})
    run.log({"c": np.float32(0.5), "d": np.arange(3), "e": 2**70}, commit=False)
    run.log({Key("f"): "x"}, step=5)
    run.log({}, step=5, commit=True)
    run.finish(quiet=True)
    logs = [r for r in _records(_segment(run)) if r[0] == kinds.LOG]
    assert [r[1] for r in logs] == [1, 2, 3, 4]
    assert [r[3:] for r in logs] == [
        [{"a": 1.5, "b": 2}, None, None, 0],
        [{"c": 0.5, "d": [0, 1, 2], "e": float(2**70)}, None, False, 1],
        [{"f": "x"}, 5, None, 1],
        [{}, 5, True, 5],
    ]
    assert run.summary["f"] == "x" and run.summary["a"] == 1.5


def test_log_refuses_non_str_keys_and_records_nothing(run):
    run.log({"a": 1})
    with pytest.raises(KeyTypeError, match="keys must be strings"):
        run.log({"b": 1, 3: 2})
    assert run.step == 1 and "b" not in run.summary
    run.log({"c": 1})
    run.finish(quiet=True)
    logs = [r for r in _records(_segment(run)) if r[0] == kinds.LOG]
    assert [r[3] for r in logs] == [{"a": 1}, {"c": 1}]


def test_log_of_media_in_a_list_is_packed_through_normalize(run):
    h = localrun.Histogram([1.0, 2.0, 3.0])
    run.log({"h": h, "hs": [h, h], "n": 1})
    run.log({"n": 2})  # the media flag does not stick to the next call
    run.finish(quiet=True)
    logs = [r for r in _records(_segment(run)) if r[0] == kinds.LOG]
    assert logs[0][3]["h"]["_type"] == "histogram"
    assert [v["_type"] for v in logs[0][3]["hs"]] == ["histogram", "histogram"]
    assert logs[1][3] == {"n": 2}


def _reference(data: bytes) -> tuple[list, list, object]:
    """What the reader returns, computed the plain way: frame.scan() and msgpack."""
    records, damage, tail = [], [], None
    for item in frame.scan(data, len(frame.MAGIC), len(data)):
        if type(item) is tuple:
            offset, payload = item
            try:
                rec = msgpack.unpackb(payload, raw=False, strict_map_key=False)
            except Exception:
                damage.append((offset, "undecodable"))
                continue
            if type(rec) is not list or len(rec) < 3 or type(rec[0]) is not int:
                damage.append((offset, "not a record"))
                continue
            if len(rec) < kinds.MIN_LENGTH.get(rec[0], 0):
                damage.append((offset, "too short"))
                continue
            records.append((offset, rec))
        elif type(item) is frame.Damage:
            damage.append((item.offset, item.size_bytes, item.reason))
        else:
            tail = item
    return records, damage, tail


def _read(path: str) -> tuple[list, list, object]:
    reader = SegmentReader(path)
    records = [(offset, list(rec)) for offset, rec, _ in reader]
    damage = []
    for d in reader.damage:
        if "undecodable" in d.reason:
            damage.append((d.offset, "undecodable"))
        elif d.reason == "not a record":
            damage.append((d.offset, "not a record"))
        elif "too short" in d.reason:
            damage.append((d.offset, "too short"))
        else:
            damage.append((d.offset, d.size_bytes, d.reason))
    return records, damage, reader.tail


def test_reader_agrees_with_scan_on_torn_and_damaged_segments(run, tmp_path):
    for i in range(6):
        run.log({"loss": i / 7, "name": "x" * i})
    run.finish(quiet=True)
    with open(_segment(run), "rb") as f:
        good = f.read()
    path = str(tmp_path / "copy.lrs")
    cases = [good[:n] for n in range(len(good) + 1)]
    cases += [good[:n] + bytes([good[n] ^ 0x40]) + good[n + 1 :] for n in range(8, len(good), 7)]
    cases.append(good + frame.frame(msgpack.packb("not a record")) + frame.frame(b"\xc1"))
    for data in cases:
        with open(path, "wb") as f:
            f.write(data)
        expected = (
            _reference(data)
            if len(data) >= len(frame.MAGIC)
            else ([], [], frame.Tail(0, len(data)))
        )
        got = _read(path)
        if not data:
            expected = ([], [], None)
        assert got == expected, len(data)


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).standard_normal(10_000),
        np.array([1.0, np.nan, 3.0, np.inf, -np.inf, 2.0]),
        np.array([np.nan, np.nan]),
        np.full(100, 7.0),
        np.arange(1000, dtype=np.int64),
        np.array([], dtype=np.float64),
        [0.1, 0.2, 0.30000000000000004],
    ],
)
def test_histogram_value_is_np_histogram_of_the_finite_values(values):
    arr = np.asarray(values, dtype=np.float64).ravel()
    counts, edges = np.histogram(arr[np.isfinite(arr)], bins=64)
    got = histogram_value(values)
    assert got == {"_type": "histogram", "bins": edges.tolist(), "values": counts.tolist()}


def test_export_row_encoder_writes_json_the_json_module_reads_back_as_the_row():
    import json
    import math

    from localrun.cli.export import _RowEncoder

    rows = [
        {"_step": 0, "a": 0.1, "b": 2, "_runtime": 0.0, "_timestamp": 1.7e9},
        {"_step": 1, "a": float("nan"), "b": 2, "_runtime": 0.5, "_timestamp": 1.7e9},
        {"_step": 2, "a": float("-inf"), "b": -0.0, "_runtime": 1e-7, "_timestamp": 1e22},
        {"_step": 3, "a": True, "b": 2},
        {"_step": 4, "a": "s", "b": None},
        {"_step": 5, "a": [1, 2.5], "b": {"_type": "histogram", "c": [float("inf")]}},
        {
            "_step": 6,
            "pct%": 1.5,
            "True": 2.0,
            'é\n"': 0.25,
            "big": 2**64 - 1,
            "\x7f\u2028": "null",
        },
        {
            "_step": 7,
            "a": 1e16,
            "b": 123456789.0,
            "c": 5e-324,
            "d": 1e-05,
            "e": 1.7976931348623157e308,
        },
        {"_step": 8, 3: 1.0},
    ]
    encoder = _RowEncoder()
    # bytes (loggable, never in a record a reader typed) are base64 on both paths: msgspec's,
    # and the json module's, taken when the row also holds a NaN.
    assert encoder.line({"b": b"\x00\xff"}) == b'{"b":"AP8="}\n'
    assert encoder.line({"b": b"\x00\xff", "n": float("nan")}) == b'{"b":"AP8=","n":NaN}\n'

    def same(a, b):
        return repr(a) == repr(b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b))

    for chunk in (rows, rows[:1], [rows[1]], rows[6:]):
        text = encoder.lines(chunk).decode("utf-8")
        assert text.endswith("\n") and text.count("\n") == len(chunk)
        for line, row in zip(
            text.split("\n")[:-1], chunk, strict=True
        ):  # not splitlines(): a string may hold U+2028
            back = json.loads(line)
            assert "\n" not in line and list(back) == [str(k) for k in row]
            for (k, v), w in zip(row.items(), back.values(), strict=True):
                assert same(v, w), (k, v, w)
        assert b"".join(map(encoder.line, chunk)).decode("utf-8") == text
    assert (
        b"NaN" in encoder.line(rows[1])
        and b"-Infinity" in encoder.line(rows[2])
        and b"Infinity]" in encoder.line(rows[5])
    )


@pytest.mark.parametrize("seed", range(5))
def test_show_series_extend_leaves_the_state_add_leaves(seed):
    import math
    import random

    from localrun.cli.show import _Series

    rng = random.Random(seed)
    one, bulk = _Series(width=8), _Series(width=8)
    for _ in range(30):
        values = [
            rng.choice([rng.random(), rng.randint(-5, 5), math.nan, math.inf])
            for _ in range(rng.randint(0, 200))
        ]
        for v in values:
            one.add(v)
        bulk.extend(values)
        state = lambda s: (s.count, s.last, s.min, s.max, s.stride, s._skip, s.points)  # noqa: E731
        assert repr(state(bulk)) == repr(state(one))


def test_log_on_a_full_disk_raises_and_leaves_whole_records(run, monkeypatch):
    from localrun.errors import DiskFullError

    run.log({"a": 1})
    size = os.path.getsize(_segment(run))
    real_write = os.write

    def short_write(fd, data):
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(DiskFullError, match="disk is full"):
        run.log({"b": 2})
    monkeypatch.setattr(os, "write", real_write)
    assert os.path.getsize(_segment(run)) == size and run.step == 1
    run.log({"c": 3})
    run.finish(quiet=True)
    reader = SegmentReader(_segment(run))
    logs = [r for _, r, _ in reader if r[0] == kinds.LOG]
    assert (
        [r[3] for r in logs] == [{"a": 1}, {"c": 3}] and not reader.damage and reader.tail is None
    )


def _edge_case_run(tmp_path) -> str:
    r = localrun.init(project="p", dir=str(tmp_path), settings={"quiet": True})
    for i in range(5):
        r.log({"a": i * 0.5, "b": i})
    # The row's own keys, which the fast paths must not let through: log() refuses them now,
    # but a run written by an older localrun may hold them.
    for data in ({"_step": 3, "a": 1.0}, {"_runtime": 7, "a": 2.0}):
        r._writer.append(
            msgpack.packb(
                (kinds.LOG, next(r._encoder.seqs), r._clock.now(), data, None, None, r.step)
            )
        )
        r._steps.step += 1
    r.log({"_timestamp": 1.5e9, "a": 2.25})
    r._writer.append(
        msgpack.packb(
            (
                kinds.LOG,
                next(r._encoder.seqs),
                r._clock.now(),
                {"_timestamp": {"_type": "x"}, "a": 2.5},
                None,
                None,
                r.step,
            )
        )
    )
    r._steps.step += 1
    r.log({"a": None, "b": 1})
    r.log({"a": 3.0}, commit=False)
    r.log({"b": 4})
    r.log({"a": 4.0}, step=20)
    r.log({"b": True, "c": "s", "d": float("nan")})
    r.summary["a"] = 9
    r.log({"a": 5.0})
    r.define_metric("a", summary="max")
    for i in range(5):
        r.log({"b": i, "a": -i})
    path = r.dir if hasattr(r, "dir") else None
    r.finish(quiet=True)
    from localrun.sync import find_runs

    return path if path and os.path.isdir(path) else find_runs(str(tmp_path))[0]


def test_reader_fast_paths_give_the_rows_feed_gives(tmp_path):
    from localrun.reader import RunView
    from localrun.replay import Replay

    path = _edge_case_run(tmp_path)
    # The plain path: feed() record by record.
    plain = Replay()
    rows = []
    for seg in sorted(os.listdir(os.path.join(path, "segments"))):
        records = list(SegmentReader(os.path.join(path, "segments", seg)))
        rec = records[0][1]
        plain.start_segment(rec[3], rec[2])
        for _, rec, _ in records:
            rows.extend(plain.feed(rec))
        rows.extend(plain.end_segment())
    assert len(rows) > 10

    view = RunView(path)
    assert repr(list(view.rows())) == repr(rows)
    logged = RunView(path)
    own = lambda r: [(k, v) for k, v in r.items() if k not in ("_step", "_runtime", "_timestamp")]  # noqa: E731
    assert repr([own(r) for r in logged.logged()]) == repr([own(r) for r in rows])
    for v in (view, logged):
        assert repr(v.to_json()) == repr(RunView(path).scan().to_json())
        assert repr(v.replay.summary) == repr(plain.summary)


def test_show_take_columns_leaves_what_take_row_leaves():
    from collections import Counter, defaultdict

    from localrun.cli.show import _take_columns, _take_row

    chunks = [
        [{"a": 1.0, "b": 2}, {"b": 3, "a": float("nan")}, {"a": 0.5, "b": -1}],
        [{"a": 1.0, "c": "x"}, {"c": None, "a": 2}],
        [{"a": 1.0}, {"b": 1.0}],
        [{"a": 1.0, "b": 2}, {"a": 1.0, "c": 2}],
        [{"a": 1.0, "m": {"_type": "image"}}],
        [{"_x": 1.0, "z": 2.0}],
    ]
    for chunk in chunks:
        one, bulk, media = {}, {}, defaultdict(Counter)
        for row in chunk:
            _take_row(row, one, media)
        if not _take_columns(chunk, bulk):
            for row in chunk:
                _take_row(row, bulk, defaultdict(Counter))
        state = lambda s: (s.count, s.last, s.min, s.max, s.stride, s._skip, s.points)  # noqa: E731
        assert repr([(k, state(s)) for k, s in bulk.items()]) == repr(
            [(k, state(s)) for k, s in one.items()]
        )


# --- log()'s msgspec path: records of plain values only, the bytes msgpack packs ------------------

plain_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # past 64 bits too: msgspec refuses those, and log() stores them as floats
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),  # str8, str16 and multi-byte lengths
)


def _no_ext(code: int, data: bytes):
    raise AssertionError(f"a record holds msgpack extension type {code}")


def _log_payloads(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        chunk = f.read()[len(frame.MAGIC) :]
    payloads = [item[1] for item in frame.scan(chunk) if type(item) is tuple]
    return [p for p in payloads if msgpack.unpackb(p, strict_map_key=False)[0] == kinds.LOG]


def test_records_of_plain_values_are_the_bytes_msgpack_packs(tmp_path):
    run = localrun.init(project="p", dir=str(tmp_path), settings={"quiet": True})
    logged = []

    @settings(max_examples=300, deadline=None)
    @given(
        data=st.dictionaries(
            st.text(max_size=40).filter(lambda k: k not in RESERVED_KEYS),
            plain_scalars,
            max_size=20,
        ),
        commit=st.sampled_from([None, True, False]),
    )
    def log_one(data, commit):
        run.log(data, commit=commit)
        logged.append((data, commit))

    log_one()
    run.log({"max": 2**64 - 1, "min": -(2**63), "past": 2**64, "below": -(2**63) - 1}, step=2**40)
    logged.append(
        (
            {"max": 2**64 - 1, "min": -(2**63), "past": float(2**64), "below": float(-(2**63) - 1)},
            None,
        )
    )
    run.finish(quiet=True)
    payloads = _log_payloads(_segment(run))
    for payload, (data, commit) in zip(payloads, logged, strict=True):
        record = msgpack.unpackb(payload, ext_hook=_no_ext)
        assert msgpack.packb(record) == payload
        expected = {
            k: float(v) if type(v) is int and not -(2**63) <= v < 2**64 else v
            for k, v in data.items()
        }
        assert msgpack.packb(record[3]) == msgpack.packb(expected) and record[5] == commit


def test_a_lone_surrogate_is_refused_as_msgpack_refuses_it(run):
    with pytest.raises(UnicodeEncodeError):
        run.log({"s": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        run.log({"\ud800": 1.0})
    assert run.step == 0


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Mode(str, enum.Enum):
    FAST = "fast"


class Ratio(float):
    pass


@dataclasses.dataclass
class Point:
    x: int = 1


class Shape(msgspec.Struct):
    sides: int = 3


# Values msgspec packs natively but msgpack does not: values.normalize refuses them, as before.
REFUSED = [
    datetime.datetime(2024, 1, 2, 3, 4, 5),
    datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
    datetime.date(2024, 1, 2),
    datetime.time(1, 2),
    datetime.timedelta(seconds=3),
    uuid.UUID(int=5),
    decimal.Decimal("1.5"),
    Color.RED,
    Point(),
    Shape(),
    msgspec.Raw(b"\x01"),
    msgspec.msgpack.Ext(1, b"x"),
]


@pytest.mark.parametrize("value", REFUSED, ids=lambda v: type(v).__name__)
def test_values_msgspec_could_pack_are_refused_as_before(run, value):
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    with pytest.raises(ValueTypeError, match=f"'v': cannot log a value of type {re.escape(kind)}"):
        run.log({"a": 1.0, "v": value})
    if not isinstance(value, (Point, Shape, msgspec.Raw, msgspec.msgpack.Ext)):  # unhashable
        with pytest.raises(KeyTypeError, match="keys must be strings"):
            run.log({value: 1.0})
    assert run.step == 0


def test_subclasses_enums_and_sets_are_logged_as_before(run):
    run.log(
        {
            "level": Level.HIGH,
            "mode": Mode.FAST,
            "ratio": Ratio(0.5),
            "np": np.float64(1.5),
            "flag": np.bool_(True),
            "set": {2},
            "frozen": frozenset({3}),
            "tuple": (1, 2),
            Key("sub"): Key("str"),
        }
    )
    run.log({"a": 1.0}, commit=Level.HIGH)
    run.log({Mode.FAST: 1.0})
    run.finish(quiet=True)
    payloads = _log_payloads(_segment(run))
    records = [msgpack.unpackb(p, ext_hook=_no_ext) for p in payloads]
    assert [msgpack.packb(r) for r in records] == payloads
    assert records[0][3] == {
        "level": 3,
        "mode": "fast",
        "ratio": 0.5,
        "np": 1.5,
        "flag": True,
        "set": [2],
        "frozen": [3],
        "tuple": [1, 2],
        "sub": "str",
    }
    assert records[1][3:6] == [{"a": 1.0}, None, 3] and records[2][3] == {"fast": 1.0}


def test_a_log_made_while_another_is_packing_is_written_whole(run):
    # What a signal handler does when it logs while log() is converting a value: the nested
    # call (plain values, so msgspec) and the outer one (through values.normalize) both land.
    class Tensor:
        shape = (3,)

        def __array__(self, dtype=None, copy=None):
            run.log({"inner": 1.0, "n": [1, 2]})
            run.log({"inner_plain": 2.0})
            return np.arange(3.0)

    run.log({"outer": Tensor(), "x": 0.5})
    run.finish(quiet=True)
    records = [msgpack.unpackb(p, ext_hook=_no_ext) for p in _log_payloads(_segment(run))]
    assert [r[3] for r in records] == [
        {"inner": 1.0, "n": [1, 2]},
        {"inner_plain": 2.0},
        {"outer": [0.0, 1.0, 2.0], "x": 0.5},
    ]
    assert sorted(r[1] for r in records) == [1, 2, 3]
