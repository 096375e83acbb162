"""``localrun export RUN``: the history rows, as JSON Lines (or CSV) on stdout."""

from __future__ import annotations

import csv
import json
import sys

import click
from localrun.sync import RunView, find_runs
from localrun.sync.remote import token_from
from localrun.sync.remote_view import is_url, remote_views

from localrun.errors import RunDirError

from .errors import report_damage

_BATCH_ROWS = 512


def _one_run(path: str) -> str:
    runs = find_runs(path)
    if len(runs) > 1:
        ids = ", ".join(r.rsplit("/", 1)[-1] for r in runs[:5])
        more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
        raise RunDirError(f"export takes one run, and {path} holds {len(runs)} ({ids}{more}). Pass one of them, e.g. {runs[0]}")
    return runs[0]


@click.command()
@click.argument("run", default="runs", metavar="RUN")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True, help="Output format.")
@click.option("--keys", default=None, metavar="A,B", help="Only these keys (plus _step), comma separated.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None, help="Write to a file instead of stdout.")
@click.option("--token", default=None, help="Bearer token when RUN is a server URL [env: LOCALRUN_TOKEN].")
def export(run: str, fmt: str, keys: str | None, output: str | None, token: str | None) -> None:
    """Print RUN's history: one row per line, in step order, exactly as replay made them.

    Values are JSON (NaN and infinities as NaN, Infinity, -Infinity, as Python's json module
    reads them). Damaged records are skipped and reported on stderr. RUN may also be a run's
    URL on a server, as `localrun sync` printed it.
    """
    if is_url(run):
        remote, views, single = remote_views(run, token_from(token))
        click.get_current_context().call_on_close(remote.close)
        if not single:
            raise RunDirError(f"export takes one run, and {run} is a server. Pass a run's URL, e.g. {views[0].path}")
        path = views[0]
    else:
        path = _one_run(run)
    wanted = [k.strip() for k in keys.split(",") if k.strip()] if keys else None
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "jsonl":
            view = _write_jsonl(path, out, wanted)
        else:
            view = _write_csv(path, out, wanted)
        out.flush()
    finally:
        if output:
            out.close()
    report_damage(view)


def _select(row: dict, wanted: list[str] | None) -> dict:
    if wanted is None:
        return row
    picked = {"_step": row["_step"]}
    for k in wanted:
        if k in row:
            picked[k] = row[k]
    return picked


def _view(path):
    """A fresh view: of a run directory, or (a RemoteRunView) of a run on a server."""
    return RunView(path) if isinstance(path, str) else path


def _write_jsonl(path, out, wanted: list[str] | None) -> RunView:
    view = _view(path)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    batch: list[str] = []
    for row in view.rows():
        batch.append(dumps(_select(row, wanted)))
        if len(batch) >= _BATCH_ROWS:
            batch.append("")
            out.write("\n".join(batch))
            batch.clear()
    if batch:
        batch.append("")
        out.write("\n".join(batch))
    return view


def _write_csv(path, out, wanted: list[str] | None) -> RunView:
    if wanted is None:
        # Columns are every key any row has, in order of first appearance: one pass to learn
        # them, one to write (memory stays flat).
        seen: dict[str, None] = {}
        for row in _view(path).rows():
            for k in row:
                seen.setdefault(k, None)
        columns = ["_step"] + [k for k in seen if not k.startswith("_")] + [k for k in seen if k.startswith("_") and k != "_step"]
    else:
        columns = ["_step"] + [k for k in wanted if k != "_step"]
    writer = csv.writer(out)
    writer.writerow(columns)
    view = _view(path)
    for row in view.rows():
        writer.writerow([_cell(row.get(k)) for k in columns])
    return view


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return v
