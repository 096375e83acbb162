"""One tool, one workload, one fresh process: prints the figures as one JSON object.

Run by ``benchmarks/run.py`` with the tool's own interpreter (localrun's venv, or a peer's
venv under ``benchmarks/.venvs/``)::

    python worker.py TOOL WORKLOAD N WORKDIR

The tool is imported first (that is the import time), then the workload runs through the
tool's public API, then the floor (the cost this design cannot beat) runs the same workload in
the same process. Each call is timed as the training loop sees it; the inputs (dicts, arrays)
are made outside the timed region.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import resource
import sys
import time

perf_ns = time.perf_counter_ns

SCALAR_KEYS = (
    "loss",
    "accuracy",
    "learning_rate",
    "grad_norm",
    "val_loss",
    "val_accuracy",
    "epoch",
    "throughput",
    "gpu_mem",
    "step_time",
)
IMAGE_SHAPE = (256, 256, 3)
HIST_SIZE = 100_000
MIXED_EVERY = 100


# --- inputs --------------------------------------------------------------------------------


def scalar_dicts(n: int) -> list[dict]:
    rng = random.Random(0)
    return [{k: rng.random() for k in SCALAR_KEYS} for _ in range(n)]


class Images:
    """A distinct 256x256x3 uint8 image per call (so content addressing cannot dedupe them):
    a smooth gradient with noise, roughly what a PNG of a real sample compresses like."""

    def __init__(self):
        import numpy as np

        self.np = np
        rng = np.random.default_rng(0)
        y, x = np.mgrid[0 : IMAGE_SHAPE[0], 0 : IMAGE_SHAPE[1]]
        base = np.stack([x, y, (x + y) // 2], axis=-1).astype(np.int32)
        self.bases = [
            np.clip(base + rng.integers(-24, 24, IMAGE_SHAPE), 0, 255).astype(np.uint8)
            for _ in range(4)
        ]

    def __call__(self, i: int):
        img = self.bases[i % len(self.bases)].copy()
        img[0, :4, 0] = list(i.to_bytes(4, "little"))  # unique content per call
        return img


class Hists:
    def __init__(self):
        import numpy as np

        self.rng = np.random.default_rng(1)

    def __call__(self, i: int):
        return self.rng.standard_normal(HIST_SIZE)


# --- tools ---------------------------------------------------------------------------------
# Each adapter: import_() (timed), start(workdir), and per workload a function ``call(i,
# scalars, image, hist)`` that makes the tool's objects and logs them, as a user's loop would.
# For W1 the adapter hands back the tool's own log function where it has one, so nothing of
# the harness sits between the loop and the tool.


class Localrun:
    name = "localrun"

    def import_(self):
        import localrun

        self.m = localrun

    def start(self, workdir: str):
        self.run = self.m.init(
            project="bench", dir=os.path.join(workdir, "runs"), settings={"quiet": True}
        )

    def has(self, what: str) -> bool:
        try:
            getattr(self.m, what)
        except AttributeError:
            return False
        return True

    def scalar_log(self):
        return self.run.log

    def call(self, i, scalars, image, hist):
        data = dict(scalars) if scalars else {}
        if image is not None:
            data["image"] = self.m.Image(image)
        if hist is not None:
            data["weights"] = self.m.Histogram(hist)
        self.scalar_log()(data)

    def finish(self):
        self.run.finish()


class Wandb(Localrun):
    """wandb has the same API (that is the point): only import and start differ."""

    name = "wandb"

    def import_(self):
        import wandb

        self.m = wandb

    def start(self, workdir: str):
        self.run = self.m.init(project="bench", dir=workdir, mode="offline")

    def has(self, what: str) -> bool:
        return True


class Trackio(Localrun):
    """trackio has the wandb API at module level: log() and finish() on the module."""

    name = "trackio"

    def import_(self):
        import trackio

        self.m = trackio

    def start(self, workdir: str):
        self.run = self.m.init(project="bench", name=f"bench-{os.getpid()}")

    def has(self, what: str) -> bool:
        return hasattr(self.m, what)

    def scalar_log(self):
        return self.m.log

    def finish(self):
        self.m.finish()


class Mlflow:
    name = "mlflow"

    def import_(self):
        import mlflow

        self.m = mlflow

    def start(self, workdir: str):
        self.m.set_tracking_uri("file:" + os.path.join(workdir, "mlruns"))
        self.m.start_run()
        self.step = 0

    def has(self, what: str) -> bool:
        return what != "Histogram"  # MLflow has no histogram type

    def scalar_log(self):
        log_metrics = self.m.log_metrics

        def log(data):
            log_metrics(data, step=self.step)
            self.step += 1

        return log

    def call(self, i, scalars, image, hist):
        if scalars:
            self.m.log_metrics(scalars, step=i)
        if image is not None:
            self.m.log_image(image, key="image", step=i)

    def finish(self):
        self.m.end_run()


class TensorboardX:
    name = "tensorboardX"

    def import_(self):
        import tensorboardX

        self.m = tensorboardX

    def start(self, workdir: str):
        self.writer = self.m.SummaryWriter(logdir=os.path.join(workdir, "tb"))
        self.step = 0

    def has(self, what: str) -> bool:
        return True

    def scalar_log(self):
        add_scalar = self.writer.add_scalar

        def log(data):
            step = self.step
            for k, v in data.items():
                add_scalar(k, v, step)
            self.step = step + 1

        return log

    def call(self, i, scalars, image, hist):
        w = self.writer
        if scalars:
            for k, v in scalars.items():
                w.add_scalar(k, v, i)
        if image is not None:
            w.add_image("image", image, i, dataformats="HWC")
        if hist is not None:
            w.add_histogram("weights", hist, i)

    def finish(self):
        self.writer.close()


TOOLS = {t.name: t for t in (Localrun, Wandb, Trackio, Mlflow, TensorboardX)}


# --- the floor -----------------------------------------------------------------------------


class Floor:
    """What the design cannot beat, in this process: msgpack.packb + one os.write of the same
    dict; a PNG encode (Pillow) + sha256 + write of the same image; np.histogram + one record.

    With ``packer="msgspec"``, the same with msgspec's encoder instead of msgpack.packb (the
    packer localrun's log() uses for plain records): the floor of a faster packer, reported
    beside the issue's msgpack floor."""

    def __init__(self, workdir: str, packer: str = "msgpack"):
        if packer == "msgspec":
            import msgspec

            self.packb = msgspec.msgpack.Encoder().encode
        else:
            import msgpack

            self.packb = msgpack.packb
        self.dir = os.path.join(workdir, "floor" if packer == "msgpack" else f"floor-{packer}")
        os.makedirs(os.path.join(self.dir, "media"), exist_ok=True)
        self.fd = os.open(
            os.path.join(self.dir, "records"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )

    def scalar_log(self):
        packb, write, fd = self.packb, os.write, self.fd

        def log(data):
            write(fd, packb(data))

        return log

    def _image(self, image) -> dict:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="PNG")
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.dir, "media", digest + ".png"), "wb") as f:
            f.write(data)
        return {
            "_type": "image-file",
            "path": f"media/{digest}.png",
            "sha256": digest,
            "size": len(data),
        }

    def _hist(self, hist) -> dict:
        import numpy as np

        counts, edges = np.histogram(hist, bins=64)
        return {"_type": "histogram", "bins": edges.tolist(), "values": counts.tolist()}

    def call(self, i, scalars, image, hist):
        data = dict(scalars) if scalars else {}
        if image is not None:
            data["image"] = self._image(image)
        if hist is not None:
            data["weights"] = self._hist(hist)
        os.write(self.fd, self.packb(data))

    def finish(self):
        os.close(self.fd)


