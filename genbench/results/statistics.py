"""Statistics over the results model: outcomes, summaries, the paired test, Holm, best-of-k.

Outcomes. A failed, diverged or NaN value is an outcome, never silently dropped. For one name
(a metric, a training statistic, a run measurement), each cell of a group that ran to an end
counts as one of: `finite` (a done cell with a finite final value), `nan` (a done cell whose
final value is NaN or infinite: e.g. `modes`' reverse KL of a fully collapsed generator),
`failed` (a failed or diverged cell: its last eval before diverging is in its curve, not in
its group's numbers; run measurements of a diverged cell still count, they measure the machine),
or `missing` (a done cell that never recorded the name). Means, standard deviations and
bootstrap intervals describe the finite values; the counts say what they leave out.

Paired comparison (Wilcoxon 1945's signed-rank test with worst-rank scoring of failures, after
Lachin 1999, "Worst-rank score analysis with informatively missing observations in clinical
trials", Controlled Clinical Trials 20:408-422). Two groups are paired by seed. On each seed the
difference is oriented by the metric's direction; a NaN, failed or diverged value is worse than
every finite value and ties with any other failure, so a pair where one side failed is a loss
for that side, larger than any finite difference, and a pair where both failed is a tie. The
differences' absolute values are ranked (ties averaged, a tie of zero differences keeps its
ranks but no sign: Pratt 1959), and the two-sided p of the sum of signed ranks comes from its
permutation distribution over sign flips (scipy.stats.permutation_test: exact over the 2**n
flips while 2**n <= 9999, else 9999 random flips, fixed seed). A collapsed seed can therefore
only count against its group: a group that collapses on 2 of 5 seeds cannot beat one that never
does, whatever its finite values. The mean difference, its 95% percentile bootstrap interval
(paired) and the effect size d_z describe the seeds finite in both groups. scipy.stats.wilcoxon
(zero_method="pratt", method=PermutationMethod()) computes the same p (the tests check it).

Holm's step-down correction across the comparisons of one call (scipy has only Benjamini-
Hochberg/Yekutieli); the seeds a paired t-test needs for power 0.8 at the observed d_z (noncentral
t); the exact bootstrap distribution of the best of k trials (Lucic et al. 2018) and the
probability that one search's best of k beats another's.
"""

from __future__ import annotations

import math
import statistics as pystats
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
N_RESAMPLES = 9999
RESAMPLING_SEED = 0  # the same store gives the same intervals and p-values
POWER = 0.8
MAX_SEEDS = 10_000  # the seeds-needed search stops here ("more than ...")



def scipy_stats():
    """scipy.stats, imported when a statistic is computed: importing it costs ~2 s of CPU, which
    every command that only loads the plugins (`genbench list`, `run --dry-run`) would pay."""
    from scipy import stats

    return stats

def outcome(status: str, value: float | None, run_measure: bool = False) -> str | None:
    """What one cell's final value counts as (see the module docstring); None for a cell that
    has not run to an end."""
    if status not in ("done", "diverged", "failed"):
        return None
    if status == "failed" or (status == "diverged" and not run_measure):
        return "failed"
    if value is None:
        return "missing"
    return "finite" if math.isfinite(value) else "nan"


@dataclass(frozen=True)
class Outcomes:
    """How a group's cells that ran ended, for one name."""

    run: int = 0
    finite: int = 0
    nan: int = 0
    failed: int = 0  # failed or diverged

    @property
    def missing(self) -> int:
        return self.run - self.finite - self.nan - self.failed

    @classmethod
    def count(cls, kinds) -> Outcomes:
        """From the outcome() of each cell (None: not run to an end, not counted)."""
        kinds = [k for k in kinds if k is not None]
        return cls(len(kinds), kinds.count("finite"), kinds.count("nan"), kinds.count("failed"))

    def describe(self) -> str:
        """'5 run: 3 finite, 2 NaN' (the kinds that occur)."""
        parts = [f"{self.finite} finite"] + [f"{n} {what}" for n, what in (
            (self.nan, "NaN"), (self.failed, "failed or diverged"), (self.missing, "not recorded")) if n]
        return f"{self.run} run: " + ", ".join(parts)


