"""Sync benchmark (W6): push 1,000,000 rows of 10 metrics plus 1,000 images over loopback.

    python benchmarks/sync_bench.py [--rows 1000000] [--images 1000] [--db postgresql://...]

Records a run with the real recorder (reused if it is already there), starts `localrun serve`
on 127.0.0.1, times `localrun sync` end to end as a separate process, and prints rows/s, the
sync process's peak RSS (from wait4) and the server's storage against the local run's bytes.
Goals: >= 200,000 rows/s, RSS < 200 MB, server storage <= 2x local.

With ``--db URL`` the server keeps its rows in that PostgreSQL database (``serve --db``), in a
schema ``localrun_bench`` made afresh for the run; server storage counts that schema's tables.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work", "sync")
CLI = [sys.executable, "-c", "from localrun.cli import main; main()"]


def busy_cpu_seconds() -> float | None:
    """CPU seconds every process on the machine has used (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def du(path: str) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(folder, name))
    return total


def record(root: str, rows: int, images: int) -> str:
    import numpy as np
    from PIL import Image

    import localrun
    from localrun.blobs import BlobStore

    path = os.path.join(root, "bench")
    marker = os.path.join(root, f".done-{rows}-{images}")
    if os.path.exists(marker):
        return path
    shutil.rmtree(root, ignore_errors=True)
    run = localrun.init(
        project="bench", id="bench", dir=root, config={"rows": rows}, settings={"quiet": True}
    )
    store = BlobStore(run.dir)
    keys = [f"metric_{i}" for i in range(10)]
    every = max(1, rows // images) if images else 0
    rng = np.random.default_rng(0)
    made = 0
    for step in range(rows):
        data = {k: step * 0.001 + i for i, k in enumerate(keys)}
        if every and step % every == 0 and made < images:
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, "PNG")
            data["image"] = {
                "_type": "image-file",
                "format": "png",
                "width": 32,
                "height": 32,
                **store.put(buf.getvalue(), "png"),
            }
            made += 1
        run.log(data)
    localrun.finish(quiet=True)
    open(marker, "w").close()
    return path


_SCHEMA = "localrun_bench"


def fresh_schema(url: str) -> str:
    """``url`` naming the schema localrun_bench, emptied first."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {_SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {_SCHEMA}")
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{_SCHEMA}"


def schema_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (_SCHEMA,),
        ).fetchone()
    return int(row[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--images", type=int, default=1_000)
    ap.add_argument("--db", default=None, help="a postgresql:// URL: serve --db on it")
    args = ap.parse_args()
    runs = os.path.join(WORK, "runs")
    t0 = time.perf_counter()
    run_dir = record(runs, args.rows, args.images)
    print(f"recorded in {time.perf_counter() - t0:.1f}s: {run_dir}", file=sys.stderr)
    shutil.rmtree(os.path.join(run_dir, "sync"), ignore_errors=True)
    data = os.path.join(WORK, "server-data")
    shutil.rmtree(data, ignore_errors=True)
    db_args: list[str] = []
    if args.db:
        db_args = ["--db", fresh_schema(args.db)]
    server = subprocess.Popen(
        [*CLI, "serve", "--data", data, "--port", "0", *db_args], stdout=subprocess.PIPE, text=True
    )
    try:
        url = server.stdout.readline().split("listening on ")[1].split()[0]
        busy0 = busy_cpu_seconds()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*CLI, "sync", run_dir, "--to", url], stdout=subprocess.PIPE, text=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        busy = busy_cpu_seconds() - busy0 if busy0 is not None else None
        line = proc.stdout.read().strip()
        proc.stdout.close()
        if status != 0:
            raise SystemExit(f"sync failed: {line}")
        t1 = time.perf_counter()
        again = subprocess.run(
            [*CLI, "sync", run_dir, "--to", url], capture_output=True, text=True, check=True
        ).stdout.strip()
        resync_s = time.perf_counter() - t1
    finally:
        server.terminate()
        _, _, server_usage = os.wait4(server.pid, 0)
    local = du(run_dir) - du(os.path.join(run_dir, "sync"))
    remote = du(data) + (schema_bytes(db_args[1]) if db_args else 0)
    figures = {
        "storage": "postgresql" if args.db else "sqlite",
        "rows": args.rows,
        "images": args.images,
        "sync_seconds": round(seconds, 2),
        "rows_per_second": round(args.rows / seconds),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is KiB on Linux
        "sync_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "server_cpu_seconds": round(
            server_usage.ru_utime + server_usage.ru_stime, 2
        ),  # includes the re-sync
        # Everything the machine ran during the sync, ours included: on a shared machine the
        # wall time above is only meaningful next to this and the CPU count.
        "machine_busy_cpu_seconds_during_sync": round(busy, 2) if busy is not None else None,
        "cpus": os.cpu_count(),
        "local_bytes": local,
        "server_bytes": remote,
        "storage_ratio": round(remote / local, 2),
        "resync_seconds": round(resync_s, 2),
        "sync_line": line,
        "resync_line": again,
    }
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
