"""Segments: what a reader makes of whole, torn, damaged and hostile files."""

import os
import random

import msgpack
import pytest

import localrun
from localrun import rundir
from localrun.record.frame import MAGIC, frame
from localrun.record.segment import SegmentReader


@pytest.fixture
def segment(runs):
    """A finished run of 40 rows; returns (segment path, its bytes)."""
    run = localrun.init(dir=runs, config={"lr": 0.5})
    for i in range(40):
        run.log({"i": i, "loss": 1.0 / (i + 1), "name": f"row{i}"})
    run.finish()
    (path,) = rundir.segment_paths(run.dir)
    with open(path, "rb") as f:
        return path, f.read()


def records(path):
    reader = SegmentReader(path)
    return [rec for _, rec, _ in reader], reader


def logged_is(recs):
    return [r[3]["i"] for r in recs if r[0] == 1]


def test_reader_returns_every_record_of_a_whole_segment(segment):
    path, _ = segment
    recs, reader = records(path)
    assert logged_is(recs) == list(range(40))
    assert reader.damage == [] and reader.tail is None
    assert recs[0][0] == 0 and recs[0][3]["format"] == 1
    assert recs[-1][0] == 7  # finish


def test_truncation_at_every_byte_offset_gives_a_prefix_and_never_raises(segment, tmp_path, slow):
    path, data = segment
    full = logged_is(records(path)[0])
    cut = str(tmp_path / "cut.lrs")
    sizes = range(len(data) + 1)
    if not slow:
        # Every offset of the header and first four frames and of the last three (every kind of
        # cut: in a frame's header, its payload, at its end), every 5th one between (--slow: all).
        offsets = [offset for offset, _, _ in SegmentReader(path)]
        head, tail = offsets[4], offsets[-3]
        sizes = [s for s in sizes if s <= head or s >= tail or s % 5 == 0]
    for size in sizes:
        with open(cut, "wb") as f:
            f.write(data[:size])
        recs, reader = records(cut)
        got = logged_is(recs)
        assert got == full[: len(got)], size
        assert reader.damage == [] or size < len(MAGIC), size


def test_one_flipped_byte_costs_only_that_record_and_is_reported(segment, tmp_path, slow, figures):
    path, data = segment
    full = logged_is(records(path)[0])
    last_frame = [offset for offset, _, _ in SegmentReader(path)][-1]
    rng = random.Random(7)
    hit = str(tmp_path / "hit.lrs")
    flips = 2000 if slow else 200
    lost_counts = {}
    for _ in range(flips):
        pos = rng.randrange(len(MAGIC), len(data))
        damaged = bytearray(data)
        damaged[pos] ^= 1 << rng.randrange(8)
        with open(hit, "wb") as f:
            f.write(damaged)
        recs, reader = records(hit)
        got = logged_is(recs)
        lost = set(full) - set(got)
        lost_counts[len(lost)] = lost_counts.get(len(lost), 0) + 1
        assert len(lost) <= 1, pos
        assert got == [i for i in full if i not in lost], pos
        if (
            pos < last_frame
        ):  # damage in the final frame is a torn tail; anywhere else it is reported
            assert len(reader.damage) == 1, pos
            assert reader.damage[0].offset <= pos
    figures["byte_flips"] = {
        "flips": flips,
        "records_lost_per_flip": {str(k): v for k, v in sorted(lost_counts.items())},
    }


def test_junk_appended_is_a_torn_tail_not_an_error(segment, tmp_path):
    path, data = segment
    p = str(tmp_path / "junk.lrs")
    with open(p, "wb") as f:
        f.write(data + os.urandom(300))
    recs, reader = records(p)
    assert logged_is(recs) == list(range(40))
    assert reader.tail is not None


def test_a_sound_frame_that_is_not_a_record_is_reported(tmp_path):
    p = str(tmp_path / "odd.lrs")
    good = msgpack.packb([1, 1, 1.0, {"a": 1}, None, None, 0])
    with open(p, "wb") as f:
        f.write(MAGIC + frame(b"\xc1") + frame(msgpack.packb("hello")) + frame(good))
    recs, reader = records(p)
    assert recs == [(1, 1, 1.0, {"a": 1}, None, None, 0)]  # a sound log record is a tuple
    assert [d.reason.split(" (")[0] for d in reader.damage] == [
        "undecodable record",
        "not a record",
    ]


def test_wrong_magic_is_reported_and_frames_still_read(tmp_path):
    p = str(tmp_path / "magic.lrs")
    good = msgpack.packb([1, 1, 1.0, {"a": 1}, None, None, 0])
    with open(p, "wb") as f:
        f.write(b"XXXXXXXX" + frame(good))
    recs, reader = records(p)
    assert len(recs) == 1 and "not a localrun segment" in reader.damage[0].reason


def test_empty_and_missing_files_read_as_nothing(tmp_path):
    p = str(tmp_path / "empty.lrs")
    open(p, "wb").close()
    assert records(p)[0] == []
    recs, reader = records(str(tmp_path / "missing.lrs"))
    assert recs == [] and "cannot open" in reader.damage[0].reason


def test_every_record_is_a_tuple_and_the_log_records_checked_in_c_say_so(tmp_path):
    p = str(tmp_path / "shapes.lrs")
    shapes = [
        [1, 1, 1.5, {"a": 1}, None, None, 0],  # sound: checked
        [1, 2, 2, {"a": 1}, 3, True, 1],  # an integer time is a float to the checked decoder
        [1, 3, 1.5, {1: 1}, None, None, 2],  # a non-str key: not what a writer makes, still read
        [1, 4, 1.5, {"a": 1}, None, 1, 2],  # commit=1
        [1, 5, 1.5, {"a": 1}, 2.5, None, 2],  # a float step
        [1, 6, 1.5, {"a": 1}, None, None, 2, "later field"],  # a later format's extra field
        [2, 7, 1.5, {"c": 1}],
        [1, 8, 1.5, "not a dict", None, None, 2],
        [1, 9, 1.5, {"a": None}, None, None, 2],  # a None value (it does not replace the summary)
        [1, 10, 1.5, {"a": b"x"}, None, None, 2],
    ]
    with open(p, "wb") as f:
        f.write(MAGIC + b"".join(frame(msgpack.packb(r)) for r in shapes))
    reader = SegmentReader(p)
    items = list(reader)
    assert not reader.damage
    recs = [rec for _, rec, _ in items]
    assert all(type(r) is tuple for r in recs)
    assert [checked for _, _, checked in items] == [True, True] + [False] * 8
    assert [list(r) for r in recs] == [shapes[0], [1, 2, 2.0, {"a": 1}, 3, True, 1], *shapes[2:]]
