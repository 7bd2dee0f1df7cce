"""CSV and JSON exports of the results model, in long format: one record per group and name
(mean, std and n over the finite values, with the cells run, NaN and failed or diverged), or with
raw = true every stored metric row of every cell with its provenance and code versions."""

from __future__ import annotations

import csv
import io
import json
import math

from genbench import Param, ReporterSpec, hookimpl
from genbench.results.model import Results
from genbench.results.summary import THROUGHPUT, GroupSummary, axis_names, summarize

RAW = {"raw": Param(False, "every metric row of every cell with its provenance, not the summary")}


def summary_records(summaries: list[GroupSummary]) -> list[dict]:
    """One record per group and name, a group whose cells all failed included (n = 0)."""
    axes = axis_names(summaries)
    names = dict.fromkeys(name for summary in summaries for name in summary.values)
    records = []
    for summary in summaries:
        for name in names:
            mean, std, n = summary.stats(name)
            outcomes = summary.outcomes(name)
            if outcomes.missing == outcomes.run:  # no cell of the group recorded it, none failed
                continue
            records.append({**{a: summary.axes.get(a) for a in axes}, "metric": name, "mean": mean, "std": std,
                            "n": n, "run": outcomes.run, "nan": outcomes.nan, "failed": outcomes.failed,
                            "cells": sum(summary.statuses.values()),
                            "overloaded": len(summary.overloaded) if name in THROUGHPUT else 0})
    return records


def raw_records(results: Results) -> list[dict]:
    """Every stored metric row of every cell, with its provenance and the code versions the
    cell ran (JSON; null for a cell stored before they were recorded)."""
    return [{"cell_id": v.cell.cell_id, **v.cell.axes, "seed": v.cell.seed, "status": v.cell.status, "step": v.step,
             "metric": v.name, "value": v.value, "provenance": json.dumps(v.provenance),
             "code": None if v.cell.code is None else json.dumps(v.cell.code, sort_keys=True)}
            for v in results.values if v.source != "run"]


def records(view, raw: bool) -> list[dict]:
    return raw_records(view.results) if raw else summary_records(summarize(view.results))


def to_json(rows: list[dict]) -> str:
    return json.dumps([{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                       for r in rows], indent=2) + "\n"


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def csv_report(view, *, raw: bool) -> str:
    return to_csv(records(view, raw))


def json_report(view, *, raw: bool) -> str:
    return to_json(records(view, raw))


@hookimpl
def register_reporters(register):
    register(ReporterSpec("csv", "comma-separated records (long format)", csv_report, RAW, suffix=".csv",
                          default=True))
    register(ReporterSpec("json", "a JSON list of records (long format)", json_report, RAW, suffix=".json"))
