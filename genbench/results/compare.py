"""Is group A really better than group B? Paired comparisons over seeds, and equal-budget curves.

Groups and pairs. A group is a set of cells with one label per axis, over seeds. Comparisons
vary the `axes` (default: the objective): groups are compared when they share the labels of
every other axis (the context: dataset, model, optimizer, kernel), so "hinge vs nonsaturating on
digits" pairs cells that differ only in the objective. With a baseline, each other group of a
context is compared with the baseline group of that context; without one, every pair is. Trial
cells of a [search] are left out of the pairs: the budget curves below are their comparison.

Statistics (genbench.results.statistics, over the results model; a cell's value is the one at
its last recorded step, as `show` reports it). Each group's outcomes are counted: cells run,
with a finite value, failed or diverged, NaN. Seeds are paired when both groups ran them to an
end; a NaN, failed or diverged value is the worst value for the metric's direction, so it can
only count against its group (the paired signed-rank test with worst-rank scoring, exact over
sign flips; see statistics' docstring for the rule and its references), Holm-corrected across
every comparison of the call. Described beside it: the mean difference candidate - baseline with
its 95% paired bootstrap interval and the effect size d_z over the seeds finite in both groups;
when not distinguishable (and no seed failed), the seeds a paired t-test needs for power 0.8 at
the observed d_z and the Bonferroni level alpha/m (Holm's first step), never fewer than the
permutation test needs to reach that level at all (2 / 2**n <= alpha/m). A verdict that rests on
fewer seeds than were run, or counts failures as worst, says so.

Budget curves (Lucic et al. 2018, "Are GANs Created Equal?"): for each group of a [search], the
distribution of the best score among k trials drawn with replacement from its N trials, k = 1..N
(a trial's score: its mean over seeds with a finite value). This bootstrap distribution is
computed exactly (the order statistics of the empirical distribution): no resampling, no seed.
"""

from __future__ import annotations

import math
import statistics as pystats
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path

import numpy as np

from genbench.api.axes import AXIS_NAMES
from genbench.api.errors import ConfigError
from genbench.results.model import Results, read
from genbench.results.statistics import (
    MAX_SEEDS,
    POWER,
    Outcomes,
    best_of_k,
    holm,
    outcome,
    paired_difference,
    seeds_needed,
    signed_rank_test,
)
from genbench.suite.search import TRIAL_AXIS

ALPHA = 0.05
REFERENCE_SUFFIX = "_floor"  # a metric output so named is a reference (real vs real), not a score


