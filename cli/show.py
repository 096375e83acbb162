"""``localrun show [PATH]``: a table of runs, or one run in detail; ``--json`` for scripts."""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

import click

from localrun.sync import RunView, find_runs, resolve_path
from localrun.sync.protocol import SYNCING
from localrun.sync.remote_view import RemoteRunView, is_url, remote_views

from . import gridtable, jsontext, render
from .errors import report_damage
from .jsontext import deep_values
from .keynames import close_keys
from .render import Series, fmt_duration, fmt_key, fmt_text, fmt_time, fmt_value

STATE_STYLE = {
    "running": "cyan",
    "finished": "green",
    "failed": "red",
    "preempted": "yellow",
    "crashed": "magenta",
}


#: Keys shown per section (config, summary, metrics, media): about a screenful. The rest are
#: counted in a line under the section, which says how to see them.
SECTION_KEYS = 50


@click.command()
@click.argument("path", default=None, required=False, metavar="[PATH]")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: an object for one run, an array for a folder of runs.",
)
@click.option(
    "--keys",
    default=None,
    metavar="A,B",
    help="Only these keys in config, summary, metrics and media: comma-separated names or "
    "globs (train/*).",
)
@click.option(
    "--token",
    default=None,
    envvar="LOCALRUN_TOKEN",
    help="Bearer token when PATH is a server URL [env: LOCALRUN_TOKEN].",
)
def show(path: str | None, as_json: bool, keys: str | None, token: str | None) -> None:
    """Show a folder of runs as a table, or one run in detail (default PATH: the runs root).

    The runs root is where init() writes: $LOCALRUN_DIR, else ./runs. PATH may be a run's
    folder, a folder of runs, or a run id (or the start of one) in the runs root.

    PATH may also be a server URL: a run's URL as `localrun sync` printed it, or the server's.
    A run with many keys shows the first 50 of each section; --keys picks others.
    """
    with deep_values():
        _show(path, as_json, keys, token)


def _show(path: str | None, as_json: bool, keys: str | None, token: str | None) -> None:
    wanted = key_filter(keys)
    views: list[RunView] | list[RemoteRunView]
    if path is not None and is_url(path):
        remote, views, single = remote_views(path, token, reader="show")
        click.get_current_context().call_on_close(remote.close)
    else:
        path = resolve_path(path)
        runs = find_runs(path)
        single = (
            len(runs) == 1 and runs[0] == path.rstrip("/") or (len(runs) == 1 and _is_run(path))
        )
        views = [RunView(p) for p in runs]
    if as_json:
        if single:
            view = views[0]
            out = _narrowed(view.scan().to_json(), wanted)
        else:
            out = [_narrowed(v.scan().to_json(), wanted) for v in views]
        click.echo(jsontext.dumps(out, indent=1))
        for v in views:
            report_damage(v)
        return
    console = render.console()
    if single:
        _show_one(console, views[0], wanted, keys)
    else:
        _show_table(console, views, wanted)
    for v in views:
        report_damage(v)


def key_filter(spec: str | None) -> Callable[[Any], bool] | None:
    """What ``--keys`` selects: a test of a key, or None for every key.

    ``spec`` is comma separated; each part names a key exactly or is a shell-style glob
    (``*``, ``?``, ``[...]``; ``*`` also matches ``/``). A key that is not a string is
    matched by its JSON text.
    """
    names = [p.strip() for p in spec.split(",") if p.strip()] if spec else []
    if not names:
        return None
    exact = frozenset(names)
    globs = [re.compile(fnmatch.translate(p)).match for p in names if _GLOB.search(p)]

    def wanted(key: Any) -> bool:
        text = key if type(key) is str else fmt_key(key)
        return text in exact or any(g(text) for g in globs)

    return wanted


_GLOB = re.compile(r"[*?[]")


def _names(spec: str | None) -> list[str]:
    return [p.strip() for p in spec.split(",") if p.strip()] if spec else []


