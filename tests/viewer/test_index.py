"""The per-run index (``<run>/index/``): built once, reused, followed as a run grows, rebuilt
when damaged, shared by processes, kept in memory for a read-only run; and always answering
what a fresh replay of the segments answers."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import localrun
from localrun.viewer import RunRef
from localrun.viewer.columns import HEAD, ColumnStore
from localrun.viewer.downsample import picks
from localrun.viewer.local import LocalSource, signature
from localrun.viewer.runindex import INDEX_DIR

from . import runs as made
from .indexcheck import assert_same, fresh

SCALARS = RunRef("demo", "scalars")


@pytest.fixture(autouse=True)
def _silent(monkeypatch):
    monkeypatch.setenv("LOCALRUN_SILENT", "1")


def _scalars(tmp_path, rows=300) -> tuple[str, str]:
    root = str(tmp_path / "runs")
    path = made.scalar_run(root, rows=rows)
    return root, path


def _gen_folder(path: str) -> str:
    head = ColumnStore(os.path.join(path, INDEX_DIR)).head()
    return os.path.join(path, INDEX_DIR, head["gen"])


# --- built once, then reused ------------------------------------------------------------------


def test_the_index_is_built_once_and_a_new_process_reads_no_segment(tmp_path):
    root, path = _scalars(tmp_path)
    first = LocalSource([root])
    first.series(SCALARS, ["train/loss"])
    stats = first.index(SCALARS).stats
    assert stats["builds"] == 1 and stats["bytes"] > 0
    assert os.path.isfile(os.path.join(path, INDEX_DIR, HEAD))

    again = LocalSource([root])  # as a new `localrun ui` would
    assert_same(again, SCALARS, path)
    assert again.index(SCALARS).stats == {"builds": 0, "resumes": 0, "bytes": 0}


def test_a_resumed_run_is_read_from_where_the_index_stopped(tmp_path):
    root, path = _scalars(tmp_path, rows=2000)
    LocalSource([root]).keys(SCALARS)
    seg1 = os.path.getsize(os.path.join(path, "segments", "000001.lrs"))
    run = localrun.init(
        dir=root, project="demo", id="scalars", resume="allow", settings={"quiet": True}
    )
    for i in range(10):
        run.log({"train/loss": float(i), "new": i})
    run.finish()
    seg2 = os.path.getsize(os.path.join(path, "segments", "000002.lrs"))
    source = LocalSource([root])
    assert_same(source, SCALARS, path)
    stats = source.index(SCALARS).stats
    assert stats["builds"] == 0 and stats["resumes"] == 1
    assert stats["bytes"] == seg2  # the new segment only: none of the first one's
    assert seg2 < seg1 / 10


def test_the_runs_page_of_2000_runs_uses_each_runs_cached_document(tmp_path):
    root = str(tmp_path / "runs")
    one = made.scalar_run(root, "r0000", rows=20)
    with open(os.path.join(one, "run.json")) as f:
        meta = json.load(f)
    for i in range(1, 2000):
        d = os.path.join(root, f"r{i:04d}")
        shutil.copytree(one, d)
        with open(os.path.join(d, "run.json"), "w") as f:
            json.dump({**meta, "id": f"r{i:04d}", "incarnation": f"{i:032x}"}, f)
    first = LocalSource([root])
    t = time.perf_counter()
    docs = first.list_runs()
    built_s = time.perf_counter() - t
    assert len(docs) == 2000
    assert sum(first.index(RunRef("demo", d["id"])).stats["builds"] for d in docs) == 2000

    second = LocalSource([root])  # a new process: every document comes from its index
    t = time.perf_counter()
    again = second.list_runs()
    cached_s = time.perf_counter() - t
    assert json.dumps(again, sort_keys=True) == json.dumps(docs, sort_keys=True)
    for d in again:
        assert second.index(RunRef("demo", d["id"])).stats["bytes"] == 0
    assert cached_s < built_s
    # Listing again in the same process only stats each run.
    t = time.perf_counter()
    second.list_runs()
    assert time.perf_counter() - t < 2.0


def test_show_export_and_verify_ignore_the_index(tmp_path):
    root, path = _scalars(tmp_path)

    def cli(*args):
        done = subprocess.run(
            [sys.executable, "-m", "localrun.cli", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "LOCALRUN_SILENT": "1"},
        )
        return done.returncode, done.stdout, done.stderr

    commands = [("show", path, "--json"), ("export", path), ("verify", path), ("verify", root)]
    before = [cli(*c) for c in commands]
    LocalSource([root]).keys(SCALARS)
    assert os.path.isdir(os.path.join(path, INDEX_DIR))
    after = [cli(*c) for c in commands]
    assert after == before
    assert before[2][0] == 0 and before[3][0] == 0


def test_the_signature_lists_a_segments_folder_again_only_when_it_changed(tmp_path):
    root, path = _scalars(tmp_path)
    folder = os.path.join(path, "segments")
    first = signature(path)
    assert first[2] is None  # just written: too soon to trust the folder's time stamp
    open(os.path.join(folder, "000002.lrs"), "wb").close()
    assert [os.path.basename(p) for p, _ in signature(path, first)[0]] == [
        "000001.lrs",
        "000002.lrs",
    ]
    old = time.time() - 60
    os.utime(folder, (old, old))
    trusted = signature(path)
    assert trusted[2] is not None
    with open(os.path.join(folder, "000002.lrs"), "ab") as f:
        f.write(b"x" * 10)
    grown = signature(path, trusted)
    assert grown[0][-1][1] == 10 and grown[2] == trusted[2]  # the last segment looked at again
    open(os.path.join(folder, "000003.lrs"), "wb").close()  # the folder changes: listed again
    assert len(signature(path, grown)[0]) == 3


# --- a live writer ---------------------------------------------------------------------------


def test_a_live_writers_rows_are_read_incrementally_and_match_a_fresh_replay(writer):
    ref = RunRef("live", "writer")
    source = LocalSource([writer.root], refresh_s=0)
    assert source.keys(ref)["rows"] == 20
    segment = os.path.join(writer.path, "segments", "000001.lrs")
    for _ in range(5):
        writer.log_once()
        assert_same(source, ref, writer.path, points=(2000,))
    stats = source.index(ref).stats
    assert stats["builds"] == 1 and stats["resumes"] >= 5
    # Each byte of the segment was read once: the appends cost only themselves.
    assert stats["bytes"] <= os.path.getsize(segment)
    doc = source.run(ref)
    assert doc["state"] == "running" and doc["rows"] == 25
    writer.stop()
    assert_same(source, ref, writer.path, points=(2000,))
    assert source.run(ref)["state"] == "finished"


PENDING = r"""
import sys, time, localrun
run = localrun.init(dir=sys.argv[1], project="live", id="pending", settings={"quiet": True})
for i in range(100):
    run.log({"a": float(i)})