@dataclass(frozen=True)
class Comparison:
    """A candidate group against a baseline group, paired over the seeds both ran."""

    metric: str  # the stored value's name, e.g. "fid"
    label: str  # its display label, e.g. "FID"
    higher_is_better: bool
    context: str  # the labels the two groups share that tell contexts apart, e.g. "digits"
    candidate: str  # the compared axes' labels, e.g. "hinge"
    baseline: str
    seeds: tuple[int, ...]  # paired: both groups ran them to an end
    candidate_values: tuple[float, ...]  # NaN: a NaN score, or a failed or diverged cell
    baseline_values: tuple[float, ...]
    diff: float  # mean of candidate - baseline over the seeds finite in both
    ci: tuple[float, float]
    p: float  # signed-rank test, failures ranked worst, uncorrected
    effect: float  # d_z over the seeds finite in both
    statistic: float = 0.0  # sum of signed ranks: positive favours the candidate
    p_holm: float = math.nan
    m: int = 1  # comparisons corrected together
    alpha: float = ALPHA
    outcomes: tuple[Outcomes, Outcomes] = (Outcomes(), Outcomes())  # candidate's, baseline's
    unpaired: tuple[tuple[str, int], ...] = ()  # (group, seed) run by one group only

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def finite(self) -> int:
        """The paired seeds finite in both groups (what the difference and interval describe)."""
        return sum(math.isfinite(a) and math.isfinite(b) for a, b in zip(self.candidate_values,
                                                                           self.baseline_values, strict=True))

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
        p_label = "Holm-adjusted p" if self.m > 1 else "p"
        over = "" if self.finite == self.n else f" over the {self.finite} seeds finite in both"
        numbers = (f"{_num(self.diff)} [{_num(self.ci[0])}, {_num(self.ci[1])}]{over}, "
                   f"{p_label} = {_p(self.p_holm)}, n = {self.n}")
        notes = self._notes()
        if self.significant:
            better = self.statistic > 0
            winner, loser = (self.candidate, self.baseline) if better else (self.baseline, self.candidate)
            return f"{winner} beats {loser} {where}: {numbers}{notes}"
        text = f"{self.candidate} vs {self.baseline} {where}: not distinguishable at n = {self.n} ({numbers})"
        flips = sum(1 for a, b in zip(self.candidate_values, self.baseline_values, strict=True)
                    if not (a == b or (math.isnan(a) and math.isnan(b))))  # pairs that are not ties
        floor = 2 / 2**flips if flips else 1.0
        if floor * self.m >= self.alpha:
            holm_floor = f", {_p(min(1.0, floor * self.m))} after Holm over {self.m}" if self.m > 1 else ""
            text += f" (at n = {self.n} a paired permutation test cannot go below p = {_p(floor)}{holm_floor})"
        if self.finite < self.n:  # the t-test's seed count knows nothing of failures
            return text + notes
        needed = self.seeds_needed
        level = f"alpha = {self.alpha:g}" + (f"/{self.m}" if self.m > 1 else "")
        if needed is None:
            return text + ("; no difference seen" if self.diff == 0 or math.isnan(self.effect) else
                           f"; more than {MAX_SEEDS:,} seeds would be needed at d = {_num(self.effect)}") + notes
        return (text + f"; about {needed} seeds would be needed (paired t-test power {POWER:g} at the observed "
                f"d = {_num(self.effect)}, {level}){notes}")

    def _notes(self) -> str:
        """What the verdict counts as worst, and the seeds it could not pair."""
        notes = []
        for group, values in ((self.candidate, self.candidate_values), (self.baseline, self.baseline_values)):
            bad = sum(math.isnan(v) for v in values)
            if bad:
                notes.append(f"{bad} of {group}'s {self.n} seeds NaN, failed or diverged, ranked worst")
        if self.unpaired:
            only = ", ".join(f"seed {seed} only in {group}" for group, seed in self.unpaired)
            notes.append(f"rests on {self.n} of the {self.n + len(self.unpaired)} seeds run ({only})")
        return "".join(f"; {note}" for note in notes)

    def row(self) -> dict[str, str]:
        """The comparison as table cells (terminal and HTML)."""
        arrow = "↑" if self.higher_is_better else "↓"
        ci = f"[{_num(self.ci[0])}, {_num(self.ci[1])}]" if self.n >= 2 else "-"
        return {"context": self.context, "candidate": self.candidate, "baseline": self.baseline,
                "n": str(self.n), f"{self.label} {arrow} diff": _num(self.diff) if self.n else "-",
                "95% CI": ci, "p": _p(self.p), "p (Holm)": _p(self.p_holm), "d": _num(self.effect),
                "verdict": self.verdict()}


@dataclass(frozen=True)
class GroupOutcomes:
    """One group of a comparison and how its cells ended for the compared metric."""

    context: str
    group: str
    outcomes: Outcomes

    def row(self) -> dict[str, str]:
        o = self.outcomes
        return {"context": self.context, "group": self.group, "run": str(o.run), "finite": str(o.finite),
                "failed or diverged": str(o.failed), "NaN": str(o.nan)}


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


def paired(metric: str, label: str, higher_is_better: bool, context: str, candidate: str, baseline: str,
           a: dict[int, float], b: dict[int, float], alpha: float = ALPHA,
           outcomes: tuple[Outcomes, Outcomes] | None = None) -> Comparison:
    """Compare candidate values `a` with baseline values `b` (seed -> final value; NaN for a
    NaN score or a failed or diverged cell) over the seeds both have."""
    seeds = tuple(sorted(a.keys() & b.keys()))
    only = [(candidate, s) for s in a.keys() - b.keys()] + [(baseline, s) for s in b.keys() - a.keys()]
    unpaired = tuple(sorted(only, key=lambda pair: (pair[1], pair[0])))
    x = np.array([a[s] for s in seeds], dtype=float)  # (n,)
    y = np.array([b[s] for s in seeds], dtype=float)
    both = np.isfinite(x) & np.isfinite(y)
    diff, ci, effect = paired_difference(x[both], y[both])
    statistic, p = signed_rank_test(x, y, higher_is_better) if len(seeds) >= 2 else (0.0, math.nan)
    if outcomes is None:
        outcomes = tuple(Outcomes.count("finite" if math.isfinite(v) else "nan" for v in side.values())
                         for side in (a, b))
    return Comparison(metric, label, higher_is_better, context, candidate, baseline, seeds, tuple(x), tuple(y),
                      diff, ci, p, effect, statistic, p_holm=p, alpha=alpha, outcomes=outcomes, unpaired=unpaired)


