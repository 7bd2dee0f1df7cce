"""Is group A really better than group B? Paired comparisons over seeds, and equal-budget curves.

Groups and pairs. A group is a set of cells with one label per axis, over seeds. Comparisons
vary the `axes` (default: the objective): groups are compared when they share the labels of
every other axis (the context: dataset, model, optimizer, kernel), so "hinge vs nonsaturating on
digits" pairs cells that differ only in the objective. With a baseline, each other group of a
context is compared with the baseline group of that context; without one, every pair is. Trial
cells of a [search] are left out of the pairs: the budget curves below are their comparison.

Statistics (scipy.stats, on the seeds both groups finished with a finite value, paired by seed;
a cell's value is the one at its last recorded step, as `show` reports it):
- the mean difference candidate - baseline with a 95% percentile bootstrap interval
  (stats.bootstrap, paired=True);
- a two-sided paired permutation test (stats.permutation_test, permutation_type="samples":
  exact over the 2**n sign flips while 2**n <= 9999), Holm-corrected across every comparison
  of the call (scipy has no Holm step-down, only false_discovery_control's BH/BY: it is the few
  lines of `holm` below);
- the effect size d_z = mean difference / sd of the differences (paired Cohen's d);
- a verdict, or, when not distinguishable, the seeds a paired t-test needs for power 0.8 at the
  observed d_z and the Bonferroni level alpha/m (Holm's first step), computed from the
  noncentral t distribution (stats.nct), and never fewer than the permutation test needs to
  reach that level at all (2 / 2**n <= alpha/m). The observed d_z of a few seeds is itself
  noisy (and tends to overstate the effect), so the estimate is a guide, not a promise.

Budget curves (Lucic et al. 2018, "Are GANs Created Equal?"): for each group of a [search], the
distribution of the best score among k trials drawn with replacement from its N trials, k = 1..N
(a trial's score: its mean over seeds). This bootstrap distribution is computed exactly (the
order statistics of the empirical distribution), so it needs no resampling and no seed.
"""

from __future__ import annotations

import html
import json
import math
import statistics
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path

import numpy as np
from rich.table import Table

from genbench.api.axes import AXIS_NAMES
from genbench.api.errors import ConfigError
from genbench.api.registry import Registry
from genbench.suite.search import TRIAL_AXIS
from genbench.results.store import Store

ALPHA = 0.05
POWER = 0.8
CONFIDENCE = 0.95
N_RESAMPLES = 9999
MAX_SEEDS = 10_000  # the seeds-needed search stops here ("more than ...")


