"""Benchmark the web viewer (issue 12, "Speed") in headless Chromium, and TensorBoard beside it.

    python benchmarks/viewer_bench.py [--quick] [--repeats 3] [--no-tensorboard]

What it measures (figures in benchmarks/README.md, "The web viewer"; raw figures in
``benchmarks/.work/viewer/results.json``):

1. **Index build**: a run of 1,000,000 rows x 10 metrics (made once by the recorder); its
   ``index/`` deleted, a fresh ``localrun ui`` asked for its keys (what the run page asks
   first): the one-time replay into the index. The ui's peak RSS.
2. **Run page**: a fresh ``localrun ui`` (the index exists) and a fresh Chromium profile;
   from navigation to the run's page until all 10 charts are drawn (``performance.now()`` at
   the first animation frame after the last chart got its points). The ui's peak RSS after.
3. **Live append**: the run resumed by a writer process that keeps it open; (a) with the
   page open, from ``log()`` returning to the chart showing the new point (the page asks every
   second); (b) in-process, what the first answer after an append of 10 rows costs, and how
   many segment bytes it read.
4. **Runs page**: 2,000 runs; the one-time cost of listing them without an index, then a
   fresh ``localrun ui`` and Chromium: navigation until the table holds 2,000 rows. Peak RSS.
5. **TensorBoard** (from PyPI into ``benchmarks/.venvs/tensorboard``) on the same 10 x 1M
   scalars, written as tensorboardX's ``add_scalar`` writes them (one event per value):
   from starting ``tensorboard`` until its scalars endpoint serves the last step, then a
   fresh Chromium from navigation to its Time Series dashboard showing the 10 cards with the
   last step. Its peak RSS (with its data server process).

Nothing reaches the network: proxies point at a closed port, and both servers are on
127.0.0.1. The machine is shared, so each figure is repeated and the medians and ranges are
written, with ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work", "viewer")
TB_VENV = os.path.join(HERE, ".venvs", "tensorboard")
README = os.path.join(HERE, "README.md")
START, END = "<!-- viewer-results:start -->", "<!-- viewer-results:end -->"
CHROMIUM = os.environ.get("LOCALRUN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1600, "height": 2400}  # tall enough for all ten charts at once
METRICS = 10


def log(msg: str) -> None:
    print(f"[viewer-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def localrun_python() -> str:
    venv = os.path.join(REPO, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def env() -> dict:
    dead = "http://127.0.0.1:9"
    return {
        **os.environ,
        "LOCALRUN_SILENT": "1",
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "http_proxy": dead,
        "https_proxy": dead,
        "NO_PROXY": "localhost,127.0.0.1,::1",
        "no_proxy": "localhost,127.0.0.1,::1",
    }


def peak_rss_mb(pid: int) -> dict:
    """VmHWM (peak) and VmRSS of a live process, in MB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return {"peak_mb": round(out.get("VmHWM", 0), 1), "rss_mb": round(out.get("VmRSS", 0), 1)}


# --- data ----------------------------------------------------------------------------------

MAKE_BIG = r"""
import math, os, random, sys, time
import localrun
root, rows = sys.argv[1], int(sys.argv[2])
run = localrun.init(dir=root, project="bench", id="big", settings={"quiet": True},
                    config={"lr": 0.001, "batch": 256})
rnd = random.Random(0)
for i in range(rows):
    run.log({f"train/m{j}": math.sin(i / 1000 + j) + rnd.random() * 0.1 for j in range(10)})
run.finish()
"""

