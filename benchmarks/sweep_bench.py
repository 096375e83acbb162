"""Sweep benchmark (issue 17): many small runs, listed and synced.

    python benchmarks/sweep_bench.py [--runs 2000] [--rows 100] [--skip-sync]

Records ``--runs`` runs of ``--rows`` rows of 5 metrics each with the real recorder (reused if
they are already there), then times, each as a separate process:

- ``localrun show DIR`` (the list table), piped to a file, and its floor: reading each run's
  ``run.json``;
- the first ``localrun sync DIR URL`` to a fresh ``localrun serve`` on 127.0.0.1, and the same
  sync again with nothing new.

Prints wall time and the child's CPU seconds (from wait4) for each.
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
WORK = os.path.join(HERE, ".work", "sweep")
CLI = [sys.executable, "-c", "from localrun.cli import main; main()"]


def make_runs(root: str, runs: int, rows: int) -> None:
    marker = os.path.join(root, f".made-{runs}x{rows}")
    if os.path.exists(marker):
        return
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    code = (
        "import localrun, sys\n"
        "root, runs, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
        "for i in range(runs):\n"
        "    r = localrun.init(dir=root, id=f'run{i:05d}', project='sweep', name=f'trial-{i}',\n"
        "                      config={'lr': 0.001 * (i + 1), 'seed': i})\n"
        "    for s in range(rows):\n"
        "        r.log({'loss': 1.0 / (s + 1), 'acc': s / rows, 'lr': 0.1, 'a': s, 'b': -s})\n"
        "    r.finish()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, root, str(runs), str(rows)],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    open(marker, "w").close()


def timed(args: list[str], **kw) -> tuple[float, float, subprocess.Popen]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{args} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, proc


def floor_code() -> str:
    return (
        "import json, os, sys\n"
        "root = sys.argv[1]\n"
        "for name in sorted(os.listdir(root)):\n"
        "    p = os.path.join(root, name, 'run.json')\n"
        "    if os.path.exists(p):\n"
        "        json.load(open(p))\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--skip-sync", action="store_true")
    a = ap.parse_args()
    root = os.path.join(WORK, f"runs-{a.runs}x{a.rows}")
    make_runs(root, a.runs, a.rows)
    env = {**os.environ, "COLUMNS": "200"}
    out = os.path.join(WORK, "show.txt")
    with open(out, "w") as f:
        wall, cpu, _ = timed([*CLI, "show", root], stdout=f, env=env)
    print(f"show DIR ({a.runs} runs x {a.rows} rows): {wall:.2f} s wall, {cpu:.2f} s CPU")
    wall, cpu, _ = timed([sys.executable, "-c", floor_code(), root])
    print(f"floor (read each run.json): {wall:.2f} s wall, {cpu:.2f} s CPU")
    if a.skip_sync:
        return
    data = os.path.join(WORK, "server-data")
    shutil.rmtree(data, ignore_errors=True)
    # A synced sweep leaves cursors in the runs (sync/): start each measurement from none.
    for name in os.listdir(root):
        shutil.rmtree(os.path.join(root, name, "sync"), ignore_errors=True)
    server = subprocess.Popen(
        [*CLI, "serve", "--data", data, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline()
        url = line.split("listening on ")[1].split()[0]
        with open(os.devnull, "w") as null:
            wall, cpu, _ = timed([*CLI, "sync", root, "--to", url], stdout=null, stderr=null)
            print(f"first sync: {wall:.2f} s wall, {cpu:.2f} s client CPU")
            wall, cpu, _ = timed([*CLI, "sync", root, "--to", url], stdout=null, stderr=null)
            print(f"sync again, nothing new: {wall:.2f} s wall, {cpu:.2f} s client CPU")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({"root": root}))


if __name__ == "__main__":
    main()