@dataclass(frozen=True)
class Comparison:
    """A candidate group against a baseline group, paired over their shared seeds."""

    metric: str  # the stored value's name, e.g. "fid"
    label: str  # its display label, e.g. "FID"
    higher_is_better: bool
    context: str  # the labels the two groups share that tell contexts apart, e.g. "digits"
    candidate: str  # the compared axes' labels, e.g. "hinge"
    baseline: str
    seeds: tuple[int, ...]
    candidate_values: tuple[float, ...]
    baseline_values: tuple[float, ...]
    diff: float  # mean of candidate - baseline
    ci: tuple[float, float]
    p: float  # permutation test, uncorrected
    effect: float  # d_z
    p_holm: float = math.nan
    m: int = 1  # comparisons corrected together
    alpha: float = ALPHA

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def significant(self) -> bool:
        return self.p_holm < self.alpha

    @property
    def seeds_needed(self) -> int | None:
        """Seeds for power POWER at the observed effect (None: no effect seen, or > MAX_SEEDS)."""
        return seeds_needed(self.effect, self.alpha / self.m)

    def verdict(self) -> str:
        where = f"on {self.context} {self.label}" if self.context else self.label
        if self.n < 2:
            return (f"{self.candidate} vs {self.baseline} {where}: cannot compare, n = {self.n} shared "
                    f"seed{'s' if self.n != 1 else ''}; run both on at least 2 seeds (more to conclude)")
        numbers = f"{_num(self.diff)} [{_num(self.ci[0])}, {_num(self.ci[1])}], p = {_p(self.p_holm)}, n = {self.n}"
        if self.significant:
            better = (self.diff > 0) == self.higher_is_better
            winner, loser = (self.candidate, self.baseline) if better else (self.baseline, self.candidate)
            return f"{winner} beats {loser} {where}: {numbers}"
        text = f"{self.candidate} vs {self.baseline} {where}: not distinguishable at n = {self.n} ({numbers})"
        needed = self.seeds_needed
        level = f"alpha = {self.alpha:g}" + (f"/{self.m}" if self.m > 1 else "")
        if needed is None:
            return text + ("; no difference seen" if self.diff == 0 or math.isnan(self.effect) else
                           f"; more than {MAX_SEEDS:,} seeds would be needed at d = {_num(self.effect)}")
        floor = 2 / 2**self.n
        if floor * self.m >= self.alpha:
            holm_floor = f", {_p(min(1.0, floor * self.m))} after Holm over {self.m}" if self.m > 1 else ""
            text += f" (at n = {self.n} a paired permutation test cannot go below p = {_p(floor)}{holm_floor})"
        return (text + f"; about {needed} seeds would be needed (paired t-test power {POWER:g} at the observed "
                f"d = {_num(self.effect)}, {level})")

    def row(self) -> dict[str, str]:
        """The comparison as table cells (terminal and HTML)."""
        arrow = "↑" if self.higher_is_better else "↓"
        ci = f"[{_num(self.ci[0])}, {_num(self.ci[1])}]" if self.n >= 2 else "-"
        return {"context": self.context, "candidate": self.candidate, "baseline": self.baseline,
                "n": str(self.n), f"{self.label} {arrow} diff": _num(self.diff) if self.n else "-",
                "95% CI": ci, "p": _p(self.p), "p (Holm)": _p(self.p_holm), "d": _num(self.effect),
                "verdict": self.verdict()}


