"""`genbench compare`: the paired comparisons of groups over seeds, each group's outcomes (cells
run, finite, failed or diverged, NaN), the verdicts, and the best score within k trials of a
[search] (genbench.results.compare), as terminal tables and as the HTML report's sections. It
reads the results model alone."""

from __future__ import annotations

import html

from genbench import ConfigError, Param, ReporterSpec, hookimpl
from genbench.api.layout import Column, Layout
from genbench.results.compare import (
    ALPHA,
    BudgetCurve,
    Comparison,
    GroupOutcomes,
    budget_curves,
    budget_ks,
    comparisons,
    default_baseline,
    directed_metrics,
    group_outcomes,
)
from genbench.results.model import Results

LEFT = ("context", "candidate", "baseline", "group", "best trial")  # text columns; numbers go right


def compare(view, *, metric: str, baseline: str, axes: tuple, alpha: float) -> str:
    """The comparison of `metric` (every eval metric with a direction when empty) over `axes`."""
    results = view.results
    metrics = [metric] if metric else directed_metrics(results)
    if not metrics:
        raise ConfigError(f"{results.directory} holds no eval metric whose direction is recorded; fix: name the "
                          "metric to compare (`genbench compare DIR --metric NAME`)")
    layout = Layout(view.width, view.piped)
    return "\n".join(terminal_text(layout, comparisons(results, name, baseline or None, axes=axes, alpha=alpha),
                                   group_outcomes(results, name, axes=axes), budget_curves(results, name, axes=axes))
                     for name in metrics)


def terminal_text(layout: Layout, found: list[Comparison], outcomes: list[GroupOutcomes],
                  curves: list[BudgetCurve]) -> str:
    """The groups' outcomes, the comparisons (a table, then one verdict per sentence) and the
    budget curves, laid out by genbench.api.layout."""
    parts = []
    if found:
        first = found[0]
        direction = "higher" if first.higher_is_better else "lower"
        parts.append(_table(layout, f"{first.label} ({direction} is better): cells per group, by how they ended",
                            [o.row() for o in outcomes]))
        rows = [{k: v for k, v in c.row().items() if k != "verdict"} for c in found]
        correction = f"Holm over {first.m} comparisons" if first.m > 1 else "one comparison, so Holm changes no p"
        parts.append(_table(layout, f"{first.label} ({direction} is better): paired over shared seeds, candidate - "
                            f"baseline (NaN, failed and diverged rank worst), {correction}", rows)
                     + "".join(layout.sentence(c.verdict()) for c in found))
    if curves:
        first = curves[0]
        parts.append(_table(layout, f"best {first.label} within a budget of k trials: mean [95% interval] over draws "
                            "of k of the group's trials (Lucic et al. 2018)",
                            [c.row(budget_ks(curves)) for c in curves]))
    return "\n".join(parts)


def _table(layout: Layout, title: str, rows: list[dict[str, str]]) -> str:
    """Text columns are names (never split), the others numbers."""
    columns = [Column(name, right=name not in LEFT) for name in rows[0]]
    return layout.table(columns, [list(row.values()) for row in rows], title)


def report_sections(results: Results, baseline: str | None = None) -> list[tuple[str, str]]:
    """(title, HTML) of the outcomes, comparisons against `baseline` (default: compare's
    default_baseline) and budget curves of every metric that scores the generators, for the
    HTML report."""
    chosen = baseline or default_baseline(results)
    sections = []
    for metric in directed_metrics(results):
        try:
            found, against = comparisons(results, metric, chosen), chosen
        except ConfigError:  # the default baseline did not score this metric: every pair
            if baseline:
                raise
            found, against = comparisons(results, metric), None
        if found:
            verdicts = "".join(f"<li>{html.escape(c.verdict())}</li>" for c in found)
            against = f"against {against}" if against else "every pair"
            sections.append((f"Is it really better? {found[0].label}, {against}, paired over seeds",
                             html_table([o.row() for o in group_outcomes(results, metric)])
                             + html_table([{k: v for k, v in c.row().items() if k != "verdict"} for c in found])
                             + f"<ul>{verdicts}</ul>"))
        curves = budget_curves(results, metric)
        if curves:
            sections.append((f"Best {curves[0].label} within a budget of k trials",
                             html_table([c.row(budget_ks(curves)) for c in curves])))
    return sections


def html_table(rows: list[dict[str, str]]) -> str:
    """Rows (as Comparison.row / BudgetCurve.row give them) as an HTML <table>, text escaped."""
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>" for row in rows)
    return f'<table class="genbench-compare"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


@hookimpl
def register_reporters(register):
    register(ReporterSpec(
        "comparison", "paired comparisons of groups over seeds (failures rank worst), with each group's outcomes "
        "and the best score within k trials of a [search]", compare,
        {"metric": Param("", "the value to compare (default: every eval metric with a direction)"),
         "baseline": Param("", "compare every other group with this one (default: every pair)"),
         "axes": Param(("objective",), "the axes groups differ in; the other axes' labels must match"),
         "alpha": Param(ALPHA, "significance level, after Holm's correction", min=0.0, max=1.0)},
        compares=True))