def _narrowed(doc: Any, wanted: Callable[[Any], bool] | None) -> Any:
    """``doc`` with its config and summary narrowed to the keys ``--keys`` names."""
    if wanted is None or type(doc) is not dict:
        return doc
    doc = dict(doc)
    for section in ("config", "summary"):
        if type(doc.get(section)) is dict:
            doc[section] = {k: v for k, v in doc[section].items() if wanted(k)}
    return doc


def _is_run(path: str) -> bool:
    from localrun.rundir import is_run_dir

    return is_run_dir(path)


def _text(value: Any) -> str:
    """A name, id, path or tag for rich markup: as text, its markup escaped."""
    return escape(value if type(value) is str else fmt_text(value, 200))


def _state(d: dict) -> tuple[str, str]:
    """A run's state and its colour; a run on a server whose document has not arrived yet
    (no state) is still syncing."""
    state = d.get("state")
    if state is None:
        return SYNCING, "blue"
    if type(state) is not str:
        state = fmt_text(state, 20)
    return state, STATE_STYLE.get(state, "white")


def _dict(value: Any) -> dict:
    return value if type(value) is dict else {}


def _list(value: Any) -> list:
    return value if type(value) is list else []


LIST_COLUMNS = ("id", "project", "name", "state", "rows", "last update", "last metrics")


def _show_table(console, views: list, wanted: Callable[[Any], bool] | None) -> None:
    rows = [_list_row(v, wanted) for v in views]
    title = f"{len(views)} runs"
    if gridtable.draw(console, title, LIST_COLUMNS, rows):
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in LIST_COLUMNS:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(
            *(
                escape(text) if style is None else f"[{style}]{escape(text)}[/]"
                for text, style in row
            )
        )
    console.print(table)


def _list_row(v, wanted: Callable[[Any], bool] | None) -> list[tuple[str, str | None]]:
    """One run's line of the list table: (plain text, style or None) per column."""
    d = v.scan().to_json()
    if type(d) is not dict:
        d = {}
    metrics = [
        (k, val)
        for k, val in _dict(d.get("summary")).items()
        if type(k) is str
        and not k.startswith("_")
        and isinstance(val, (int, float))
        and (wanted is None or wanted(k))
    ][:3]
    state, style = _state(d)
    return [
        (_plain(d.get("id", v.id)), None),
        (_plain(str(d.get("project"))), None),
        (_plain(str(d.get("name"))), None),
        (state, style),
        (_plain(str(d.get("rows"))), None),
        (fmt_time(d.get("updated_at")), None),
        ("  ".join(f"{k}={fmt_value(val)}" for k, val in metrics), None),
    ]


def _plain(value: Any) -> str:
    """A name, id, path or tag as text (``_text`` without the markup escaping)."""
    return value if type(value) is str else fmt_text(value, 200)


