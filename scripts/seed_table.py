"""The tables of docs/reproductions.md: each group's metric values over its seeds, as mean,
standard error (the PacGAN tables' +-) and a 95% Student-t confidence interval.

    python scripts/seed_table.py RESULTS_DIR [--metrics modes hq_pct reverse_kl] [--by-step]
                                 [--plot curves.png]

Reads the results model (`genbench.results.load`: every eval value of every finished cell) and
prints one Markdown row per group (dataset / model / objective) at every finished cell's last
eval step, or, with --by-step, one row per group and eval step (a training curve with its
intervals over seeds). --plot draws those curves with matplotlib: one panel per metric, each
group's mean at every eval step with its 95% t-interval as error bars.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

import numpy as np
import scipy.stats

from genbench.results import load

Key = tuple[str, str, int]  # (group, metric, step)


def read_rows(out_dir: str) -> list[dict]:
    """Every eval value of every finished (done or diverged) cell."""
    frame = load(out_dir)
    frame = frame[(frame["source"] == "eval") & frame["status"].isin(["done", "diverged"])]
    return frame.to_dict("records")


def values_by_step(rows: list[dict]) -> dict[Key, dict[int, float]]:
    """(group, metric, step) -> {seed: value}; a missing value reads as NaN."""
    table: dict[Key, dict[int, float]] = defaultdict(dict)
    for row in rows:
        group = " / ".join(str(row[axis]) for axis in ("dataset", "model", "objective"))
        value = row["value"]
        table[group, row["name"], int(row["step"])][int(row["seed"])] = math.nan if value is None else float(value)
    return dict(table)


def final_values(table: dict[Key, dict[int, float]]) -> dict[tuple[str, str], dict[int, float]]:
    """(group, metric) -> {seed: value at that seed's last eval step}."""
    last: dict[tuple[str, str], dict[int, tuple[int, float]]] = defaultdict(dict)
    for (group, metric, step), seeds in table.items():
        for seed, value in seeds.items():
            seen = last[group, metric].get(seed)
            if seen is None or step > seen[0]:
                last[group, metric][seed] = (step, value)
    return {key: {seed: v for seed, (_, v) in seeds.items()} for key, seeds in last.items()}


def finite(values) -> np.ndarray:
    """The finite values (a NaN seed is counted by `summary`, never averaged)."""
    return np.array([v for v in values if math.isfinite(v)])


def interval(x: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, standard error, low, high): the 95% Student-t interval of the mean of x (a point for
    one value or for equal values)."""
    se = x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else 0.0
    if se == 0:
        return x.mean(), 0.0, x.mean(), x.mean()
    low, high = scipy.stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=se)
    return x.mean(), se, low, high


def summary(values: list[float]) -> str:
    """'mean +- standard error [95% t-interval] (n)' over the finite values, with the count of
    the others (NaN: e.g. `modes`' reverse KL of a generator with no high-quality sample)."""
    x = finite(values)
    dropped = f", {len(values) - len(x)} NaN" if len(x) < len(values) else ""
    if len(x) == 0:
        return f"n/a (n=0{dropped})"
    if len(x) == 1:
        return f"{x[0]:.3g} (n=1{dropped})"
    mean, se, low, high = interval(x)
    return f"{mean:.3g} +- {se:.2g} [{low:.3g}, {high:.3g}] (n={len(x)}{dropped})"


def plot_curves(table: dict[Key, dict[int, float]], metrics: list[str], path: str) -> None:
    """One panel per metric: each group's mean over seeds (finite values) at every eval step,
    95% t-interval bars; groups offset a little along the steps so that no bar hides another."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({group for group, _, _ in table})
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, group in enumerate(groups):
            points = []  # (step, mean, standard error, low, high)
            for step in sorted({s for g, m, s in table if g == group and m == metric}):
                x = finite(table[group, metric, step].values())
                if len(x):
                    points.append((step, *interval(x)))
            if not points:
                continue
            steps, mean, _, low, high = (np.array(column, dtype=float) for column in zip(*points, strict=True))
            shift = (i - (len(groups) - 1) / 2) * 0.01 * (steps.max() - steps.min() or 1)
            ax.errorbar(steps + shift, mean, yerr=[mean - low, high - mean], marker="os^Dv"[i % 5], capsize=3,
                        label=group)
        ax.set_xlabel("step")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle("mean and 95% t-interval over seeds", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--metrics", nargs="+", default=None, help="metric value names (default: all)")
    parser.add_argument("--by-step", action="store_true", help="a row per group and eval step")
    parser.add_argument("--plot", help="also draw the curves along the eval steps to this PNG")
    args = parser.parse_args()
    table = values_by_step(read_rows(args.out_dir))
    metrics = args.metrics or sorted({metric for _, metric, _ in table})
    if args.plot:
        plot_curves(table, metrics, args.plot)
    groups = sorted({group for group, _, _ in table})
    if args.by_step:
        print("| group | step | " + " | ".join(metrics) + " |")
        print("|---|---|" + "---|" * len(metrics))
        for group in groups:
            for step in sorted({s for g, _, s in table if g == group}):
                cells = [summary(list(table.get((group, m, step), {}).values())) for m in metrics]
                print(f"| {group} | {step} | " + " | ".join(cells) + " |")
        return
    final = final_values(table)
    print("| group | " + " | ".join(metrics) + " |")
    print("|---|" + "---|" * len(metrics))
    for group in groups:
        cells = [summary(list(final.get((group, m), {}).values())) for m in metrics]
        print(f"| {group} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
