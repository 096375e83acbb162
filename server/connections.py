"""How long a connection may take, and how many there may be: what uvicorn leaves unbounded.

uvicorn closes a kept-alive connection that is idle between requests, but waits forever for a
request head sent a byte at a time or a body that stops arriving (slowloris), and accepts
connections until the process runs out of file descriptors. ``serve`` runs the app under
uvicorn with ``GuardedH11``, uvicorn's h11 protocol with three more rules (``ConnectionLimits``):

- the request head (request line and headers) must be in within ``header_timeout_s`` of the
  connection opening, or of the first byte of the next request on a kept-alive connection;
- while a request body is coming in, or an answer goes out to a client that does not read it,
  ``idle_timeout_s`` without progress closes the connection;
- at most ``max_connections`` are open at once. At the cap, a new connection closes the one
  whose request has been coming in the longest (a slowloris holds many such), so a client that
  sends its request at once is still served; when every open connection holds a whole request
  or is idle between requests, the new one is answered 503 (JSON) and closed.

Closing is ``transport.abort()``: nothing is flushed to a client that has stopped reading.
Relies on uvicorn's ``H11Protocol`` (the range in pyproject.toml is the one tested).
"""

from __future__ import annotations

import json
import resource
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio


@dataclass(frozen=True)
class ConnectionLimits:
    """Time and number limits on connections (``localrun serve`` options of the same names)."""

    header_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0
    keep_alive_s: float = 5.0  # between requests on one connection (uvicorn's own timer)
    max_connections: int = 1000


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol, with a header timeout, an idle timeout and a connection cap."""

    limits = ConnectionLimits()

    def connection_made(self, transport) -> None:
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None
        # when the request coming in began (None: none coming)
        self._request_since: float | None = None
        self._last_read = 0.0  # set below, once the connection is taken
        self._stalled_since: float | None = None
        if len(self.connections) >= self.limits.max_connections and not self._evict_one():
            self._refused = True
            transport.write(_FULL)
            transport.close()
            return
        super().connection_made(transport)
        self._request_since = self._last_read = self.loop.time()
        self._arm(self.limits.header_timeout_s)

    def connection_lost(self, exc) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._refused:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        now = self._last_read = self.loop.time()
        if self._request_since is None and self.conn.their_state is h11.IDLE:
            self._request_since = now  # the first bytes of the next request
        super().data_received(data)
        if self.conn.their_state not in _COMING:
            self._request_since = None  # the whole request is in
        if self._timer is None:
            self._arm(self.limits.header_timeout_s)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot parse, as JSON like every other error."""
        body = json.dumps({"error": f"{msg} Send a well-formed HTTP/1.1 request."}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    def pause_writing(self) -> None:
        self._stalled_since = self.loop.time()
        super().pause_writing()
        if self._timer is None:
            self._arm(self.limits.idle_timeout_s)

    def resume_writing(self) -> None:
        self._stalled_since = None
        super().resume_writing()

    # --- the timer -------------------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(max(delay, 0.0), self._check)

    def _check(self) -> None:
        """Close the connection if it is past a deadline; else wait for the next one."""
        self._timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        deadlines = []
        state = self.conn.their_state
        if state not in _COMING:
            self._request_since = None
        if self._request_since is not None and state is h11.IDLE:
            deadlines.append(self._request_since + self.limits.header_timeout_s)
        if state is h11.SEND_BODY:
            if (
                self.flow.read_paused
            ):  # waiting for the app to take what came: not the client's fault
                self._last_read = now
                deadlines.append(now + min(1.0, self.limits.idle_timeout_s))
            else:
                deadlines.append(self._last_read + self.limits.idle_timeout_s)
        if self._stalled_since is not None:
            deadlines.append(self._stalled_since + self.limits.idle_timeout_s)
        if not deadlines:
            return  # answering, or idle between requests (uvicorn's keep-alive timer)
        deadline = min(deadlines)
        if now >= deadline:
            self.transport.abort()
        else:
            self._timer = self.loop.call_later(deadline - now, self._check)

    def _evict_one(self) -> bool:
        """Close the connection whose request has been coming in the longest, if there is one."""
        oldest: GuardedH11 | None = None
        for other in self.connections:
            since = getattr(other, "_request_since", None)
            if since is not None and (oldest is None or since < oldest._request_since):
                assert isinstance(other, GuardedH11)  # the only protocol with _request_since
                oldest = other
        if oldest is None:
            return False
        oldest._request_since = None
        oldest.transport.abort()
        return True


_COMING = (h11.IDLE, h11.SEND_BODY)  # the client's states while its request is not all in


_BODY = json.dumps(
    {"error": "the server has as many connections open as it allows: try again shortly"}
).encode()
_FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_BODY), _BODY)
)
# asyncio accepts up to as many connections at a time as the backlog it was given, before the
# protocol sees any of them (and closes what it drops only on a later turn of the loop), so it
# is given a small one, and the cap is kept three such bursts below the open-files limit,
# besides what SQLite, blob files and worker threads need. The kernel's queue of connections
# not yet accepted (which costs the process no descriptor) is set back to a long one, so a
# burst of clients is not made to wait for SYN retransmits.
_BACKLOG = 64
_LISTEN_QUEUE = 2048
_FD_RESERVE = 128 + 3 * _BACKLOG


class _Server(uvicorn.Server):
    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        for sock in sockets or ():
            sock.listen(_LISTEN_QUEUE)


def serve(app, sock: socket.socket, limits: ConnectionLimits | None = None) -> None:
    """Run ``app`` under uvicorn on the listening ``sock`` until SIGINT or SIGTERM.

    Takes over the process: raises its open-files limit as far as ``max_connections`` needs
    (keeping the cap below it if the hard limit is lower). Python ignores SIGXFSZ, so a file
    size limit makes writes fail with EFBIG (answered 507) rather than kill the server.
    """
    limits = limits or ConnectionLimits()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = limits.max_connections + _FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < want:
        limits = ConnectionLimits(
            limits.header_timeout_s,
            limits.idle_timeout_s,
            limits.keep_alive_s,
            max(1, soft - _FD_RESERVE),
        )
    protocol = type("GuardedH11", (GuardedH11,), {"limits": limits})
    config = uvicorn.Config(
        app,
        http=protocol,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        # uvicorn annotates whole seconds, and hands the value to loop.call_later: any float works.
        timeout_keep_alive=limits.keep_alive_s,  # type: ignore[arg-type]
        backlog=_BACKLOG,
    )
    _Server(config).run(sockets=[sock])