def _show_one(
    console, view, wanted: Callable[[Any], bool] | None = None, spec: str | None = None
) -> None:
    from rich.table import Table

    sections = _Sections(wanted)
    # The series and media read only a row's own keys: a local view may hand plain log() rows
    # over as the logged dicts, without building a million rows.
    rows = view.logged() if isinstance(view, RunView) else view.rows()
    for chunk in _chunks(rows):
        if len(chunk) < _MIN_COLUMN_ROWS or not _take_columns(chunk, sections.series, sections):
            take = sections.take_row
            for row in chunk:
                take(row)
    d = view.to_json()
    if type(d) is not dict:
        d = {}
    state, style = _state(d)
    console.print(
        f"[bold]{_text(d.get('name'))}[/] [dim]({_text(d.get('id', view.id))})[/]  "
        f"project [bold]{_text(d.get('project'))}[/]  [{style}]{escape(state)}[/]"
    )
    rows_n = d.get("rows")
    last_step = d.get("last_step")
    steps = f"steps {0 if rows_n else '-'}..{last_step}" if last_step is not None else "no steps"
    console.print(
        _text(f"{rows_n} rows, {steps}, runtime {fmt_duration(d.get('runtime'))}, ")
        + f"updated {fmt_time(d.get('updated_at'))}  [dim]{_text(d.get('path'))}[/]"
    )
    tags = d.get("tags")
    if tags:
        tags = tags if type(tags) is list else [tags]
        console.print(
            "tags: " + ", ".join(_text(t if type(t) is str else fmt_text(t)) for t in tags)
        )
    shown_any = False
    for title, section in (("config", d.get("config")), ("summary", d.get("summary"))):
        items, more = _first_items(_dict(section), title == "summary", wanted)
        if items:
            shown_any = True
            console.print(_kv_table(title, items[:SECTION_KEYS]))
            if more:
                _more(console, more, f"{title} keys", items[SECTION_KEYS][0])
    # _HIDDEN and _SKIPPED are the only _NoSeries: the rest are drawn.
    series = [(k, s) for k, s in sections.series.items() if isinstance(s, _Series)]
    if series:
        shown_any = True
        table = Table(title="metrics", title_justify="left")
        for col in ("key", "", "last", "min", "max", "points"):
            table.add_column(col)
        for k, s in series:
            table.add_row(
                _key(k),
                s.sparkline(),
                fmt_value(s.last),
                fmt_value(s.min),
                fmt_value(s.max),
                str(s.count),
            )
        console.print(table)
        hidden, first = sections.hidden_series()
        if hidden:
            _more(console, hidden, "metrics", first)
    media = [(k, c) for k, c in sections.media.items() if isinstance(c, Counter)]
    if media:
        shown_any = True
        table = Table(title="media", title_justify="left")
        table.add_column("key")
        table.add_column("logged")
        for k, counts in media:
            table.add_row(_key(k), escape(", ".join(f"{n} × {t}" for t, n in counts.items())))
        console.print(table)
        if sections.hidden_media:
            _more(console, sections.hidden_media, "media keys", sections.first_hidden_media)
    files = [f for f in _list(d.get("files")) if type(f) is dict]
    if files and wanted is None:
        table = Table(title="files", title_justify="left")
        table.add_column("path")
        table.add_column("size", justify="right")
        for f in files[:SECTION_KEYS]:
            size = f.get("size")
            table.add_row(_text(f.get("path")), f"{size:,} B" if type(size) is int else "")
        console.print(table)
        if len(files) > SECTION_KEYS:
            console.print(f"[dim]... and {len(files) - SECTION_KEYS:,} more files: see --json[/]")
    if wanted is not None and not shown_any:
        keys = itertools.chain(
            _dict(d.get("config")), _dict(d.get("summary")), sections.series, sections.media
        )
        close = close_keys(_names(spec), keys, listed=0)
        console.print(
            f"no config, summary, metric or media key matches --keys {escape(spec or '')}"
            + (f". {escape(close)}" if close else "")
        )
    dropped = [x for x in _list(d.get("dropped")) if type(x) is dict]
    if dropped:
        table = Table(
            title=f"dropped calls ({len(dropped)}): their step was below the current step",
            title_justify="left",
        )
        for col in ("step", "current step", "keys"):
            table.add_column(col)
        for x in dropped[:20]:
            their_keys = x.get("keys")
            table.add_row(
                _text(str(x.get("step"))),
                _text(str(x.get("current_step"))),
                escape(
                    ", ".join(map(fmt_key, their_keys))
                    if type(their_keys) is list
                    else fmt_text(their_keys)
                ),
            )
        if len(dropped) > 20:
            table.add_row("...", "", f"{len(dropped) - 20} more (see --json)")
        console.print(table)
    damaged = _list(d.get("damaged"))
    if damaged:
        console.print(f"[red]{len(damaged)} damaged record(s) skipped[/] (listed on stderr)")


def escape(text: str) -> str:
    """``text`` with its rich markup escaped (rich is imported only to draw)."""
    from rich.markup import escape

    return escape(text)


