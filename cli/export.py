"""``localrun export RUN``: the history rows, as JSON Lines (or CSV) on stdout."""

from __future__ import annotations

import base64
import csv
import datetime
import itertools
import json
import os
import sys

import click

from localrun.errors import RunDirError
from localrun.sync import RunView, find_runs, resolve_path
from localrun.sync.remote_view import RemoteRunView, is_url, remote_views

from . import jsontext
from .errors import report_damage
from .keynames import missing_keys, missing_keys_error
from .render import fmt_key

_BATCH_ROWS = 512
#: The formats that write a folder another tool reads (cli/export_folder.py).
_FOLDER_FORMATS = ("wandb", "tensorboard")


def _one_run(path: str | None) -> str:
    path = resolve_path(path)
    runs = find_runs(path)
    if len(runs) > 1:
        ids = ", ".join(r.rsplit("/", 1)[-1] for r in runs[:5])
        more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
        raise RunDirError(
            f"export takes one run, and {path} holds {len(runs)} ({ids}{more}). Pass one of them, e.g. {runs[0]}"
        )
    return runs[0]


@click.command()
@click.argument("run", default=None, required=False, metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "wandb", "tensorboard"]),
    default="jsonl",
    show_default=True,
    help="Output format: rows as jsonl or csv, or a folder (-o DIR) for `wandb sync` or TensorBoard.",
)
@click.option(
    "--keys", default=None, metavar="A,B", help="Only these keys (plus _step), comma separated."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(writable=True),
    default=None,
    help="Write to a file instead of stdout; for wandb and tensorboard, the folder to write (new or empty).",
)
@click.option(
    "--token",
    default=None,
    envvar="LOCALRUN_TOKEN",
    help="Bearer token when RUN is a server URL [env: LOCALRUN_TOKEN].",
)
def export(
    run: str | None, fmt: str, keys: str | None, output: str | None, token: str | None
) -> None:
    """Print RUN's history: one row per line, in step order, exactly as replay made them.

    Values are JSON (NaN and infinities as NaN, Infinity, -Infinity, as Python's json module
    reads them). Damaged records are skipped and reported on stderr. RUN is a run's folder, a
    run id (or the start of one) in the runs root ($LOCALRUN_DIR, else ./runs), or a run's URL
    on a server, as `localrun sync` printed it.

    `--format wandb -o DIR` writes the run as a wandb offline run for `wandb sync DIR`;
    `--format tensorboard -o DIR` writes TensorBoard event files for `tensorboard --logdir DIR`
    (see docs/sync.md). Each needs its extra: pip install 'localrun[wandb]' or
    'localrun[tensorboard]'.
    """
    with jsontext.deep_values():
        _export(run, fmt, keys, output, token)


def _export(
    run: str | None, fmt: str, keys: str | None, output: str | None, token: str | None
) -> None:
    if fmt in _FOLDER_FORMATS and (output is None or keys is not None):
        from .export_folder import usage_problem

        raise click.UsageError(usage_problem(fmt, keys, output))
    path: str | RemoteRunView
    if run is not None and is_url(run):
        remote, views, single = remote_views(run, token, reader="export")
        click.get_current_context().call_on_close(remote.close)
        if not single:
            raise RunDirError(
                f"export takes one run, and {run} is a server. Pass a run's URL, e.g. {views[0].path}"
            )
        path = views[0]
    else:
        path = _one_run(run)
    if fmt in _FOLDER_FORMATS:
        from . import export_folder

        assert output is not None  # checked above: these formats need -o
        export_folder.export(path, fmt, output)
        return
    if output is not None and os.path.isdir(output):
        raise click.BadParameter(
            f"{output} is a folder; --format {fmt} writes a file", param_hint="'-o'"
        )
    wanted = [k.strip() for k in keys.split(",") if k.strip()] if keys else None
    if fmt == "jsonl":  # bytes, straight to the file or stdout's buffer
        out = open(output, "wb") if output else _stdout_bytes()
    else:
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
    picked = {"_step": row.get("_step")}
    for k in wanted:
        if k in row:
            picked[k] = row[k]
    return picked


