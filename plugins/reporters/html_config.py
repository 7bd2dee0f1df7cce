"""What the HTML report says each group ran with, read from the cells' stored configuration and
environment: the settings every group shares (one table) and the ones that tell groups apart (a
row per group), a line on what the suite ran, and numbers written for reading (4 significant
digits, no empty values).

A cell's configuration is the resolved one it was planned with (genbench.suite.plan's
`Cell.resolved`): each axis's component with its parameters, the metrics, the train settings
(optimizer settings such as lr among them) and the eval steps; the genbench and torch versions
come from its environment.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from genbench.results.model import Cell

ENVIRONMENT = ("genbench", "torch")  # the versions shown beside the settings
SKIPPED = ("seed", "eval_steps", "metrics", "search")  # shown apart (seeds, eval, metrics, trial)


def readable(value: Any) -> str:
    """A stored value for reading: floats to 4 significant digits, mappings as k=v, lists joined;
    '' for an empty value (None, '', [] or {})."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={readable(v)}" for k, v in sorted(value.items()) if readable(v))
    if isinstance(value, list | tuple):
        return ", ".join(text for text in map(readable, value) if text)
    return "" if value is None else str(value)


def component(entry: dict) -> str:
    """'dcgan (width=8, z_dim=16)' of a resolved component."""
    params = readable(entry.get("params") or {})
    return f"{entry['name']} ({params})" if params else str(entry["name"])


def settings_of(cell: Cell) -> dict[str, str]:
    """A cell's settings as (setting -> readable value), in the configuration's order."""
    config, rows = cell.config, {}
    for key, entry in config.items():
        if key in SKIPPED:
            continue
        if key == "train" and isinstance(entry, dict):
            rows.update({f"train.{k}": readable(v) for k, v in entry.items()})
        elif isinstance(entry, dict) and "name" in entry:
            rows[key] = component(entry)
        else:
            rows[key] = readable(entry)
    if config.get("metrics"):
        rows["metrics"] = "; ".join(component(m) for m in config["metrics"])
    steps = config.get("eval_steps") or []
    if steps:
        rows["eval steps"] = eval_steps(steps)
    if config.get("search"):
        rows["trial"] = readable(config["search"])
    for key in ENVIRONMENT:
        if cell.env.get(key):
            rows[key] = readable(cell.env[key])
    return {k: v for k, v in rows.items() if v}


def eval_steps(steps: list[int]) -> str:
    """'every 150 to 3000 (20)' for evenly spaced steps, else the steps listed."""
    gaps = {b - a for a, b in zip(steps, steps[1:], strict=False)}
    if len(steps) > 3 and len(gaps) == 1 and steps[0] == next(iter(gaps)):
        return f"every {steps[0]} to {steps[-1]} ({len(steps)})"
    return ", ".join(map(str, steps))


@dataclass
class ConfigTable:
    """The settings of a dataset's groups: `shared` (setting, value) rows the same for every
    group, and `differing` settings with each group's value."""

    shared: list[tuple[str, str]]
    differing: list[str]
    by_group: dict[str, dict[str, str]]  # group label -> setting -> value ('' where unset)


def config_table(groups: dict[str, list[Cell]]) -> ConfigTable:
    """The table of `groups` (label -> cells); a setting that differs between a group's own
    cells (a search trial's) shows each distinct value. A group that lacks a setting (its cells
    failed before recording their versions) neither shares it nor differs in it."""
    by_group: dict[str, dict[str, str]] = {}
    order: dict[str, None] = {}
    for label, cells in groups.items():
        values: dict[str, dict[str, None]] = {}
        for cell in cells:
            for key, value in settings_of(cell).items():
                order.setdefault(key)
                values.setdefault(key, {}).setdefault(value)
        by_group[label] = {key: " | ".join(found) for key, found in values.items()}
    shared, differing = [], []
    for key in order:
        seen = {settings[key] for settings in by_group.values() if settings.get(key)}
        if len(seen) == 1:  # groups without it (cells that failed before recording it) do not differ
            shared.append((key, seen.pop()))
        else:
            differing.append(key)
    return ConfigTable(shared, differing, {label: {k: s.get(k, "") for k in differing}
                                           for label, s in by_group.items()})


def what_ran(cells: list[Cell], settings: tuple[str, ...] | None) -> str:
    """One line on what the suite ran: cells, seeds, steps and batch size, and the `--set`
    overrides of its latest run (None: a store written before they were recorded)."""
    seeds = sorted({c.seed for c in cells})
    steps = sorted({c.config.get("train", {}).get("steps") for c in cells} - {None})
    batches = sorted({c.config.get("train", {}).get("batch_size") for c in cells} - {None})
    parts = [f"{len(cells)} cells", f"{len(seeds)} seed{'s' * (len(seeds) != 1)} ({readable(seeds)})"]
    if steps:
        parts.append(f"{readable(steps)} training steps")
    if batches:
        parts.append(f"batch size {readable(batches)}")
    line = "Ran " + ", ".join(parts)
    if settings is None:
        return line + "."
    return line + (f"; the latest run with --set {' --set '.join(settings)}." if settings else
                   "; the latest run without --set overrides.")


def raw_json(value: Any) -> str:
    """The stored value as indented JSON, keys sorted (for a <details> element)."""
    return json.dumps(value, indent=1, sort_keys=True, default=str)
