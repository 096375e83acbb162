"""Put on PYTHONPATH by tests/wandbrun.py: every Python process of a command under test writes
each network call it makes (connect, sendto, name lookups) to ``$NETWATCH_LOG``, one JSON
line each, through an audit hook (PEP 578). Calls from C libraries are not seen; the
libraries under test make theirs through Python's socket module.
"""

import json
import os
import sys

_LOG = os.environ.get("NETWATCH_LOG")
_EVENTS = {
    "socket.connect",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
}


def _hook(event, args):
    if event not in _EVENTS:
        return
    address = args[1] if event in ("socket.connect", "socket.sendto", "socket.sendmsg") else args[0]
    try:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(
                json.dumps({"event": event, "address": repr(address), "pid": os.getpid()}) + "\n"
            )
    except OSError:
        pass


if _LOG:
    sys.addaudithook(_hook)