class _RowEncoder:
    """Rows as JSON lines (UTF-8 bytes, each ending in a newline), encoded in C by msgspec.

    msgspec writes NaN and the infinities as ``null``; export writes them as ``NaN``,
    ``Infinity`` and ``-Infinity``, as Python's json module does and reads back. So a line with
    ``null`` anywhere in its text (rare: a None, a NaN, or the word in a key or string) is
    encoded again by the json module, which also takes whatever msgspec refuses; what the
    json module refuses too (a key that is not a string, say, or a value nested too deep for
    it) is written by ``jsontext.text()``. Numbers are written in their shortest form that
    reads back to the same value (``1e-05`` may come out as ``0.00001``).
    """

    def __init__(self) -> None:
        import msgspec

        encoder = msgspec.json.Encoder()
        self._lines = encoder.encode_lines
        self._one = encoder.encode
        self._json = json.JSONEncoder(
            ensure_ascii=False, separators=(",", ":"), default=_plain
        ).encode

    def lines(self, rows: list) -> bytes:
        """The JSON lines of ``rows``, one per row."""
        try:
            out = self._lines(rows)
        except Exception:  # a value msgspec cannot encode: row by row, through the json module
            out = None
        if out is None or b"null" in out:
            return b"".join(map(self.line, rows))
        return out

    def line(self, row: dict) -> bytes:
        """The JSON line of one row."""
        try:
            out = self._one(row)
        except Exception:
            out = None
        if out is None or b"null" in out:
            try:
                text = self._json(row)
            except (TypeError, ValueError, RecursionError):
                text = jsontext.text(row, separators=(",", ":"))
            return (text + "\n").encode("utf-8", "surrogatepass")
        return out + b"\n"


def _stdout_bytes():
    """stdout, for writing bytes: its buffer, or (a text stream with none) a decoding shim."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        sys.stdout.flush()
        return buffer
    return _TextSink(sys.stdout)


class _TextSink:
    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, data: bytes) -> None:
        self.stream.write(data.decode("utf-8", "surrogatepass"))

    def flush(self) -> None:
        self.stream.flush()


def _plain(value):
    """What the json module writes for a value it has no rule for (as msgspec would)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write a value of type {type(value).__name__} as JSON: {value!r:.80}")


def _view(path):
    """A fresh view: of a run directory, or (a RemoteRunView) of a run on a server."""
    return RunView(path) if isinstance(path, str) else path


_HOW = "--keys names keys exactly, comma separated"

#: Rows ``--keys`` holds back while a key it names has not been seen yet (``_checked``): past
#: it, they are written, and a key never seen is still reported at the end.
HELD_ROWS = 200_000


def _checked(rows, wanted: list[str] | None):
    """``rows``, narrowed to ``wanted`` (plus ``_step``), checking that each wanted key is in
    some row (``keynames.missing_keys``): when none is, RunDirError naming them and the keys
    closest to them, and no row; when some are not, a warning at the end.

    Rows are held back (up to ``HELD_ROWS``) until a wanted key has been seen, so names that
    are not there print no rows at all; from then on they stream through.
    """
    if wanted is None:
        yield from rows
        return
    names = [k for k in wanted if k != "_step"]
    unseen = set(names)
    keys: dict = {}  # every key of the rows, while some name is unseen: for the close ones
    held: list[dict] = []
    rows = iter(rows)
    for row in rows:
        if unseen:
            keys.update(row)
            unseen.difference_update([k for k in unseen if k in row])
        held.append(_select(row, wanted))
        if len(unseen) < len(set(names)) or len(held) >= HELD_ROWS:
            break
    else:
        if unseen:  # every row read, none written: the error alone
            raise missing_keys_error(sorted(unseen), keys, _HOW)
    yield from held
    held.clear()
    for row in rows:
        if unseen:
            keys.update(row)
            unseen.difference_update([k for k in unseen if k in row])
        yield _select(row, wanted)
    error = missing_keys(names, sorted(unseen), keys, _HOW)
    if error is not None:
        raise error


def _write_jsonl(path, out, wanted: list[str] | None) -> RunView:
    view = _view(path)
    lines = _RowEncoder().lines
    write = out.write
    batch: list[dict] = []
    append = batch.append
    for row in _checked(view.rows(), wanted):
        append(row)
        if len(batch) >= _BATCH_ROWS:
            write(lines(batch))
            batch.clear()
    if batch:
        write(lines(batch))
    return view