# --- measuring -----------------------------------------------------------------------------


def dir_bytes(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def percentile(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return float("nan")
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1e3


def summarize(times_ns: list[int], finish_ns: int, n: int) -> dict:
    s = sorted(times_ns)
    return {
        "p50_us": percentile(s, 0.50),
        "p99_us": percentile(s, 0.99),
        "p999_us": percentile(s, 0.999),
        "max_us": s[-1] / 1e3,
        "amortised_us": (sum(s) + finish_ns) / n / 1e3,
        "finish_ms": finish_ns / 1e6,
    }


def run_scalars(log, data: list[dict]) -> list[int]:
    times = [0] * len(data)
    for i, d in enumerate(data):
        t = perf_ns()
        log(d)
        times[i] = perf_ns() - t
    return times


def run_calls(call, n: int, workload: str) -> list[int]:
    images = Images() if workload in ("w2", "w4") else None
    hists = Hists() if workload in ("w3", "w4") else None
    scalars = scalar_dicts(n) if workload == "w4" else None
    times = [0] * n
    for i in range(n):
        if workload == "w2":
            args = (None, images(i), None)
        elif workload == "w3":
            args = (None, None, hists(i))
        else:
            media = i % MIXED_EVERY == 0
            args = (scalars[i], images(i) if media else None, hists(i) if media else None)
        t = perf_ns()
        call(i, *args)
        times[i] = perf_ns() - t
    return times


def measure(target, workload: str, n: int) -> dict:
    if workload == "w1":
        data = scalar_dicts(n)
        times = run_scalars(target.scalar_log(), data)
    else:
        times = run_calls(target.call, n, workload)
    t = perf_ns()
    target.finish()
    return summarize(times, perf_ns() - t, n)


# --- W5: a big run to read back ---------------------------------------------------------------


def make_big_run(n: int, root: str) -> None:
    """A localrun run of ``n`` rows of 10 floats (W1's rows), for export and show."""
    import localrun

    run = localrun.init(project="bench", id="w5", dir=root, settings={"quiet": True})
    log = run.log
    rng = random.Random(0)
    keys = SCALAR_KEYS
    for _ in range(n):
        log({k: rng.random() for k in keys})
    run.finish()


def read_floor_msgspec(segment: str) -> dict:
    """``read_floor()`` with msgspec (what export uses): decode each payload in place, build
    the row, and write the JSON lines of 512 rows with one ``encode_lines``."""
    import mmap
    import struct
    import zlib

    import msgspec

    header = struct.Struct("<II")
    decode = msgspec.msgpack.Decoder().decode
    lines = msgspec.json.Encoder().encode_lines
    t = time.perf_counter()
    rows = 0
    with open(segment, "rb") as f, open(os.devnull, "wb") as out:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(mm)
        pos, end, released = 8, len(mm), 0
        batch = []
        while pos + 8 <= end:
            length, crc = header.unpack_from(mm, pos)
            payload = view[pos + 8 : pos + 8 + length]
            pos += 8 + length
            if zlib.crc32(payload) != crc:
                break
            rec = decode(payload)
            if rec[0] != 1:
                continue
            batch.append({"_step": rows, **rec[3], "_runtime": 0.0, "_timestamp": rec[2]})
            rows += 1
            if len(batch) >= 512:
                out.write(lines(batch))
                batch.clear()
            if pos - released > 64 * 1024 * 1024:
                upto = pos - pos % mmap.PAGESIZE
                mm.madvise(mmap.MADV_DONTNEED, released, upto - released)
                released = upto
        out.write(lines(batch))
        del payload
        view.release()
        mm.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "rows": rows,
        "seconds": time.perf_counter() - t,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def read_floor(segment: str) -> dict:
    """The floor of export: walk the frames, check each crc, unpack, and write one JSON line
    per row with the keys encoded once (``template % values``, the repr of each number: what
    the json module writes for them). No replay, no checks: a plain loop."""
    import mmap
    import struct
    import zlib
    from json.encoder import encode_basestring

    import msgpack

    header = struct.Struct("<II")
    unpackb = msgpack.unpackb
    templates: dict = {}
    t = time.perf_counter()
    rows = 0
    with open(segment, "rb") as f, open(os.devnull, "w") as out:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        pos, end, released = 8, len(mm), 0
        batch = []
        while pos + 8 <= end:
            length, crc = header.unpack_from(mm, pos)
            payload = mm[pos + 8 : pos + 8 + length]
            pos += 8 + length
            if zlib.crc32(payload) != crc:
                break
            rec = unpackb(payload)
            if rec[0] != 1:
                continue
            row = {"_step": rows, **rec[3], "_runtime": 0.0, "_timestamp": rec[2]}
            keys = tuple(row)
            template = templates.get(keys)
            if template is None:
                template = templates[keys] = (
                    "{" + ",".join(encode_basestring(k) + ":%r" for k in keys) + "}"
                )
            batch.append(template % tuple(row.values()))
            rows += 1
            if len(batch) >= 512:
                batch.append("")
                out.write("\n".join(batch))
                batch.clear()
            if pos - released > 64 * 1024 * 1024:
                upto = pos - pos % mmap.PAGESIZE
                mm.madvise(mmap.MADV_DONTNEED, released, upto - released)
                released = upto
        batch.append("")
        out.write("\n".join(batch))
        mm.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "rows": rows,
        "seconds": time.perf_counter() - t,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def main(argv: list[str]) -> None:
    if argv[0] == "make-big-run":
        make_big_run(int(argv[1]), argv[2])
        return
    if argv[0] == "read-floor":
        print(json.dumps(read_floor(argv[1])))
        return
    if argv[0] == "read-floor-msgspec":
        print(json.dumps(read_floor_msgspec(argv[1])))
        return
    tool_name, workload, n, workdir = argv[0], argv[1], int(argv[2]), argv[3]
    os.makedirs(workdir, exist_ok=True)
    out: dict = {"tool": tool_name, "workload": workload, "n": n, "python": sys.version.split()[0]}
    tool = TOOLS[tool_name]()
    t = time.perf_counter()
    tool.import_()
    out["import_s"] = time.perf_counter() - t
    out["version"] = getattr(tool.m, "__version__", None)
    need = {"w2": ["Image"], "w3": ["Histogram"], "w4": ["Image", "Histogram"]}.get(workload, [])
    missing = [w for w in need if not tool.has(w)]
    if missing and workload != "w4":
        out["skipped"] = f"{tool_name} has no {', '.join(missing)}"
    else:
        if missing:  # the mixed loop runs without what the tool lacks
            out["note"] = f"without {', '.join(missing)} ({tool_name} has none)"
            if "Image" in missing:
                Images.__call__ = lambda self, i: None
            if "Histogram" in missing:
                Hists.__call__ = lambda self, i: None
        tool_dir = os.path.join(workdir, "tool")
        os.makedirs(tool_dir, exist_ok=True)
        tool.start(tool_dir)
        out.update(measure(tool, workload, n))
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["bytes"] = dir_bytes(tool_dir) + (
            dir_bytes(os.environ["TRACKIO_DIR"]) if tool_name == "trackio" else 0
        )
    floor = Floor(workdir)
    out["floor"] = measure(floor, workload, n)
    out["floor"]["bytes"] = dir_bytes(floor.dir)
    if tool_name == "localrun" and workload == "w1":
        floor = Floor(workdir, packer="msgspec")
        out["floor_msgspec"] = measure(floor, workload, n)
    sys.stdout.write("\n" + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # don't time peers' atexit work; each tool was finished above


if __name__ == "__main__":
    main(sys.argv[1:])
