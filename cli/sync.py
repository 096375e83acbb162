"""``localrun sync [PATH] --to URL``: push runs to a server, exactly once, resumably."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

import click

from localrun.contract import project_problem, run_id_problem
from localrun.errors import RemoteUnreachableError
from localrun.sync import find_runs, resolve_path

from .errors import EXIT_SYNC

#: Lines printed per run for the values and media files a sync could not send; the rest are
#: counted.
DETAIL_LINES = 20

if TYPE_CHECKING:
    from collections.abc import Callable

    from localrun.sync.push import PushResult


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def describe(r: PushResult) -> str:
    """The one line printed for a run: what happened, then its URL on the server (not for a
    run that failed)."""
    if r.error is not None:
        return f"{r.run_id}: FAILED: {r.error}"  # no URL: the run is not (all) there
    if r.up_to_date:
        what = f"up to date, nothing new to send ({_plural(r.rows_total, 'row')} on the server)"
    else:
        verb = "would send" if r.dry_run else "sent"
        what = f"{verb} {_plural(r.rows_sent, 'row')}"
        if r.files_sent:
            what += f" and {_plural(r.files_sent, 'media file')} ({_size(r.file_bytes_sent)})"
        if r.rows_sent == 0 and not r.files_sent and not r.dry_run:
            what = "nothing new to send"
        if r.artifacts_sent:
            what += f"; {verb} {_plural(r.artifacts_sent, 'artifact version')}"
            if r.artifact_files_sent:
                what += (
                    f" ({_plural(r.artifact_files_sent, 'file')}, {_size(r.artifact_bytes_sent)})"
                )
        if r.artifacts_not_sent:
            what += f"; {_plural(len(r.artifacts_not_sent), 'artifact version')} not sent"
        if r.state == "running":
            what += "; still running, sync again for more"
            if r.held_back:
                what += " (its last row is still open)"
        if r.dropped:
            what += f"; {_plural(r.dropped, 'dropped call')} not sent (step went backwards, see localrun show)"
        if r.replaced:
            what += "; replaced the server's copy of another run"
        if r.lost_media:
            what += f"; {_plural(len(r.lost_media), 'media file')} not sent"
        if r.not_sent:
            what += f"; {_plural(len(r.not_sent), 'value')} not sent"
    return f"{r.run_id}: {what} -> {r.url}"


def details(r: PushResult, limit: int = DETAIL_LINES) -> list[str]:
    """One line per media file and value the run's sync could not send (for stderr), capped."""
    lines = [
        f"{r.run_id}: {path} not sent: {reason}" for path, reason in sorted(r.lost_media.values())
    ]
    lines += [f"{r.run_id}: {problem}" for problem in r.not_sent]
    lines += [f"{r.run_id}: {problem}" for problem in r.artifacts_not_sent]
    if len(lines) > limit:
        lines = lines[:limit] + [f"{r.run_id}: ... and {len(lines) - limit:,} more not sent"]
    return lines


