"""The list table's own renderer draws byte for byte what rich's Table draws."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from localrun.cli import gridtable

COLUMNS = ("id", "project", "name", "state", "rows", "last update", "last metrics")
WORDS = ["a", "run", "trial-12", "finished", "日本語", "ß", "[bold]x[/]", "x]", "", "  pad ", "é"]


def rich_table(console, title, rows):
    t = Table(title=title, title_justify="left")
    for c in COLUMNS:
        t.add_column(c, overflow="fold")
    for row in rows:
        t.add_row(*(escape(x) if s is None else f"[{s}]{escape(x)}[/]" for x, s in row))
    console.print(t)


def consoles(width):
    yield Console(file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor")
    yield Console(file=io.StringIO(), width=width, force_terminal=True, color_system="standard")
    yield Console(file=io.StringIO(), width=width)


def random_rows(rng, n):
    rows = []
    for _ in range(n):
        row = []
        for i in range(len(COLUMNS)):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
            style = rng.choice(["green", "red", "cyan", None]) if i == 3 else None
            row.append((text, style))
        rows.append(row)
    return rows


@pytest.mark.parametrize("seed", range(30))
def test_same_bytes_as_rich_or_declines(seed):
    rng = random.Random(seed)
    rows = random_rows(rng, rng.randint(0, 40))
    width = rng.choice([40, 120, 4000])
    for ours, theirs in zip(consoles(width), consoles(width), strict=True):
        title = f"{len(rows)} runs"
        if gridtable.draw(ours, title, COLUMNS, rows):
            rich_table(theirs, title, rows)
            assert ours.file.getvalue() == theirs.file.getvalue()
        else:
            assert ours.file.getvalue() == ""
            assert width < 4000  # only a table too wide for the console is declined here


def test_declines_a_cell_rich_would_wrap():
    console = Console(file=io.StringIO(), width=200)
    rows = [[("two\nlines", None)] + [("x", None)] * 6]
    assert not gridtable.draw(console, "1 runs", COLUMNS, rows)
    assert console.file.getvalue() == ""