run.log({"b": 1.0}, commit=False)  # a pending row: written out only by the next call
print("ready", flush=True)
sys.stdin.readline()
run.log({"c": 2.0})  # merges into the pending row, which is then written
print("more", flush=True)
sys.stdin.readline()
"""


def test_a_pending_row_is_shown_and_replaced_when_the_writer_completes_it(tmp_path):
    root = str(tmp_path / "runs")
    proc = subprocess.Popen(
        [sys.executable, "-c", PENDING, root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOCALRUN_SILENT": "1"},
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        ref = RunRef("live", "pending")
        path = os.path.join(root, "pending")
        source = LocalSource([root], refresh_s=0)
        assert_same(source, ref, path, points=(2000,))
        assert source.keys(ref)["keys"]["b"]["count"] == 1  # the pending row, shown
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "more"
        assert_same(source, ref, path, points=(2000,))
        keys = source.keys(ref)["keys"]
        assert keys["b"]["last_step"] == keys["c"]["last_step"] == 100  # one row, completed
        assert source.keys(ref)["rows"] == 101
        proc.kill()  # SIGKILL: the run crashes, its last row stays
        proc.wait()
        assert_same(source, ref, path, points=(2000,))
        assert source.run(ref)["state"] == "crashed"
        assert_same(LocalSource([root]), ref, path, points=(2000,))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()


# --- damage ----------------------------------------------------------------------------------


def _truncate_values(path):
    gen = _gen_folder(path)
    v = max(
        (n for n in os.listdir(gen) if n.endswith(".v")),
        key=lambda n: os.path.getsize(os.path.join(gen, n)),
    )
    with open(os.path.join(gen, v), "r+b") as f:
        f.truncate(100)


def _flip_values(path):
    gen = _gen_folder(path)
    for name in os.listdir(gen):
        if name.endswith(".v") or name == "steps":
            with open(os.path.join(gen, name), "r+b") as f:
                at = min(40, os.fstat(f.fileno()).st_size - 1)
                f.seek(at)
                b = f.read(1)
                f.seek(at)
                f.write(bytes([b[0] ^ 0xFF]))


def _garble_head(path):
    p = os.path.join(path, INDEX_DIR, HEAD)
    with open(p, "r+b") as f:
        f.seek(os.path.getsize(p) // 2)
        f.write(b"\x00garbage\xff")


def _truncate_head(path):
    p = os.path.join(path, INDEX_DIR, HEAD)
    with open(p, "r+b") as f:
        f.truncate(os.path.getsize(p) // 3)


def _other_runs_head(path):
    other = made.scalar_run(os.path.dirname(path) + "-other", "scalars", rows=50)
    LocalSource([other]).keys(SCALARS)
    shutil.rmtree(os.path.join(path, INDEX_DIR))
    shutil.copytree(os.path.join(other, INDEX_DIR), os.path.join(path, INDEX_DIR))


def _drop_generation(path):
    shutil.rmtree(_gen_folder(path))


def _delete_index(path):
    shutil.rmtree(os.path.join(path, INDEX_DIR))


def _empty_media(path):
    with open(os.path.join(_gen_folder(path), "media"), "r+b") as f:
        f.truncate(0)


DAMAGE = {
    "index deleted": _delete_index,
    "a column cut short": _truncate_values,
    "column bytes changed": _flip_values,
    "head garbled": _garble_head,
    "head cut short": _truncate_head,
    "another run's index": _other_runs_head,
    "generation folder gone": _drop_generation,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_rebuilt_and_the_answers_stay_right(tmp_path, damage):
    root, path = _scalars(tmp_path)
    LocalSource([root]).keys(SCALARS)
    DAMAGE[damage](path)
    source = LocalSource([root])
    assert_same(source, SCALARS, path)
    assert source.index(SCALARS).stats["builds"] == 1
    assert_same(LocalSource([root]), SCALARS, path)  # and the rebuilt index is sound


@pytest.mark.parametrize("damage", ["index deleted", "a column cut short", "head garbled"])
def test_an_index_damaged_under_a_running_viewer_is_rebuilt_too(tmp_path, damage):
    root, path = _scalars(tmp_path)
    source = LocalSource([root], refresh_s=0)
    assert_same(source, SCALARS, path)
    DAMAGE[damage](path)
    assert_same(source, SCALARS, path)  # a cut file is found before its pages are touched
    run = localrun.init(
        dir=root, project="demo", id="scalars", resume="allow", settings={"quiet": True}
    )
    run.log({"train/loss": 0.5})
    run.finish()
    assert_same(source, SCALARS, path)
    assert_same(LocalSource([root]), SCALARS, path)


def test_damaged_media_in_the_index_is_rebuilt(tmp_path):
    root = str(tmp_path / "runs")
    path = made.media_run(root, video=False)
    ref = RunRef("demo", "media")
    LocalSource([root]).keys(ref)
    _empty_media(path)
    source = LocalSource([root])
    assert_same(source, ref, path, points=(2000,))


# --- several processes -----------------------------------------------------------------------

READER = r"""
import json, sys, time
from localrun.viewer import RunRef
from localrun.viewer.local import LocalSource, signature
root, until = sys.argv[1], float(sys.argv[2])
ref = RunRef("demo", "big")
s = LocalSource([root], refresh_s=0)
n = 0
while True:
    series = s.series(ref, ["a", "b"], "_step", 500)
    s.keys(ref)
    n += 1
    if time.time() > until:
        break
    time.sleep(0.01)
