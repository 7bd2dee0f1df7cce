"""`genbench report`: one self-contained HTML file from a results folder (the store alone).

The page is the Jinja2 template genbench/report/templates/report.html.j2 filled with report_data's
numbers and report_plots' figures; every picture and style is inline, so it opens offline and
a copied results folder renders the same file. Other sections (the statistical comparison, the
budget curves) join through `sections`: callables (store, suite) -> [Section], each drawn after
the suite's own sections.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from genbench import __version__
from genbench.results import compare
from genbench.api.errors import DataError
from genbench.report.data import DatasetBlock, SuiteData, collect, suite_names
from genbench.report.plots import curves_uri, panel_uris, picture_uri, throughput_uri
from genbench.results.store import Store

TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class Section:
    """An extra part of a suite's report: a heading and a trusted HTML fragment."""

    title: str
    html: str


SectionMaker = Callable[[Store, str], list[Section]]


def comparison_sections(store: Store, suite: str) -> list[Section]:
    """`genbench compare`'s paired comparisons and best-of-k budget tables for every metric."""
    return [Section(title, html) for title, html in compare.report_sections(store, suite)]


EXTRA_SECTIONS: tuple[SectionMaker, ...] = (comparison_sections,)


def number(value: float | None) -> str:
    """A number as the tables show it: 4 significant digits, '-' for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.4g}"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("genbench.report", "templates"),
                             autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = number
    return env


def dataset_view(store: Store, block: DatasetBlock) -> dict:
    """A dataset's table, figures and sample pictures (rows: eval steps; columns: groups)."""
    steps = sorted({step for g in block.groups for step, _ in g.pictures})
    pictures = {(g.label, step): picture_uri(store.directory, path) for g in block.groups for step, path in g.pictures}
    return {
        "block": block,
        "curves": curves_uri(block, [c for c in block.columns], f"{block.name}: every metric and statistic"),
        "panels": panel_uris(block),
        "picture_groups": [g for g in block.groups if g.pictures],
        "picture_steps": steps,
        "pictures": pictures,
    }


def suite_view(store: Store, data: SuiteData, sections: Sequence[SectionMaker]) -> dict:
    extra = [section for make in sections for section in make(store, data.name)]
    return {
        "data": data,
        "datasets": [dataset_view(store, block) for block in data.datasets],
        "throughput_chart": throughput_uri(data.throughput),
        "sections": [(s.title, Markup(s.html)) for s in extra],
    }


def render_report(store: Store, suite: str | None = None, sections: Sequence[SectionMaker] = EXTRA_SECTIONS) -> str:
    """The HTML report of one suite of `store`, or of every suite it holds."""
    names = suite_names(store, suite)
    if not names:
        raise DataError(f"{store.path} holds no suite yet; fix: run one with `genbench run SUITE --out "
                        f"{store.directory}` first.")
    suites = [suite_view(store, collect(store, name), sections) for name in names]
    return environment().get_template(TEMPLATE).render(
        title=", ".join(names), suites=suites, version=__version__)