MAKE_TB = r"""
import math, os, random, sys, time
from tensorboardX.record_writer import RecordWriter
from tensorboardX.proto.event_pb2 import Event
from tensorboardX.proto.summary_pb2 import Summary
folder, rows = sys.argv[1], int(sys.argv[2])
os.makedirs(folder, exist_ok=True)
# The file tensorboardX's SummaryWriter.add_scalar writes (one event per value), written
# without its queue and thread, which cost 75 us a value here.
w = RecordWriter(os.path.join(folder, "events.out.tfevents.1800000000.bench"))
w.write(Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
rnd = random.Random(0)
t0 = time.time()
for i in range(rows):
    wall = t0 + i * 0.001
    for j in range(10):
        v = math.sin(i / 1000 + j) + rnd.random() * 0.1
        s = Summary(value=[Summary.Value(tag=f"train/m{j}", simple_value=v)])
        w.write(Event(wall_time=wall, step=i, summary=s).SerializeToString())
w.close()
"""

MAKE_MANY = r"""
import json, os, shutil, sys
import localrun
root, n = sys.argv[1], int(sys.argv[2])
run = localrun.init(dir=root, project="bench", id="r0000", name="run-0000", tags=["sweep"],
                    group="g1", settings={"quiet": True},
                    config={f"c{k}": k * 0.5 for k in range(20)} | {"opt": {"name": "adam"}})
for i in range(100):
    run.log({f"loss{j}": 1.0 / (i + 1 + j) for j in range(5)})
run.summary["best"] = 0.1
run.finish()
one = os.path.join(root, "r0000")
meta = json.load(open(os.path.join(one, "run.json")))
for i in range(1, n):
    d = os.path.join(root, f"r{i:04d}")
    shutil.copytree(one, d)
    with open(os.path.join(d, "run.json"), "w") as f:
        json.dump({**meta, "id": f"r{i:04d}", "name": f"run-{i:04d}",
                   "incarnation": f"{i:032x}", "created_at": meta["created_at"] + i}, f)
"""


def make_data(rows: int, runs: int, tensorboard: str | None) -> dict:
    os.makedirs(WORK, exist_ok=True)
    big = os.path.join(WORK, f"big-{rows}")
    many = os.path.join(WORK, f"many-{runs}")
    tb = os.path.join(WORK, f"tb-{rows}")
    py = localrun_python()
    if not os.path.isdir(os.path.join(big, "big")):
        log(f"making a run of {rows:,} rows x {METRICS} metrics")
        shutil.rmtree(big, ignore_errors=True)
        subprocess.run([py, "-c", MAKE_BIG, big, str(rows)], check=True, env=env())
    if not os.path.isdir(os.path.join(many, f"r{runs - 1:04d}")):
        log(f"making {runs:,} runs")
        shutil.rmtree(many, ignore_errors=True)
        subprocess.run([py, "-c", MAKE_MANY, many, str(runs)], check=True, env=env())
    if tensorboard and not os.path.isfile(os.path.join(tb, "done")):
        log(f"writing the same scalars for TensorBoard ({rows * METRICS:,} events)")
        shutil.rmtree(tb, ignore_errors=True)
        subprocess.run([tensorboard, "-c", MAKE_TB, tb, str(rows)], check=True, env=env())
        open(os.path.join(tb, "done"), "w").close()
    return {"big": big, "many": many, "tb": tb}


def ensure_tensorboard() -> str | None:
    python = os.path.join(TB_VENV, "bin", "python")
    check = [python, "-c", "import tensorboard, tensorboardX, crc32c"]
    if os.path.exists(python) and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    log(f"installing tensorboard into {TB_VENV} (from PyPI)")
    try:
        subprocess.run([sys.executable, "-m", "venv", TB_VENV], check=True, capture_output=True)
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "tensorboard", "tensorboardX", "crc32c"],
            check=True,
            capture_output=True,
            timeout=1800,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log(f"tensorboard could not be installed, skipped: {exc}")
        return None
    return python if subprocess.run(check, capture_output=True).returncode == 0 else None


# --- servers -------------------------------------------------------------------------------


