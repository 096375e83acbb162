"""``localrun ui [PATH ...]``: the web viewer over local run directories (Starlette under uvicorn)."""

from __future__ import annotations

import socket

import click

from localrun.errors import Error
from localrun.sync import resolve_path


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH ...]")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8090,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--token",
    envvar="LOCALRUN_UI_TOKEN",
    default=None,
    help="Ask for this token once per browser (a login page) [env: LOCALRUN_UI_TOKEN].",
)
def ui(paths: tuple[str, ...], host: str, port: int, token: str | None) -> None:
    """Look at runs in a web browser: charts, media, compare (default PATH: the runs root).

    PATH is a run directory, a folder of runs or a run id, as `localrun show` takes it (the
    runs root is $LOCALRUN_DIR, else ./runs, where init() writes); runs are read
    while they are written. Without a token it listens on loopback only and answers only
    requests for localhost or 127.0.0.1 (reach it from elsewhere with `ssh -L`).
    """
    # The viewer (and numpy with it) is imported by this command only, not by every command.

    # The viewer (and numpy with it) is imported by this command only, not by every command.
    from localrun.viewer.auth import is_loopback_host

    if not is_loopback_host(host) and not token:
        raise click.UsageError(
            f"refusing to listen on {host} without a token: anyone who can reach it could read your runs. "
            "Pass --token (or set $LOCALRUN_UI_TOKEN), or listen on 127.0.0.1 and use ssh -L"
        )
    if token is not None and not token.strip():
        raise click.UsageError("--token is empty: give a token, or leave the option out")
    import uvicorn

    from localrun.viewer.app import create_app
    from localrun.viewer.local import LocalSource

    paths = tuple(resolve_path(p) for p in paths) or (resolve_path(None),)
    source = LocalSource(list(paths))
    runs = len(source.discover())  # found, not read yet: each run is read when first shown
    for d in source.duplicates:
        click.echo(
            f"localrun ui: not shown, another run has the same project and id: {d}", err=True
        )
    app = create_app(source, token=token, warm=True)  # the runs listed while a browser starts
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # As `localrun serve` does: TCP_NODELAY needs IPPROTO_TCP; listen before printing the URL,
    # so a client that connects as soon as it reads the line is queued, not refused.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Error(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}. Is another viewer using the port? Try --port 0"
        ) from exc
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    where = ", ".join(paths)
    click.echo(
        f"localrun ui: http://{shown}:{bound}/ ({runs} run{'' if runs == 1 else 's'} in {where}; "
        f"{'token required' if token else 'no token, loopback only'}; Ctrl-C to stop)"
    )
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    uvicorn.Server(config).run(sockets=[sock])
