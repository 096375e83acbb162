"""A full disk, a vanished or unwritable run directory: clear errors, nothing earlier lost."""

import os
import shutil
import time

import pytest

import localrun
from localrun.errors import DiskFullError

from ..conftest import history, run_python


def test_full_disk_raises_a_clear_error_and_keeps_every_earlier_row(runs):
    # RLIMIT_FSIZE caps file sizes for the child: writes past it fail with EFBIG, as on a full disk.
    code = f"""
import json, resource, signal, sys, localrun
run = localrun.init(dir={runs!r}, id="full")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, hard))
ok = 0
try:
    for i in range(100000):
        run.log({{"i": i, "pad": "x" * 40}})
        ok += 1
except localrun.Error as exc:
    print(json.dumps({{"ok": ok, "error": str(exc), "type": type(exc).__name__, "is_oserror": isinstance(exc, OSError)}}))
    # After the failure the run still works once space is back.
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    run.log({{"i": ok, "pad": "after"}})
    run.finish()
"""
    import json

    out = json.loads(run_python(code).stdout)
    assert out["type"] == "DiskFullError" and out["is_oserror"]
    assert (
        "disk is full" in out["error"]
        and "000001.lrs" in out["error"]
        and "free some space" in out["error"]
    )
    rows, view = history(os.path.join(runs, "full"))
    assert [r["i"] for r in rows] == list(range(out["ok"] + 1))
    assert rows[-1]["pad"] == "after"
    assert view.damage == []


def test_full_disk_error_is_a_localrun_error_and_an_oserror():
    assert issubclass(DiskFullError, localrun.Error) and issubclass(DiskFullError, OSError)


def test_deleted_run_directory_makes_log_raise_within_seconds(runs):
    run = localrun.init(dir=runs)
    run.log({"a": 1})
    shutil.rmtree(run.dir)
    deadline = time.time() + 5
    with pytest.raises(localrun.Error, match="was deleted"):
        while time.time() < deadline:
            run.log({"a": 2})
            time.sleep(0.05)
    with pytest.raises(localrun.Error):
        run.finish()


def test_run_folder_that_is_a_file_fails_at_init(tmp_path):
    blocker = tmp_path / "notadir"
    blocker.write_text("x")
    with pytest.raises(localrun.Error, match="cannot create the run directory"):
        localrun.init(dir=str(blocker))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders anyway")
def test_read_only_folder_fails_at_init(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(localrun.Error, match="cannot create the run directory"):
            localrun.init(dir=str(ro))
    finally:
        ro.chmod(0o755)
