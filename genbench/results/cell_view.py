"""`genbench show DIR --cell ID`: one cell's resolved configuration, environment and status,
read from the results model. ID is a cell id or a prefix of exactly one."""

from __future__ import annotations

import json
import time

from genbench.api.errors import GenbenchError
from genbench.results.model import Cell, Results

TIMINGS = ("steps", "wall_time_s", "train_time_s", "warmup_time_s", "train_cpu_s", "eval_time_s",
           "samples_per_s", "steps_per_s", "peak_rss_mb", "peak_cuda_mb")


def find_cell(results: Results, prefix: str) -> Cell:
    """The one cell whose id starts with `prefix`; GenbenchError naming the candidates otherwise."""
    prefix = prefix.strip().lower()
    cells = results.cells
    matches = [c for c in cells if c.cell_id.startswith(prefix)] if prefix else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise GenbenchError(f"no cell {prefix!r} in {results.directory} ({len(cells)} cells); fix: give a cell id or a "
                            f"prefix of one (`genbench run SUITE --dry-run` lists them with their paths)")
    shown = ", ".join(f"{c.cell_id} ({c.path})" for c in matches[:5])
    raise GenbenchError(f"{len(matches)} cells start with {prefix!r}: {shown}{', ...' if len(matches) > 5 else ''}; "
                        "fix: give more characters of the id")


def describe_cell(results: Results, cell: Cell) -> str:
    """The text `show --cell` prints: identity and status, the resolved configuration (JSON),
    the environment it ran in, timings, its error, and the values at its last step."""
    lines = [f"cell {cell.cell_id}: {cell.path}", f"status: {_status(cell)}",
             f"suites: {', '.join(cell.suites) or '-'}"]
    for key in ("started_at", "finished_at"):
        if getattr(cell, key) is not None:
            moment = time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(getattr(cell, key)))
            lines.append(f"{key.replace('_', ' ')}: {moment}")
    lines += ["", "configuration (resolved):", _indent(json.dumps(cell.config, indent=2))]
    lines += ["", "environment:"]
    lines += [f"  {key}: {json.dumps(value) if isinstance(value, (dict, list)) else value}"
              for key, value in cell.env.items()] or ["  (not recorded: the cell has not finished)"]
    if cell.code:
        lines += ["", "code versions:", _indent(json.dumps(cell.code, indent=2))]
    timings = [f"  {key}: {cell.measures[key]:.6g}" for key in TIMINGS if cell.measures.get(key) is not None]
    if timings:
        lines += ["", "timings:", *timings]
    if cell.error:
        lines += ["", "error:", _indent(cell.error.rstrip())]
    metrics = [v for v in results.by_cell.get(cell.cell_id, ()) if v.source != "run"]
    if metrics:
        last = max(m.step for m in metrics)
        lines += ["", f"metrics at step {last}:"]
        lines += [f"  {m.name}: {m.value:.6g}" for m in metrics if m.step == last]
    return "\n".join(lines) + "\n"


def _status(cell: Cell) -> str:
    if cell.status == "running" and cell.started_at is None:
        return "not run yet"
    if cell.status == "running":
        return "running (or interrupted: the next run of its suite re-runs it)"
    if cell.status == "diverged" and cell.diverged_step is not None:
        return f"diverged at step {cell.diverged_step}"
    return cell.status


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