def _results(source: Results | str | Path, suite: str | None, registry) -> Results:
    return source if isinstance(source, Results) else read(source, suite, registry)


def _direction(results: Results, metric: str) -> tuple[str, bool]:
    """(display label, higher_is_better) of `metric`; ConfigError when no finished cell has it
    or no direction is known."""
    found = [v for v in results.values if v.name == metric and v.cell.status in ("done", "diverged")]
    if not found:
        raise ConfigError(f"no finished cell has a value {metric!r}; fix: pass a metric the results hold "
                          "(`genbench show DIR` lists them)")
    known = [v for v in found if v.higher_is_better is not None]
    if not known:
        raise ConfigError(f"{metric!r} is not a value any registered metric reports, so it has no better direction; "
                          "fix: compare an eval metric (`genbench show DIR` lists them)")
    return known[0].label, bool(known[0].higher_is_better)


def _check_axes(axes: tuple[str, ...]) -> None:
    unknown = [a for a in axes if a not in AXIS_NAMES]
    if unknown or not axes:
        raise ConfigError(f"cannot compare over the axes {', '.join(unknown) or '(none)'}; fix: name one or more "
                          f"of {', '.join(AXIS_NAMES)}")


def _split(axes: dict[str, str], compared: tuple[str, ...]) -> tuple[tuple, str]:
    context = tuple((a, label) for a, label in axes.items() if a not in compared and a != TRIAL_AXIS)
    return context, "/".join(axes.get(a, "-") for a in compared)


def _context_names(contexts) -> dict[tuple, str]:
    """Each context's label: its dataset and whichever other labels differ between contexts."""
    varying = {axis for axis in AXIS_NAMES if len({dict(c).get(axis) for c in contexts}) > 1}
    return {c: "/".join(label for axis, label in c if axis == "dataset" or axis in varying) for c in contexts}


def group_values(results: Results, metric: str, axes: tuple[str, ...]):
    """context -> group -> seed -> the final value of `metric` (NaN for a NaN, failed or
    diverged outcome), and context -> group -> Outcomes, of the cells that are no trials."""
    _check_axes(axes)
    values: dict[tuple, dict[str, dict[int, float]]] = {}
    kinds: dict[tuple, dict[str, list[str | None]]] = {}
    for cell in results.cells:
        if cell.trial is not None:
            continue
        final = results.final.get((cell.cell_id, metric))
        kind = outcome(cell.status, None if final is None else final.value)
        if kind is None:
            continue
        context, name = _split(cell.axes, axes)
        kinds.setdefault(context, {}).setdefault(name, []).append(kind)
        if kind != "missing":  # NaN stands for every worst outcome
            value = final.value if kind == "finite" else math.nan
            values.setdefault(context, {}).setdefault(name, {})[cell.seed] = value
    counted = {c: {g: Outcomes.count(k) for g, k in groups.items()} for c, groups in kinds.items()}
    return values, counted


def comparisons(results: Results | str | Path, metric: str, baseline: str | None = None, suite: str | None = None,
                axes: tuple[str, ...] = ("objective",), alpha: float = ALPHA, registry=None) -> list[Comparison]:
    """Every paired comparison of `metric` in the results (or a results folder), see the module
    docstring, Holm-corrected together. ConfigError when the metric or the baseline is not there."""
    results = _results(results, suite, registry)
    label, higher = _direction(results, metric)
    groups, outcomes = group_values(results, metric, axes)
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
    found = [paired(metric, label, higher, names[c], a, b, groups[c][a], groups[c][b], alpha,
                    (outcomes[c][a], outcomes[c][b])) for c, a, b in pairs]
    adjusted = holm([r.p for r in found])
    m = sum(not math.isnan(r.p) for r in found)
    return [replace(r, p_holm=p, m=max(m, 1)) for r, p in zip(found, adjusted, strict=True)]