def _write_csv(path, out, wanted: list[str] | None) -> RunView:
    if wanted is None:
        # Columns are every key any row has, in order of first appearance: one pass to learn
        # them, one to write (memory stays flat).
        seen: dict[str, object] = {}
        update = seen.update  # keeps each key where it first appeared; the values are not used
        for row in _view(path).rows():
            update(row)
        columns = (
            ["_step"]
            + [k for k in seen if not _underscored(k)]
            + [k for k in seen if _underscored(k) and k != "_step"]
        )
    else:
        columns = ["_step"] + [k for k in wanted if k != "_step"]
    import msgspec

    view = _view(path)
    rows = _checked(view.rows(), wanted)
    first = next(rows, None)  # a --keys name no row has: the error, before the header
    writer = csv.writer(out)
    writer.writerow([fmt_key(k) for k in columns])
    writerow = writer.writerow
    # A row of finite numbers only (most rows of most runs) is written without the csv
    # module: its cells as a JSON array, in C, brackets off (a JSON number is a CSV field as
    # it is). NaN and infinities come out of msgspec as null: those rows, and every other,
    # go through the csv module. Lines end in "\r\n", as the csv module ends them.
    encode = msgspec.json.Encoder().encode
    numbers = _NUMBERS
    lines: list[str] = []
    append = lines.append
    # A sparse run (thousands of keys, each row holding a few) writes most cells empty: a row
    # holding under a quarter of the columns, all numbers, is written from the cells it has,
    # with runs of commas between them, instead of looking at every column.
    index = {k: i for i, k in enumerate(columns)}
    sparse_below = len(columns) // 4 if len(columns) >= 64 else 0
    for row in itertools.chain(() if first is None else (first,), rows):
        if len(row) < sparse_below:
            sparse = _sparse_line(row, index, len(columns))
            if sparse is not None:
                append(sparse)
                if len(lines) >= _BATCH_ROWS:
                    lines.append("")
                    out.write("\r\n".join(lines))
                    lines.clear()
                continue
        cells = list(map(row.get, columns))
        if numbers.issuperset(map(type, cells)):
            line = encode(cells)
            if b"null" not in line:
                append(line[1:-1].decode("ascii"))
                if len(lines) >= _BATCH_ROWS:
                    lines.append("")
                    out.write("\r\n".join(lines))
                    lines.clear()
                continue
        if lines:
            lines.append("")
            out.write("\r\n".join(lines))
            lines.clear()
        if _NESTED.isdisjoint(map(type, cells)):
            writerow(cells)  # the csv module writes None (a missing key too) as "", like _cell()
        else:
            writerow([_cell(v) for v in cells])
    if lines:
        lines.append("")
        out.write("\r\n".join(lines))
    return view


def _sparse_line(row: dict, index: dict, width: int) -> str | None:
    """The CSV line of a row holding few of the ``width`` columns, or None unless every value
    it holds is an int, a float or None. Cells are written as the csv module writes them for
    such a row (``str()`` of the number, nothing for None), so the line is the same."""
    cells = []
    for key, value in row.items():
        i = index.get(key)
        if i is None or value is None:
            continue
        kind = type(value)
        if kind is not float and kind is not int:
            return None
        cells.append((i, str(value)))
    cells.sort()
    parts = []
    last = 0
    for i, text in cells:
        parts.append("," * (i - last))
        parts.append(text)
        last = i
    parts.append("," * (width - 1 - last))
    return "".join(parts)


def _underscored(key) -> bool:
    return type(key) is str and key.startswith("_")


# Cells the csv module cannot write as they are: objects and lists as JSON text, bytes as
# base64, a timestamp in ISO 8601 (as in JSON Lines).
_NESTED = frozenset((dict, list, tuple, bytes, bytearray, memoryview, datetime.datetime))
_NUMBERS = frozenset((int, float))


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (dict, list, tuple)):
        return jsontext.dumps(v, separators=(",", ":"))
    if isinstance(v, (bytes, bytearray, memoryview, datetime.datetime)):
        return jsontext.plain_text(v)
    return v
