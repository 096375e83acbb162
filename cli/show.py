"""``localrun show [PATH]``: a table of runs, or one run in detail; ``--json`` for scripts."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from operator import itemgetter

import click
from localrun.sync import RunView, find_runs
from localrun.sync.remote_view import is_url, remote_views

from .errors import report_damage
from .render import Series, fmt_duration, fmt_time, fmt_value

STATE_STYLE = {
    "running": "cyan",
    "finished": "green",
    "failed": "red",
    "preempted": "yellow",
    "crashed": "magenta",
}


@click.command()
@click.argument("path", default="runs", metavar="[PATH]")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: an object for one run, an array for a folder of runs.",
)
@click.option(
    "--token", default=None, help="Bearer token when PATH is a server URL [env: LOCALRUN_TOKEN]."
)
def show(path: str, as_json: bool, token: str | None) -> None:
    """Show a folder of runs as a table, or one run in detail (default PATH: ./runs).

    PATH may also be a server URL: a run's URL as `localrun sync` printed it, or the server's.
    """
    if is_url(path):
        from localrun.sync.remote import token_from

        remote, views, single = remote_views(path, token_from(token))
        click.get_current_context().call_on_close(remote.close)
    else:
        runs = find_runs(path)
        single = (
            len(runs) == 1 and runs[0] == path.rstrip("/") or (len(runs) == 1 and _is_run(path))
        )
        views = [RunView(p) for p in runs]
    if as_json:
        if single:
            view = views[0]
            out = view.scan().to_json()
        else:
            out = [v.scan().to_json() for v in views]
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        for v in views:
            report_damage(v)
        return
    from rich.console import Console

    console = Console()
    if single:
        _show_one(console, views[0])
    else:
        _show_table(console, views)
    for v in views:
        report_damage(v)


def _is_run(path: str) -> bool:
    from localrun.rundir import is_run_dir

    return is_run_dir(path)


def _show_table(console, views: list[RunView]) -> None:
    from rich.table import Table

    table = Table(title=f"{len(views)} runs", title_justify="left")
    for col in ("id", "project", "name", "state", "rows", "last update", "last metrics"):
        table.add_column(col, overflow="fold")
    for v in views:
        d = v.scan().to_json()
        metrics = [
            (k, val)
            for k, val in d["summary"].items()
            if not k.startswith("_") and isinstance(val, (int, float))
        ][:3]
        table.add_row(
            d["id"],
            str(d["project"]),
            str(d["name"]),
            f"[{STATE_STYLE.get(d['state'], 'white')}]{d['state']}[/]",
            str(d["rows"]),
            fmt_time(d["updated_at"]),
            "  ".join(f"{k}={fmt_value(val)}" for k, val in metrics),
        )
    console.print(table)


def _show_one(console, view: RunView) -> None:
    from rich.table import Table

    series: dict[str, _Series] = {}
    media: dict[str, Counter] = defaultdict(Counter)
    # The series and media read only a row's own keys: a local view may hand plain log() rows
    # over as the logged dicts, without building a million rows.
    rows = view.logged() if isinstance(view, RunView) else view.rows()
    while True:
        chunk = list(itertools.islice(rows, _CHUNK_ROWS))
        if not chunk:
            break
        if not _take_columns(chunk, series):
            for row in chunk:
                _take_row(row, series, media)
    d = view.to_json()
    state = d["state"]
    console.print(
        f"[bold]{d['name']}[/] [dim]({d['id']})[/]  project [bold]{d['project']}[/]  "
        f"[{STATE_STYLE.get(state, 'white')}]{state}[/]"
    )
    steps = (
        f"steps {0 if d['rows'] else '-'}..{d['last_step']}"
        if d["last_step"] is not None
        else "no steps"
    )
    console.print(
        f"{d['rows']} rows, {steps}, runtime {fmt_duration(d['runtime'])}, "
        f"updated {fmt_time(d['updated_at'])}  [dim]{d['path']}[/]"
    )
    if d["tags"]:
        console.print("tags: " + ", ".join(d["tags"]))
    if d["config"]:
        console.print(_kv_table("config", d["config"]))
    summary = {k: v for k, v in d["summary"].items() if not k.startswith("_")}
    if summary:
        console.print(_kv_table("summary", summary))
    if series:
        table = Table(title="metrics", title_justify="left")
        for col in ("key", "", "last", "min", "max", "points"):
            table.add_column(col)
        for k, s in series.items():
            table.add_row(
                k,
                s.sparkline(),
                fmt_value(s.last),
                fmt_value(s.min),
                fmt_value(s.max),
                str(s.count),
            )
        console.print(table)
    if media:
        table = Table(title="media", title_justify="left")
        table.add_column("key")
        table.add_column("logged")
        for k, counts in media.items():
            table.add_row(k, ", ".join(f"{n} × {t}" for t, n in counts.items()))
        console.print(table)
    if d["dropped"]:
        table = Table(
            title=f"dropped calls ({len(d['dropped'])}): their step was below the current step",
            title_justify="left",
        )
        for col in ("step", "current step", "keys"):
            table.add_column(col)
        for x in d["dropped"][:20]:
            table.add_row(str(x["step"]), str(x["current_step"]), ", ".join(x["keys"]))
        if len(d["dropped"]) > 20:
            table.add_row("...", "", f"{len(d['dropped']) - 20} more (see --json)")
        console.print(table)
    if d["damaged"]:
        console.print(f"[red]{len(d['damaged'])} damaged record(s) skipped[/] (listed on stderr)")


_CHUNK_ROWS = 4096
_NUMBERS = frozenset((int, float))
_FLOATS = frozenset((float,))
_IGNORED = {type(None), str, bool, bytes}


class _Series(Series):
    """A Series that also takes many points at once."""

    __slots__ = ()

    def extend(self, values: list) -> None:
        """``add()`` each of ``values`` in turn, in bulk: leaves exactly the state that loop would."""
        n = len(values)
        if not n:
            return
        self.count += n
        self.last = values[-1]
        total = sum(values)
        numbers = values if total == total else [v for v in values if v == v]  # leave NaN out
        if numbers:
            lo, hi = min(numbers), max(numbers)
            if lo < self.min:
                self.min = lo
            if hi > self.max:
                self.max = hi
        points, stride, width2 = self.points, self.stride, 2 * self.width
        i = stride - self._skip - 1  # the next value add() would keep
        last = -1
        while i < n:
            points.append(values[i])
            if len(points) >= width2:
                del points[1::2]
                stride *= 2
            last = i
            i += stride
        self._skip = self._skip + n if last < 0 else n - 1 - last
        self.stride = stride


def _take_row(row: dict, series: dict[str, _Series], media: dict[str, Counter]) -> None:
    for k, v in row.items():
        t = type(v)
        if t is float or t is int:
            s = series.get(k)
            if s is None:
                if k.startswith("_"):
                    continue
                s = series[k] = _Series()
            s.add(v)
        elif t is dict and "_type" in v:
            media[k][v["_type"]] += 1
        elif t is list and v and type(v[0]) is dict and "_type" in v[0]:
            media[k][v[0]["_type"]] += len(v)


def _take_columns(chunk: list[dict], series: dict[str, _Series]) -> bool:
    """``_take_row()`` for every row of ``chunk``, column by column; False if it cannot be.

    That is when every row has the same keys and each column holds only numbers, or only
    values that are neither numbers nor media: then taking columns in key order makes the
    same series, in the same order, as taking rows one by one.
    """
    keys = tuple(chunk[0])
    n = len(keys)
    if not all(map(n.__eq__, map(len, chunk))):
        return False
    # Every row as long as the first and holding each of its keys: the same keys (in whatever
    # order, which does not matter: the new series are made in the first row's order, as
    # _take_row makes them, and each series gets its values in row order either way).
    try:
        columns = [list(map(itemgetter(k), chunk)) for k in keys]
    except KeyError:
        return False
    plan = []
    for k, column in zip(keys, columns, strict=True):
        types = (
            _FLOATS
            if list(map(type, column)).count(float) == len(column)
            else set(map(type, column))
        )
        if types <= _NUMBERS:
            plan.append((k, column))
        elif not types <= _IGNORED:
            return False
    for k, column in plan:
        s = series.get(k)
        if s is None:
            if k.startswith("_"):
                continue
            s = series[k] = _Series()
        s.extend(column)
    return True


def _kv_table(title: str, items: dict):
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for k, v in items.items():
        table.add_row(
            k,
            fmt_value(v)
            if not isinstance(v, dict) or "_type" in v
            else json.dumps(v, default=str)[:80],
        )
    return table
