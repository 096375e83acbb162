"""Sync to MLflow benchmark: rows/s of `localrun sync --to mlflow+http://...` against MLflow's own
client logging the same rows with `MlflowClient.log_batch`, to the same `mlflow server`.

    python benchmarks/mlflow_bench.py [--rows 10000] [--metrics 10] [--workers 4] [--repeat 4]

Records a run of ROWS rows of METRICS floats with the real recorder, starts one `mlflow server`
on 127.0.0.1 (SQLite backend store, artifacts served by the tracking server, WORKERS server
processes), then times, each into a new experiment:

- `localrun sync RUN --to mlflow+http://...` end to end as a separate process (replay, batches of
  up to 1,000 metric points, several in flight, cursor after each);
- MLflow's client in this process: `MlflowClient.log_batch` with the same points (step and
  timestamp of each row), in calls of 1,000 metrics (MLflow's limit), one after another, as a
  user script replaying a history into MLflow would; its run is created first, outside the time.

Both are checked to have stored every point (`get_metric_history` of one key). The server is
warmed up first (32 untimed calls from 8 threads: every server process past its first request);
the two sides then run alternately REPEAT times, each first in turn (other load on the machine
hits both); prints one JSON line per try, then the best rows/s of each side and their ratio. Needs the mlflow package (`pip install -e '.[mlflow]'`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work", "mlflow")
CLI = [sys.executable, "-c", "from localrun.cli import main; main()"]
sys.path.insert(0, os.path.dirname(HERE))


def record(root: str, rows: int, metrics: int) -> str:
    import localrun

    path = os.path.join(root, "runs")
    shutil.rmtree(path, ignore_errors=True)
    run = localrun.init(project="bench", id="bench", dir=path, settings={"quiet": True})
    keys = [f"metric_{i}" for i in range(metrics)]
    for step in range(rows):
        run.log({k: step * 0.001 + i for i, k in enumerate(keys)})
    localrun.finish(quiet=True)
    return path


def start_server(root: str, workers: int):
    from tests.sync.mlflowserver import MlflowServer

    folder = os.path.join(root, "server")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    server = MlflowServer(folder, workers=workers)
    return server


def warm_up(server, calls: int = 32) -> None:
    """Some log_batch calls from 8 threads, untimed: each server process does its first
    request's one-time work (imports, the database engine) before either side is timed."""
    from concurrent.futures import ThreadPoolExecutor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow import MlflowClient
        from mlflow.entities import Metric

        client = MlflowClient(tracking_uri=server.http)
        run = client.create_run(client.create_experiment("warm-up"))
        batch = [Metric("m", 1.0, 0, i) for i in range(1000)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.log_batch(run.info.run_id, metrics=batch), range(calls)))


def bench_localrun(server, runs: str, experiment: str) -> dict:
    for name in (
        os.listdir(os.path.join(runs, "bench", "sync"))
        if os.path.isdir(os.path.join(runs, "bench", "sync"))
        else []
    ):
        os.remove(os.path.join(runs, "bench", "sync", name))
    cmd = [*CLI, "sync", os.path.join(runs, "bench"), "--to", f"mlflow+{server.http}"]
    cmd += ["--project", experiment]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"localrun sync failed: {out.stdout}{out.stderr}")
    return {"seconds": seconds, "line": out.stdout.strip()}


def bench_mlflow_client(server, runs: str, experiment: str) -> dict:
    from localrun.reader import RunView

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow import MlflowClient
        from mlflow.entities import Metric

        client = MlflowClient(tracking_uri=server.http)
        exp = client.create_experiment(experiment)
        run = client.create_run(exp)
        points = []
        for row in RunView(os.path.join(runs, "bench")).rows():
            ms = int(row["_timestamp"] * 1000)
            for k, v in row.items():
                if not k.startswith("_"):
                    points.append(Metric(k, float(v), ms, row["_step"]))
        t0 = time.perf_counter()
        for i in range(0, len(points), 1000):
            client.log_batch(run.info.run_id, metrics=points[i : i + 1000])
        seconds = time.perf_counter() - t0
        stored = len(client.get_metric_history(run.info.run_id, "metric_0"))
    return {"seconds": seconds, "points": len(points), "metric_0_points": stored}


def count_localrun(server, experiment: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=server.http)
        exp = client.get_experiment_by_name(experiment)
        (run,) = client.search_runs([exp.experiment_id])
        return len(client.get_metric_history(run.info.run_id, "metric_0"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--metrics", type=int, default=10)
    ap.add_argument("--workers", type=int, default=4, help="mlflow server worker processes")
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    runs = record(WORK, args.rows, args.metrics)
    server = start_server(WORK, args.workers)
    try:
        print(json.dumps({"mlflow_server_start_s": round(server.start_s, 1)}))
        warm_up(server)
        best: dict[str, dict] = {}
        for attempt in range(args.repeat):
            # Alternated, and each side first in turn, so load from elsewhere hits both.
            def ours_now(attempt=attempt) -> dict:
                got = bench_localrun(server, runs, f"bench-localrun-{attempt}")
                got["metric_0_points"] = count_localrun(server, f"bench-localrun-{attempt}")
                return got

            def theirs_now(attempt=attempt) -> dict:
                return bench_mlflow_client(server, runs, f"bench-mlflow-client-{attempt}")

            if attempt % 2 == 0:
                ours, theirs = ours_now(), theirs_now()
            else:
                theirs, ours = theirs_now(), ours_now()
            for side, got in (("localrun sync", ours), ("MlflowClient.log_batch", theirs)):
                got["rows_per_s"] = round(args.rows / got["seconds"])
                print(json.dumps({"side": side, "attempt": attempt, **got}))
                assert got["metric_0_points"] == args.rows, got
                if side not in best or got["rows_per_s"] > best[side]["rows_per_s"]:
                    best[side] = got
        ratio = best["localrun sync"]["rows_per_s"] / best["MlflowClient.log_batch"]["rows_per_s"]
        print(
            json.dumps(
                {
                    "best_rows_per_s": {k: v["rows_per_s"] for k, v in best.items()},
                    "ratio": round(ratio, 2),
                }
            )
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
