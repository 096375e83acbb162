"""The real ``localrun`` command in a process of its own, without paying Python's start each time.

A command the tests run to completion (show, export, verify, sync) costs ~0.3 s of CPU in a new
interpreter, nearly all of it importing (``localrun.cli`` pulls in numpy, httpx, starlette); the
suite ran about a thousand of them. Here a helper process (the zygote) imports ``localrun.cli``
once, then forks a child per command: the child is a real process running the real ``main()``
with its own environment, working folder, stdin (/dev/null) and stdout/stderr (files, read back
here), and its own exit status (a signal shows as a negative return code, as with subprocess).
It then runs the interpreter's atexit functions and exits. What it does not repeat is Python's
start-up and the imports, so a fault there (a broken ``__main__``, an import that fails) is left
to the tests that still start ``python -m localrun.cli`` themselves (test_packaging, test_docs,
``localrun serve``/``ui``) and to ``--spawn-cli``, which makes every call here a new interpreter.

One zygote per pytest process (so one per xdist worker), started on first use and stopped when
pytest ends. Nothing of the library is replaced or mocked.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading

SPAWN = [sys.executable, "-m", "localrun.cli"]

ZYGOTE = r"""
import atexit, json, os, sys, threading, traceback
proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 0)
os.dup2(2, 1)  # a stray print of the zygote's own goes to its stderr, not into the protocol
from localrun.cli import main
threads = threading.active_count()
proto_out.write(json.dumps({"ready": threads}).encode() + b"\n")
for line in iter(proto_in.readline, b""):
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            proto_in.close()
            proto_out.close()
            os.chdir(req["cwd"])
            os.environ.clear()
            os.environ.update(req["env"])
            for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
                f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(f, fd)
                os.close(f)
            sys.argv = [req["prog"], *req["args"]]
            try:
                main(args=req["args"], prog_name=req["prog"])
                code = 0
            except SystemExit as exc:
                if exc.code is None:
                    code = 0
                elif isinstance(exc.code, int):
                    code = exc.code
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
            except BaseException:
                traceback.print_exc()
                code = 1
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    proto_out.write(json.dumps({"pid": pid}).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    proto_out.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
"""


class Zygote:
    """The helper process; ``run()`` is one command, one at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "LOCALRUN_SILENT": "1"},
        )
        self.lock = threading.Lock()
        self.buffer = b""
        ready = self._read(60)
        if ready.get("ready") != 1:
            self.stop()
            raise RuntimeError(f"importing localrun.cli started threads, cannot fork: {ready}")

    def _read(self, timeout: float | None) -> dict:
        """The zygote's next line (unbuffered reads: select() must not miss a buffered line)."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            if timeout is not None and not select.select([fd], [], [], timeout)[0]:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"the CLI zygote died ({self.proc.poll()})")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def run(self, args, env, cwd, timeout, prog) -> subprocess.CompletedProcess:
        with self.lock, tempfile.TemporaryDirectory(prefix="forkcli-") as tmp:
            out, err = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
            req = {"args": list(args), "env": env, "cwd": cwd, "stdout": out, "stderr": err}
            self.proc.stdin.write(json.dumps({**req, "prog": prog}).encode() + b"\n")
            self.proc.stdin.flush()
            pid = self._read(30)["pid"]
            try:
                code = self._read(timeout)["returncode"]
            except TimeoutError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._read(30)
                raise subprocess.TimeoutExpired(
                    ["localrun", *args], timeout, _text(out), _text(err)
                ) from None
            return subprocess.CompletedProcess(["localrun", *args], code, _text(out), _text(err))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def _text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace", newline=None) as f:
            return f.read()
    except FileNotFoundError:
        return ""


_zygote: Zygote | None = None
spawn_every_time = not hasattr(os, "fork")  # set by --spawn-cli (tests/conftest.py)


def run(
    args,
    *,
    env: dict | None = None,
    cwd: str | None = None,
    timeout: float = 120,
    check: bool = False,
    prog: str = "localrun",
) -> subprocess.CompletedProcess:
    """``localrun ARGS`` to completion, as ``subprocess.run(..., capture_output=True, text=True)``
    would give it (``env`` replaces the environment, as there)."""
    global _zygote
    env = dict(os.environ if env is None else env)
    cwd = os.getcwd() if cwd is None else str(cwd)
    args = [str(a) for a in args]
    if spawn_every_time:
        proc = subprocess.run(
            [*SPAWN, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
        )
    else:
        if _zygote is None or _zygote.proc.poll() is not None:
            _zygote = Zygote()
        proc = _zygote.run(args, env, cwd, timeout, prog)
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc


def stop() -> None:
    global _zygote
    if _zygote is not None:
        _zygote.stop()
        _zygote = None
