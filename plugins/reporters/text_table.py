"""The summary table (genbench.results.summary) as text in three formats: `terminal` (rich
tables fitted to a width, split across tables when the columns do not fit), `plain` (one wide
table, columns padded with spaces, for a pipe or a file: never wrapped or split) and `markdown`.

A row's label holds only the axes whose labels differ between groups (the others are printed
once above the table), and a long generated label such as `toy2d(n_modes=25,sd=0.05)` shows as
`toy2d#1`, with the full label in a legend below. A value is mean±std over the finite values;
where fewer cells than the group ran have one, `[n=2]` says how many, with the NaNs among the
others (`[n=2, 1 NaN]`); the status column counts the cells done, diverged and failed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from genbench.results.statistics import Outcomes
from genbench.results.summary import THROUGHPUT, GroupSummary, axis_names, column_names

TABLE_FORMATS = ("terminal", "plain", "markdown")
SHORT = 16  # a generated label longer than this is shortened, with a legend entry
OVERLOADED = "!"  # marks a throughput value with a cell measured on an overloaded machine


@dataclass
class SummaryText:
    """What every format prints: header line, column headers, rows, legend."""

    common: list[str]  # "axis label" of the axes every group shares
    headers: list[str]  # label column, n, one per metric, status
    rows: list[list[str]]
    legend: list[str]  # "short = full label"


def summary_text(summaries: list[GroupSummary], all_columns: bool) -> SummaryText:
    axes = axis_names(summaries)
    varying = [a for a in axes if len({s.axes.get(a, "-") for s in summaries}) > 1] or axes
    short, legend = _short_labels({s.axes.get(a, "-") for s in summaries for a in axes})
    common = [f"{a} {short[summaries[0].axes.get(a, '-')]}" for a in axes if a not in varying] if summaries else []
    columns = column_names(summaries, all_columns)
    names = {name: info.get("label") or name for s in summaries for name, info in s.train_stats.items()}
    rows = []
    for summary in summaries:
        values = [format_stat(*summary.stats(name)[:2], summary.outcomes(name)) for name in columns]
        if summary.overloaded:
            values = [v + OVERLOADED if name in THROUGHPUT else v for name, v in zip(columns, values, strict=True)]
        status = ", ".join(f"{count} {status}" for status, count in sorted(summary.statuses.items()))
        label = " / ".join(short[summary.axes.get(a, "-")] for a in varying)
        rows.append([label, str(summary.run), *values, status])
    headers = [" / ".join(varying), "n", *(names.get(c, c) for c in columns), "status"]
    return SummaryText(common, headers, rows, legend)


def format_stat(mean: float, std: float, outcomes: Outcomes) -> str:
    """'mean±std' (one value: the value), with [n=k, j NaN] where fewer than the cells run have
    a finite value; '-' for none."""
    n, nan = outcomes.finite, f"{outcomes.nan} NaN" if outcomes.nan else ""
    if n == 0:
        return f"- [{nan}]" if nan else "-"
    text = f"{_fmt(mean)}±{_fmt(std)}" if n > 1 else _fmt(mean)
    return text if n >= outcomes.run else f"{text} [{', '.join(filter(None, (f'n={n}', nan)))}]"


def _fmt(x: float) -> str:
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"
    return f"{x:.2e}"


def render_text(renderables, width: int) -> str:
    """Rich renderables as plain text `width` columns wide."""
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    for renderable in renderables:
        console.print(renderable, highlight=False, soft_wrap=isinstance(renderable, str))
    return console.file.getvalue()


def _short_labels(labels: set[str]) -> tuple[dict[str, str], list[str]]:
    """label -> its short form, and the legend of the shortened ones."""
    short, legend, counts = {}, [], {}
    for label in sorted(labels):
        if len(label) > SHORT and "(" in label:
            name = label.split("(", 1)[0]
            counts[name] = counts.get(name, 0) + 1
            short[label] = f"{name}#{counts[name]}"
            legend.append(f"{short[label]} = {label}")
        else:
            short[label] = label
    return short, legend


def render(text: SummaryText, title: str, fmt: str, width: int) -> str:
    """The table in `fmt` (one of TABLE_FORMATS), titled, with the shared axes and the legend."""
    heading = f"{title}: mean±std over seeds, n = cells run"
    common = f"every group: {', '.join(text.common)}\n" if text.common else ""
    legend = "".join(f"{line}\n" for line in text.legend)
    if fmt == "markdown":
        return f"**{heading}**\n\n{common}\n{markdown(text)}" + (f"\n{legend}" if legend else "")
    if fmt == "plain":
        return f"{heading}\n{common}{plain(text)}{legend}"
    if fmt == "terminal":
        return render_text([heading, *([common.rstrip()] if common else []), *terminal(text, width)], width) + legend
    raise ValueError(f"unknown table format {fmt!r}; expected one of {', '.join(TABLE_FORMATS)}")


def plain(text: SummaryText) -> str:
    """One table, columns padded with spaces: label and status left-aligned, numbers right."""
    table = [text.headers, *text.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(text.headers))]
    last = len(widths) - 1

    def line(row: list[str]) -> str:
        cells = [v.ljust(w) if i in (0, last) else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip() + "\n"

    return line(text.headers) + line(["-" * w for w in widths]) + "".join(line(row) for row in text.rows)


def markdown(text: SummaryText) -> str:
    """A GitHub-flavoured Markdown table (| in a value escaped)."""

    def line(row: list[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in row) + " |\n"

    align = [":--", *(["--:"] * (len(text.headers) - 2)), ":--"]
    return line(text.headers) + line(align) + "".join(line(row) for row in text.rows)


def terminal(text: SummaryText, width: int) -> list[Table]:
    """Rich tables `width` columns wide: the metric columns split across tables as needed, each
    repeating the label and n; the status column in the first."""
    label_width = max([len(r[0]) for r in text.rows] + [len(text.headers[0]), 4])  # labels are never split
    metrics = list(range(2, len(text.headers) - 1))
    chunks, current, used = [], [], label_width + 16
    for i in metrics:
        cell_width = max(len(row[i]) for row in [text.headers, *text.rows]) + 3
        if current and used + cell_width > width:
            chunks.append(current)
            current, used = [], label_width + 16
        current.append(i)
        used += cell_width
    chunks.append(current)
    tables = []
    for index, chunk in enumerate(chunks):
        table = Table(title=f"({index + 1}/{len(chunks)})" if len(chunks) > 1 else None, title_justify="left")
        table.add_column(Text(text.headers[0]), no_wrap=True, min_width=label_width)
        table.add_column("n", justify="right")
        for i in chunk:
            table.add_column(Text(text.headers[i]), justify="right", no_wrap=True)
        if index == 0:
            table.add_column("status", no_wrap=True)
        for row in text.rows:  # Text, not markup: "1.13±1.34 [n=2]" keeps its [n=2]
            cells = [row[0], row[1], *(row[i] for i in chunk), *([row[-1]] if index == 0 else [])]
            table.add_row(*map(Text, cells))
        tables.append(table)
    return tables
