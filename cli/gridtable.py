"""A table of plain one-line cells drawn exactly as rich draws its default ``Table``, without
rich measuring and wrapping every cell: for ``localrun show DIR`` of thousands of runs.

rich lays a table out by measuring each cell, sharing the width out and wrapping each cell to
its column; for 2,000 runs that is three quarters of the listing's time. When every cell is one
printable line and the table at its natural width fits the console, none of that can change
anything: each column is as wide as its widest cell and nothing wraps. ``draw`` then emits the
same segments (same box characters, padding, title and styles) itself, and rich writes them, so
the bytes on a terminal or in a pipe are the same. Otherwise ``draw`` returns False and the
caller lets rich do it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.style import Style

Cell = tuple[str, str | None]  # (plain text, style name or None)


def draw(console, title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bool:
    """Print the table (rich's default look: HEAVY_HEAD box, padding 1, title on the left) and
    return True; or print nothing and return False when rich would lay it out differently (a
    cell that is not one printable line, or a table wider than the console)."""
    from rich.cells import cell_len
    from rich.segment import Segment, Segments

    widths = [cell_len(c) for c in columns]
    for row in rows:
        for i, (text, _) in enumerate(row):
            if not text.isprintable():
                return False
            n = len(text) if text.isascii() else cell_len(text)
            if n > widths[i]:
                widths[i] = n
    for c in columns:
        if not c.isprintable():
            return False
    total = sum(widths) + 3 * len(widths) + 1
    if total > console.width or not title.isprintable() or cell_len(title) > total:
        return False
    header_style = console.get_style("table.header")
    styles: dict[str, Style] = {}
    out: list[Segment] = []
    add = out.append
    add(Segment(title + " " * (total - cell_len(title)), console.get_style("table.title")))
    add(Segment("\n"))
    add(Segment("┏" + "┳".join("━" * (w + 2) for w in widths) + "┓\n"))
    add(Segment("┃"))
    for i, (name, w) in enumerate(zip(columns, widths, strict=True)):
        if i:
            add(Segment("┃"))
        add(Segment(" ", header_style))
        add(Segment(name + " " * (w - cell_len(name)), header_style))
        add(Segment(" ", header_style))
    add(Segment("┃\n"))
    add(Segment("┡" + "╇".join("━" * (w + 2) for w in widths) + "┩\n"))
    pending: list[str] = []  # plain text not yet in a segment
    for row in rows:
        pending.append("│")
        for i, (text, style) in enumerate(row):
            if i:
                pending.append("│")
            fill = " " * (widths[i] - (len(text) if text.isascii() else cell_len(text)))
            if style is None or not text:
                pending.append(" " + text + fill + " ")
                continue
            pending.append(" ")
            add(Segment("".join(pending)))
            pending.clear()
            st = styles.get(style)
            if st is None:
                st = styles[style] = console.get_style(style)
            add(Segment(text, st))
            pending.append(fill + " ")
        pending.append("│\n")
    pending.append("└" + "┴".join("─" * (w + 2) for w in widths) + "┘\n")
    add(Segment("".join(pending)))
    console.print(Segments(out), crop=False, soft_wrap=True)
    return True
