"""show, export and verify on a run while another process writes it: prefixes, never errors."""

import json
import os
import subprocess
import sys
import time

from ..conftest import cli

WRITER = r"""
import sys, time, localrun
run = localrun.init(dir=sys.argv[1], id="live")
i = 0
deadline = time.time() + 4
while time.time() < deadline:
    run.log({"i": i, "sq": i * i}, commit=(i % 3 != 1))
    i += 1
run.finish()
"""


def test_reading_a_run_while_it_is_written_gives_consistent_prefixes(runs):
    env = {**os.environ, "LOCALRUN_SILENT": "1"}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, runs], env=env)
    path = os.path.join(runs, "live")
    try:
        while not os.path.exists(os.path.join(path, "segments")):
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
        assert proc.wait() == 0
        assert reads >= 2
        final = json.loads(cli("show", path, "--json").stdout)
        assert final["state"] == "finished" and final["rows"] >= len(seen_rows)
    finally:
        proc.kill()
        proc.wait()
