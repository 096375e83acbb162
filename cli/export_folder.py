"""``localrun export RUN --format wandb|tensorboard -o DIR``: a folder another tool reads.

The writers are in ``localrun.sync`` (``wandb_offline.py``, ``tensorboard_events.py``); this
picks one, hands it the run, and says on stdout what was written and what the user runs next.
Media files a value names but the run lacks are reported on stderr, one line each, as damaged
records are; neither changes the exit code.
"""

from __future__ import annotations

from typing import Any

import click

from localrun.sync import RunView

from . import jsontext
from .errors import report_damage

#: What the user runs next, by format.
NEXT = {
    "wandb": "upload it with: wandb sync {out}",
    "tensorboard": "look at it with: tensorboard --logdir {out}",
}


def usage_problem(fmt: str, keys: str | None, output: str | None) -> str:
    """Why the options do not fit a folder format (it needs -o DIR, and takes no --keys)."""
    if output is None:
        return (
            f"--format {fmt} writes a folder: name it with -o DIR (a new or empty folder), "
            f"e.g. localrun export RUN --format {fmt} -o ./{fmt}-export"
        )
    return f"--keys {keys!r} is for --format jsonl and csv; --format {fmt} exports the whole run"


def export(path, fmt: str, output: str) -> None:
    """Export the run at ``path`` (a run directory, or a ``RemoteRunView``) into ``output``."""
    views = []

    def open_view():
        view = RunView(path) if isinstance(path, str) else path
        views.append(view)
        return view

    def dumps(value) -> str:
        return jsontext.dumps(value, separators=(",", ":"))

    result: Any  # the two exports' results have the fields read below (rows, files, ...)
    if fmt == "wandb":
        from localrun.sync.wandb_offline import export_wandb

        result = export_wandb(open_view, output, dumps=dumps)
        where = result.run_dir
    else:
        from localrun.sync.tensorboard_events import export_tensorboard

        result = export_tensorboard(open_view, output, dumps=dumps)
        where = output
    view = views[-1]
    files = f" and {result.files:,} media file{'s' * (result.files != 1)}" if result.files else ""
    still = "; the run is still being written, export again for more" if result.running else ""
    click.echo(
        f"{view.id}: wrote {result.rows:,} row{'s' * (result.rows != 1)}{files} to {where}{still}; "
        + NEXT[fmt].format(out=output)
    )
    for path_, reason in result.missing:
        click.echo(f"localrun: media file {path_} not exported: {reason}", err=True)
    for note in getattr(result, "notes", ()):
        click.echo(f"localrun: {note}", err=True)
    report_damage(view)
