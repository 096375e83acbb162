"""The server's files are its owner's only (row 16): folders 0700, files 0600, whatever the umask.

``runs.sqlite`` used to be made 0644 (and its folder 0755), so any local user could read every
run, token or not. Checked with stat after a real `localrun serve` and `localrun sync`, with
a permissive umask, and on a data folder an older server left readable (tightened on open).
The server never changes its process umask to do it.
"""

from __future__ import annotations

import os
import stat

import pytest

from tests.sync.conftest import Server, make_run, sync


class UmaskServer(Server):
    """A `localrun serve` started with the given umask."""

    def __init__(self, data_dir: str, umask: int):
        self.umask = umask
        super().__init__(data_dir)

    def start(self) -> None:
        old = os.umask(self.umask)  # inherited by the child; restored at once
        try:
            super().start()
        finally:
            os.umask(old)


def modes(data_dir: str) -> dict[str, int]:
    found = {".": stat.S_IMODE(os.stat(data_dir).st_mode)}
    for folder, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, data_dir)] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def assert_private(data_dir: str) -> dict[str, int]:
    found = modes(data_dir)
    wrong = {
        p: oct(m)
        for p, m in found.items()
        if m != (0o700 if os.path.isdir(os.path.join(data_dir, p)) else 0o600)
    }
    assert wrong == {}, wrong
    return found


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077])
def test_data_files_are_0600_and_folders_0700_after_a_real_sync(tmp_path, umask, figures):
    run = make_run(tmp_path / "runs", rows=50, images=3)
    server = UmaskServer(str(tmp_path / "data"), umask)
    try:
        assert sync(run.dir, server.url).returncode == 0
        with open(f"/proc/{server.proc.pid}/status") as f:  # the server's umask is as it was
            assert f"Umask:\t{umask:04o}" in f.read()
        found = assert_private(server.data_dir)
        assert {"runs.sqlite", "runs.sqlite-wal", "runs.sqlite-shm", "blobs", "blobs/tmp"} <= set(
            found
        )
        assert sum(1 for p in found if p.startswith("blobs/") and len(p) == 6 + 2 + 1 + 64) == 3
        figures.setdefault("server_file_modes", {})[f"umask {umask:03o}"] = sorted(
            {oct(m) for m in found.values()}
        )
    finally:
        server.stop()


def test_a_data_folder_left_readable_by_an_older_server_is_tightened_on_open(tmp_path):
    data = str(tmp_path / "data")
    run = make_run(tmp_path / "runs", rows=10, images=2)
    server = UmaskServer(data, 0o022)
    assert sync(run.dir, server.url).returncode == 0
    server.stop()
    for path, m in modes(data).items():  # as the old server left them
        os.chmod(os.path.join(data, path), 0o755 if m == 0o700 else 0o644)
    server = UmaskServer(data, 0o022)
    try:
        assert_private(data)
        assert sync(run.dir, server.url).returncode == 0  # still its data
    finally:
        server.stop()


def test_create_app_in_a_users_process_keeps_its_umask(tmp_path):
    """The server can be a library in someone else's process: modes by chmod, umask untouched."""
    from localrun.server import create_app

    old = os.umask(0o002)
    try:
        create_app(str(tmp_path / "data"))
        assert os.umask(0o002) == 0o002
    finally:
        os.umask(old)
    assert_private(str(tmp_path / "data"))
