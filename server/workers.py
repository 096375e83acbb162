"""``localrun serve --workers N``: N server processes sharing one listening socket.

The parent binds the socket, forks the workers, and then only waits: each worker makes its own
app (and so its own database pool; nothing made before the fork is used after it) and runs it
under uvicorn on the shared socket, where the kernel hands each new connection to one of them.
SIGTERM or SIGINT to the parent is passed on to every worker, which finish their requests (as
a single server does) and exit; when one worker dies on its own, the others are stopped and the
parent exits non-zero, so a supervisor sees a failed server rather than a smaller one. Workers
share no state but the database: only a storage that several processes may write (PostgreSQL,
``--db``) is served this way.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable

from .connections import ConnectionLimits, serve


def serve_workers(
    make_app: Callable[[], object], sock: socket.socket, limits: ConnectionLimits, workers: int
) -> int:
    """Run ``workers`` processes serving ``make_app()`` on ``sock``; their exit status."""
    children: list[int] = []
    stopping = False

    def forward(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    sys.stdout.flush()
    sys.stderr.flush()
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker
            status = 0
            try:
                serve(make_app(), sock, limits)
            except BaseException:
                traceback.print_exc()
                status = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children.append(pid)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        if pid in children:
            children.remove(pid)
        if not stopping:  # a worker died by itself: stop the rest
            status = 1
            forward(signal.SIGTERM, None)
    return status
