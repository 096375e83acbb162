"""Files written whole or not at all (localrun.durable): run.json, media, cursors, server blobs."""

from __future__ import annotations

import os
import stat

import pytest

from localrun import durable


def names(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_write_puts_the_whole_file_under_its_name_and_leaves_no_temp(tmp_path):
    path = tmp_path / "f.json"
    durable.write(str(path), b"x" * 100_000, sync_folder=True)
    assert path.read_bytes() == b"x" * 100_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert names(tmp_path) == ["f.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temp(tmp_path):
    path = tmp_path / "f.json"
    durable.write(str(path), b"old")
    with pytest.raises(TypeError):
        durable.write(str(path), "not bytes")  # fails after the temp file was made
    assert path.read_bytes() == b"old"
    assert names(tmp_path) == ["f.json"]


def test_write_through_a_temp_folder_with_the_mode_given(tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "ab").mkdir()
    final = tmp_path / "ab" / "blob"
    durable.write(str(final), memoryview(b"bytes"), mode=0o600, temp_dir=str(tmp_path / "tmp"))
    assert final.read_bytes() == b"bytes" and stat.S_IMODE(final.stat().st_mode) == 0o600
    assert names(tmp_path / "tmp") == []


def test_a_temp_file_written_by_the_caller_is_replaced_into_place(tmp_path):
    fd, tmp = durable.temp_file(str(tmp_path), 0o600)
    assert os.path.basename(tmp).startswith(durable.TEMP_PREFIX)
    with os.fdopen(fd, "wb") as f:
        f.write(b"streamed")
    durable.replace(tmp, str(tmp_path / "done"), sync_folder=True)
    assert names(tmp_path) == ["done"] and (tmp_path / "done").read_bytes() == b"streamed"


def test_fsync_path_ignores_errors_unless_strict(tmp_path):
    durable.fsync_path(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        durable.fsync_path(str(tmp_path / "missing"), strict=True)
    durable.fsync_path(str(tmp_path), strict=True)