series = s.series(ref, ["a", "b"], "_step", 500)
out = {k: [v.x.tolist(), [repr(y) for y in v.y.tolist()], v.count] for k, v in series.items()}
print(json.dumps({"stats": s.index(ref).stats, "series": out, "asked": n}))
"""

BIG_WRITER = r"""
import math, sys, time, localrun
run = localrun.init(dir=sys.argv[1], project="demo", id="big", settings={"quiet": True})
for i in range(20000):
    run.log({"a": math.sin(i / 100), "b": float(i) if i % 1000 else math.nan})
print("ready", flush=True)
end = time.time() + float(sys.argv[2])
i = 20000
while time.time() < end:
    for _ in range(50):
        run.log({"a": math.sin(i / 100), "b": float(i)}, commit=i % 3 != 0)
        i += 1
    time.sleep(0.005)
run.finish()
"""


def test_viewers_in_several_processes_share_one_index_while_a_writer_appends(tmp_path):
    root = str(tmp_path / "runs")
    env = {**os.environ, "LOCALRUN_SILENT": "1"}
    writer = subprocess.Popen(
        [sys.executable, "-c", BIG_WRITER, root, "4"], stdout=subprocess.PIPE, text=True, env=env
    )
    assert writer.stdout.readline().strip() == "ready"
    until = time.time() + 5
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, root, str(until)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    assert writer.wait(60) == 0
    writer.stdout.close()
    results = []
    for r in readers:
        out, err = r.communicate(timeout=120)
        assert r.returncode == 0, err
        results.append(json.loads(out))
    path = os.path.join(root, "big")
    ref = RunRef("demo", "big")
    _, table = fresh(path)
    from localrun.viewer.source import table_series

    want = table_series(table, ref, ["a", "b"], "_step", 500)
    for res in results:
        assert res["asked"] > 3
        for k, (xs, ys, count) in res["series"].items():
            assert count == want[k].count
            assert xs == want[k].x.tolist()
            assert ys == [repr(y) for y in want[k].y.tolist()]
    # One process built the index; the others waited for it and went on from there.
    assert sum(r["stats"]["builds"] for r in results) == 1
    assert_same(LocalSource([root]), ref, path, points=(2000,))


# --- a read-only run ---------------------------------------------------------------------------


@contextlib.contextmanager
def _read_only(path: str):
    """``path`` made read-only: a read-only bind mount (as root), else its mode."""
    if os.geteuid() != 0:
        modes = {}
        for d, _, _ in os.walk(path):
            modes[d] = os.stat(d).st_mode
            os.chmod(d, 0o555)
        try:
            yield path
        finally:
            for d, m in modes.items():
                os.chmod(d, m)
        return
    target = tempfile.mkdtemp()
    ok = (
        subprocess.run(["mount", "--bind", path, target], capture_output=True).returncode == 0
        and subprocess.run(
            ["mount", "-o", "remount,ro,bind", target], capture_output=True
        ).returncode
        == 0
    )
    try:
        if not ok:
            pytest.skip(
                "running as root without the right to mount: cannot make a folder read-only"
            )
        yield target
    finally:
        gc.collect()  # the source's maps of index files keep the mount busy
        if subprocess.run(["umount", target], capture_output=True).returncode:
            subprocess.run(["umount", "-l", target], capture_output=True)
        with contextlib.suppress(OSError):
            os.rmdir(target)


def test_a_run_on_a_read_only_filesystem_is_viewed_from_memory(tmp_path):
    root, path = _scalars(tmp_path)
    with _read_only(os.path.dirname(path)) as ro:
        ro_path = os.path.join(ro, "scalars")
        with pytest.raises(OSError):
            open(os.path.join(ro_path, "probe"), "w")
        source = LocalSource([ro])
        assert_same(source, SCALARS, ro_path)
        assert source.index(SCALARS).in_memory()
        assert not os.path.exists(os.path.join(ro_path, INDEX_DIR))


def test_a_read_only_run_with_an_index_reads_the_index(tmp_path):
    root, path = _scalars(tmp_path)
    LocalSource([root]).keys(SCALARS)
    with _read_only(os.path.dirname(path)) as ro:
        source = LocalSource([ro])
        assert_same(source, SCALARS, os.path.join(ro, "scalars"))
        assert not source.index(SCALARS).in_memory()
        assert source.index(SCALARS).stats["bytes"] == 0


# --- any run: the index answers as a fresh replay ----------------------------------------------

KEYS = ["a", "b", "c/d", "m", "s"]
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0]),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.builds(lambda n: {"_type": "fake-media", "n": n}, st.integers(0, 9)),
    st.builds(lambda n: [{"_type": "other-media", "n": n}], st.integers(0, 9)),
)
log_op = st.tuples(
    st.just("log"),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    st.one_of(st.none(), st.integers(0, 60)),
    st.sampled_from([None, True, False]),
)
ops = st.lists(
    st.one_of(
        log_op,
        log_op,
        log_op,
        log_op,
        st.tuples(st.just("many"), st.integers(1, 3000)),
        st.just(("check",)),
        st.just(("new viewer",)),
        st.just(("resume",)),
        st.just(("define_metric",)),
        st.tuples(st.just("summary"), st.sampled_from(KEYS), st.floats(allow_nan=True)),
    ),
    max_size=25,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=ops, unwritable=st.booleans())
def test_the_index_answers_what_a_fresh_replay_answers(ops, unwritable):
    root = tempfile.mkdtemp()
    try:
        ref = RunRef("p", "r")
        path = os.path.join(root, "r")

        def start(resume):
            return localrun.init(
                dir=root, project="p", id="r", resume=resume, settings={"quiet": True}
            )

        run = start(None)
        if unwritable:  # a file where the index folder would go: kept in memory
            open(os.path.join(path, INDEX_DIR), "w").close()
        source = LocalSource([root], refresh_s=0)
        i = 0
        for op in ops:
            if op[0] == "log":
                _, data, step, commit = op
                with contextlib.suppress(localrun.Error):
                    run.log(data, step=step, commit=commit)
            elif op[0] == "many":
                for _ in range(op[1]):
                    run.log({"a": float(i), "m": math.sin(i) if i % 97 else math.nan})
                    i += 1
            elif op[0] == "check":
                assert_same(source, ref, path, points=(5, 2000))
            elif op[0] == "new viewer":
                source = LocalSource([root], refresh_s=0)
                assert_same(source, ref, path, points=(5,))
            elif op[0] == "resume":
                run.finish()
                run = start("allow")
            elif op[0] == "define_metric":
                run.define_metric("a", step_metric="m", summary="min,max")
            elif op[0] == "summary":
                run.summary[op[1]] = op[2]
        assert_same(source, ref, path, points=(5, 2000))
        run.finish()
        assert_same(source, ref, path, points=(3, 2000))
        assert_same(LocalSource([root]), ref, path, points=(3,))
    finally:
        localrun.finish()
        shutil.rmtree(root, ignore_errors=True)


# --- downsampling over the index's arrays ---------------------------------------------------


def _reference_picks(y: np.ndarray, points: int):
    """downsample.py's rule written out plainly: per bucket, the first smallest and first
    largest finite value, the first NaN, +inf and -inf; and both ends."""
    n = y.size
    if n <= points:
        return None
    buckets = max(1, points // 2)
    size = -(-n // buckets)
    keep = {0, n - 1}
    for b in range(0, n, size):
        chunk = y[b : b + size]
        fin = np.flatnonzero(np.isfinite(chunk))
        if fin.size:
            keep.add(b + int(fin[np.argmin(chunk[fin])]))
            keep.add(b + int(fin[np.argmax(chunk[fin])]))
        for test in (np.isnan, lambda v: v == math.inf, lambda v: v == -math.inf):
            hit = np.flatnonzero(test(chunk))
            if hit.size:
                keep.add(b + int(hit[0]))
    return np.array(sorted(keep))


@settings(max_examples=300, deadline=None)
@given(
    y=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=32),
            st.sampled_from([math.nan, math.inf, -math.inf, 1.0, 1.0]),
        ),
        max_size=400,
    ),
    points=st.integers(2, 60),
)
def test_picks_keep_each_buckets_extremes_and_odd_values(y, points):
    y = np.array(y, dtype=np.float64)
    got, want = picks(y, points), _reference_picks(y, points)
    if want is None:
        assert got is None
    else:
        assert got.tolist() == want.tolist()


# --- the store alone, as a server would feed it ----------------------------------------------

row_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**63), 2**64 - 1),
    st.booleans(),
    st.none(),
    st.text(max_size=2),
    st.builds(lambda n: {"_type": "image-file", "n": n}, st.integers(0, 3)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(
        st.lists(
            st.one_of(
                st.dictionaries(st.sampled_from(["a", "b", "c", "_runtime"]), row_values),
                st.integers(1, 9),  # that many rows of the same numeric keys
            ),
            max_size=12,
        ),
        max_size=5,
    ),
    tail=st.lists(st.dictionaries(st.sampled_from(["a", "d"]), row_values), max_size=1),
    in_memory=st.booleans(),
)
def test_a_store_fed_rows_answers_as_a_table_built_from_them(batches, tail, in_memory):
    """Batches of rows (each an update, as a server would commit its chunks), small blocks and
    flushes so that every boundary is crossed, a provisional tail: the same table."""
    import localrun.viewer.columns as columns
    from localrun.viewer.source import table_keys, table_media, table_series
    from localrun.viewer.table import TableBuilder

    folder = None if in_memory else tempfile.mkdtemp()
    old = columns.BLOCK_ROWS, columns.FLUSH_ROWS
    columns.BLOCK_ROWS, columns.FLUSH_ROWS = 3, 7
    try:
        store = ColumnStore(folder)
        step, all_rows = 0, []
        for batch in batches:
            rows = []
            for data in batch:
                for _ in range(data if type(data) is int else 1):
                    d = {"a": step * 0.5, "_runtime": float(step)} if type(data) is int else data
                    rows.append({"_step": step, **d, "_timestamp": 1000.0 + step})
                    step += 2
            with store.update() as up:
                if up.head is None:
                    up.reset()
                else:
                    up.resume()
                assert up.last_step == (all_rows[-1]["_step"] if all_rows else None)
                up.add(rows)
                tail_rows = [{"_step": step, **t} for t in tail]
                up.set_tail(tail_rows)
                head = up.commit({"n": len(all_rows) + len(rows)})
            all_rows += rows
            builder = TableBuilder()
            builder.add(all_rows + tail_rows)
            want = builder.build()
            got = (
                ColumnStore(folder).table(ColumnStore(folder).head())
                if folder
                else store.table(head)
            )
            ref = RunRef("p", "r")
            assert json.dumps(table_keys(got), sort_keys=True) == json.dumps(
                table_keys(want), sort_keys=True
            )
            keys = ["a", "b", "c", "d"]
            for x in ("_step", "_runtime", "_timestamp"):
                for n in (2, 5, 2000):
                    a = table_series(got, ref, keys, x, n)
                    b = table_series(want, ref, keys, x, n)
                    for k in keys:
                        np.testing.assert_array_equal(a[k].x, b[k].x)
                        np.testing.assert_array_equal(a[k].y, b[k].y)
                        assert a[k].count == b[k].count
            for k in keys:
                assert json.dumps(table_media(got, k), default=repr) == json.dumps(
                    table_media(want, k), default=repr
                )
    finally:
        columns.BLOCK_ROWS, columns.FLUSH_ROWS = old
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
