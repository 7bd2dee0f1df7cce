"""The HTML report: one self-contained page per results folder (what `genbench report` writes).

The page is the Jinja2 template templates/report.html.j2 filled with html_data's numbers and
html_plots' figures, all read from the results model; every picture and style is inline, so it
opens offline and a copied results folder renders the same file. Other sections (by default the
statistical comparison against a baseline and the budget curves of the `comparison` reporter)
join through `sections`: callables (results of one suite, suite name, baseline=None) -> [Section],
each drawn after the suite's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from genbench import DataError, Param, ReporterSpec, __version__, hookimpl
from genbench.plugins.reporters.compare import report_sections
from genbench.plugins.reporters.html_data import collect
from genbench.plugins.reporters.html_plots import column_uris, legend_uri, panel_uris, picture_uri, throughput_uri
from genbench.results.model import Results


@dataclass(frozen=True)
class Section:
    """An extra part of a suite's report: a heading and a trusted HTML fragment."""

    title: str
    html: str


SectionMaker = Callable[..., list[Section]]  # (results of one suite, suite name, baseline=None)


def comparison_sections(results: Results, suite: str, baseline: str | None = None) -> list[Section]:
    """`genbench compare`'s outcomes, paired comparisons against `baseline` (default: compare's
    default) and best-of-k tables for every metric that scores the generators."""
    return [Section(title, html) for title, html in report_sections(results, baseline)]


PICTURE_STEPS = 6  # eval steps of sample pictures shown (evenly spread, the last among them)
EXTRA_SECTIONS: tuple[SectionMaker, ...] = (comparison_sections,)


def number(value: float | None) -> str:
    """A number as the tables show it: 4 significant digits, '-' for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.4g}"


def spread(items: list, most: int) -> list:
    """At most `most` of `items`, evenly spread, the first and the last among them."""
    if len(items) <= most:
        return items
    return [items[round(i * (len(items) - 1) / (most - 1))] for i in range(most)]


def render_report(results: Results, suite: str | None = None, sections: Sequence[SectionMaker] = EXTRA_SECTIONS,
                  baseline: str | None = None) -> str:
    """The HTML report of one suite of `results`, or of every suite they hold; `baseline`: the
    group the comparison sections compare the others with."""
    names = [suite] if suite is not None else sorted(results.suites)
    if not names:
        raise DataError(f"{results.directory} holds no suite yet; fix: run one with `genbench run SUITE --out "
                        f"{results.directory}` first.")
    views = []
    for name in names:
        data = collect(results.of_suite(name), name)
        datasets = []
        for block in data.datasets:  # a dataset's tables, figures and pictures (rows: eval steps; columns: groups)
            steps = sorted({s for g in block.groups for by_step in g.pictures.values() for s in by_step})
            shown = spread(steps, PICTURE_STEPS)
            pictures = {(g.label, seed, step): picture_uri(results.directory, path) for g in block.groups
                        for seed, by_step in g.pictures.items() for step, path in by_step.items() if step in shown}
            loose = [c for c in block.columns if not c.panel]  # metrics and statistics in no panel
            datasets.append({"block": block, "legend": legend_uri(block), "panels": panel_uris(block),
                             "curves": column_uris(block, loose),
                             "picture_groups": [g for g in block.groups if g.pictures],
                             "picture_steps": shown, "all_picture_steps": len(steps),
                             "pictures": pictures})
        extra = [section for make in sections for section in make(results.of_suite(name), name, baseline=baseline)]
        views.append({"data": data, "datasets": datasets, "throughput_chart": throughput_uri(data.throughput),
                      "sections": [(s.title, Markup(s.html)) for s in extra]})
    env = jinja2.Environment(loader=jinja2.PackageLoader("genbench.plugins.reporters", "templates"),
                             autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = number
    return env.get_template("report.html.j2").render(title=", ".join(names), suites=views, version=__version__)


def html_report(view, baseline: str = "") -> str:
    return render_report(view.results, view.suite, baseline=baseline or None)


@hookimpl
def register_reporters(register):
    register(ReporterSpec("html", "a self-contained HTML page: each group's settings, tables with confidence "
                          "intervals and outcome counts, curves, samples of every seed, throughput, provenance, "
                          "comparisons against a baseline", html_report,
                          {"baseline": Param("", "the group the others are compared with (default: the one "
                                             "`genbench compare` would choose)")},
                          suffix=".html", page=True))