def _first_items(
    section: dict, hide: bool, wanted: Callable[[Any], bool] | None
) -> tuple[list, int]:
    """The first ``SECTION_KEYS + 1`` items of a section that show shows (not those
    ``_hidden()``, when ``hide``; only those ``wanted``), and how many past the first
    ``SECTION_KEYS`` there are. Stops early where it can: a section may hold a million keys."""
    items = []
    rest = 0
    if wanted is None and not hide:
        items = list(itertools.islice(section.items(), SECTION_KEYS + 1))
        return items, max(0, len(section) - SECTION_KEYS)
    it = iter(section.items())
    for k, v in it:
        if (hide and _hidden(k)) or (wanted is not None and not wanted(k)):
            continue
        items.append((k, v))
        if len(items) > SECTION_KEYS:
            break
    else:
        return items, 0
    if wanted is None:  # count the keys left that are not hidden, in C where it can be
        keys = [k for k, _ in it]
        try:
            rest = len(keys) - list(map(str.startswith, keys, itertools.repeat("_"))).count(True)
        except TypeError:  # a key that is not a string
            rest = sum(1 for k in keys if not _hidden(k))
    else:
        rest = sum(1 for k, _ in it if not (hide and _hidden(k)) and wanted(k))
    return items, 1 + rest


def _hidden(key: Any) -> bool:
    """Keys show leaves out of the summary: ``_step``, ``_runtime``, ``_timestamp`` and the
    like."""
    return type(key) is str and key.startswith("_")


def _key(key: Any) -> str:
    return escape(fmt_key(key))


def _more(console, n: int, what: str, first: Any) -> None:
    """The line under a section that shows only some of its keys."""
    name = fmt_key(first)
    example = name.split("/", 1)[0] + "/*" if "/" in name else name
    console.print(
        escape(f"... and {n:,} more {what}: see them with --keys '{example}', or --json"),
        style="dim",
        soft_wrap=True,
    )


_CHUNK_ROWS = 4096
_CHUNK_VALUES = 1 << 18  # values per chunk at most, for wide rows
_MIN_COLUMN_ROWS = 16  # fewer rows than this (wide ones) are taken row by row: cheaper
_NUMBERS = frozenset((int, float))
_FLOATS = frozenset((float,))
_IGNORED = {type(None), str, bool, bytes}


class _Series(Series):
    """A Series that also takes many points at once."""

    __slots__ = ()

    def extend(self, values: Sequence) -> None:
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


class _NoSeries:
    """Stands in for a series (or a media key's counts) show does not draw: takes points, keeps
    nothing."""

    __slots__ = ()

    def add(self, v: Any) -> None:
        pass

    def extend(self, values: Sequence) -> None:
        pass

    def __getitem__(self, key: Any) -> int:
        return 0

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


_HIDDEN = _NoSeries()  # past the first SECTION_KEYS of its section: counted, not drawn
_SKIPPED = _NoSeries()  # _step and the like, or a key --keys does not name: not counted


class _Sections:
    """The metrics (a series per numeric key) and media (counts per media key) of a run's rows.

    Keys come in the order their first number (or media value) arrived; the first
    ``SECTION_KEYS`` of each get a series or counts, the rest are only counted, so a run with
    a million keys costs a dict entry per key, not a series.
    """

    def __init__(self, wanted: Callable[[Any], bool] | None = None) -> None:
        self.wanted = wanted
        self.series: dict[Any, _Series | _NoSeries] = {}
        self.media: dict[Any, Counter | _NoSeries] = {}
        self.shown_series = 0
        self.shown_media = self.hidden_media = 0
        self.first_hidden_media: Any = None

    def new_series(self, key: Any) -> _Series | _NoSeries:
        """The series for a key's first number (kept in ``series`` by the caller)."""
        if (type(key) is str and key.startswith("_")) or (
            self.wanted is not None and not self.wanted(key)
        ):
            return _SKIPPED
        if self.shown_series < SECTION_KEYS:
            self.shown_series += 1
            return _Series()
        return _HIDDEN

    def hidden_series(self) -> tuple[int, Any]:
        """How many metrics have no series drawn, and the first of them."""
        values = list(self.series.values())
        n = values.count(_HIDDEN)
        return n, (list(self.series)[values.index(_HIDDEN)] if n else None)

    def count_media(self, key: Any, kind: Any, n: int) -> None:
        counts = self.media.get(key)
        if counts is None:
            if self.wanted is not None and not self.wanted(key):
                counts = _SKIPPED
            elif self.shown_media < SECTION_KEYS:
                self.shown_media += 1
                counts = Counter()
            else:
                if not self.hidden_media:
                    self.first_hidden_media = key
                self.hidden_media += 1
                counts = _HIDDEN
            self.media[key] = counts
        if type(kind) is not str:
            kind = fmt_text(kind, 40)
        counts[kind] += n

    def take_row(self, row: dict) -> None:
        _take_row(row, self.series, self.media, self)


