"""Run a script through the real ``localrun run``, as a user would, and look at what it left.

``launch()`` writes the script into a folder of its own, runs ``localrun run [--dir] -- python
script.py`` there (forked by tests/forkcli.py: the real command, a real process that execs
the script), with the Hugging Face libraries told to stay offline and every network call of
every Python process in the tree written down (tests/netwatch). ``network_calls()`` reads that
list back, without the calls to this machine itself.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap

from . import forkcli

NETWATCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netwatch")
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
_LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost", "0.0.0.0", "", "None")


def launch(folder, script: str, *args, run_args=(), env=None, command=None, timeout=240):
    """``localrun run [RUN_ARGS] -- python script.py ARGS`` in ``folder``: the CompletedProcess."""
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "script.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(script))
    full = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "LOCALRUN_DIR"))}
    full.update(OFFLINE)
    full["PYTHONPATH"] = NETWATCH
    full["NETWATCH_LOG"] = os.path.join(folder, "network.jsonl")
    full.update(env or {})
    argv = command if command is not None else [sys.executable, path]
    return forkcli.run(
        ["run", *run_args, "--", *argv, *args], env=full, cwd=folder, timeout=timeout
    )


def network_calls(folder) -> list[dict]:
    """The network calls the command's processes made to anything but this machine."""
    path = os.path.join(str(folder), "network.jsonl")
    if not os.path.exists(path):
        return []
    calls = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            call = json.loads(line)
            address = call["address"]
            host = address
            if address.startswith("("):
                host = address[1:].split(",")[0].strip("'\" ")
            elif address.startswith(("'", '"')):
                host = address.strip("'\"")
            if host in _LOCAL_HOSTS or host.startswith("/") or host.startswith("127."):
                continue  # this machine, or a unix socket
            calls.append(call)
    return calls


def explain(proc) -> str:
    """The command's output, for an assertion message."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-6000:]}"
