"""Benchmark ``localrun.Api``'s ``history(pandas=True)`` against pandas reading the same rows
from a CSV file (issue 14, "The public Api").

    python benchmarks/api_bench.py [--rows 1000000] [--repeats 3]

A run of ROWS rows x 10 metrics is made once by the recorder (in ``benchmarks/.work/api``);
``localrun export --format csv`` writes it as CSV. Each repeat, in a fresh process:

- **localrun**: ``localrun.Api(dir=...).run("big").history(samples=ROWS)``, every row into a
  DataFrame (13 columns: the 10 metrics, ``_step``, ``_runtime``, ``_timestamp``), timed from
  the call (finding the run is not counted);
- **floor**: ``pandas.read_csv`` of the exported CSV (the same 13 columns).

Wall and CPU time of the read and peak RSS of each process are printed with their ratios,
median of the repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work", "api")

MAKE = """
import os, sys, localrun
os.environ["LOCALRUN_SILENT"] = "1"
run = localrun.init(dir=sys.argv[1], id="big")
for s in range(int(sys.argv[2])):
    run.log({f"m{j}": s * 0.001 + j for j in range(10)})
run.finish()
"""

LOCALRUN = """
import sys, time, localrun
run = localrun.Api(dir=sys.argv[1]).run("big")
t, c = time.perf_counter(), time.process_time()
df = run.history(samples=int(sys.argv[2]))
print(time.perf_counter() - t, time.process_time() - c, df.shape)
"""

FLOOR = """
import sys, time, pandas
t, c = time.perf_counter(), time.process_time()
df = pandas.read_csv(sys.argv[1])
print(time.perf_counter() - t, time.process_time() - c, df.shape)
"""


def rss_of(code: str, *args: str) -> tuple[float, float, float, str]:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    proc.stdout.close()
    if status != 0:
        raise SystemExit(f"benchmark process failed ({status})")
    wall, cpu, shape = out.strip().split(" ", 2)
    return float(wall), usage.ru_maxrss / 1024, float(cpu), shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = os.path.join(WORK, f"runs-{args.rows}")
    csv_path = os.path.join(WORK, f"big-{args.rows}.csv")
    if not os.path.isdir(os.path.join(root, "big")):
        os.makedirs(WORK, exist_ok=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", MAKE, root, str(args.rows)], check=True)
        print(f"made the run: {time.perf_counter() - t:.1f} s")
    if not os.path.exists(csv_path):
        subprocess.run(
            [sys.executable, "-c", "from localrun.cli import main; main()", "export"]
            + [os.path.join(root, "big")]
            + ["--format", "csv", "-o", csv_path],
            check=True,
        )
    ours, floor = [], []
    for _ in range(args.repeats):
        ours.append(rss_of(LOCALRUN, root, str(args.rows)))
        floor.append(rss_of(FLOOR, csv_path))
    o_s = statistics.median(r[0] for r in ours)
    f_s = statistics.median(r[0] for r in floor)
    o_m = statistics.median(r[1] for r in ours)
    f_m = statistics.median(r[1] for r in floor)
    o_c = statistics.median(r[2] for r in ours)
    f_c = statistics.median(r[2] for r in floor)
    print(f"rows x columns: localrun {ours[0][3]}, floor {floor[0][3]}")
    print(f"localrun history(pandas=True): {o_s:.2f} s ({o_c:.2f} s CPU), peak RSS {o_m:.0f} MB")
    print(f"floor pandas.read_csv:         {f_s:.2f} s ({f_c:.2f} s CPU), peak RSS {f_m:.0f} MB")
    print(f"ratio: {o_s / f_s:.2f}x time, {o_c / f_c:.2f}x CPU, {o_m / f_m:.2f}x memory")


if __name__ == "__main__":
    main()
