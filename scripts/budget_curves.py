"""The equal-budget comparison of docs/reproductions.md (Lucic et al. 2018): per group of a
[search], the best score within k trials (mean and 95% interval over draws of k of its trials,
exact bootstrap) and, for every pair of groups, the probability that one's best of k beats the
other's, at k = 1 and at the full budget.

    python scripts/budget_curves.py RESULTS_DIR [--metric fid] [--plot docs/gan-budget.png]

Reads the results model through genbench.results.compare.budget_curves (the curves `genbench
compare` prints) and genbench.results.statistics.best_of_k_beats; with --plot, draws the curves
with matplotlib.
"""

from __future__ import annotations

import argparse
from itertools import combinations

from genbench.results import load
from genbench.results.compare import BudgetCurve, budget_curves
from genbench.results.statistics import best_of_k_beats


def curve_table(curves: list[BudgetCurve], ended: dict[str, str]) -> list[str]:
    """Markdown: one row per group, mean [95% interval] of the best within k trials."""
    n = max(len(c.scores) for c in curves)
    lines = ["| group | scored of finished trials | " + " | ".join(f"k={k}" for k in range(1, n + 1)) + " |",
             "|---|---|" + "---|" * n]
    for c in sorted(curves, key=lambda curve: curve.mean[-1], reverse=curves[0].higher_is_better):
        cells = [f"{m:.0f} [{lo:.0f}, {hi:.0f}]" for m, lo, hi in zip(c.mean, c.low, c.high, strict=True)]
        lines.append(f"| {c.group} | {ended.get(c.group, len(c.scores))} | " + " | ".join(cells) + " |")
    return lines


def pair_table(curves: list[BudgetCurve]) -> list[str]:
    """Markdown: for each pair, P(A's best of k beats B's) at k = 1 and at the full budget N,
    among the groups with a score for all N trials (a group with fewer is left out and named)."""
    n = max(len(c.scores) for c in curves)
    lines = [f"| A | B | P(A better), k=1 | P(A better), k={n} |", "|---|---|---|---|"]
    full = [c for c in curves if len(c.scores) == n]
    ordered = sorted(full, key=lambda c: c.mean[0], reverse=curves[0].higher_is_better)
    for a, b in combinations(ordered, 2):
        p1, pn = (best_of_k_beats(list(a.scores), list(b.scores), k, a.higher_is_better) for k in (1, n))
        lines.append(f"| {a.group} | {b.group} | {p1:.2f} | {pn:.2f} |")
    short = [f"{c.group} ({len(c.scores)})" for c in curves if len(c.scores) < n]
    return lines + ([f"\nLeft out, with fewer than {n} scored trials: {', '.join(short)}."] if short else [])


def trial_outcomes(out_dir: str, metric: str) -> dict[str, str]:
    """Per objective: "scored of finished" trial cells (a failed or NaN trial has no score)."""
    frame = load(out_dir)
    cells = frame.drop_duplicates("cell_id")
    scored = frame[(frame["name"] == metric) & (frame["status"] == "done") & frame["value"].notna()]
    finite = scored.drop_duplicates("cell_id").groupby("objective").size()
    return {g: f"{finite.get(g, 0)} of {n}" for g, n in cells.groupby("objective").size().items()}


def plot(curves: list[BudgetCurve], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, c in enumerate(sorted(curves, key=lambda curve: curve.group)):
        ks = [k + 0.06 * (i - len(curves) / 2) for k in range(1, len(c.mean) + 1)]  # side by side
        low = [m - lo for m, lo in zip(c.mean, c.low, strict=True)]
        high = [hi - m for m, hi in zip(c.mean, c.high, strict=True)]
        ax.errorbar(ks, c.mean, yerr=[low, high], marker="o", capsize=3, label=c.group)
    ax.set_xlabel("budget k (trials of sampled lr, beta1)")
    ax.set_ylabel(f"best {curves[0].label} within k trials ({'higher' if curves[0].higher_is_better else 'lower'} "
                  "is better)")
    ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("mean and 95% interval over draws of k trials", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--metric", default="fid")
    parser.add_argument("--plot", default=None, help="write the curves to this PNG")
    args = parser.parse_args()
    curves = budget_curves(args.out_dir, args.metric)
    if not curves:
        raise SystemExit(f"{args.out_dir} holds no [search] trials with a finite {args.metric}")
    print("\n".join(curve_table(curves, trial_outcomes(args.out_dir, args.metric))))
    print()
    print("\n".join(pair_table(curves)))
    if args.plot:
        plot(curves, args.plot)


if __name__ == "__main__":
    main()