def group_outcomes(results: Results | str | Path, metric: str, suite: str | None = None,
                   axes: tuple[str, ...] = ("objective",), registry=None) -> list[GroupOutcomes]:
    """How each compared group's cells ended for `metric` (run, finite, failed, NaN)."""
    results = _results(results, suite, registry)
    _, outcomes = group_values(results, metric, axes)
    names = _context_names(list(outcomes))
    return [GroupOutcomes(names[c], g, o) for c, groups in outcomes.items() for g, o in groups.items()]


def budget_curves(results: Results | str | Path, metric: str, suite: str | None = None,
                  axes: tuple[str, ...] = ("objective",), registry=None) -> list[BudgetCurve]:
    """One curve per group of a [search] (empty when the results hold no trials)."""
    _check_axes(axes)
    results = _results(results, suite, registry)
    trials: dict[tuple, dict[str, dict[str, list[float]]]] = {}
    settings: dict[tuple, str] = {}  # (context, group, trial) -> its sampled values
    for cell in results.cells:
        final = results.final.get((cell.cell_id, metric))
        if cell.trial is None or final is None or outcome(cell.status, final.value) != "finite":
            continue
        context, name = _split(cell.axes, axes)
        trials.setdefault(context, {}).setdefault(name, {}).setdefault(cell.trial, []).append(final.value)
        sampled = cell.config.get("search", {})
        settings[context, name, cell.trial] = ", ".join(f"{k}={_num(v) if isinstance(v, float) else v}"
                                                        for k, v in sampled.items())
    if not trials:
        return []
    label, higher = _direction(results, metric)
    names = _context_names(list(trials))
    curves = []
    for context, members in trials.items():
        for group, by_trial in members.items():
            labels = tuple(sorted(by_trial))
            scores = tuple(pystats.fmean(by_trial[t]) for t in labels)
            mean, low, high = best_of_k(list(scores), higher)
            curves.append(BudgetCurve(metric, label, higher, names[context], group, labels, scores, tuple(mean),
                                      tuple(low), tuple(high), tuple(settings[context, group, t] for t in labels)))
    return curves


def budget_ks(curves: list[BudgetCurve]) -> list[int]:
    """The budgets a table shows: 1, 2, 4, ... and the largest N."""
    largest = max((len(c.scores) for c in curves), default=0)
    ks = [k for k in (2**i for i in range(20)) if k < largest]
    return ks + [largest] if largest else []


def directed_metrics(results: Results) -> list[str]:
    """The eval metrics whose direction the results record and that score the generators (what
    the report compares): a reference value such as a real-vs-real floor is left out."""
    return list(dict.fromkeys(v.name for v in results.values if v.source == "eval" and v.higher_is_better is not None
                              and v.cell.status in ("done", "diverged") and not is_reference(v.name, v.label)))


def is_reference(name: str, label: str) -> bool:
    """Whether a metric's output is a reference rather than a generator's score: a real-vs-real
    floor (by the metrics' convention an output named *_floor, labelled 'real vs real')."""
    return name.split("@")[0].endswith(REFERENCE_SUFFIX) or "real vs real" in label


def default_baseline(results: Results, axes: tuple[str, ...] = ("objective",)) -> str | None:
    """The group `genbench report` compares the others with when no --baseline is given: the
    compared axes' label whose cells ran in the most contexts, the first in the results' order on
    a tie; None when fewer than two groups ran."""
    _check_axes(axes)
    contexts: dict[str, set[tuple]] = {}
    for cell in (c for c in results.cells if c.ended):
        context, name = _split(cell.axes, axes)
        contexts.setdefault(name, set()).add(context)
    counts = {name: len(found) for name, found in contexts.items()}
    if len(counts) < 2:
        return None
    return max(counts, key=lambda name: counts[name])  # max keeps the first of equal counts


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "-" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"  # no 1.08e+03


def _p(p: float) -> str:
    return "-" if math.isnan(p) else f"{p:.3g}" if p >= 0.001 else "<0.001"
