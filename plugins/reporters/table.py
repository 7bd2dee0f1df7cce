"""The summary table: mean ± std over seeds per group, with how many cells ran and how they
ended, fitted to the terminal, as one plain wide table (piped) or as Markdown (text_table); then
which cells' throughput was measured on an overloaded machine, which kernel ops ran where, which
code versions computed the cells, and where the latest sample pictures are. What `genbench show`
prints; it reads the results model alone."""

from __future__ import annotations

import os

from genbench import Param, ReporterSpec, hookimpl
from genbench.api.layout import Layout
from genbench.plugins.reporters.text_table import OVERLOADED, TABLE_FORMATS, render, summary_text
from genbench.results.model import Results
from genbench.results.summary import GroupSummary, summarize
from genbench.run import code_version


def table(view, *, all: bool, pictures: bool, format: str) -> str:
    """The summary table, then its notes: each a sentence wrapped at word boundaries; the
    overloaded cells and the pictures one line each (every cell with `all`)."""
    results = view.results
    summaries = summarize(results)
    text = render(summary_text(summaries, all), view.title, format, view.width)
    notes = []
    starved = overload_lines(summaries)
    if starved and all:
        notes.append(f"{OVERLOADED} throughput measured while the machine was overloaded (not representative; "
                     "re-run on a quieter machine or with fewer --workers):")
        notes += [f"  {line}" for line in starved]
    elif starved:
        notes.append(f"{OVERLOADED} throughput of {_cells(len(starved))} measured while the machine was overloaded "
                     f"(not representative); which and why: genbench show {results.directory} --all")
    notes += [f"kernel ops, {line}" for line in kernel_op_lines(results)]
    notes += [f"code, {line}" for line in code_lines(results)]
    lines = picture_lines(results) if pictures else []
    if lines and all:
        notes.append("sample pictures (latest step; earlier steps in the same folder):")
        notes += [f"  {line}" for line in lines]
    elif lines:
        folder = os.path.commonpath([line.rsplit(": ", 1)[1] for line in lines])
        notes.append(f"sample pictures of {_cells(len(lines))}: {folder} (each cell's latest: genbench show "
                     f"{results.directory} --all)")
    if format == "markdown":  # one paragraph per line, not one run-on paragraph
        return text + "".join(f"\n{line}  " for line in notes) + ("\n" if notes else "")
    layout = Layout(view.width, format == "plain")
    return text + "".join(layout.sentence(line, indent=4) for line in notes)


def _cells(n: int) -> str:
    return f"{n} cell" if n == 1 else f"{n} cells"


def overload_lines(summaries: list[GroupSummary]) -> list[str]:
    """'<axis labels>/seedN: why' of each cell whose throughput was measured starved of CPU."""
    return [f"{'/'.join(s.group)}/{line}" for s in summaries for line in s.overloaded]


def kernel_op_lines(results: Results) -> list[str]:
    """'<kernel label>: <backend> ran op, op; reference ran op' for each kernel backend label:
    which ops ran where (an op a backend lacks falls back to the reference)."""
    ran: dict[str, dict[str, set[str]]] = {}
    for cell in results.cells:
        where = ran.setdefault(cell.axes.get("kernel", "-"), {})
        for op, backend in cell.env.get("kernel_ops", {}).items():
            where.setdefault(backend, set()).add(op)
    return [f"{label}: " + "; ".join(f"{backend} ran {', '.join(sorted(ops))}"
                                     for backend, ops in sorted(where.items()))
            for label, where in sorted(ran.items()) if where]


def code_lines(results: Results) -> list[str]:
    """'<distribution>: <version> (n cells), ...' of the finished cells' recorded code versions,
    so mixed code in one table shows (genbench.run.code_version.summarize); then how many
    recorded none."""
    finished = [cell for cell in results.cells if cell.status in ("done", "diverged")]
    lines = [f"{name}: {text}" for name, text in code_version.summarize(c.code for c in finished if c.code is not None)]
    unrecorded = sum(cell.code is None for cell in finished)
    if unrecorded:
        lines.append(f"not recorded: {unrecorded} cells (stored by an older genbench)")
    return lines


def picture_lines(results: Results) -> list[str]:
    """'<axis labels>/seedN step S: path' of each cell's latest sample picture."""
    lines = []
    for cell in results.cells:
        pictures = [a for a in cell.artifacts if a.kind == "samples"]
        if pictures:
            lines.append(f"{cell.path} step {pictures[-1].step}: {results.directory / pictures[-1].path}")
    return lines


@hookimpl
def register_reporters(register):
    register(ReporterSpec("table", "the summary table: mean ± std over seeds per group, with the cells run, "
                          "failed and NaN", table,
                          {"all": Param(False, "every training statistic and throughput column, and every "
                                              "overloaded cell and picture (else a line each)"),
                           "pictures": Param(True, "list the latest sample picture of each cell"),
                           "format": Param("terminal", "terminal (fitted to the width), plain (one wide "
                                           "table) or markdown", choices=TABLE_FORMATS)},
                          terminal=True))
