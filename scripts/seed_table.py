"""The tables of docs/reproductions.md: each group's final metric values over its seeds, as
mean, standard error (the PacGAN tables' +-) and a 95% Student-t confidence interval.

    python scripts/seed_table.py RESULTS_DIR [--metrics modes hq_pct reverse_kl]

Reads `genbench export RESULTS_DIR --raw --format json` (the last eval step of every finished
cell) and prints one Markdown row per group (dataset / model / objective).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections import defaultdict

import numpy as np
import scipy.stats


def final_values(out_dir: str) -> dict[tuple[str, str], dict[int, float]]:
    """(group, metric) -> {seed: value at the cell's last eval step}."""
    raw = subprocess.run([sys.executable, "-m", "genbench", "export", out_dir, "--raw", "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    last: dict[tuple[str, str], dict[int, tuple[int, float]]] = defaultdict(dict)
    for row in json.loads(raw):
        if row["status"] not in ("done", "diverged"):
            continue
        group = " / ".join(str(row[axis]) for axis in ("dataset", "model", "objective"))
        step, value = row["step"], row["value"]
        seen = last[(group, row["metric"])].get(row["seed"])
        if seen is None or step > seen[0]:
            last[(group, row["metric"])][row["seed"]] = (step, math.nan if value is None else value)
    return {key: {seed: v for seed, (_, v) in seeds.items()} for key, seeds in last.items()}


def summary(values: list[float]) -> str:
    """'mean +- standard error [95% t-interval] (n)' over the finite values."""
    x = np.array([v for v in values if math.isfinite(v)])
    if len(x) == 0:
        return "n/a"
    if len(x) == 1:
        return f"{x[0]:.3g} (n=1)"
    se = x.std(ddof=1) / math.sqrt(len(x))
    low, high = scipy.stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=se) if se > 0 else (x.mean(),) * 2
    return f"{x.mean():.3g} +- {se:.2g} [{low:.3g}, {high:.3g}] (n={len(x)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--metrics", nargs="+", default=None, help="metric value names (default: all)")
    args = parser.parse_args()
    table = final_values(args.out_dir)
    metrics = args.metrics or sorted({metric for _, metric in table})
    print("| group | " + " | ".join(metrics) + " |")
    print("|---|" + "---|" * len(metrics))
    for group in sorted({group for group, _ in table}):
        cells = [summary(list(table.get((group, m), {}).values())) for m in metrics]
        print(f"| {group} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