class Ui:
    """A ``localrun ui`` process on a free port."""

    def __init__(self, path: str):
        self.proc = subprocess.Popen(
            [localrun_python(), "-m", "localrun.cli", "ui", path, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        line = self.proc.stdout.readline()
        m = re.search(r"(http://\S+/)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"localrun ui did not start: {line!r}")
        self.url = m.group(1)

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=600) as r:
            return r.read()

    def memory(self) -> dict:
        return peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


@contextlib.contextmanager
def browser():
    """A fresh Chromium profile (nothing cached), closed afterwards."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="viewer-bench-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport=VIEWPORT,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# Records performance.now() (ms since the navigation began) at the first animation frame
# after ``window.__benchReady()`` holds; polled every frame from the document's start.
WATCH = """
(() => {
  window.__benchAt = null;
  const tick = () => {
    let ok = false;
    try { ok = !!(window.__benchReady && window.__benchReady()); } catch (e) {}
    if (ok) requestAnimationFrame(() => { window.__benchAt = performance.now(); });
    else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def timed_navigation(context, url: str, ready_js: str, timeout_s: float = 600) -> dict:
    """Navigate to ``url``; ms from navigation to ready, and the wall seconds seen from here."""
    page = context.new_page()
    page.add_init_script(WATCH + f"\nwindow.__benchReady = {ready_js};")
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    at = wait_for(page, "window.__benchAt", timeout_s)
    wall = time.perf_counter() - t0
    return {"ms": round(at, 1), "wall_s": round(wall, 3), "page": page}


def wait_for(page, expression: str, timeout_s: float):
    """Poll ``expression`` until it is neither null nor false (the page's CSP allows no eval,
    which Playwright's wait_for_function needs); returns its value."""
    deadline = time.perf_counter() + timeout_s
    while True:
        value = page.evaluate(expression)
        if value is not None and value is not False:
            return value
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{expression} did not hold within {timeout_s} s")
        time.sleep(0.02)


# All ten charts have their points, and their line is on the canvas (pixels of the run's
# colour, #1f77b4: uPlot draws in an animation frame of its own).
CHARTS_DRAWN = f"""() => {{
  const charts = document.querySelectorAll('.chart[data-points]');
  if (charts.length < {METRICS}) return false;
  for (const c of charts) if (!c.querySelector('canvas') || c.getAttribute('data-points') === '0') return false;
  for (const c of charts) {{
    const canvas = c.querySelector('canvas');
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length && n < 50; i += 4) {{
      if (d[i + 3] && d[i] < 90 && d[i + 1] > 90 && d[i + 1] < 150 && d[i + 2] > 150) n++;
    }}
    if (n < 50) return false;
  }}
  return true;
}}"""


def rows_drawn(n: int) -> str:
    # The table shows 100 runs a page (sorted and filtered over all): the first page drawn,
    # and the count of all of them.
    return f"""() => document.querySelectorAll('tr[data-run]').length === {min(n, 100)}
      && (document.querySelector('.count') || {{}}).textContent === '{n} of {n} runs'"""


def tb_cards_ready(last_step: int) -> str:
    # TensorBoard's Time Series cards: each shows its data table (with the last step) once its
    # series is loaded; the line itself is drawn on a canvas the page cannot read back (see
    # tb_lines_drawn).
    label = f"{last_step:,}"
    return f"""() => {{
  const cards = document.querySelectorAll('scalar-card');
  if (cards.length < {METRICS}) return false;
  for (const c of cards) {{
    if (!c.querySelector('line-chart canvas')) return false;
    if (!c.textContent.includes('{label}')) return false;
  }}
  return true;
}}"""


CARD_BOXES = """() => [...document.querySelectorAll('scalar-card line-chart canvas')].map(c => {
  const r = c.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })"""


def tb_lines_drawn(page, t0: float, timeout_s: float = 120) -> float:
    """Seconds from ``t0`` until every card's canvas shows its line (dark pixels of TensorBoard's
    line colour, #425066), by screenshots of the page: TensorBoard draws in a worker, on a
    canvas the page cannot read. Each look takes 0.1 to 0.3 s, so the figure is that coarse."""
    import io

    import numpy as np
    from PIL import Image

    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        boxes = page.evaluate(CARD_BOXES)
        at = time.perf_counter()
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
        drawn = 0
        for x, y, w, h in boxes:
            px = shot[int(y) : int(y + h), int(x) : int(x + w)]
            r, g, b = px[..., 0], px[..., 1], px[..., 2]
            drawn += int(((r < 110) & (g < 120) & (b < 140) & (b > r)).sum()) > 50
        if len(boxes) >= METRICS and drawn >= METRICS:
            return at - t0
    raise TimeoutError("TensorBoard's lines were not drawn in time")


# --- the measurements ------------------------------------------------------------------------


def index_dir(data: dict) -> str:
    return os.path.join(data["big"], "big", "index")


def bench_index_build(data: dict) -> dict:
    shutil.rmtree(index_dir(data), ignore_errors=True)
    ui = Ui(data["big"])
    try:
        t = time.perf_counter()
        ui.get("/api/v1/runs/bench/big/keys")
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        ui.get("/api/v1/runs/bench/big/keys")
        again_ms = (time.perf_counter() - t) * 1000
        mem = ui.memory()
    finally:
        ui.stop()
    size = sum(
        os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(index_dir(data)) for f in fs
    )
    run_size = sum(
        os.path.getsize(os.path.join(d, f))
        for d, _, fs in os.walk(os.path.join(data["big"], "big", "segments"))
        for f in fs
    )
    return {
        "build_s": round(build_s, 2),
        "keys_after_ms": round(again_ms, 1),
        "index_mb": round(size / 1e6, 1),
        "segments_mb": round(run_size / 1e6, 1),
        **mem,
    }


def bench_run_page(data: dict) -> dict:
    ui = Ui(data["big"])
    try:
        with browser() as context:
            got = timed_navigation(context, ui.url + "runs/bench/big", CHARTS_DRAWN)
            page = got.pop("page")
            points = page.evaluate(
                "[...document.querySelectorAll('.chart[data-points]')].map(c => +c.dataset.points)"
            )
            page.close()
            again = timed_navigation(context, ui.url + "runs/bench/big", CHARTS_DRAWN)
            again.pop("page").close()
        mem = ui.memory()
    finally:
        ui.stop()
    return {**got, "warm_ms": again["ms"], "points_per_chart": max(points), **mem}


LIVE_WRITER = r"""
import sys, time, math, localrun
run = localrun.init(dir=sys.argv[1], project="bench", id="big", resume="allow",
                    settings={"quiet": True})
print("ready", flush=True)
i = 0
for line in sys.stdin:
    n = int(line)
    for _ in range(n):
        run.log({f"train/m{j}": math.cos(i + j) for j in range(10)})
        i += 1
    print(repr(time.time()), flush=True)
run.finish()
"""


def _writer(path: str) -> subprocess.Popen:
    w = subprocess.Popen(
        [localrun_python(), "-c", LIVE_WRITER, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert w.stdout.readline().strip() == "ready"
    return w


def _append(w: subprocess.Popen, n: int) -> float:
    w.stdin.write(f"{n}\n")
    w.stdin.flush()
    return float(w.stdout.readline())


def _stop_writer(w: subprocess.Popen) -> None:
    w.stdin.close()
    w.wait(60)
    w.stdout.close()


def bench_live(data: dict, repeats: int) -> dict:
    scratch = os.path.join(WORK, "live")
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(data["big"], scratch)
    out: dict = {}
    # (a) in a browser: log() returning -> the chart showing the new point.
    ui = Ui(scratch)
    w = _writer(scratch)
    try:
        with browser() as context:
            got = timed_navigation(context, ui.url + "runs/bench/big", CHARTS_DRAWN)
            page = got.pop("page")
            lat = []
            for _ in range(repeats * 2):
                count = int(page.evaluate("document.querySelector('.chart').dataset.count"))
                logged = _append(w, 1)
                seen = wait_for(
                    page,
                    f"+document.querySelector('.chart').dataset.count > {count} && Date.now()",
                    30,
                )
                lat.append(seen / 1000 - logged)
            page.close()
        out["log_to_chart_s"] = [round(x, 3) for x in lat]
        out.update(ui.memory())
    finally:
        _stop_writer(w)
        ui.stop()
    # (b) in-process: the first answer after 10 rows were appended.
    code = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
from localrun.viewer import RunRef
from localrun.viewer.local import LocalSource
from viewer_bench import _writer, _append, _stop_writer
ref = RunRef("bench", "big")
s = LocalSource([sys.argv[1]], refresh_s=0)
keys = [f"train/m{j}" for j in range(10)]
s.keys(ref); s.series(ref, keys)
w = _writer(sys.argv[1])
before = dict(s.index(ref).stats)
t = time.perf_counter(); s.keys(ref); s.series(ref, keys); idle = time.perf_counter() - t
costs, reads = [], []
for _ in range(int(sys.argv[3])):
    _append(w, 10)
    b = s.index(ref).stats["bytes"]
    t = time.perf_counter(); s.keys(ref); s.series(ref, keys); costs.append(time.perf_counter() - t)
    reads.append(s.index(ref).stats["bytes"] - b)
_stop_writer(w)
after = s.index(ref).stats
print(json.dumps({"idle_ms": idle * 1000, "append_ms": [c * 1000 for c in costs], "bytes": reads,
                  "builds": after["builds"] - before["builds"], "resumes": after["resumes"] - before["resumes"]}))
"""
    res = subprocess.run(
        [localrun_python(), "-c", code, scratch, HERE, str(repeats * 2)],
        capture_output=True,
        text=True,
        env=env(),
        check=True,
    )
    got = json.loads(res.stdout)
    out["answer_unchanged_ms"] = round(got["idle_ms"], 1)
    out["answer_after_10_rows_ms"] = [round(x, 1) for x in got["append_ms"]]
    out["bytes_read_per_10_rows"] = got["bytes"]
    out["rebuilds"] = got["builds"]
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def bench_runs_build(data: dict) -> dict:
    for d in os.listdir(data["many"]):
        shutil.rmtree(os.path.join(data["many"], d, "index"), ignore_errors=True)
    ui = Ui(data["many"])
    try:
        t = time.perf_counter()
        body = ui.get("/api/v1/runs")
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        ui.get("/api/v1/runs")
        again_ms = (time.perf_counter() - t) * 1000
        mem = ui.memory()
    finally:
        ui.stop()
    return {
        "first_list_s": round(build_s, 2),
        "list_again_ms": round(again_ms, 1),
        "json_kb": round(len(body) / 1024),
        **mem,
    }


def bench_runs_page(data: dict, runs: int) -> dict:
    ui = Ui(data["many"])
    try:
        t = time.perf_counter()
        ui.get("/api/v1/runs")
        api_ms = (time.perf_counter() - t) * 1000  # a new process: documents from the index
        ui.stop()
        ui = Ui(data["many"])
        with browser() as context:
            got = timed_navigation(context, ui.url, rows_drawn(runs))
            got.pop("page").close()
            again = timed_navigation(context, ui.url, rows_drawn(runs))
            again.pop("page").close()
        mem = ui.memory()
    finally:
        ui.stop()
    return {**got, "warm_ms": again["ms"], "api_cold_ms": round(api_ms, 1), **mem}


def bench_tensorboard(data: dict, tb_python: str, rows: int) -> dict:
    tb = os.path.join(os.path.dirname(tb_python), "tensorboard")
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [tb, "--logdir", data["tb"], "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env(),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        loaded_s = None
        deadline = time.perf_counter() + 1800
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(
                    f"{url}/data/plugin/scalars/scalars?run=.&tag=train/m{METRICS - 1}", timeout=30
                ) as r:
                    points = json.loads(r.read())
                if points and points[-1][1] == rows - 1:
                    loaded_s = time.perf_counter() - t0
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        if loaded_s is None:
            return {"error": "TensorBoard did not load the data within 30 minutes"}
        with browser() as context:
            t_nav = time.perf_counter()
            got = timed_navigation(context, url + "/#timeseries", tb_cards_ready(rows - 1))
            page = got.pop("page")
            lines_s = tb_lines_drawn(page, t_nav)
            page.screenshot(path=os.path.join(WORK, "tensorboard.png"))
            page.close()
        mem = _tree_memory(proc.pid)
        return {
            "loaded_s": round(loaded_s, 2),
            "cards_ms": got["ms"],
            "ms": round(lines_s * 1000, 1),
            **mem,
            "points_per_chart": len(points),
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _tree_memory(pid: int) -> dict:
    """Peak RSS of a process and its children (TensorBoard runs a data server process)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        for child in open(f"/proc/{pid}/task/{pid}/children").read().split():
            pids.append(int(child))
    mem = [peak_rss_mb(p) for p in pids]
    return {
        "peak_mb": round(sum(m["peak_mb"] for m in mem), 1),
        "rss_mb": round(sum(m["rss_mb"] for m in mem), 1),
        "processes": len(pids),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the report ----------------------------------------------------------------------------


def _med(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _span(values: list[float], unit: str = "") -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:g}{unit}"
    return f"{med:g}{unit} ({min(values):g}–{max(values):g})"


def report(results: dict) -> str:
    r = results
    lines = [
        f"Measured {r['when']} on {r['machine']} (load average {r.get('load', '?')}, other jobs "
        f"included); {r['repeats']} repeats (median, range), "
        f"{r['rows']:,} rows x {METRICS} metrics, {r['runs']:,} runs; Chromium "
        f"{r.get('chromium', '?')}, viewport {VIEWPORT['width']}x{VIEWPORT['height']}.",
        "",
        "| figure | measured | goal |",
        "|---|---|---|",
    ]
    b = r["index_build"]
    lines.append(
        f"| index build (one-time replay into `index/`), s | {_span([x['build_s'] for x in b])} | reported |"
    )
    lines.append(
        f"| index size / segments size, MB | {b[0]['index_mb']} / {b[0]['segments_mb']} | |"
    )
    lines.append(
        f"| `ui` peak RSS while building, MB | {_span([x['peak_mb'] for x in b])} | < 300 |"
    )
    p = r["run_page"]
    lines.append(
        f"| run page, navigation → 10 charts drawn, ms (fresh `ui`, fresh browser) | "
        f"**{_span([x['ms'] for x in p])}** | < 1000 |"
    )
    lines.append(
        f"| the same page again in the same browser, ms | {_span([x['warm_ms'] for x in p])} | |"
    )
    lines.append(f"| points per chart | {p[0]['points_per_chart']} | about 2,000 |")
    lines.append(
        f"| `ui` peak RSS, run page, MB | **{_span([x['peak_mb'] for x in p])}** | < 300 |"
    )
    live = r.get("live")
    if live:
        lines.append(
            f"| live: `log()` → point on the open chart, s | {_span(live['log_to_chart_s'])} | < 2 |"
        )
        lines.append(
            f"| live: first answer (keys + 10 series) after 10 rows appended, ms | "
            f"{_span(live['answer_after_10_rows_ms'])} (unchanged run: {live['answer_unchanged_ms']}) | |"
        )
        lines.append(
            f"| live: segment bytes read per 10 rows appended | {_span(live['bytes_read_per_10_rows'])} "
            f"(rebuilds: {live['rebuilds']}) | |"
        )
    rb = r["runs_build"]
    lines.append(
        f"| runs page: first listing of {r['runs']:,} runs without an index, s | {_span([x['first_list_s'] for x in rb])} | reported |"
    )
    rp = r["runs_page"]
    lines.append(
        f"| runs page, navigation → first 100 of {r['runs']:,} runs drawn, ms (fresh `ui`, fresh browser) | "
        f"**{_span([x['ms'] for x in rp])}** | < 1000 |"
    )
    lines.append(
        f"| `/api/v1/runs` just after a `ui` starts (documents from the index), ms | {_span([x['api_cold_ms'] for x in rp])} | |"
    )
    lines.append(
        f"| `ui` peak RSS, runs page, MB | **{_span([x['peak_mb'] for x in rp])}** | < 300 |"
    )
    tb = r.get("tensorboard")
    if tb and not any("error" in x for x in tb):
        loaded = [x["loaded_s"] for x in tb]
        page = [x["ms"] for x in tb]
        total = [x["loaded_s"] + x["ms"] / 1000 for x in tb]
        ours = [x["ms"] / 1000 for x in p]
        lines += [
            f"| TensorBoard {r.get('tensorboard_version', '')}: start → last step served, s | {_span(loaded)} | |",
            f"| TensorBoard: navigation → 10 cards with their data, ms | {_span([x['cards_ms'] for x in tb])} | |",
            f"| TensorBoard: navigation → 10 lines drawn (screenshots, ±0.3 s), ms | {_span(page)} | |",
            f"| TensorBoard: start → dashboard drawn, s | **{_span([round(t, 2) for t in total])}** | |",
            f"| TensorBoard peak RSS (server + data server), MB | {_span([x['peak_mb'] for x in tb])} | |",
            f"| TensorBoard points per chart | {tb[0]['points_per_chart']} (reservoir sample) | |",
            f"| ratio: TensorBoard start → drawn / localrun page drawn (index built) | "
            f"{statistics.median(total) / statistics.median(ours):.0f}× | |",
            f"| ratio: TensorBoard start → drawn / localrun index build + page drawn | "
            f"{statistics.median(total) / (statistics.median([x['build_s'] for x in b]) + statistics.median(ours)):.1f}× | |",
        ]
    elif tb:
        lines.append(f"| TensorBoard | {tb[0].get('error')} | |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    with open(README) as f:
        doc = f.read()
    block = f"{START}\n{text}\n{END}"
    if START in doc:
        doc = doc[: doc.index(START)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc += "\n" + block + "\n"
    with open(README, "w") as f:
        f.write(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 200 runs, 1 repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--no-tensorboard", action="store_true")
    ap.add_argument("--no-readme", action="store_true", help="do not write benchmarks/README.md")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.runs, args.repeats = 100_000, 200, 1
    if not os.path.exists(CHROMIUM):
        sys.exit(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set LOCALRUN_CHROMIUM)")
    load0 = os.getloadavg()[0]
    tb_python = None if args.no_tensorboard else ensure_tensorboard()
    data = make_data(args.rows, args.runs, tb_python)
    results: dict = {
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "rows": args.rows,
        "runs": args.runs,
        "repeats": args.repeats,
    }
    with contextlib.suppress(Exception):
        version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
        results["chromium"] = re.search(r"\d+(\.\d+)+", version).group(0)
    if tb_python:
        results["tensorboard_version"] = subprocess.run(
            [tb_python, "-c", "import tensorboard; print(tensorboard.__version__)"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    steps = [
        ("index_build", lambda: bench_index_build(data)),
        ("run_page", lambda: bench_run_page(data)),
        ("runs_build", lambda: bench_runs_build(data)),
        ("runs_page", lambda: bench_runs_page(data, args.runs)),
    ]
    if tb_python:
        steps.append(("tensorboard", lambda: bench_tensorboard(data, tb_python, args.rows)))
    for name, fn in steps:
        results[name] = []
        for i in range(args.repeats if name != "runs_build" else 1):
            log(f"{name} {i + 1}/{args.repeats}")
            got = fn()
            log(f"  {got}")
            results[name].append(got)
    log("live append")
    results["live"] = bench_live(data, args.repeats)
    log(f"  {results['live']}")
    results["load"] = f"{load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    text = report(results)
    print(text)
    if not args.no_readme:
        write_readme(text)


if __name__ == "__main__":
    main()
