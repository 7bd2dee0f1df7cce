"""How genbench lays out every table and sentence it prints: one rule for `list`, `compare`,
`run --dry-run`, `kernels` and the reporters, so output reads at 80 columns, at 200 and piped.

- A column is a *name* (a registered name, a label, a path, a number: never split, never
  wrapped) or *prose* (wrapped at word boundaries).
- On a terminal, a rich table as wide as the terminal when its names fit beside PROSE_MIN
  columns for each prose column; else one block per row: the names on one line, then the rest
  indented, wrapped at word boundaries (a narrow terminal gets whole names and readable prose).
- Piped (not a terminal): plain columns padded with spaces, one line per row, never wrapped or
  truncated, so grep, cut and a file get whole rows; the prose columns last, so that one long
  sentence pads no column after it (`genbench list | less` reads row by row).
- A sentence (a verdict, a note) wraps at word boundaries to the width, piped or not.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

PROSE_MIN = 40  # the narrowest column a sentence reads well in
INDENT = 4  # a block's prose, under its names


@dataclass(frozen=True)
class Column:
    header: str
    prose: bool = False  # wrapped at word boundaries; else a name or value, never split
    right: bool = False  # numbers: right-aligned


@dataclass(frozen=True)
class Layout:
    """Where the text goes: `width` columns, and whether it is a terminal or a pipe."""

    width: int = 80
    piped: bool = False

    @classmethod
    def of(cls, console: Console) -> Layout:
        return cls(console.width, not console.is_terminal)

    def table(self, columns: list[Column], rows: list[list[str]], title: str = "") -> str:
        """`rows` (one string per column; a newline starts a new line in a cell) under `title`,
        by the rule above; ends with a newline."""
        heading = self.sentence(title) if title else ""
        if self.piped:
            return heading + plain(columns, rows)
        widths = [PROSE_MIN if c.prose else _longest(c, rows, i) for i, c in enumerate(columns)]
        if sum(widths) + 3 * len(columns) + 1 <= self.width:  # each column's border and padding
            return heading + _render(_rich_table(columns, rows, widths), self.width)
        return heading + blocks(columns, rows, self.width)

    def sentence(self, text: str, indent: int = 2) -> str:
        """`text` wrapped at word boundaries to the width (continuation lines indented by
        `indent`; a word longer than a line stays whole); each of its lines kept; ends with a
        newline."""
        return "".join(wrap(line, self.width, indent) + "\n" for line in text.splitlines() or [""])


def wrap(text: str, width: int, indent: int = 0, first: str = "") -> str:
    """One paragraph wrapped at spaces to `width`, words never split (not even at hyphens)."""
    lines = textwrap.wrap(text, max(width, 1), initial_indent=first, subsequent_indent=" " * indent,
                          break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines) if lines else first.rstrip()


def pack(items: list[str], width: int, indent: int) -> str:
    """Items two spaces apart, a new line (indented) only between items: an item stays whole."""
    lines = [""]
    for item in items:
        gap = "  " if lines[-1].strip() else ""
        if lines[-1].strip() and len(lines[-1]) + len(gap) + len(item) > width:
            lines.append(" " * indent)
            gap = ""
        lines[-1] += gap + item
    return "\n".join(lines)


def plain(columns: list[Column], rows: list[list[str]]) -> str:
    """Columns padded with two spaces, the names and values first and the prose columns after
    them (each group in its given order), a dashed rule under the headers; a cell's further
    lines continue under it, the other columns blank."""
    order = [i for i, c in enumerate(columns) if not c.prose] + [i for i, c in enumerate(columns) if c.prose]
    columns, rows = [columns[i] for i in order], [[row[i] for i in order] for row in rows]
    lines = [[c.header for c in columns]]
    for row in rows:
        parts = [cell.split("\n") for cell in row]
        lines += [[p[i] if i < len(p) else "" for p in parts] for i in range(max(map(len, parts)))]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    rule = ["-" * w for w in widths]

    def text(line: list[str]) -> str:
        cells = [v.rjust(w) if c.right else v.ljust(w) for c, v, w in zip(columns, line, widths, strict=True)]
        return "  ".join(cells).rstrip() + "\n"

    return text(lines[0]) + text(rule) + "".join(text(line) for line in lines[1:])


def blocks(columns: list[Column], rows: list[list[str]], width: int) -> str:
    """One block per row: its names (and values, as `header value`) on one line, then its prose
    indented and wrapped at word boundaries."""
    out = []
    for row in rows:
        names = [cell if not c.right else f"{c.header} {cell}" for c, cell in zip(columns, row, strict=True)
                 if not c.prose and cell]
        out.append(pack(names, width, INDENT))
        for c, cell in zip(columns, row, strict=True):
            if c.prose:
                out += [wrap(line.strip(), width, INDENT, " " * INDENT) for line in cell.splitlines()
                        if line.strip()]
    return "\n".join(out) + "\n"


def _longest(column: Column, rows: list[list[str]], i: int) -> int:
    return max([len(column.header), *(len(line) for row in rows for line in row[i].split("\n"))])


def _rich_table(columns: list[Column], rows: list[list[str]], widths: list[int]) -> Table:
    table = Table()
    for c, width in zip(columns, widths, strict=True):
        if c.prose:
            table.add_column(c.header, overflow="fold", min_width=width, ratio=1)
        else:
            table.add_column(c.header, no_wrap=True, min_width=width, justify="right" if c.right else "left")
    for row in rows:  # Text, not markup: "[n=2]" and "[dim]" stay as written
        table.add_row(*map(Text, row))
    return table


def _console(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)


def _render(renderable, width: int) -> str:
    console = _console(width)
    console.print(renderable, highlight=False)
    return console.file.getvalue()
