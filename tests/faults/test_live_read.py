"""show, export and verify on a run while another process writes it: prefixes, never errors."""

import json
import os
import subprocess
import sys
import time

from ..conftest import cli

WRITER = r"""
import os, sys, time, localrun
run = localrun.init(dir=sys.argv[1], id="live")
i = 0
deadline = time.time() + 60
while time.time() < deadline and not os.path.exists(sys.argv[2]):  # until the test has read enough
    run.log({"i": i, "sq": i * i}, commit=(i % 3 != 1))
    i += 1
    if i % 20 == 0:
        time.sleep(0.001)  # bursts of writes, but a run that stays small enough to re-read quickly
run.finish()
"""


def test_reading_a_run_while_it_is_written_gives_consistent_prefixes(runs):
    env = {**os.environ, "LOCALRUN_SILENT": "1"}
    stop = os.path.join(os.path.dirname(runs), "stop-writing")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, runs, stop], env=env)
    path = os.path.join(runs, "live")
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(path, "segments")):
            assert proc.poll() is None and time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.01)
        seen_rows = []
        reads = 0
        while proc.poll() is None:
            rows = [json.loads(line) for line in cli("export", path).stdout.splitlines()]
            steps = [r["_step"] for r in rows]
            assert steps == list(range(len(steps)))
            assert all(r["sq"] == r["i"] ** 2 for r in rows)
            assert len(rows) >= len(seen_rows) - 1  # the tail row may still be pending
            seen_rows = rows
            d = json.loads(cli("show", path, "--json").stdout)
            assert d["state"] in ("running", "finished") and d["damaged"] == []
            cli("verify", path)
            reads += 1
            if reads == 3:  # however slow the machine, three reads while it writes
                open(stop, "w").close()
        assert proc.wait() == 0
        assert reads >= 2
        final = json.loads(cli("show", path, "--json").stdout)
        assert final["state"] == "finished" and final["rows"] >= len(seen_rows)
    finally:
        proc.kill()
        proc.wait()
