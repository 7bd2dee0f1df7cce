"""The summary table: mean ± std over seeds per group, fitted to the terminal, as one plain wide
table (piped) or as Markdown (genbench.report.table); then which cells' throughput was measured on
an overloaded machine, which kernel ops ran where, which code versions computed the cells, and
where the latest sample pictures are. What `genbench show` prints."""

from __future__ import annotations

from genbench import Param, ReporterSpec, hookimpl
from genbench.results.summary import (
    OVERLOADED,
    ReportView,
    code_lines,
    kernel_op_lines,
    overload_lines,
    picture_lines,
    summarize,
)
from genbench.report.table import TABLE_FORMATS, render, summary_text


def table(view: ReportView, *, all: bool, pictures: bool, format: str) -> str:
    summaries = summarize(view.store, view.suite)
    text = render(summary_text(summaries, all), view.title, format, view.width)
    notes = ""
    starved = overload_lines(summaries)
    if starved:
        notes += (f"{OVERLOADED} throughput measured while the machine was overloaded (not representative; "
                  f"re-run on a quieter machine or with fewer --workers):\n")
        notes += "".join(f"  {line}\n" for line in starved)
    notes += "".join(f"kernel ops, {line}\n" for line in kernel_op_lines(view.store, view.suite))
    notes += "".join(f"code, {line}\n" for line in code_lines(view.store, view.suite))
    lines = picture_lines(view.store, view.suite) if pictures else []
    if lines:
        notes += "sample pictures (latest step; earlier steps in the same folder):\n"
        notes += "".join(f"  {line}\n" for line in lines)
    if format == "markdown" and notes:  # one paragraph per line, not one run-on paragraph
        notes = "\n" + "".join(f"{line}  \n" for line in notes.splitlines())  # Markdown line breaks
    return text + notes


@hookimpl
def register_reporters(register):
    register(ReporterSpec("table", "the summary table: mean ± std over seeds per group", table,
                          {"all": Param(False, "every training statistic and throughput column"),
                           "pictures": Param(True, "list the latest sample picture of each cell"),
                           "format": Param("terminal", "terminal (fitted to the width), plain (one wide "
                                           "table) or markdown", choices=TABLE_FORMATS)},
                          terminal=True))
