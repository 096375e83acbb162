"""Artifacts under real processes: kill -9 in the middle of adding a file, two runs logging the
same name at once."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import localrun
from localrun.reader import RunView

from ..conftest import cli

CHILD = r"""
import os, sys, localrun
runs, big = sys.argv[1], sys.argv[2]
run = localrun.init(project="proj", id="victim", dir=runs)
art = localrun.Artifact("huge", "model")
art.add_file(big)
print("adding", flush=True)
run.log_artifact(art)
print("done", flush=True)
"""


def _objects_are_whole(runs: str) -> int:
    """Every object under .artifacts/objects hashes to its name; returns how many there are."""
    n = 0
    for folder, _, files in os.walk(os.path.join(runs, ".artifacts", "objects")):
        for name in files:
            h = hashlib.sha256()
            with open(os.path.join(folder, name), "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            assert h.hexdigest() == name, f"{name} is not whole"
            n += 1
    return n


def test_kill_9_while_a_big_file_is_added_leaves_no_half_object_and_no_version(tmp_path):
    runs = str(tmp_path / "runs")
    big = str(tmp_path / "big.bin")
    with open(big, "wb") as f:  # 512 MB, sparse: cheap to make, real bytes to copy
        f.truncate(512 * 1024 * 1024)
        f.write(b"head")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, runs, big],
        stdout=subprocess.PIPE,
        env={**os.environ, "LOCALRUN_SILENT": "1"},
    )
    assert proc.stdout.readline() == b"adding\n"
    tmp = os.path.join(runs, ".artifacts", "tmp")
    deadline = time.monotonic() + 30
    copied = 0
    try:
        while time.monotonic() < deadline and copied < 16 * 1024 * 1024:
            copied = max(_sizes(tmp), default=0)
            time.sleep(0.002)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert 16 * 1024 * 1024 <= copied < 512 * 1024 * 1024, copied  # killed mid-copy
    assert _objects_are_whole(runs) == 0  # nothing under its final name
    assert os.listdir(tmp)  # the half copy is a temporary file, nothing names it
    assert "artifacts" not in RunView(os.path.join(runs, "victim")).to_json()
    assert cli("artifacts", "list", runs).stderr.strip() == "no artifacts"
    # The next process that adds a file removes the leftover (its writer's lock is free).
    run = localrun.init(project="proj", dir=runs)
    small = tmp_path / "small.txt"
    small.write_text("ok")
    art = localrun.Artifact("huge", "model")
    art.add_file(str(small))
    run.log_artifact(art)
    assert art.version == "v0"
    assert os.listdir(tmp) == []
    assert _objects_are_whole(runs) == 2  # the file and the manifest


def _sizes(folder: str) -> list[int]:
    out = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return out
    for n in names:
        try:
            out.append(os.path.getsize(os.path.join(folder, n)))
        except FileNotFoundError:
            pass
    return out


WRITER = r"""
import os, sys, time, localrun
runs, start, tag = sys.argv[1], sys.argv[2], sys.argv[3]
run = localrun.init(project="proj", id=f"w{tag}", dir=runs)
while not os.path.exists(start):
    time.sleep(0.001)
versions = []
for i in range(15):
    art = localrun.Artifact("shared", "model")
    with art.new_file("ckpt.bin", mode="wb") as f:
        f.write(f"{tag}-{i}".encode())
    run.log_artifact(art)
    versions.append(art.version)
print(" ".join(versions))
"""


def test_two_runs_logging_one_name_at_once_get_distinct_versions(tmp_path):
    runs = str(tmp_path / "runs")
    start = str(tmp_path / "go")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, runs, start, tag],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "LOCALRUN_SILENT": "1"},
        )
        for tag in ("a", "b")
    ]
    time.sleep(0.5)  # both started (imports done), waiting at the start line
    open(start, "w").close()
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    got = outs[0] + outs[1]
    assert len(got) == 30 and len(set(got)) == 30
    assert sorted(got, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(30)]
    with open(os.path.join(runs, ".artifacts", "index", "proj", "shared.json")) as f:
        index = json.load(f)
    assert [v["version"] for v in index["versions"]] == list(range(30))
    # Each run's records name exactly the versions it was given.
    for tag, versions in zip(("a", "b"), outs, strict=True):
        logged = RunView(os.path.join(runs, f"w{tag}")).to_json()["artifacts"]["logged"]
        assert [f"v{a['version']}" for a in logged] == versions