@dataclass(frozen=True)
class BudgetCurve:
    """The best score among k trials of one group's search, k = 1..N (bootstrap over trials)."""

    metric: str
    label: str
    higher_is_better: bool
    context: str
    group: str  # the compared axes' labels
    trials: tuple[str, ...]  # the trial labels with a score
    scores: tuple[float, ...]  # one per trial: its mean over seeds
    mean: tuple[float, ...]  # E[best of k], k = 1..N
    low: tuple[float, ...]  # the 2.5% quantile of the best of k
    high: tuple[float, ...]  # the 97.5% quantile
    settings: tuple[str, ...] = ()  # each trial's sampled values, e.g. "train.lr=0.0003, optimizer.beta1=0.42"

    @property
    def best(self) -> int:
        pick = max if self.higher_is_better else min
        return self.scores.index(pick(self.scores))

    @property
    def best_trial(self) -> str:
        return self.trials[self.best]

    def row(self, ks: list[int]) -> dict[str, str]:
        cells = {"context": self.context, "group": self.group, "trials": str(len(self.scores))}
        for k in ks:
            if k <= len(self.mean):
                cells[f"k={k}"] = f"{_num(self.mean[k - 1])} [{_num(self.low[k - 1])}, {_num(self.high[k - 1])}]"
            else:
                cells[f"k={k}"] = "-"
        cells["best trial"] = self.best_trial + (f" ({self.settings[self.best]})" if self.settings else "")
        return cells


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count in m)."""
    order = [i for i in sorted(range(len(pvalues)), key=lambda i: pvalues[i]) if not math.isnan(pvalues[i])]
    adjusted, running = [math.nan] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def seeds_needed(effect: float, alpha: float, power: float = POWER) -> int | None:
    """The smallest n at which a two-sided paired t-test detects effect size d_z = `effect` with
    this power at level alpha, and a paired permutation test can reach alpha (2 / 2**n <= alpha);
    None for no effect or more than MAX_SEEDS."""
    from scipy import stats  # here, not at import: scipy.stats costs seconds, and only comparing uses it

    if math.isnan(effect) or effect == 0:
        return None
    for n in range(2, MAX_SEEDS + 1):
        if 2 / 2**n > alpha:
            continue
        if math.isinf(effect):  # every seed differed by the same amount
            return n
        df, shift = n - 1, abs(effect) * math.sqrt(n)
        critical = stats.t.ppf(1 - alpha / 2, df)
        # (scipy gives NaN for a tail too far out to matter)
        tails = np.nan_to_num([stats.nct.sf(critical, df, shift), stats.nct.cdf(-critical, df, shift)])
        if tails.sum() >= power:
            return n
    return None


def paired(metric: str, label: str, higher_is_better: bool, context: str, candidate: str, baseline: str,
           a: dict[int, float], b: dict[int, float], alpha: float = ALPHA) -> Comparison:
    """Compare candidate values `a` with baseline values `b` (seed -> value) over their shared seeds."""
    from scipy import stats

    seeds = tuple(sorted(s for s in a.keys() & b.keys() if math.isfinite(a[s]) and math.isfinite(b[s])))
    x = np.array([a[s] for s in seeds], dtype=float)
    y = np.array([b[s] for s in seeds], dtype=float)
    diff = float(np.mean(x - y)) if seeds else math.nan
    ci, p, effect = (math.nan, math.nan), math.nan, math.nan
    if len(seeds) >= 2:
        spread = float(np.std(x - y, ddof=1))
        effect = diff / spread if spread > 0 else (math.copysign(math.inf, diff) if diff else math.nan)
        if spread > 0:
            boot = stats.bootstrap((x, y), _mean_difference, paired=True, vectorized=True, n_resamples=N_RESAMPLES,
                                   confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(0))
            ci = (float(boot.confidence_interval.low), float(boot.confidence_interval.high))
        else:  # every seed differs by the same amount: the bootstrap has nothing to resample
            ci = (diff, diff)
        test = stats.permutation_test((x, y), _mean_difference, permutation_type="samples", vectorized=True,
                                      n_resamples=N_RESAMPLES, alternative="two-sided", rng=np.random.default_rng(0))
        p = float(test.pvalue)
    return Comparison(metric, label, higher_is_better, context, candidate, baseline, seeds, tuple(x), tuple(y),
                      diff, ci, p, effect, p_holm=p, alpha=alpha)


def _mean_difference(x, y, axis=-1):
    return np.mean(x - y, axis=axis)


def best_of_k(scores: list[float], higher_is_better: bool, quantiles=(0.025, 0.975)):
    """(means, lows, highs): the mean and quantiles of the best of k draws with replacement from
    `scores`, for k = 1..N, exactly. With the scores sorted v_1 <= ... <= v_N, the best of k
    (the largest) has P(best <= v_i) = (i / N)**k; the smallest has 1 - ((N - i) / N)**k."""
    ordered = np.sort(np.asarray(scores, dtype=float))  # (N,)
    n = len(ordered)
    ranks = np.arange(1, n + 1)
    means, lows, highs = [], [], []
    for k in range(1, n + 1):
        cdf = (ranks / n) ** k if higher_is_better else 1 - ((n - ranks) / n) ** k  # (N,) P(best <= v_i)
        cdf[-1] = 1.0
        means.append(float(np.diff(cdf, prepend=0.0) @ ordered))
        low, high = (float(ordered[np.searchsorted(cdf, q)]) for q in quantiles)
        lows.append(low)
        highs.append(high)
    return means, lows, highs


def metric_direction(name: str, provenance: dict, registry: Registry | None = None) -> tuple[str, bool]:
    """(display label, higher_is_better) of a stored value: from the `outputs` it was stored with
    where the store has them, else from the registered metric that reports it."""
    stored = provenance.get("outputs", {}).get(name, {})
    if stored.get("higher_is_better") is not None:
        return stored.get("label") or name, bool(stored["higher_is_better"])
    output = name.split("@")[0]  # a repeatable metric's values are named <output>@<parameter>
    specs = []
    if registry is not None:
        specs = [registry.get("metric", provenance["metric"])] if provenance.get("metric") in \
            registry.tables["metric"] else [registry.get("metric", m) for m in registry.names("metric")]
    for spec in specs:
        if output in spec.outputs:
            return spec.outputs[output].label, spec.outputs[output].higher_is_better
    raise ConfigError(f"{name!r} is not a value any registered metric reports, so it has no better direction; "
                      "fix: compare an eval metric (`genbench show DIR` lists them)")


def _final_values(store: Store, suite: str | None, metric: str):
    """cell -> its value of `metric` at its last recorded step, and one provenance of it."""
    values, provenance = [], None
    for cell in store.cells(suite):
        if cell.status not in ("done", "diverged"):
            continue
        rows = [r for r in store.metrics(cell.cell_id) if r["name"] == metric]
        if rows:
            values.append((cell, rows[-1]["value"]))
            provenance = provenance or rows[-1]["provenance"]
    return values, provenance


def _read_final_values(store: Store | str | Path, suite: str | None, metric: str):
    """_final_values of an open store, or of a results folder opened (read-only) for the call."""
    if isinstance(store, Store):
        return _final_values(store, suite, metric)
    opened = Store(store, create=False)
    try:
        return _final_values(opened, suite, metric)
    finally:
        opened.close()


def _split(axes: dict[str, str], compared: tuple[str, ...]) -> tuple[tuple, str]:
    context = tuple((a, label) for a, label in axes.items() if a not in compared and a != TRIAL_AXIS)
    return context, "/".join(axes.get(a, "-") for a in compared)


def _context_names(contexts) -> dict[tuple, str]:
    """Each context's label: its dataset and whichever other labels differ between contexts."""
    varying = {axis for axis in AXIS_NAMES if len({dict(c).get(axis) for c in contexts}) > 1}
    return {c: "/".join(label for axis, label in c if axis == "dataset" or axis in varying) for c in contexts}


