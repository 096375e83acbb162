"""``localrun export RUN``: the history rows, as JSON Lines (or CSV) on stdout."""

from __future__ import annotations

import csv
import json
import sys
from json.encoder import encode_basestring

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


class _RowEncoder:
    """One row as JSON, exactly as ``json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))``
    writes it, faster for the rows most runs are made of.

    Rows of one run mostly repeat the same keys with plain numbers as values. For a set of
    keys, the keys are encoded once into a %-template, and a row is one ``template % values``:
    %r is repr(), which is what the json encoder writes for an int and a finite float. A row
    that has anything else (NaN or an infinity, a bool, a string, None, a nested value) goes
    through the json encoder itself.
    """

    _MAX_SHAPES = 1024

    def __init__(self) -> None:
        self.encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self._templates: dict[tuple, str | None] = {}
        self._part_templates: dict[tuple, str | None] = {}

    def __call__(self, row: dict) -> str:
        keys = tuple(row)
        try:
            template = self._templates[keys]
        except KeyError:
            template = self._template(keys)
        if template is not None:
            values = tuple(row.values())
            try:
                total = sum(values)  # TypeError for anything that is not a number
            except (TypeError, OverflowError):
                return self.encode(row)
            # NaN and infinities spread into the sum; a bool is a number to sum() but not
            # to JSON, and only a bool's repr has these letters (the keys are checked once).
            if total - total == 0:
                line = template % values
                if "True" not in line and "False" not in line:
                    return line
        return self.encode(row)

    def parts(self, step: int, data: dict, runtime: float, t: float) -> str:
        """``self({"_step": step, **data, "_runtime": runtime, "_timestamp": t})``, without
        building the row (``data`` has none of those three keys)."""
        keys = tuple(data)
        try:
            template = self._part_templates[keys]
        except KeyError:
            template = self._template(("_step", *keys, "_runtime", "_timestamp"))
            if len(self._part_templates) >= self._MAX_SHAPES:
                self._part_templates.clear()
            self._part_templates[keys] = template
        if template is not None:
            values = (step, *data.values(), runtime, t)
            try:
                total = sum(values)  # as in __call__
            except (TypeError, OverflowError):
                total = None
            if total is not None and total - total == 0:
                line = template % values
                if "True" not in line and "False" not in line:
                    return line
        return self.encode({"_step": step, **data, "_runtime": runtime, "_timestamp": t})

    def _template(self, keys: tuple) -> str | None:
        template = None
        if all(type(k) is str for k in keys):
            template = "{" + ",".join(encode_basestring(k).replace("%", "%%") + ":%r" for k in keys) + "}"
            if "True" in template or "False" in template:
                template = None
        if len(self._templates) >= self._MAX_SHAPES:
            self._templates.clear()
        self._templates[keys] = template
        return template


def _view(path):
    """A fresh view: of a run directory, or (a RemoteRunView) of a run on a server."""
    return RunView(path) if isinstance(path, str) else path


def _write_jsonl(path, out, wanted: list[str] | None) -> RunView:
    view = _view(path)
    dumps = _RowEncoder()
    batch: list[str] = []
    append = batch.append
    if wanted is None and isinstance(view, RunView):
        # Plain log() rows come as (step, data, runtime, timestamp), written without a row.
        parts = dumps.parts
        for row in view.row_parts():
            append(parts(*row) if type(row) is tuple else dumps(row))
            if len(batch) >= _BATCH_ROWS:
                append("")
                out.write("\n".join(batch))
                batch.clear()
    else:
        for row in view.rows():
            append(dumps(row if wanted is None else _select(row, wanted)))
            if len(batch) >= _BATCH_ROWS:
                append("")
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
        seen: dict[str, object] = {}
        update = seen.update  # keeps each key where it first appeared; the values are not used
        for row in _view(path).rows():
            update(row)
        columns = ["_step"] + [k for k in seen if not k.startswith("_")] + [k for k in seen if k.startswith("_") and k != "_step"]
    else:
        columns = ["_step"] + [k for k in wanted if k != "_step"]
    writer = csv.writer(out)
    writer.writerow(columns)
    view = _view(path)
    writerow = writer.writerow
    for row in view.rows():
        cells = list(map(row.get, columns))
        if _NESTED.isdisjoint(map(type, cells)):
            writerow(cells)  # the csv module writes None (a missing key too) as "", like _cell()
        else:
            writerow([_cell(v) for v in cells])
    return view


_NESTED = frozenset((dict, list))


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return v
