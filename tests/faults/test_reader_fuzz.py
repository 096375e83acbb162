"""Hostile and damaged bytes: the reader never crashes and never returns a wrong value."""

import os
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import localrun
from localrun import rundir
from localrun.record.segment import SegmentReader
from localrun.sync import RunView
from localrun.sync.verify import verify_run

from ..conftest import examples


def make_run(root, n=30):
    run = localrun.init(dir=root, id="fz")
    for i in range(n):
        run.log({"i": i, "v": f"value-{i}", "f": i / 7})
    run.finish()
    return run.dir


def rows_are_genuine(rows):
    for r in rows:
        if "i" in r:
            i = r["i"]
            assert r.get("v", f"value-{i}") == f"value-{i}" and r.get("f", i / 7) == i / 7


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(
        st.just("flip"),
        st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8),
    ),
    st.tuples(st.just("junk"), st.binary(max_size=200)),
    st.tuples(st.just("splice"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
)


@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_segments_never_crash_and_never_lie(tmp_path_factory, mutations):
    root = str(tmp_path_factory.mktemp("fz"))
    path = make_run(root)
    (seg,) = rundir.segment_paths(path)
    with open(seg, "rb") as f:
        data = bytearray(f.read())
    for m in mutations:
        if m[0] == "truncate":
            del data[int(len(data) * m[1]) :]
        elif m[0] == "flip":
            for where, bits in m[1]:
                if data:
                    data[min(len(data) - 1, int(len(data) * where))] ^= bits
        elif m[0] == "junk":
            data += m[1]
        else:
            at = int(len(data) * m[1])
            data[at:at] = m[2]
    with open(seg, "wb") as f:
        f.write(bytes(data))
    view = RunView(path)
    rows = list(view.rows())
    rows_are_genuine(rows)
    steps = [r["_step"] for r in rows]
    assert steps == sorted(set(steps))
    view.to_json()
    verify_run(path)


@settings(max_examples=100, deadline=None)
@given(blob=st.binary(max_size=2000))
def test_arbitrary_bytes_as_a_segment_never_crash(tmp_path_factory, blob):
    p = str(tmp_path_factory.mktemp("raw") / "000001.lrs")
    with open(p, "wb") as f:
        f.write(blob)
    list(SegmentReader(p))


def test_segments_shuffled_still_read_without_error(runs):
    run = localrun.init(dir=runs, id="shuf")
    run.log({"i": 0})
    run.finish()
    for k in range(1, 4):
        r = localrun.init(dir=runs, id="shuf", resume="allow")
        r.log({"i": k})
        r.finish()
    segs = rundir.segment_paths(os.path.join(runs, "shuf"))
    assert len(segs) == 4
    tmp = segs[0] + ".x"
    shutil.move(segs[0], tmp)
    shutil.move(segs[3], segs[0])
    shutil.move(tmp, segs[3])
    rows = list(RunView(os.path.join(runs, "shuf")).rows())
    assert sorted(r["i"] for r in rows) == [0, 1, 2, 3]
    steps = [r["_step"] for r in rows]
    assert steps == sorted(set(steps))
