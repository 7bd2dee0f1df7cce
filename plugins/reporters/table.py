"""The terminal table: mean ± std over seeds per group, split to fit the width, which cells'
throughput was measured on an overloaded machine, which kernel ops ran where, which code
versions computed the cells, and where the latest sample pictures are. What `genbench show` prints."""

from __future__ import annotations

from genbench import Param, ReporterSpec, hookimpl
from genbench.report import (
    OVERLOADED,
    ReportView,
    code_lines,
    kernel_op_lines,
    overload_lines,
    picture_lines,
    render_text,
    summarize,
    terminal_tables,
)


def table(view: ReportView, *, all: bool, pictures: bool) -> str:
    summaries = summarize(view.store, view.suite)
    text = render_text(terminal_tables(summaries, view.title, view.width, all), view.width)
    starved = overload_lines(summaries)
    if starved:
        text += (f"{OVERLOADED} throughput measured while the machine was overloaded (not representative; "
                 f"re-run on a quieter machine or with fewer --workers):\n")
        text += "".join(f"  {line}\n" for line in starved)
    text += "".join(f"kernel ops, {line}\n" for line in kernel_op_lines(view.store, view.suite))
    text += "".join(f"code, {line}\n" for line in code_lines(view.store, view.suite))
    lines = picture_lines(view.store, view.suite) if pictures else []
    if lines:
        text += "sample pictures (latest step; earlier steps in the same folder):\n"
        text += "".join(f"  {line}\n" for line in lines)
    return text


@hookimpl
def register_reporters(register):
    register(ReporterSpec("table", "terminal tables: mean ± std over seeds per group", table,
                          {"all": Param(False, "every training statistic and throughput column"),
                           "pictures": Param(True, "list the latest sample picture of each cell")}))