def comparisons(store: Store | str | Path, metric: str, baseline: str | None = None, suite: str | None = None,
                axes: tuple[str, ...] = ("objective",), alpha: float = ALPHA,
                registry: Registry | None = None) -> list[Comparison]:
    """Every paired comparison of `metric` in the store (see the module docstring), Holm-corrected
    together. ConfigError when the metric or the baseline is not there."""
    values, provenance = _read_final_values(store, suite, metric)
    if provenance is None:
        raise ConfigError(f"no finished cell has a value {metric!r}; fix: pass a metric the results hold "
                          "(`genbench show DIR` lists them)")
    label, higher = metric_direction(metric, provenance, registry)
    groups: dict[tuple, dict[str, dict[int, float]]] = {}
    for cell, value in values:
        if TRIAL_AXIS in cell.axes:
            continue
        context, name = _split(cell.axes, axes)
        groups.setdefault(context, {}).setdefault(name, {})[cell.seed] = value
    names = _context_names(list(groups))
    pairs = []
    for context, members in groups.items():
        if baseline is None:
            pairs += [(context, a, b) for a, b in combinations(members, 2)]
            continue
        base = [g for g in members if g == baseline or baseline in g.split("/")]
        if len(base) > 1:
            raise ConfigError(f"--baseline {baseline!r} matches {', '.join(base)} in {names[context]}; "
                              "fix: give the full label (the compared axes' labels joined by /)")
        pairs += [(context, g, base[0]) for g in members if base and g != base[0]]
    if baseline is not None and not pairs:
        known = sorted({g for members in groups.values() for g in members})
        raise ConfigError(f"--baseline {baseline!r} is no group of the compared axes ({', '.join(axes)}) with "
                          f"another to compare with; fix: use one of {', '.join(known) or 'none'}")
    results = [paired(metric, label, higher, names[c], a, b, groups[c][a], groups[c][b], alpha) for c, a, b in pairs]
    adjusted = holm([r.p for r in results])
    m = sum(not math.isnan(r.p) for r in results)
    return [replace(r, p_holm=p, m=max(m, 1)) for r, p in zip(results, adjusted, strict=True)]


