"""The HTML report: one self-contained page per results folder (what `genbench report` writes)."""

from __future__ import annotations

from genbench import ReporterSpec, hookimpl
from genbench.results.summary import ReportView


def html_report(view: ReportView) -> str:
    from genbench.report.html import render_report  # matplotlib and Jinja2 load when a page is written

    return render_report(view.store, view.suite)


@hookimpl
def register_reporters(register):
    register(ReporterSpec("html", "a self-contained HTML page: tables with confidence intervals, curves, "
                          "samples, throughput, provenance", html_report, suffix=".html"))
