"""The HTML report: one self-contained page per results folder (what `genbench report` writes).

The page is the Jinja2 template templates/report.html.j2 filled with html_data's numbers and
html_plots' figures, all read from the results model; every picture and style is inline, so it
opens offline and a copied results folder renders the same file. Other sections (by default the
statistical comparison and the budget curves of the `comparison` reporter) join through `sections`:
callables (results of one suite, suite name) -> [Section], each drawn after the suite's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from genbench import DataError, ReporterSpec, __version__, hookimpl
from genbench.plugins.reporters.compare import report_sections
from genbench.plugins.reporters.html_data import collect
from genbench.plugins.reporters.html_plots import curves_uri, panel_uris, picture_uri, throughput_uri
from genbench.results.model import Results


@dataclass(frozen=True)
class Section:
    """An extra part of a suite's report: a heading and a trusted HTML fragment."""

    title: str
    html: str


SectionMaker = Callable[[Results, str], list[Section]]


def comparison_sections(results: Results, suite: str) -> list[Section]:
    """`genbench compare`'s outcomes, paired comparisons and best-of-k tables for every metric."""
    return [Section(title, html) for title, html in report_sections(results)]


EXTRA_SECTIONS: tuple[SectionMaker, ...] = (comparison_sections,)


def number(value: float | None) -> str:
    """A number as the tables show it: 4 significant digits, '-' for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.4g}"


def render_report(results: Results, suite: str | None = None, sections: Sequence[SectionMaker] = EXTRA_SECTIONS) -> str:
    """The HTML report of one suite of `results`, or of every suite they hold."""
    names = [suite] if suite is not None else sorted(results.suites)
    if not names:
        raise DataError(f"{results.directory} holds no suite yet; fix: run one with `genbench run SUITE --out "
                        f"{results.directory}` first.")
    views = []
    for name in names:
        data = collect(results.of_suite(name), name)
        datasets = []
        for block in data.datasets:  # a dataset's table, figures and pictures (rows: eval steps; columns: groups)
            pictures = {(g.label, step): picture_uri(results.directory, path) for g in block.groups
                        for step, path in g.pictures}
            datasets.append({"block": block, "panels": panel_uris(block),
                             "curves": curves_uri(block, block.columns, f"{block.name}: every metric and statistic"),
                             "picture_groups": [g for g in block.groups if g.pictures],
                             "picture_steps": sorted({step for g in block.groups for step, _ in g.pictures}),
                             "pictures": pictures})
        extra = [section for make in sections for section in make(results.of_suite(name), name)]
        views.append({"data": data, "datasets": datasets, "throughput_chart": throughput_uri(data.throughput),
                      "sections": [(s.title, Markup(s.html)) for s in extra]})
    env = jinja2.Environment(loader=jinja2.PackageLoader("genbench.plugins.reporters", "templates"),
                             autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = number
    return env.get_template("report.html.j2").render(title=", ".join(names), suites=views, version=__version__)


def html_report(view) -> str:
    return render_report(view.results, view.suite)


@hookimpl
def register_reporters(register):
    register(ReporterSpec("html", "a self-contained HTML page: tables with confidence intervals and outcome "
                          "counts, curves, samples, throughput, provenance", html_report, suffix=".html",
                          page=True))
