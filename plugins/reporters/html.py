"""The HTML report: one self-contained page per results folder (what `genbench report` writes)."""

from __future__ import annotations

from genbench import ReporterSpec, hookimpl
from genbench.results.summary import ReportView
from genbench.report.html import render_report


def html_report(view: ReportView) -> str:
    return render_report(view.store, view.suite)


@hookimpl
def register_reporters(register):
    register(ReporterSpec("html", "a self-contained HTML page: tables with confidence intervals, curves, "
                          "samples, throughput, provenance", html_report, suffix=".html"))
