"""Every error answer is JSON (row 15): a full disk, an unexpected failure, a malformed request.

The disk fills for real: RLIMIT_FSIZE is set on the running `localrun serve` process (as
tests/faults/test_disk.py does for the recorder), so SQLite's writes and blob writes fail with
EFBIG, as on a full disk. The server answers 507 with a JSON body saying its disk is full,
stores nothing of that request, keeps serving, and `localrun sync` (which retries 5xx and then
fails the run, exit 3) completes on its next run once there is room.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource

from tests.sync.conftest import Server, export_rows, make_run, same, sync

from .serverlog import server_log
from .test_server_hostile import JSON, send_raw, snapshot


def limit_file_size(pid: int, size: int | None) -> None:
    hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard if size is None else size, hard))


def largest_file(folder: str) -> int:
    return max(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)


def test_a_full_disk_answers_507_stores_nothing_and_sync_completes_later(tmp_path, figures):
    run = make_run(tmp_path / "runs", rows=5000, images=3)
    server = Server(str(tmp_path / "data"))
    try:
        # A first sync of another run: the database exists, with its journal.
        make_run(tmp_path / "other", run_id="r0", rows=10)
        assert sync(tmp_path / "other", server.url).returncode == 0
        limit_file_size(server.proc.pid, largest_file(server.data_dir) + 64 * 1024)
        before = snapshot(server.data_dir)
        full = sync(run.dir, server.url)
        assert full.returncode == 3, full.stdout + full.stderr
        assert "507" in full.stdout and "disk is full" in full.stdout, full.stdout
        assert "Traceback" not in full.stdout + full.stderr
        tables, _ = snapshot(server.data_dir)
        assert tables[1] == before[0][1]  # no rows stored (blobs that fit are whole files)
        status, body = send_raw(server.port, "GET", "/api/v1/runs/proj/r1", {}, b"")
        assert status in (200, 404)
        log = server_log(server)
        assert "disk is full" in log and "Traceback" not in log, log[-2000:]

        limit_file_size(server.proc.pid, None)  # room again
        again = sync(run.dir, server.url)
        assert again.returncode == 0, again.stdout + again.stderr
        assert same(export_rows(server.url + "/runs/proj/r1"), export_rows(run.dir))
        figures.setdefault("server_disk_full", {})["rows_sync"] = {
            "first_sync_exit": full.returncode,
            "status": 507,
            "rows_stored_while_full": 0,
            "rows_after_room_again": 5000,
        }
    finally:
        server.stop()


def test_a_blob_over_the_file_size_limit_gets_507_and_leaves_no_temp_file(tmp_path):
    server = Server(str(tmp_path / "data"))
    try:
        limit_file_size(server.proc.pid, 100_000)
        blob = os.urandom(300_000)
        sha = hashlib.sha256(blob).hexdigest()
        status, body = send_raw(server.port, "PUT", f"/api/v1/blobs/{sha}", {}, blob)
        assert status == 507, body[:300]
        assert "disk is full" in json.loads(body)["error"]
        assert os.listdir(os.path.join(server.data_dir, "blobs", "tmp")) == []
        assert not os.path.exists(os.path.join(server.data_dir, "blobs", sha[:2], sha))
        limit_file_size(server.proc.pid, None)
        assert send_raw(server.port, "PUT", f"/api/v1/blobs/{sha}", {}, blob)[0] == 201
    finally:
        server.stop()


def test_an_unexpected_failure_is_a_json_500_without_a_traceback_in_the_body(tmp_path):
    """The server's blob temp folder replaced by a file: uploads fail, the answer stays JSON."""
    server = Server(str(tmp_path / "data"))
    try:
        assert send_raw(server.port, "PUT", "/api/v1/runs/proj/r1", JSON, b"{}")[0] == 201
        tmp = os.path.join(server.data_dir, "blobs", "tmp")
        os.rmdir(tmp)
        with open(tmp, "w") as f:
            f.write("not a folder")
        blob = b"some bytes"
        status, body = send_raw(
            server.port, "PUT", f"/api/v1/blobs/{hashlib.sha256(blob).hexdigest()}", {}, blob
        )
        assert status == 500
        error = json.loads(body)["error"]
        assert "NotADirectoryError" in error and "Traceback" not in error and "File " not in error
        assert send_raw(server.port, "GET", "/api/v1/runs", {}, b"")[0] == 200
        log = server_log(server)
        assert log.count("Traceback") == 1 and "NotADirectoryError" in log  # logged, once
    finally:
        server.stop()


def test_a_request_http_cannot_parse_gets_a_json_400(tmp_path):
    server = Server(str(tmp_path / "data"))
    try:
        import socket

        for raw in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(raw)
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head, answer
            assert "Invalid HTTP request" in json.loads(body)["error"]
    finally:
        server.stop()