def budget_curves(store: Store | str | Path, metric: str, suite: str | None = None,
                  axes: tuple[str, ...] = ("objective",), registry: Registry | None = None) -> list[BudgetCurve]:
    """One curve per group of a [search] (empty when the store holds no trials)."""
    values, provenance = _read_final_values(store, suite, metric)
    trials: dict[tuple, dict[str, dict[str, list[float]]]] = {}
    settings: dict[tuple, str] = {}  # (context, group, trial) -> its sampled values
    for cell, value in values:
        if TRIAL_AXIS in cell.axes and math.isfinite(value):
            context, name = _split(cell.axes, axes)
            trials.setdefault(context, {}).setdefault(name, {}).setdefault(cell.axes[TRIAL_AXIS], []).append(value)
            sampled = json.loads(cell.row["config"]).get("search", {})
            settings[context, name, cell.axes[TRIAL_AXIS]] = ", ".join(f"{k}={_num(v) if isinstance(v, float) else v}"
                                                                       for k, v in sampled.items())
    if not trials:
        return []
    label, higher = metric_direction(metric, provenance, registry)
    names = _context_names(list(trials))
    curves = []
    for context, members in trials.items():
        for group, by_trial in members.items():
            labels = tuple(sorted(by_trial))
            scores = tuple(statistics.fmean(by_trial[t]) for t in labels)
            mean, low, high = best_of_k(list(scores), higher)
            curves.append(BudgetCurve(metric, label, higher, names[context], group, labels, scores, tuple(mean),
                                      tuple(low), tuple(high), tuple(settings[context, group, t] for t in labels)))
    return curves


def budget_ks(curves: list[BudgetCurve]) -> list[int]:
    """The budgets a table shows: 1, 2, 4, ... and the largest N."""
    largest = max((len(c.scores) for c in curves), default=0)
    ks = [k for k in (2**i for i in range(20)) if k < largest]
    return ks + [largest] if largest else []


def report_sections(store: Store, suite: str) -> list[tuple[str, str]]:
    """(title, HTML) of the comparison and the budget curves of every metric of the suite whose
    direction the store records, for the HTML report (built from the store alone)."""
    metrics: dict[str, dict] = {}
    for cell in store.cells(suite):
        if cell.status in ("done", "diverged"):
            for row in store.metrics(cell.cell_id):
                if row["provenance"].get("outputs", {}).get(row["name"], {}).get("higher_is_better") is not None:
                    metrics.setdefault(row["name"], row["provenance"])
    sections = []
    for metric in metrics:
        found = comparisons(store, metric, suite=suite)
        if found:
            verdicts = "".join(f"<li>{html.escape(c.verdict())}</li>" for c in found)
            sections.append((f"Is it really better? {found[0].label}, paired over seeds",
                             html_table([{k: v for k, v in c.row().items() if k != "verdict"} for c in found])
                             + f"<ul>{verdicts}</ul>"))
        curves = budget_curves(store, metric, suite=suite)
        if curves:
            sections.append((f"Best {curves[0].label} within a budget of k trials",
                             html_table([c.row(budget_ks(curves)) for c in curves])))
    return sections


def html_table(rows: list[dict[str, str]]) -> str:
    """Rows (as Comparison.row / BudgetCurve.row give them) as an HTML <table>, text escaped."""
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>" for row in rows)
    return f'<table class="genbench-compare"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "-" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"  # no 1.08e+03


def _p(p: float) -> str:
    return "-" if math.isnan(p) else f"{p:.3g}" if p >= 0.001 else "<0.001"


def terminal_tables(found: list[Comparison], curves: list[BudgetCurve]) -> list:
    """The comparisons (a table, then one verdict per line) and the budget curves, for rich."""
    renderables: list = []
    if found:
        first = found[0]
        table = Table(title=f"{first.label} ({'higher' if first.higher_is_better else 'lower'} is better): "
                            f"paired over shared seeds, candidate - baseline, Holm over {first.m} comparisons",
                      title_justify="left")
        columns = [c for c in first.row() if c != "verdict"]
        for column in columns:
            table.add_column(column, justify="left" if column in ("context", "candidate", "baseline") else "right",
                             overflow="fold")
        for comparison in found:
            row = comparison.row()
            table.add_row(*(row[c] for c in columns))
        renderables += [table, *(c.verdict() for c in found)]
    if curves:
        ks = budget_ks(curves)
        first = curves[0]
        table = Table(title=f"best {first.label} within a budget of k trials: mean [95% interval] over draws of k "
                            "of the group's trials (Lucic et al. 2018)", title_justify="left")
        rows = [c.row(ks) for c in curves]
        for column in rows[0]:
            table.add_column(column, justify="left" if column in ("context", "group", "best trial") else "right")
        for row in rows:
            table.add_row(*row.values())
        renderables.append(table)
    return renderables
