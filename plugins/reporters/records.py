"""CSV and JSON exports: one record per group and metric (mean, std, n over seeds), or with
raw = true every stored metric row of every cell with its provenance."""

from __future__ import annotations

from genbench import Param, ReporterSpec, hookimpl
from genbench.results.summary import ReportView, raw_records, summarize, summary_records, to_csv, to_json

RAW = {"raw": Param(False, "every metric row of every cell with its provenance, not the summary")}


def records(view: ReportView, raw: bool) -> list[dict]:
    return raw_records(view.store, view.suite) if raw else summary_records(summarize(view.store, view.suite))


def csv_report(view: ReportView, *, raw: bool) -> str:
    return to_csv(records(view, raw))


def json_report(view: ReportView, *, raw: bool) -> str:
    return to_json(records(view, raw))


@hookimpl
def register_reporters(register):
    register(ReporterSpec("csv", "comma-separated records (long format)", csv_report, RAW, suffix=".csv",
                          default=True))
    register(ReporterSpec("json", "a JSON list of records (long format)", json_report, RAW, suffix=".json"))
