"""`genbench show DIR --cell ID`: one cell's resolved configuration, environment and status,
read from the store alone. ID is a cell id or a prefix of exactly one."""

from __future__ import annotations

import json
import time

from genbench.api.errors import GenbenchError
from genbench.results.store import Store, StoredCell

TIMINGS = ("steps", "wall_time_s", "train_time_s", "warmup_time_s", "train_cpu_s", "eval_time_s",
           "samples_per_s", "steps_per_s", "peak_rss_mb", "peak_cuda_mb")


def find_cell(store: Store, prefix: str, suite: str | None = None) -> StoredCell:
    """The one cell whose id starts with `prefix`; GenbenchError naming the candidates otherwise."""
    prefix = prefix.strip().lower()
    cells = store.cells(suite)
    matches = [c for c in cells if c.cell_id.startswith(prefix)] if prefix else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise GenbenchError(f"no cell {prefix!r} in {store.path} ({len(cells)} cells); fix: give a cell id or a "
                            f"prefix of one (`genbench run SUITE --dry-run` lists them with their paths)")
    shown = ", ".join(f"{c.cell_id} ({'/'.join(c.group)}/seed{c.seed})" for c in matches[:5])
    raise GenbenchError(f"{len(matches)} cells start with {prefix!r}: {shown}{', ...' if len(matches) > 5 else ''}; "
                        "fix: give more characters of the id")


def describe_cell(store: Store, cell: StoredCell) -> str:
    """The text `show --cell` prints: identity and status, the resolved configuration (JSON),
    the environment it ran in, timings, its error, and the metrics at its last step."""
    row = cell.row
    lines = [f"cell {cell.cell_id}: {'/'.join(cell.group)}/seed{cell.seed}",
             f"status: {_status(row)}"]
    suites = [r["suite"] for r in store.db.execute("SELECT suite FROM suite_cells WHERE cell_id=?",
                                                   (cell.cell_id,))]
    lines.append(f"suites: {', '.join(suites) or '-'}")
    for key in ("started_at", "finished_at"):
        if row.get(key) is not None:
            lines.append(f"{key.replace('_', ' ')}: {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(row[key]))}")
    lines += ["", "configuration (resolved):", _indent(json.dumps(json.loads(row["config"]), indent=2))]
    env = json.loads(row.get("env") or "{}")
    lines += ["", "environment:"]
    lines += [f"  {key}: {json.dumps(value) if isinstance(value, (dict, list)) else value}"
              for key, value in env.items()] or ["  (not recorded: the cell has not finished)"]
    if row.get("code"):
        lines += ["", "code versions:", _indent(json.dumps(json.loads(row["code"]), indent=2))]
    timings = [f"  {key}: {row[key]:.6g}" for key in TIMINGS if row.get(key) is not None]
    if timings:
        lines += ["", "timings:", *timings]
    if row.get("error"):
        lines += ["", "error:", _indent(row["error"].rstrip())]
    metrics = store.metrics(cell.cell_id)
    if metrics:
        last = max(m["step"] for m in metrics)
        lines += ["", f"metrics at step {last}:"]
        lines += [f"  {m['name']}: {m['value']:.6g}" for m in metrics if m["step"] == last]
    return "\n".join(lines) + "\n"


def _status(row: dict) -> str:
    if row["status"] == "running" and row.get("started_at") is None:
        return "not run yet"
    if row["status"] == "running":
        return "running (or interrupted: the next run of its suite re-runs it)"
    if row["status"] == "diverged" and row.get("diverged_step") is not None:
        return f"diverged at step {row['diverged_step']}"
    return row["status"]


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
