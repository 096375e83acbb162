"""`localrun verify`: exit 0 when sound; one line per damaged record or file otherwise."""

import json
import os

import localrun
from localrun import rundir
from localrun.blobs import BlobStore
from localrun.record.segment import SegmentReader

from ..conftest import cli


def run_with_media(runs, rid="v"):
    run = localrun.init(dir=runs, id=rid)
    ref = BlobStore(run.dir).put(b"\x89PNG fake image bytes", "png")
    for i in range(10):
        run.log({"i": i, "img": {"_type": "image-file", **ref}})
    run.finish()
    return run.dir, ref


def test_sound_run_exits_zero(runs):
    path, _ = run_with_media(runs)
    proc = cli("verify", path)
    assert proc.stdout == "" and "sound" in proc.stderr
    d = json.loads(cli("verify", path, "--json").stdout)
    assert d["ok"] and d["runs"][0]["records"] == 12 and d["runs"][0]["media_files"] == 1


def test_flipped_record_is_one_line_with_segment_and_offset(runs):
    path, _ = run_with_media(runs)
    (seg,) = rundir.segment_paths(path)
    offsets = [o for o, _, _ in SegmentReader(seg)]
    with open(seg, "r+b") as f:
        f.seek(offsets[3] + 10)
        b = f.read(1)
        f.seek(offsets[3] + 10)
        f.write(bytes([b[0] ^ 0x40]))
    proc = cli("verify", path, check=False)
    assert proc.returncode == 1
    (line,) = proc.stdout.splitlines()
    assert "000001.lrs" in line and f"at byte {offsets[3]}" in line and "checksum" in line


def test_changed_and_missing_media_files_are_reported(runs):
    path, ref = run_with_media(runs)
    media = os.path.join(path, ref["path"])
    with open(media, "ab") as f:
        f.write(b"tampered")
    proc = cli("verify", path, check=False)
    assert proc.returncode == 1 and "content hash" in proc.stdout
    os.unlink(media)
    proc = cli("verify", path, "--json", check=False)
    d = json.loads(proc.stdout)
    assert proc.returncode == 1 and not d["ok"]
    assert d["runs"][0]["damaged"] == [
        {"kind": "file", "where": ref["path"], "reason": "referenced by a record but missing"}
    ]


def test_torn_tail_is_not_damage(runs):
    path, _ = run_with_media(runs)
    (seg,) = rundir.segment_paths(path)
    with open(seg, "ab") as f:
        f.write(b"\x10\x00\x00\x00partial")
    proc = cli("verify", path)
    assert "torn tail" in proc.stderr


def test_verify_a_folder_of_runs(runs):
    run_with_media(runs, "a")
    run_with_media(runs, "b")
    d = json.loads(cli("verify", runs, "--json").stdout)
    assert [r["id"] for r in d["runs"]] == ["a", "b"] and d["ok"]


def test_verify_missing_path_is_a_clean_error(tmp_path):
    proc = cli("verify", str(tmp_path / "nothing"), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


def test_images_inside_a_table_are_checked_too(runs):
    import numpy as np

    run = localrun.init(dir=runs, id="tbl")
    table = localrun.Table(columns=["img"])
    table.add_data(localrun.Image(np.full((4, 4, 3), 7, dtype=np.uint8)))
    run.log({"t": table})
    run.finish()
    assert cli("verify", run.dir).returncode == 0
    d = json.loads(cli("verify", run.dir, "--json").stdout)
    assert d["runs"][0]["media_files"] == 2
    pngs = [n for n in os.listdir(os.path.join(run.dir, "media")) if n.endswith(".png")]
    os.unlink(os.path.join(run.dir, "media", pngs[0]))
    proc = cli("verify", run.dir, check=False)
    assert proc.returncode == 1 and pngs[0] in proc.stdout and "missing" in proc.stdout


def test_an_empty_media_file_is_named_with_its_reason(runs):
    # The zero-length file a power loss can leave behind a media write.
    path, ref = run_with_media(runs)
    open(os.path.join(path, ref["path"]), "wb").close()
    proc = cli("verify", path, check=False)
    assert proc.returncode == 1
    (line,) = proc.stdout.splitlines()
    assert line.startswith(os.path.join(path, ref["path"]) + ": empty (0 bytes)"), line
    d = json.loads(cli("verify", path, "--json", check=False).stdout)
    (problem,) = d["runs"][0]["damaged"]
    assert problem["kind"] == "file" and problem["where"] == ref["path"]
    assert problem["reason"].startswith("empty (0 bytes)")


def test_a_whole_record_over_the_frame_limit_is_damage_not_a_torn_tail(runs):
    # A record no reader reads (an older recorder wrote one, log({"s": "x" * 70_000_000})):
    # not the end of a crash, and the run cannot sync it.
    import msgpack

    from localrun.record.frame import MAX_PAYLOAD_BYTES, frame

    path, _ = run_with_media(runs)
    (seg,) = rundir.segment_paths(path)
    size = os.path.getsize(seg)
    record = msgpack.packb([1, 99, 1.0, {"s": "x" * (MAX_PAYLOAD_BYTES + 10)}, None, None, 99])
    with open(seg, "ab") as f:
        f.write(frame(record))
    proc = cli("verify", path, check=False)
    assert proc.returncode == 1 and "torn tail" not in proc.stderr
    (line,) = proc.stdout.splitlines()
    assert f"000001.lrs at byte {size}: a whole record of {len(record):,} bytes" in line


def test_verify_checks_the_files_sync_would_send_and_no_others(runs):
    """verify and sync read a value's media references with the same walk (localrun.mediarefs):
    a media value deep in a value is checked; a dict of the user's own that happens to have a
    ``path`` (no ``_type``) names no file, for verify as for sync and the server."""
    from localrun.mediarefs import files_named

    run = localrun.init(dir=runs, id="deep")
    ref = BlobStore(run.dir).put(b"\x89PNG deep", "png")
    deep: object = {"_type": "image-file", **ref}
    for _ in range(60):
        deep = [deep]
    value = {"deep": deep, "mine": {"path": "media/notes.txt", "sha256": "f" * 64}}
    run.log(value)
    run.finish()
    assert files_named(value) == {ref["sha256"]: ref["path"]}
    os.unlink(os.path.join(run.dir, ref["path"]))
    d = json.loads(cli("verify", run.dir, "--json", check=False).stdout)
    missing = [p for p in d["runs"][0]["damaged"] if p["kind"] == "file"]
    assert missing == [
        {"kind": "file", "where": ref["path"], "reason": "referenced by a record but missing"}
    ]