def _take_row(row: dict, series: dict, media: dict, sections: _Sections | None = None) -> None:
    """Add a row's numbers to their series and count its media values.

    With ``sections``, it says which keys get a series and counts the media; without, every
    key but ``_step`` and the like gets one, and ``media`` is a ``defaultdict(Counter)``.
    """
    for k, v in row.items():
        t = type(v)
        if t is float or t is int:
            s = series.get(k)
            if s is None:
                if sections is not None:
                    s = series[k] = sections.new_series(k)
                elif type(k) is str and k.startswith("_"):
                    continue
                else:
                    s = series[k] = _Series()
            s.add(v)
        elif t is dict and "_type" in v:
            _count_media(media, sections, k, v["_type"], 1)
        elif t is list and v and type(v[0]) is dict and "_type" in v[0]:
            _count_media(media, sections, k, v[0]["_type"], len(v))


def _count_media(media: dict, sections: _Sections | None, key: Any, kind: Any, n: int) -> None:
    if sections is not None:
        sections.count_media(key, kind, n)
    else:
        media[key][kind if type(kind) is str else fmt_text(kind, 40)] += n


def _chunks(rows: Iterator[dict]) -> Iterator[list[dict]]:
    """Rows in lists of up to ``_CHUNK_ROWS``, fewer when they are wide (memory stays flat)."""
    rows = iter(rows)
    for first in rows:
        width = len(first) if type(first) is dict else 1
        size = max(1, min(_CHUNK_ROWS, _CHUNK_VALUES // max(1, width)))
        chunk = [first]
        chunk.extend(itertools.islice(rows, size - 1))
        yield chunk


def _take_columns(chunk: list[dict], series: dict, sections: _Sections | None = None) -> bool:
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
    # take_row makes them, and each series gets its values in row order either way).
    new = sections.new_series if sections is not None else _new_series
    if n > SECTION_KEYS and all(map(keys.__eq__, map(tuple, chunk))):
        # Wide rows with the same keys in the same order, as most runs log them.
        if set(map(type, itertools.chain.from_iterable(map(dict.values, chunk)))) <= _NUMBERS:
            # Numbers only: every column makes a series, but only the series drawn need
            # their column (a run may have a million keys, and show draws 50).
            for k in keys:
                s = series.get(k)
                if s is None:
                    s = new(k)
                    if s is _SKIPPED and sections is None:
                        continue
                    series[k] = s
                if s is not _HIDDEN and s is not _SKIPPED:
                    s.extend(list(map(itemgetter(k), chunk)))
            return True
        # A transpose, in C, that reads each row once, in order (wide rows are too big for
        # the caches).
        columns: list[Sequence[Any]] = list(zip(*map(dict.values, chunk), strict=True))
    else:
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
            s = new(k)
            if s is _SKIPPED and sections is None:
                continue  # _step and the like are not kept without sections
            series[k] = s
        s.extend(column)
    return True


def _new_series(key: Any) -> _Series | _NoSeries:
    """A series for every key but ``_step`` and the like (``_take_columns()`` without
    sections)."""
    return _SKIPPED if type(key) is str and key.startswith("_") else _Series()


def _kv_table(title: str, items: list[tuple[Any, Any]]):
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for k, v in items:
        table.add_row(
            _key(k),
            escape(
                fmt_value(v) if not isinstance(v, dict) or "_type" in v else _json_preview(v, 80)
            ),
        )
    return table


def _json_preview(value: dict, width: int) -> str:
    try:
        return json.dumps(value, default=str)[:width]
    except (TypeError, ValueError, RecursionError):  # keys JSON has no word for; very deep
        return jsontext.text(value, limit=width)
