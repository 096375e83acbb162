"""Artifact benchmark: add a big file to an artifact, log a second version, sync, download.

    python benchmarks/artifact_bench.py [--mb 2048]

Writes a file of ``--mb`` MB of random bytes (in 64 MiB pieces, so making it costs no memory
either), then, each step a process of its own whose peak RSS comes from wait4:

1. ``log``: ``init()``, ``Artifact.add_file(big)``, ``run.log_artifact()`` (copied into the
   runs root's store while hashed), ``finish()``;
2. ``relog``: the same file logged again next to a 1 kB file that changed (a new version that
   shares the big file): seconds, and the bytes the store grew by;
3. ``sync``: ``localrun sync`` to ``localrun serve --max-blob-mb`` on 127.0.0.1 (the big file
   streamed up once, its second version sends nothing of it);
4. ``download``: ``localrun artifacts download NAME:v1 --from URL`` (streamed down, hashed).

Prints one JSON object; benchmarks/README.md, "Artifacts", holds the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work", "artifacts")
CLI = [sys.executable, "-c", "from localrun.cli import main; main()"]

LOG = r"""
import os, sys, localrun
runs, big, extra, name = sys.argv[1:5]
run = localrun.init(project="bench", id=sys.argv[5], dir=runs)
art = localrun.Artifact(name, "model")
art.add_file(big, name="model.ckpt")
if extra != "-":
    art.add_file(extra, name="config.json")
run.log_artifact(art)
localrun.finish()
print(art.version)
"""


def du(path: str) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(folder, f)).st_blocks * 512
            except OSError:
                pass
    return total


def timed(args: list[str]) -> tuple[float, float, str]:
    """Run ``args``: ``(seconds, peak RSS in MB, stdout)``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.stdout.close()
    seconds = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{args[-4:]} failed ({status}): {out}")
    return seconds, usage.ru_maxrss / 1024, out.strip()  # ru_maxrss is KiB on Linux


def make_file(path: str, mb: int) -> None:
    piece = os.urandom(64 * 1024 * 1024)
    with open(path, "wb") as f:
        left = mb * 1024 * 1024
        i = 0
        while left:
            n = min(left, len(piece))
            # Each piece differs from the last (a counter up front): no accidental sharing.
            f.write(i.to_bytes(8, "little") + piece[8:n])
            left -= n
            i += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=2048)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    runs = os.path.join(WORK, "runs")
    big = os.path.join(WORK, "big.bin")
    extra = os.path.join(WORK, "config.json")
    # Made by a process of its own: a child's peak RSS (wait4) counts what its parent held when
    # it forked, so this process stays small.
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {HERE!r}); "
            f"from artifact_bench import make_file; make_file({big!r}, {args.mb})",
        ],
        check=True,
    )
    made_s = time.perf_counter() - t0
    size = os.path.getsize(big)
    fig: dict = {"file_bytes": size, "make_file_seconds": round(made_s, 2), "cpus": os.cpu_count()}

    # The floor, in the same sitting: hashing the file alone, and copying it alone (cp, then
    # sync(1) so the copy reaches the disk as the store's fsync makes it).
    floor = (
        "import hashlib, sys, time\n"
        "h = hashlib.sha256(); t = time.perf_counter()\n"
        "with open(sys.argv[1], 'rb', buffering=0) as f:\n"
        "    while b := f.read(4 << 20): h.update(b)\n"
        "print(round(time.perf_counter() - t, 2))"
    )
    fig["floor_sha256_seconds"] = float(timed([sys.executable, "-c", floor, big])[2])
    s, _, _ = timed(["sh", "-c", f"cp {big} {big}.copy && sync"])
    os.remove(big + ".copy")
    fig["floor_cp_and_sync_seconds"] = round(s, 2)
    s, rss, _ = timed([sys.executable, "-c", LOG, runs, big, "-", "ckpt", "r1"])
    fig.update(log_seconds=round(s, 2), log_peak_rss_mb=round(rss, 1))
    fig["log_mb_per_s"] = round(size / 2**20 / s)
    store = os.path.join(runs, ".artifacts")
    before = du(store)
    with open(extra, "w") as f:
        f.write('{"lr": 0.1}' * 100)
    s, rss, version = timed([sys.executable, "-c", LOG, runs, big, extra, "ckpt", "r2"])
    fig.update(
        relog_seconds=round(s, 2),
        relog_peak_rss_mb=round(rss, 1),
        relog_version=version,
        relog_store_growth_bytes=du(store) - before,
        store_bytes=du(store),
    )

    data = os.path.join(WORK, "server")
    server = subprocess.Popen(
        [*CLI, "serve", "--data", data, "--port", "0", "--max-blob-mb", str(args.mb * 2 + 64)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline()
        url = line.split("listening on ")[1].split()[0]
        s, rss, out = timed([*CLI, "sync", runs, "--to", url])
        fig.update(sync_seconds=round(s, 2), sync_peak_rss_mb=round(rss, 1), sync_output=out)
        fig["sync_mb_per_s"] = round(size / 2**20 / s)
        s, rss, out = timed([*CLI, "sync", runs, "--to", url])
        fig.update(resync_seconds=round(s, 2))
        dest = os.path.join(WORK, "download")
        s, rss, _ = timed(
            [*CLI, "artifacts", "download", "bench/ckpt:v1", "--from", url, "--root", dest]
        )
        fig.update(download_seconds=round(s, 2), download_peak_rss_mb=round(rss, 1))
        fig["download_mb_per_s"] = round(size / 2**20 / s)
        fig["server_blob_bytes"] = du(os.path.join(data, "blobs"))
    finally:
        server.terminate()
        _, _, usage = os.wait4(server.pid, 0)
        server.stdout.close()
    fig["server_peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    print(json.dumps(fig, indent=1))
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