def mean_std(values: list[float]) -> tuple[float, float, int]:
    """(mean, sample std, n) over the finite values; NaN mean and std when there are none."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan, 0
    return pystats.fmean(finite), pystats.stdev(finite) if len(finite) > 1 else 0.0, len(finite)


def bootstrap_interval(values: list[float]) -> tuple[float, float] | None:
    """The 95% percentile bootstrap interval of the mean of `values` (finite), None for fewer
    than two values; a constant sample's interval is that constant."""
    if len(values) < 2:
        return None
    if min(values) == max(values):
        return values[0], values[0]
    result = scipy_stats().bootstrap((np.asarray(values, dtype=np.float64),), np.mean, confidence_level=CONFIDENCE,
                             n_resamples=N_RESAMPLES, method="percentile",
                             rng=np.random.default_rng(RESAMPLING_SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def signed_ranks(a: np.ndarray, b: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """The signed ranks of the paired differences a - b, oriented so that positive favours `a`,
    with a non-finite value (NaN: a NaN score, a failed or diverged cell) worse than every finite
    one and tied with every other (worst-rank scoring)."""
    sign = 1.0 if higher_is_better else -1.0
    x = np.where(np.isfinite(a), sign * a, -np.inf)  # (n,) larger is better; a failure is -inf
    y = np.where(np.isfinite(b), sign * b, -np.inf)
    with np.errstate(invalid="ignore"):  # -inf - -inf: both failed, a tie
        d = np.where(np.isneginf(x) & np.isneginf(y), 0.0, x - y)  # (n,)
    return np.sign(d) * scipy_stats().rankdata(np.abs(d))


def signed_rank_test(a: np.ndarray, b: np.ndarray, higher_is_better: bool) -> tuple[float, float]:
    """(sum of signed ranks, two-sided p) of `a` against `b`, paired (see the module docstring)."""
    ranks = signed_ranks(a, b, higher_is_better)  # (n,)
    if not ranks.any():  # every pair tied: nothing favours either side
        return 0.0, 1.0
    test = scipy_stats().permutation_test((ranks,), _sum, permutation_type="samples", vectorized=True,
                                  n_resamples=N_RESAMPLES, alternative="two-sided",
                                  rng=np.random.default_rng(RESAMPLING_SEED))
    return float(test.statistic), float(test.pvalue)


def _sum(x, axis=-1):
    return np.sum(x, axis=axis)


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, tuple[float, float], float]:
    """(mean of a - b, its 95% paired percentile bootstrap interval, d_z) over finite pairs;
    NaN where there are too few (the interval needs 2)."""
    diff = float(np.mean(a - b)) if len(a) else math.nan
    if len(a) < 2:
        return diff, (math.nan, math.nan), math.nan
    spread = float(np.std(a - b, ddof=1))
    if spread == 0:  # every seed differs by the same amount: nothing to resample
        return diff, (diff, diff), math.copysign(math.inf, diff) if diff else math.nan
    boot = scipy_stats().bootstrap((a, b), _mean_difference, paired=True, vectorized=True, n_resamples=N_RESAMPLES,
                           confidence_level=CONFIDENCE, method="percentile",
                           rng=np.random.default_rng(RESAMPLING_SEED))
    return diff, (float(boot.confidence_interval.low), float(boot.confidence_interval.high)), diff / spread


def _mean_difference(x, y, axis=-1):
    return np.mean(x - y, axis=axis)


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
    if math.isnan(effect) or effect == 0:
        return None
    for n in range(2, MAX_SEEDS + 1):
        if 2 / 2**n > alpha:
            continue
        if math.isinf(effect):  # every seed differed by the same amount
            return n
        df, shift = n - 1, abs(effect) * math.sqrt(n)
        critical = scipy_stats().t.ppf(1 - alpha / 2, df)
        # (scipy gives NaN for a tail too far out to matter)
        tails = np.nan_to_num([scipy_stats().nct.sf(critical, df, shift), scipy_stats().nct.cdf(-critical, df, shift)])
        if tails.sum() >= power:
            return n
    return None


def best_of_k_distribution(scores: list[float], k: int, higher_is_better: bool) -> tuple[np.ndarray, np.ndarray]:
    """(values, probabilities): the exact distribution of the best of k draws with replacement
    from `scores`. With the scores sorted v_1 <= ... <= v_N, the best of k (the largest) has
    P(best <= v_i) = (i / N)**k; the smallest has 1 - ((N - i) / N)**k."""
    ordered = np.sort(np.asarray(scores, dtype=float))  # (N,)
    n = len(ordered)
    ranks = np.arange(1, n + 1)
    cdf = (ranks / n) ** k if higher_is_better else 1 - ((n - ranks) / n) ** k  # (N,) P(best <= v_i)
    cdf[-1] = 1.0
    return ordered, np.diff(cdf, prepend=0.0)


def best_of_k(scores: list[float], higher_is_better: bool, quantiles=(0.025, 0.975)):
    """(means, lows, highs): the mean and quantiles of the best of k draws with replacement from
    `scores`, for k = 1..N, exactly (see best_of_k_distribution)."""
    means, lows, highs = [], [], []
    for k in range(1, len(scores) + 1):
        values, probabilities = best_of_k_distribution(scores, k, higher_is_better)  # (N,), (N,)
        cdf = np.cumsum(probabilities)
        cdf[-1] = 1.0
        means.append(float(probabilities @ values))
        low, high = (float(values[np.searchsorted(cdf, q)]) for q in quantiles)
        lows.append(low)
        highs.append(high)
    return means, lows, highs


def best_of_k_beats(a: list[float], b: list[float], k: int, higher_is_better: bool) -> float:
    """P(the best of k trials drawn from `a` is better than the best of k drawn from `b`), ties
    counted half, both draws with replacement and independent, exactly: whether an ordering of
    two searches survives a budget of k trials each."""
    va, pa = best_of_k_distribution(a, k, higher_is_better)  # (Na,), (Na,)
    vb, pb = best_of_k_distribution(b, k, higher_is_better)  # (Nb,), (Nb,)
    sign = 1.0 if higher_is_better else -1.0
    better = np.sign(sign * (va[:, None] - vb[None, :]))  # (Na, Nb): +1 where a's best wins
    return float(pa @ ((better + 1) / 2) @ pb)
