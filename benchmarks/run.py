"""Benchmark localrun against wandb, trackio, MLflow and tensorboardX on the same machine.

    python benchmarks/run.py [--quick] [--peers wandb,trackio,mlflow,tensorboardX] [--workloads w1,w2,...]

Installs each peer into its own virtual environment under ``benchmarks/.venvs/<peer>`` (from
PyPI, once), then runs every workload in a fresh subprocess per tool and repeat
(``benchmarks/worker.py``), one at a time. Writes the medians to ``benchmarks/README.md``
(between the ``results`` markers) and the raw figures to ``benchmarks/.work/results.json``.

Nothing talks to the network while measuring: wandb runs offline, trackio locally, MLflow on a
file store, tensorboardX into a folder, and proxies point at a closed local port.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENVS = os.path.join(HERE, ".venvs")
WORK = os.path.join(HERE, ".work")
README = os.path.join(HERE, "README.md")
START, END = "<!-- results:start -->", "<!-- results:end -->"

PEERS = {  # name -> (pip requirements, module to import)
    "wandb": (["wandb"], "wandb"),
    "trackio": (["trackio"], "trackio"),
    "mlflow": (["mlflow"], "mlflow"),
    "tensorboardX": (["tensorboardX"], "tensorboardX"),
}
# Every venv also gets what the floor needs, so the floor runs in the tool's own process.
FLOOR_REQS = ["msgpack", "numpy", "pillow"]

FULL = {"w1": 20_000, "w2": 300, "w3": 300, "w4": 10_000, "w5": 1_000_000}
QUICK = {"w1": 5_000, "w2": 30, "w3": 30, "w4": 1_000, "w5": 100_000}
WORKLOADS = {
    "w1": "20,000 log() calls of 10 floats",
    "w2": "300 calls of one 256×256×3 uint8 image",
    "w3": "300 histograms of 1e5 floats",
    "w4": "mixed loop: 10 scalars every step, an image and a histogram every 100 steps",
    "w5": "`localrun export` and `localrun show` of a 1,000,000-row run",
    "w6": "sync of 1,000,000 rows + 1,000 images to `localrun serve` over loopback",
}
TIMEOUT_S = 1800


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def offline_env(workdir: str) -> dict:
    """The environment every worker runs in: offline, local, quiet, no proxies that work."""
    env = dict(os.environ)
    dead = "http://127.0.0.1:9"  # discard port: any attempt to reach the network fails at once
    env.update(
        {
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "WANDB_DIR": workdir,
            "WANDB_CACHE_DIR": os.path.join(workdir, "wandb-cache"),
            "WANDB_CONFIG_DIR": os.path.join(workdir, "wandb-config"),
            "WANDB_DATA_DIR": os.path.join(workdir, "wandb-data"),
            "WANDB_DISABLE_CODE": "true",
            "WANDB_DISABLE_GIT": "true",
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HOME": os.path.join(workdir, "hf"),
            "TRACKIO_DIR": os.path.join(workdir, "trackio"),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "MLFLOW_TRACKING_URI": "file:" + os.path.join(workdir, "mlruns"),
            "MLFLOW_ALLOW_FILE_STORE": "true",  # MLflow 3 refuses the file store without it
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
            "DO_NOT_TRACK": "1",
            "HTTP_PROXY": dead,
            "HTTPS_PROXY": dead,
            "http_proxy": dead,
            "https_proxy": dead,
            "NO_PROXY": "localhost,127.0.0.1,::1",
            "no_proxy": "localhost,127.0.0.1,::1",
            "LOCALRUN_DIR": os.path.join(workdir, "runs"),
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


# --- interpreters --------------------------------------------------------------------------


def localrun_python() -> str:
    venv = os.path.join(REPO, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def _imports(python: str, module: str) -> bool:
    mods = ",".join([module, "msgpack", "numpy", "PIL"])
    return (
        subprocess.run(
            [python, "-c", f"import {mods}"], capture_output=True, timeout=300
        ).returncode
        == 0
    )


def ensure_peer(name: str) -> tuple[str | None, str]:
    """The peer's interpreter, installing it first if needed; (None, why) if it cannot be had."""
    reqs, module = PEERS[name]
    venv = os.path.join(VENVS, name)
    python = os.path.join(venv, "bin", "python")
    if os.path.exists(python) and _imports(python, module):
        return python, ""
    log(f"installing {name} into {venv} (from PyPI)")
    try:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True, capture_output=True)
        done = subprocess.run(
            [python, "-m", "pip", "install", "-q", *reqs, *FLOOR_REQS],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not install: {exc}"
    if done.returncode != 0 or not _imports(python, module):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["import failed"]
        return None, f"could not install: {tail[0][:200]}"
    return python, ""


# --- running -------------------------------------------------------------------------------


def run_worker(python: str, args: list[str], workdir: str, timeout: int = TIMEOUT_S) -> dict:
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    try:
        done = subprocess.run(
            [python, os.path.join(HERE, "worker.py"), *args],
            capture_output=True,
            text=True,
            env=offline_env(workdir),
            timeout=timeout,
            cwd=workdir,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"exit {done.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])


def timed_command(argv: list[str], env: dict, stdout=subprocess.DEVNULL) -> dict:
    """Wall time and peak RSS of one command (its own process, via wait4)."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = {
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }
    if proc.returncode != 0:
        out["error"] = f"exit {proc.returncode}: {err.strip().splitlines()[-1:] or ''}"
    return out


def w5(python: str, rows: int, repeats: int) -> dict:
    root = os.path.join(WORK, f"w5-{rows}")
    run = os.path.join(root, "w5")
    marker = os.path.join(root, "complete")
    if not os.path.exists(marker):
        log(f"w5: writing a {rows:,}-row run (once; kept in {root})")
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        done = subprocess.run(
            [python, os.path.join(HERE, "worker.py"), "make-big-run", str(rows), root],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return {"error": done.stderr.strip()[-300:]}
        open(marker, "w").close()
    env = offline_env(os.path.join(WORK, "w5-env"))
    cli = (
        [python, "-m", "localrun.cli"]
        if not os.path.exists(os.path.join(os.path.dirname(python), "localrun"))
        else [os.path.join(os.path.dirname(python), "localrun")]
    )
    segment = os.path.join(run, "segments", "000001.lrs")
    results: dict[str, list[dict]] = {
        "export": [],
        "export_csv": [],
        "show": [],
        "show_json": [],
        "floor": [],
        "floor_msgspec": [],
    }
    for _ in range(repeats):
        results["export"].append(timed_command([*cli, "export", run], env))
        results["export_csv"].append(timed_command([*cli, "export", "--format", "csv", run], env))
        results["show"].append(timed_command([*cli, "show", run], env))
        results["show_json"].append(timed_command([*cli, "show", "--json", run], env))
        done = subprocess.run(
            [python, os.path.join(HERE, "worker.py"), "read-floor", segment],
            capture_output=True,
            text=True,
            env=env,
        )
        results["floor"].append(
            json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-300:]}
        )
        done = subprocess.run(
            [python, os.path.join(HERE, "worker.py"), "read-floor-msgspec", segment],
            capture_output=True,
            text=True,
            env=env,
        )
        results["floor_msgspec"].append(
            json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-300:]}
        )
    out = {"rows": rows, "segment_bytes": os.path.getsize(segment)}
    for k, runs in results.items():
        good = [r for r in runs if "error" not in r]
        if not good:
            out[k] = {"error": runs[0].get("error") if runs else "not run"}
            continue
        out[k] = {
            m: statistics.median(r[m] for r in good) for m in ("seconds", "cpu_s", "peak_rss_mb")
        }
    return out


def w6(quick: bool) -> dict:
    script = os.path.join(HERE, "sync_bench.py")
    if not os.path.exists(script):
        return {
            "skipped": "benchmarks/sync_bench.py is not in this tree yet (W6 is written with `localrun sync`)"
        }
    argv = [localrun_python(), script] + (["--rows", "100000", "--images", "100"] if quick else [])
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=offline_env(os.path.join(WORK, "w6")),
        )
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:300]}
    out = done.stdout
    try:
        return {"result": json.loads(out[out.index("{") :])}  # it prints one JSON object
    except ValueError:
        return {"output": out.strip()[-2000:]}


def median_result(runs: list[dict]) -> dict:
    good = [r for r in runs if "error" not in r and "skipped" not in r]
    if not good:
        return runs[0] if runs else {"error": "not run"}
    out = dict(good[0])
    for k, v in good[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = statistics.median(r[k] for r in good)
    for floor in ("floor", "floor_msgspec"):
        if all(floor in r for r in good):
            out[floor] = {k: statistics.median(r[floor][k] for r in good) for k in good[0][floor]}
    out["repeats"] = len(good)
    return out


# --- the table -----------------------------------------------------------------------------


def _f(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.2f}×"


def render(results: dict, meta: dict) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}, Python {meta['python']}, "
        f"{'quick mode' if meta['quick'] else 'full mode'}, median of {meta['repeats']} run(s) per figure. "
        "Each tool's ratios are to the floor measured in the same process, right after it.",
        "",
    ]
    versions = ", ".join(f"{t} {v}" for t, v in meta["versions"].items() if v)
    if versions:
        lines += [f"Versions: {versions}.", ""]
    for name, why in meta["skipped_peers"].items():
        lines += [f"- **{name} skipped**: {why}"]
    if meta["skipped_peers"]:
        lines.append("")
    for w in ("w1", "w2", "w3", "w4"):
        if w not in results:
            continue
        n = meta["sizes"][w]
        lines += [
            f"### {w.upper()}: {WORKLOADS[w]} (n = {n:,})",
            "",
            "| tool | import s | p50 µs | p99 µs | p99.9 µs | amortised µs (incl. finish) | amortised ×floor | p50 ×floor | p99 ×floor | bytes/call | bytes ×floor | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        floor_row = None
        notes = []
        for tool, r in results[w].items():
            if "error" in r or "skipped" in r:
                lines.append(
                    f"| {tool} | – | – | – | – | {r.get('error') or r.get('skipped')} | | | | | | |"
                )
                continue
            fl = r["floor"]
            if floor_row is None and not r.get("note"):
                floor_row = (
                    fl  # the first full workload's floor (a tool that skipped part has its own)
                )
            if r.get("note"):
                notes.append(f"{tool}: {r['note']}")
            lines.append(
                f"| {tool} | {r['import_s']:.2f} | {_f(r['p50_us'])} | {_f(r['p99_us'])} | {_f(r['p999_us'])} | "
                f"{_f(r['amortised_us'])} | {_ratio(r['amortised_us'], fl['amortised_us'])} | "
                f"{_ratio(r['p50_us'], fl['p50_us'])} | {_ratio(r['p99_us'], fl['p99_us'])} | "
                f"{_f(r['bytes'] / n, 0)} | {_ratio(r['bytes'], fl['bytes'])} | {_f(r['peak_rss_mb'])} |"
            )
        if floor_row is None:
            floor_row = next((r["floor"] for r in results[w].values() if "floor" in r), None)
        if floor_row:
            lines.append(
                f"| *floor* | – | {_f(floor_row['p50_us'])} | {_f(floor_row['p99_us'])} | {_f(floor_row['p999_us'])} | "
                f"{_f(floor_row['amortised_us'])} | 1.00× | 1.00× | 1.00× | {_f(floor_row['bytes'] / n, 0)} | 1.00× | – |"
            )
        lr = results[w].get("localrun", {})
        if "floor_msgspec" in lr and "p50_us" in lr:
            fm = lr["floor_msgspec"]
            lines.append(
                f"| *floor, msgspec* | – | {_f(fm['p50_us'])} | {_f(fm['p99_us'])} | {_f(fm['p999_us'])} | "
                f"{_f(fm['amortised_us'])} | – | – | – | – | – | – |"
            )
            notes.append(
                "the floor packs with msgpack.packb, as the goals define it; localrun's log() packs plain "
                "records with msgspec, so the *floor, msgspec* row packs with msgspec instead: against it, "
                f"localrun's p50 is {_ratio(lr['p50_us'], fm['p50_us'])} and its amortised time "
                f"{_ratio(lr['amortised_us'], fm['amortised_us'])}"
            )
        for note in notes:
            lines += ["", f"Note: {note}."]
        lines.append("")
    if "w5" in results:
        r = results["w5"]
        lines += [f"### W5: reading back a {r.get('rows', 0):,}-row run (localrun only)", ""]
        if "error" in r:
            lines += [f"error: {r['error']}", ""]
        else:
            lines += [
                f"Segment: {r['segment_bytes'] / 1e6:.1f} MB.",
                "",
                "| command | wall s | CPU s | ×floor (CPU) | peak RSS MB |",
                "|---|---|---|---|---|",
            ]
            label = {
                "export": "`localrun export RUN` (JSON Lines, to /dev/null)",
                "export_csv": "`localrun export --format csv RUN`",
                "show": "`localrun show RUN`",
                "show_json": "`localrun show --json RUN`",
                "floor": "*floor*: walk frames + crc + unpack + one JSON line per row (keys encoded once)",
                "floor_msgspec": "*floor, msgspec*: the same with msgspec's decoder and `encode_lines`",
            }
            floor_cpu = r.get("floor", {}).get("cpu_s")
            for k in ("export", "export_csv", "show", "show_json", "floor", "floor_msgspec"):
                x = r.get(k, {})
                if "error" in x:
                    lines.append(f"| {label[k]} | {x['error']} | | | |")
                else:
                    lines.append(
                        f"| {label[k]} | {x['seconds']:.2f} | {x['cpu_s']:.2f} | "
                        f"{_ratio(x['cpu_s'], floor_cpu) if k.startswith(('export', 'floor')) else '–'} | {x['peak_rss_mb']:.0f} |"
                    )
            lines += [
                "",
                "Wall time on this 2-core VM includes time the hypervisor gives to other guests "
                "(`wait4` shows it as the gap between wall and CPU time); CPU time is user + system.",
                "",
            ]
    if "w6" in results:
        r = results["w6"]
        lines += ["### W6: sync to `localrun serve` over loopback", ""]
        if "result" in r:
            lines += ["```", json.dumps(r["result"], indent=1), "```", ""]
        else:
            lines += [str(r.get("skipped") or r.get("error") or r.get("output")), ""]
    return "\n".join(lines)


def write_readme(table: str) -> None:
    text = (
        open(README, encoding="utf-8").read()
        if os.path.exists(README)
        else f"# Benchmarks\n\n{START}\n{END}\n"
    )
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(README, "w", encoding="utf-8") as f:
        f.write(f"{head}{START}\n{table}\n{END}{tail}")


def compare(before_path: str, after_path: str) -> str:
    """A markdown table of localrun's figures in two results files (before and after a change)."""
    with open(before_path) as f:
        before = json.load(f)["results"]
    with open(after_path) as f:
        after = json.load(f)["results"]
    lines = [
        "| figure | before | after | goal |",
        "|---|---|---|---|",
    ]

    def row(name, b, a, goal="", fmt="{:.2f}"):
        show = lambda v: "–" if v is None else fmt.format(v)  # noqa: E731
        lines.append(f"| {name} | {show(b)} | {show(a)} | {goal} |")

    def get(res, w, *path):
        x = res.get(w, {}).get("localrun", {}) if w != "w5" else res.get("w5", {})
        for p in path:
            if not isinstance(x, dict) or p not in x:
                return None
            x = x[p]
        return x

    def ratio(res, w, key):
        v, f = get(res, w, key), get(res, w, "floor", key)
        return v / f if v and f else None

    for w in ("w1", "w3", "w4"):
        if get(after, w, "p50_us") is None:
            continue
        n = w.upper()
        row(f"{n} p50 µs", get(before, w, "p50_us"), get(after, w, "p50_us"))
        row(
            f"{n} p50 ×floor",
            ratio(before, w, "p50_us"),
            ratio(after, w, "p50_us"),
            "≤ 2×" if w == "w1" else "",
        )
        row(
            f"{n} p99 ×floor",
            ratio(before, w, "p99_us"),
            ratio(after, w, "p99_us"),
            "≤ 5×" if w == "w1" else "",
        )
        row(f"{n} p99.9 µs", get(before, w, "p999_us"), get(after, w, "p999_us"))
        row(
            f"{n} amortised ×floor",
            ratio(before, w, "amortised_us"),
            ratio(after, w, "amortised_us"),
            "≤ 1.1×" if w == "w3" else "",
        )
        if w == "w1":
            b = get(before, w, "bytes")
            a = get(after, w, "bytes")
            fb, fa = get(before, w, "floor", "bytes"), get(after, w, "floor", "bytes")
            row(
                "W1 bytes ×floor",
                b / fb if b and fb else None,
                a / fa if a and fa else None,
                "≤ 1.5×",
            )
            row(
                "import localrun s",
                get(before, w, "import_s"),
                get(after, w, "import_s"),
                "≤ 0.1 s",
                "{:.3f}",
            )
    for k, goal in (
        ("export", "< 10 s, RSS < 200 MB"),
        ("export_csv", ""),
        ("show", "< 3 s"),
        ("show_json", ""),
    ):
        for m, unit in (("seconds", "wall s"), ("cpu_s", "CPU s"), ("peak_rss_mb", "RSS MB")):
            row(
                f"W5 {k} {unit}",
                get(before, "w5", k, m),
                get(after, "w5", k, m),
                goal if m != "peak_rss_mb" else "",
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="small workloads, one repeat (about two minutes)"
    )
    ap.add_argument(
        "--peers", default=",".join(PEERS), help="comma separated; '' for localrun alone"
    )
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5,w6")
    ap.add_argument(
        "--repeats", type=int, default=None, help="runs per figure (default 3, quick 1)"
    )
    ap.add_argument(
        "--no-readme", action="store_true", help="print the table instead of writing README.md"
    )
    ap.add_argument(
        "--localrun-python",
        default=None,
        help="interpreter with the localrun to measure (default: .venv/bin/python)",
    )
    ap.add_argument(
        "--save",
        default="results",
        help="name of the raw results file in benchmarks/.work/ (NAME.json)",
    )
    ap.add_argument(
        "--compare",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="print localrun's figures from two results files",
    )
    args = ap.parse_args()
    if args.compare:
        print(compare(*args.compare))
        return
    sizes = QUICK if args.quick else FULL
    repeats = args.repeats or (1 if args.quick else 3)
    workloads = [w.strip().lower() for w in args.workloads.split(",") if w.strip()]
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        ap.error(f"unknown peer(s) {unknown}; known: {', '.join(PEERS)}")
    os.makedirs(WORK, exist_ok=True)

    pythons = {"localrun": args.localrun_python or localrun_python()}
    skipped: dict[str, str] = {}
    if not _imports(pythons["localrun"], "localrun"):
        sys.exit(
            f"localrun is not importable by {pythons['localrun']}: run `python3 -m venv .venv && .venv/bin/pip install -e .` first"
        )
    for p in peers:
        python, why = ensure_peer(p)
        if python:
            pythons[p] = python
        else:
            skipped[p] = why
            log(f"{p} skipped: {why}")

    results: dict = {}
    versions: dict[str, str | None] = {}
    for w in ("w1", "w2", "w3", "w4"):
        if w not in workloads:
            continue
        results[w] = {}
        for tool, python in pythons.items():
            runs = []
            for i in range(repeats):
                log(f"{w} {tool} ({i + 1}/{repeats}, n={sizes[w]:,})")
                r = run_worker(
                    python,
                    [tool, w, str(sizes[w]), os.path.join(WORK, "run")],
                    os.path.join(WORK, "run"),
                )
                runs.append(r)
                if "error" in r or "skipped" in r:
                    log(f"  {r.get('error') or r.get('skipped')}")
                    break
            results[w][tool] = median_result(runs)
            if results[w][tool].get("version"):
                versions[tool] = results[w][tool]["version"]
    if "w5" in workloads:
        log(f"w5 localrun export/show ({sizes['w5']:,} rows)")
        results["w5"] = w5(pythons["localrun"], sizes["w5"], repeats)
    if "w6" in workloads:
        log("w6 sync")
        results["w6"] = w6(args.quick)
    shutil.rmtree(os.path.join(WORK, "run"), ignore_errors=True)

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "quick": args.quick,
        "repeats": repeats,
        "sizes": sizes,
        "versions": versions,
        "skipped_peers": skipped,
    }
    with open(os.path.join(WORK, f"{args.save}.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    table = render(results, meta)
    if not args.no_readme:
        write_readme(table)
        log(f"wrote {os.path.relpath(README)}")
    print(table)


if __name__ == "__main__":
    main()