@click.command()
@click.argument("path", default=None, required=False, metavar="[PATH]")
@click.option(
    "--to",
    "url",
    required=True,
    metavar="URL",
    help="The server, e.g. http://127.0.0.1:8080 (see localrun serve), or an MLflow tracking "
    "server as mlflow+http://HOST:PORT (see docs/sync.md).",
)
@click.option(
    "--token",
    default=None,
    envvar="LOCALRUN_TOKEN",
    help="Bearer token for the server [env: LOCALRUN_TOKEN].",
)
@click.option(
    "--dry-run", is_flag=True, help="Say what would be sent, without contacting the server."
)
@click.option(
    "--as",
    "as_id",
    default=None,
    metavar="NEWID",
    help="Sync the run (PATH must be one run) under this run id on that server; remembered for later syncs there.",
)
@click.option(
    "--project",
    "as_project",
    default=None,
    metavar="NEWNAME",
    help="Sync the run (PATH must be one run) into this project on that server; remembered for later syncs there.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Where the server holds a different run with the same project and id, overwrite its copy "
    "with this run: the server's rows of the other run are deleted.",
)
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Rows per request (default 10,000; also cut to the server's limits).",
)
def sync(
    path: str | None,
    url: str,
    token: str | None,
    dry_run: bool,
    as_id: str | None,
    as_project: str | None,
    replace: bool,
    batch_rows: int | None,
) -> None:
    """Push every run beneath PATH to the server at URL.

    PATH is a run's folder, a folder of runs, or a run id (or the start of one) in the runs
    root ($LOCALRUN_DIR, else ./runs; the default).

    Rows, config, summary, state and media files are sent; each media file once. Interrupted
    syncs resume where they stopped, and re-syncing sends only what is new. Prints one line per
    run, ending with the run's URL. Exit status 0 only when every run synced whole.

    A server holding a different run with the same project and id refuses this one; the line
    says so, and --as (keep both) or --replace (overwrite the server's copy) is the way on.
    A media file that is missing, damaged or too large for the server, and a value a server
    cannot store, are left out and listed on stderr: everything else of the run is sent.
    """
    # httpx (a tenth of a second) is imported only by the commands that talk to a server.
    from localrun.sync.mlflow_push import push_runs_mlflow
    from localrun.sync.mlflow_remote import MlflowRemote, is_mlflow_url
    from localrun.sync.push import push_runs, remote_failure
    from localrun.sync.remote import Remote

    for given, problem, option in (
        (as_id, run_id_problem, "--as"),
        (as_project, project_problem, "--project"),
    ):
        message = None if given is None else problem(given)
        if message is not None:
            raise click.BadParameter(message, param_hint=option)
    path = resolve_path(path)
    paths = find_runs(path)
    if (as_id or as_project) and len(paths) != 1:
        option = "--as" if as_id else "--project"
        raise click.UsageError(
            f"{option} names one run, and {path} holds {len(paths)}: give the run's own folder as PATH"
        )
    remote: Remote | MlflowRemote
    push: Callable[..., list[PushResult]]  # push_runs or push_runs_mlflow, on paths and remote
    if is_mlflow_url(url):
        # An MLflow tracking server (localrun.sync.mlflow_push): --token, or MLflow's own
        # variables, not LOCALRUN_TOKEN, which is for localrun servers.
        source = click.get_current_context().get_parameter_source("token")
        from_env = source is click.core.ParameterSource.ENVIRONMENT
        remote = MlflowRemote(url, token=None if from_env else token)
        push = functools.partial(push_runs_mlflow, paths, remote)
    else:
        remote = Remote(url, token=token)
        push = functools.partial(push_runs, paths, remote)
        if remote.base_url != url.rstrip("/"):
            click.echo(
                f"localrun: syncing to the server at {remote.base_url} (from {url})", err=True
            )
    failed = 0
    stuck = 0  # failed in a way the same command will not fix
    incomplete = 0  # synced, but without some media files or values
    stopped: list[PushResult] = []  # the run that showed the remote itself is the trouble
    synced = 0
    with remote, _progress() as progress:

        def on_result(r: PushResult) -> None:
            nonlocal failed, stuck, incomplete, synced
            if remote_failure(r):
                stopped.append(r)
            synced += r.error is None
            failed += r.error is not None
            stuck += r.needs_action
            incomplete += r.error is None and not r.complete
            click.echo(describe(r))  # above the progress bar: rich redirects stdout while it shows
            for line in details(r):
                click.echo(line, err=True)

        push(
            dry_run=dry_run,
            progress=progress.advance,
            on_result=on_result,
            as_id=as_id,
            as_project=as_project,
            replace=replace,
            batch_rows=batch_rows,
        )
    if stopped:
        why = (
            "could not be reached"
            if isinstance(stopped[0].error, RemoteUnreachableError)
            else "refuses this client"
        )
        click.echo(
            f"localrun: sync stopped: the server {why}, and every other run would fail the "
            f"same way ({len(paths) - synced} of {len(paths)} run(s) not synced; see above)",
            err=True,
        )
        sys.exit(EXIT_SYNC)
    if failed:
        then = (
            "Run the same command again: it resumes where it stopped"
            if stuck < failed
            else "Each line above says what to do"
        )
        click.echo(f"localrun: {failed} of {len(paths)} run(s) did not sync. {then}", err=True)
    if incomplete:
        click.echo(
            f"localrun: {incomplete} run(s) synced without some of their media files or values (listed above). "
            "A file put back in its run's media/ folder is sent by the next sync",
            err=True,
        )
    if failed or incomplete:
        sys.exit(EXIT_SYNC)


class _progress:
    """A rich progress bar (rows, bytes, files) on a terminal; nothing otherwise."""

    def __init__(self):
        self.live = sys.stderr.isatty()
        self.bar = None

    def __enter__(self):
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("sync"),
                BarColumn(),
                TextColumn(
                    "{task.fields[rows]:,} rows  {task.fields[size]}  {task.fields[files]:,} files"
                ),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("sync", total=None, rows=0, size="0 B", files=0)
            self.rows = self.bytes = self.files = 0
        return self

    def advance(self, rows: int = 0, bytes: int = 0, files: int = 0) -> None:
        if self.bar is None:
            return
        self.rows += rows
        self.bytes += bytes
        self.files += files
        self.bar.update(self.task, rows=self.rows, size=_size(self.bytes), files=self.files)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
