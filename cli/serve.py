"""``localrun serve --data DIR``: the server runs are synced to, and the web viewer over them."""

from __future__ import annotations

import ipaddress
import os
import socket

import click

from localrun.errors import Error


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the server's storage (made if missing).",
)
@click.option(
    "--db",
    envvar="LOCALRUN_DB",
    default=None,
    metavar="URL",
    help="Keep runs, rows and documents in this PostgreSQL database "
    "(postgresql://USER[:PASSWORD]@HOST[:PORT]/DB; needs localrun[postgres]) instead of SQLite "
    "in DATA; media files stay in DATA [env: LOCALRUN_DB, which keeps a password out of ps].",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port; more than 1 needs --db (SQLite is written by one).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--token",
    envvar="LOCALRUN_TOKEN",
    default=None,
    help="Require 'Authorization: Bearer TOKEN' on every call; a browser logs in once "
    "[env: LOCALRUN_TOKEN].",
)
@click.option(
    "--max-body-mb",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="Largest rows batch or run document accepted, in MiB.",
)
@click.option(
    "--max-blob-mb",
    default=1024,
    show_default=True,
    type=click.IntRange(1),
    help="Largest media file accepted, in MiB.",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds a client has to send a request's headers.",
)
@click.option(
    "--idle-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds without progress, mid-body or mid-answer, before a connection is closed.",
)
@click.option(
    "--max-connections",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Connections open at once; past it, the slowest incoming request is dropped.",
)
def serve(
    data_dir: str,
    db: str | None,
    workers: int,
    host: str,
    port: int,
    token: str | None,
    max_body_mb: int,
    max_blob_mb: int,
    header_timeout: float,
    idle_timeout: float,
    max_connections: int,
) -> None:
    """Serve runs over HTTP: `localrun sync` pushes to it, `localrun show URL` reads from it.

    A browser opening its URL (or a run URL sync printed) gets the web viewer, as `localrun ui`
    shows local runs. Runs, rows and documents go into SQLite in DATA; media files into
    DATA/blobs, named by their sha256. With --db, runs, rows and documents go into that
    PostgreSQL database instead, and several servers may share it. Listening on anything but a loopback address needs a token; without one, only
    requests addressed to a loopback name (127.0.0.1, localhost, [::1]) are answered.
    """
    if not _is_loopback(host) and not token:
        raise click.UsageError(
            f"refusing to listen on {host} without a token: anyone who can reach it could write runs. "
            "Pass --token (or set $LOCALRUN_TOKEN), or listen on 127.0.0.1"
        )
    try:
        from localrun.server import Limits, create_app
        from localrun.server.connections import ConnectionLimits
        from localrun.server.connections import serve as run_server
    except ImportError as exc:
        raise Error(
            f"localrun serve needs the server extra ({exc.name} is missing): pip install 'localrun[server]'"
        ) from exc
    limits = Limits(
        max_body_bytes=max_body_mb * 1024 * 1024, max_blob_bytes=max_blob_mb * 1024 * 1024
    )
    if db is not None:
        from localrun.server.postgres import is_postgres_url, redact

        if not is_postgres_url(db):
            # Only the scheme is shown: the rest may hold a password.
            raise click.BadParameter(
                f"a URL starting {db.split('://', 1)[0].split(':', 1)[0] + '://'!r} is not a "
                "postgresql://USER@HOST/DB URL. Leave --db out to keep runs in SQLite in --data",
                param_hint="--db",
            )
    if workers > 1 and db is None:
        raise click.UsageError(
            f"--workers {workers} needs --db postgresql://...: the SQLite database in --data is "
            "written by one process. Leave --workers out, or keep runs in PostgreSQL"
        )
    shown = f"[{host}]" if ":" in host else host
    hosts = {"127.0.0.1", "localhost", "[::1]", shown.lower()}

    def make_app():
        return create_app(data_dir, token=token, limits=limits, hosts=hosts, db=db)

    if workers == 1:
        app = make_app()
    else:
        # Checked (and migrated) once here, so a bad database stops the server before it says
        # it listens; each worker then opens its own pool after the fork.
        from localrun.server import open_storage

        open_storage(data_dir, db).close()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only then, and
    # without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Error(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}. Is another server using the port? Try --port"
        ) from exc
    # Listen before saying so: a client that connects as soon as it reads the line (a script, a
    # test) is queued by the kernel until uvicorn accepts, instead of being refused.
    sock.listen(2048)
    bound = sock.getsockname()[1]
    click.echo(
        f"localrun serve: listening on http://{shown}:{bound} (data in {os.path.abspath(data_dir)}, "
        + (f"runs in {redact(db)}, " if db is not None else "")
        + (f"{workers} workers, " if workers > 1 else "")
        + f"{'token required' if token else 'no token'}). Sync with: localrun sync --to http://{shown}:{bound}"
        + (" --token TOKEN (the token given to serve, or set $LOCALRUN_TOKEN)" if token else ""),
    )
    connection_limits = ConnectionLimits(
        header_timeout_s=header_timeout,
        idle_timeout_s=idle_timeout,
        max_connections=max_connections,
    )
    if workers == 1:
        run_server(app, sock, connection_limits)
        return
    from localrun.server.workers import serve_workers

    status = serve_workers(make_app, sock, connection_limits, workers)
    if status:
        raise Error(
            "a localrun serve worker stopped by itself (its error is above); the others were "
            "stopped with it. Start the server again"
        )
