"""Human output: numbers to 4 significant digits and aligned tables that fit the terminal.

Too wide a table first shortens its shrinkable columns (run names) with an ellipsis in the
middle (down to MIN_SHRUNK characters), then splits its optional columns (metrics) into several blocks, each repeating
the key columns (run, id).
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import textwrap
from dataclasses import dataclass

GAP = "  "
MIN_SHRUNK = 16  # names are shortened to this first...
MIN_CUT = 5  # ...and only on a narrow terminal further, down to their header (at least this)
MIN_EXTRA = 12  # room kept beside the key columns for one metric column
NOTE_INDENT = "    "


def ellipsis() -> str:
    """ "…" when stdout can encode it, else "..."."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "…".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "..."
    return "…"


def terminal_width() -> int:
    """$COLUMNS if set, else the terminal's width, else 80 (SPEC)."""
    raw = os.environ.get("COLUMNS", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return shutil.get_terminal_size((80, 24)).columns


def number(value: object) -> str:
    """A metric value for people: 4 significant digits; '-' when missing; nan, inf, -inf."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.4g}"
    return str(value)


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters by replacing its middle with an ellipsis."""
    if len(text) <= width:
        return text
    dots = ellipsis()
    if width <= len(dots):
        return text[:width]
    keep = width - len(dots)
    head = (keep + 1) // 2
    return text[:head] + dots + text[len(text) - (keep - head) :]


@dataclass
class Column:
    header: str
    cells: list[str]
    right: bool = False  # right-aligned (numbers)

    @property
    def width(self) -> int:
        return max([len(self.header), *(len(c) for c in self.cells)])


def _lines(columns: list[Column], notes: list[str | None] | None = None, width: int = 80) -> list[str]:
    widths = [c.width for c in columns]
    rows = [[c.header for c in columns]] + [list(r) for r in zip(*(c.cells for c in columns), strict=True)]
    out = []
    for index, row in enumerate(rows):
        cells = [
            (cell.rjust(w) if col.right else cell.ljust(w)) for cell, w, col in zip(row, widths, columns, strict=True)
        ]
        out.append(GAP.join(cells).rstrip())
        note = notes[index - 1] if notes and index else None
        if note:
            out.extend(textwrap.wrap(note, width, initial_indent=NOTE_INDENT, subsequent_indent=NOTE_INDENT))
    return out


def _total(columns: list[Column]) -> int:
    return sum(c.width for c in columns) + len(GAP) * max(len(columns) - 1, 0)


def _shrink(columns: list[Column], indices: list[int], excess: int, floor: int) -> int:
    """Shorten the cells of the columns at `indices`, widest first, by up to `excess` characters; returns what is left."""
    widths = {i: columns[i].width for i in indices}
    floors = {i: max(floor, len(columns[i].header)) for i in indices}
    while excess > 0:
        room = [i for i in indices if widths[i] > floors[i]]
        if not room:
            break
        widest = max(room, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    for i in indices:
        if widths[i] < columns[i].width:
            columns[i].cells = [shorten(cell, widths[i]) for cell in columns[i].cells]
    return excess


def _narrow(column: Column, width: int) -> Column:
    """`column` with its header and cells cut to `width` characters (a metric column on a narrow terminal)."""
    return Column(shorten(column.header, width), [shorten(c, width) for c in column.cells], column.right)


def render(
    key: list[Column],
    extra: list[Column] | None = None,
    *,
    shrink: tuple[int, ...] = (0,),
    width: int | None = None,
    notes: list[str | None] | None = None,
) -> str:
    """Aligned table text of the `key` columns then the `extra` ones, fitted to `width`.

    `shrink` holds the indices in `key` of the columns whose cells may be shortened (names),
    first down to MIN_SHRUNK characters, then, if the terminal is narrower still, down to
    their header's length; other text columns come next. Extra columns (metrics) are split
    into blocks that each repeat the key columns; each is cut to fit beside them. `notes`
    (one per row, or None) are wrapped under their row, indented.
    """
    width = terminal_width() if width is None else width
    key = [Column(c.header, list(c.cells), c.right) for c in key]
    extra = list(extra or [])
    _shrink(key, list(shrink), _total(key + extra) - width, MIN_SHRUNK)  # names first, to fit everything
    beside = max((c.width for c in extra), default=-len(GAP)) + len(GAP)  # the narrowest block's extra part
    excess = _total(key) + min(beside, MIN_EXTRA + len(GAP)) - width
    others = [i for i, c in enumerate(key) if not c.right and i not in shrink]
    for indices in (list(shrink), others):  # a narrow terminal: further, down to the headers
        if excess > 0:
            excess = _shrink(key, indices, excess, MIN_CUT)
    if not extra:
        return "\n".join(_lines(key, notes, width))
    room = max(MIN_CUT, width - _total(key) - len(GAP))
    extra = [c if c.width <= room else _narrow(c, room) for c in extra]
    blocks: list[list[Column]] = []
    current: list[Column] = []
    for column in extra:
        if current and _total(key + current + [column]) > width:
            blocks.append(current)
            current = []
        current.append(column)
    blocks.append(current)
    return "\n\n".join("\n".join(_lines(key + block, notes, width)) for block in blocks)


def fit(text: str, width: int | None = None) -> str:
    """Every line of `text` at most `width` characters: longer lines (prose) wrap with a hanging indent."""
    width = terminal_width() if width is None else width
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
        else:
            out.extend(textwrap.wrap(line, width, subsequent_indent=NOTE_INDENT, break_on_hyphens=False) or [""])
    return "\n".join(out)
