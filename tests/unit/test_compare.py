"""genbench compare: paired statistics against scipy on the same arrays, Holm, verdicts, budget curves,
and failures (NaN, failed, diverged) counted as outcomes that rank worst."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from genbench.plugins.reporters.compare import html_table, report_sections
from genbench.results.compare import budget_curves, comparisons, paired
from genbench.results.model import read
from genbench.results.statistics import best_of_k, best_of_k_beats, holm, seeds_needed
from genbench.suite.config import load
from genbench.api.errors import ConfigError
from genbench.suite.plan import expand
from genbench.api.result import CellResult, MetricRow
from genbench.results.store import Store

OBJECTIVES = '["saturating", "nonsaturating", "hinge"]'


def record(tmp_path, registry, write_suite, values, text=None, metric="modes", outputs=None):
    """A store whose cells (of the tiny suite, or `text`) report `values[objective][seed or trial]`
    as `metric` at their final step (and a worse value at the step before); a value "failed" or
    "diverged" records the cell so, after an eval of 99."""
    config = load(str(write_suite(text, objectives=OBJECTIVES)), registry)
    cells = expand(config, registry)
    store = Store(tmp_path / "out")
    store.record_suite(config.name, config.path, "", cells)
    for cell in cells:
        key = cell.seed if cell.trial is None else cell.trial
        value = values.get(cell.component("objective").label, {}).get(key)
        if value is None:
            continue
        provenance = {"metric": "modes", **({"outputs": outputs} if outputs else {})}
        if value in ("failed", "diverged"):  # an eval, then the cell stopped: the eval must not count
            store.record_result(CellResult(cell.cell_id, value, [MetricRow(1, metric, 99.0, provenance)], error="x"))
            continue
        rows = [MetricRow(1, metric, -1.0, provenance), MetricRow(2, metric, value, provenance)]
        store.record_result(CellResult(cell.cell_id, "done", rows))
    store.close()
    return tmp_path / "out"


def test_paired_statistics_are_scipys_on_the_same_arrays():
    a = {0: 3.0, 1: 5.5, 2: 4.0, 3: 6.0, 4: 5.0, 5: 7.5}
    b = {0: 2.0, 1: 4.0, 2: 4.5, 3: 3.5, 4: 3.0, 5: 5.0, 9: 1.0}  # seed 9: not shared
    result = paired("modes", "modes", True, "ring8", "hinge", "nonsaturating", a, b)
    x, y = np.array([a[s] for s in range(6)]), np.array([b[s] for s in range(6)])
    assert result.seeds == tuple(range(6)) and result.n == 6
    assert result.diff == pytest.approx(np.mean(x - y))
    assert result.effect == pytest.approx(np.mean(x - y) / np.std(x - y, ddof=1))
    mean_diff = lambda u, v, axis: np.mean(u - v, axis=axis)  # noqa: E731
    boot = stats.bootstrap((x, y), mean_diff, paired=True, method="percentile", n_resamples=9999,
                           rng=np.random.default_rng(0))
    assert result.ci == pytest.approx((boot.confidence_interval.low, boot.confidence_interval.high))
    # the signed-rank test, exact over the 2**6 sign flips: |T| of every flip against the observed
    ranks = np.sign(x - y) * stats.rankdata(np.abs(x - y))  # (6,) ties averaged: two 2.5s
    flips = np.array(np.meshgrid(*[[1, -1]] * 6)).reshape(6, -1).T  # (64, 6)
    extreme = np.sum(np.abs(flips @ ranks) >= abs(ranks.sum()) - 1e-12)
    assert result.statistic == ranks.sum() and result.p == pytest.approx(extreme / 64)
    assert result.p == pytest.approx(stats.wilcoxon(x - y, method=stats.PermutationMethod()).pvalue)


def test_holm_matches_a_hand_example():
    # sorted: 0.005 x4 = 0.02; 0.01 x3 = 0.03; 0.03 x2 = 0.06; 0.04 x1 = 0.04 -> kept monotone: 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    adjusted = holm([0.01, math.nan, 0.02])  # a comparison without a p-value does not count in m
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)


def test_seeds_needed_agrees_with_published_paired_t_test_sample_sizes():
    # G*Power, paired t-test, two-sided, alpha 0.05, power 0.8: d_z 0.5 -> 34, 0.8 -> 15, 1.0 -> 10
    assert [seeds_needed(d, 0.05) for d in (0.5, -0.8, 1.0)] == [34, 15, 10]
    assert seeds_needed(50.0, 0.0125) == 8  # a huge effect: the permutation test's floor 2/2**n decides
    assert seeds_needed(0.0, 0.05) is None and seeds_needed(math.nan, 0.05) is None
    assert seeds_needed(-math.inf, 0.05) == 6  # no spread at all: the permutation floor 2/2**6 < 0.05


def test_verdict_names_the_winner_by_the_metrics_direction():
    better = {s: 10.0 + s + 0.1 * (s % 3) for s in range(8)}
    worse = {s: 5.0 + s for s in range(8)}
    result = paired("modes", "modes", True, "ring8", "hinge", "nonsaturating", better, worse)
    assert result.p < 0.05
    assert result.p == pytest.approx(2 / 2**8)  # every seed agrees: the smallest two-sided p
    assert result.verdict() == "hinge beats nonsaturating on ring8 modes: 5.09 [5.04, 5.14], p = 0.00781, n = 8"
    lower = paired("fid", "FID", False, "digits", "hinge", "nonsaturating", better, worse)
    assert lower.verdict() == "nonsaturating beats hinge on digits FID: 5.09 [5.04, 5.14], p = 0.00781, n = 8"


def test_too_few_seeds_say_so_and_how_many_would_do():
    one = paired("modes", "modes", True, "ring8", "hinge", "ns", {0: 2.0}, {0: 1.0, 1: 3.0})
    assert one.verdict() == ("hinge vs ns on ring8 modes: cannot compare, n = 1 shared seed; run both on at "
                             "least 2 seeds (more to conclude)")
    a, b = {0: 3.0, 1: 5.0, 2: 4.5}, {0: 2.0, 1: 4.2, 2: 4.0}
    three = paired("modes", "modes", True, "ring8", "hinge", "ns", a, b)
    needed = seeds_needed(three.effect, 0.05)
    assert three.verdict() == (
        f"hinge vs ns on ring8 modes: not distinguishable at n = 3 (0.767 [{three.ci[0]:.3g}, {three.ci[1]:.3g}], "
        "p = 0.25, n = 3) (at n = 3 a paired permutation test cannot go below p = 0.25); about "
        f"{needed} seeds would be needed (paired t-test power 0.8 at the observed d = {three.effect:.3g}, alpha = 0.05)")


def test_comparisons_read_the_store_pair_by_context_and_correct_together(tmp_path, registry, write_suite):
    out = record(tmp_path, registry, write_suite, {"saturating": {0: 1.0, 1: 2.0}, "nonsaturating": {0: 4.0, 1: 6.0},
                                                   "hinge": {0: 5.0}})
    found = comparisons(out, "modes", baseline="nonsaturating", registry=registry)
    assert [(c.candidate, c.baseline, c.n) for c in found] == [("hinge", "nonsaturating", 1),
                                                               ("saturating", "nonsaturating", 2)]
    assert found[1].diff == pytest.approx(-3.5)  # the final step's values, not the earlier ones
    assert found[1].higher_is_better and found[1].label == "modes" and found[1].context.startswith("ring8")
    assert found[1].m == 1 and found[1].p_holm == found[1].p  # hinge has no p-value: m counts one
    assert len(comparisons(out, "modes", registry=registry)) == 3  # every pair
    table = html_table([c.row() for c in found])
    assert table.startswith('<table class="genbench-compare"><thead><tr><th>context</th>') and "&lt;" not in table


def test_bad_metric_or_baseline_is_a_config_error(tmp_path, registry, write_suite):
    out = record(tmp_path, registry, write_suite, {"saturating": {0: 1.0}, "nonsaturating": {0: 4.0}})
    with pytest.raises(ConfigError, match="no finished cell has a value 'fid'"):
        comparisons(out, "fid", registry=registry)
    with pytest.raises(ConfigError, match="--baseline 'lsgan' is no group .* use one of nonsaturating, saturating$"):
        comparisons(out, "modes", baseline="lsgan", registry=registry)


def test_best_of_k_is_the_exact_bootstrap_distribution():
    scores = [30.0, 12.0, 25.0, 18.0, 40.0]
    means, lows, highs = best_of_k(scores, higher_is_better=False)
    assert means[0] == pytest.approx(np.mean(scores)) and (lows[0], highs[0]) == (12.0, 40.0)
    draws = np.random.default_rng(0).choice(scores, size=(200_000, 3)).min(axis=1)
    assert means[2] == pytest.approx(draws.mean(), abs=0.05)
    assert (lows[2], highs[2]) == (np.quantile(draws, 0.025, method="inverted_cdf"),
                                   np.quantile(draws, 0.975, method="inverted_cdf"))
    assert all(a >= b for a, b in zip(means, means[1:], strict=False))  # a bigger budget finds better
    up, _, _ = best_of_k(scores, higher_is_better=True)
    draws = np.random.default_rng(1).choice(scores, size=(200_000, 2)).max(axis=1)
    assert up[1] == pytest.approx(draws.mean(), abs=0.05)


SEARCH_SUITE = """
[suite]
name = "sweep"
seeds = [0]
[train]
steps = 20
batch_size = 32
[eval]
every = 10
metrics = [{ name = "modes", n_samples = 200 }]
[matrix]
datasets = [{ name = "ring8", n_train = 512, n_test = 64 }]
models = [{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }]
objectives = ["saturating", "hinge"]
[search]
trials = 4
train.lr = { log_uniform = [1e-4, 1e-2] }
"""


def test_best_of_k_beats_counts_every_pair_of_draws():
    a, b = [30.0, 12.0, 25.0], [18.0, 12.0, 40.0, 22.0]

    def enumerated(k, higher):  # every equally likely pair of k-draws, ties half
        pick = max if higher else min
        wins = []
        for x in itertools.product(a, repeat=k):
            for y in itertools.product(b, repeat=k):
                best_a, best_b = pick(x), pick(y)
                wins.append(0.5 if best_a == best_b else float(pick(best_a, best_b) == best_a))
        return sum(wins) / len(wins)

    for k in (1, 2, 3):
        for higher in (False, True):
            assert best_of_k_beats(a, b, k, higher) == pytest.approx(enumerated(k, higher), abs=1e-12)
            assert best_of_k_beats(a, b, k, higher) + best_of_k_beats(b, a, k, higher) == pytest.approx(1.0)
    assert best_of_k_beats([1.0, 2.0], [3.0, 4.0], 2, higher_is_better=False) == 1.0  # every draw of a is lower


def test_budget_curves_per_group_of_a_search(tmp_path, registry, write_suite):
    out = record(tmp_path, registry, write_suite, {"saturating": {0: 3.0, 1: 1.0, 2: 6.0, 3: 2.0},
                                                   "hinge": {0: 5.0, 1: 7.0, 2: 8.0}}, text=SEARCH_SUITE)
    curves = {c.group: c for c in budget_curves(out, "modes", registry=registry)}
    assert curves["saturating"].scores == (3.0, 1.0, 6.0, 2.0) and curves["hinge"].trials == ("trial00", "trial01",
                                                                                              "trial02")
    assert curves["saturating"].mean[0] == pytest.approx(3.0) and curves["saturating"].best_trial == "trial02"
    assert curves["saturating"].row([1, 4])["best trial"].startswith("trial02 (train.lr=0.00")  # its sampled lr
    assert curves["saturating"].mean == pytest.approx(best_of_k([3.0, 1.0, 6.0, 2.0], True)[0])
    assert comparisons(out, "modes", registry=registry) == []  # trial cells are compared by budget, not paired


def test_compare_command_prints_the_table_the_verdicts_and_the_budget(tmp_path, registry, write_suite, invoke_genbench):
    out = record(tmp_path, registry, write_suite, {"saturating": {0: 1.0, 1: 2.0}, "nonsaturating": {0: 4.0, 1: 6.5}})
    shown = invoke_genbench("compare", str(out), "--metric", "modes", "--baseline", "nonsaturating")
    assert shown.returncode == 0, shown.stderr
    assert "modes (higher is better): paired over shared seeds" in shown.stdout
    assert "one comparison, so Holm changes no p" in shown.stdout and "Holm over 1 comparisons" not in shown.stdout
    assert ("saturating vs nonsaturating on ring8(n_train=512,n_test=64) modes: not distinguishable at n = 2 "
            "(-3.75 [") in shown.stdout
    bad = invoke_genbench("compare", str(out), "--metric", "modes", "--baseline", "hinge")
    assert bad.returncode == 2 and "--baseline 'hinge' is no group" in bad.stderr
    sweep = record(tmp_path / "sweep", registry, write_suite, {"saturating": {0: 3.0, 1: 1.0, 2: 6.0, 3: 2.0}},
                   text=SEARCH_SUITE)
    shown = invoke_genbench("compare", str(sweep), "--metric", "modes")
    assert "best modes within a budget of k trials" in shown.stdout and "trial02" in shown.stdout


def test_the_store_alone_gives_the_direction_and_the_report_sections(tmp_path, registry, write_suite):
    stored = {"modes": {"higher_is_better": False, "label": "modes missed", "unit": ""}}  # as a score stores it
    out = record(tmp_path, registry, write_suite, {"saturating": {0: 1.0, 1: 2.0}, "nonsaturating": {0: 4.0, 1: 6.5}},
                 outputs=stored)
    found = comparisons(out, "modes", baseline="nonsaturating")  # no registry
    assert found[0].label == "modes missed" and not found[0].higher_is_better
    sections = report_sections(read(out, "tiny"))
    assert [title for title, _ in sections] == ["Is it really better? modes missed, against nonsaturating, "
                                                "paired over seeds"]
    assert sections[0][1].startswith('<table class="genbench-compare">') and "<li>saturating vs nonsaturating" in \
        sections[0][1]


FIVE_SEEDS = """
[suite]
name = "five"
seeds = [0, 1, 2, 3, 4]
[train]
steps = 20
batch_size = 32
[eval]
every = 10
metrics = [{ name = "modes", n_samples = 200 }]
[matrix]
datasets = [{ name = "ring8", n_train = 512, n_test = 64 }]
models = [{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }]
objectives = ["saturating", "nonsaturating", "hinge"]
"""


def test_a_group_that_collapses_on_2_of_5_seeds_never_beats_one_that_does_not():
    """However good its finite values and however loose alpha: its 2 NaN seeds are its worst,
    so they outrank (against it) every finite difference in its favour."""
    rng = np.random.default_rng(0)
    for trial in range(200):
        steady = {s: float(v) for s, v in enumerate(rng.normal(0, 1, 5))}
        collapsing = {s: steady[s] + float(rng.uniform(0.1, 5)) for s in range(5)}  # better on every seed
        for s in rng.choice(5, size=2, replace=False):
            collapsing[int(s)] = math.nan
        higher = bool(trial % 2)
        if not higher:  # lower is better: mirror the values, the collapse stays NaN
            collapsing, steady = {s: -v for s, v in collapsing.items()}, {s: -v for s, v in steady.items()}
        result = paired("modes", "modes", higher, "ring8", "collapsing", "steady", collapsing, steady, alpha=0.99)
        assert result.statistic < 0, trial  # the ranks favour the group that never collapsed
        assert not result.verdict().startswith("collapsing beats"), result.verdict()


def test_dropping_collapsed_seeds_would_crown_the_collapsing_group_counting_them_does_not():
    steady = {s: 10.0 + s for s in range(10)}
    collapsing = {s: (math.nan if s < 4 else 12.0 + s) for s in range(10)}  # better on its 6 finite seeds
    survivors = {s: v for s, v in collapsing.items() if math.isfinite(v)}
    dropped = paired("modes", "modes", True, "ring8", "collapsing", "steady", survivors, steady)
    assert dropped.verdict().startswith("collapsing beats steady")  # survivorship: what compare did before
    counted = paired("modes", "modes", True, "ring8", "collapsing", "steady", collapsing, steady)
    assert counted.n == 10 and counted.finite == 6 and counted.statistic < 0 and not counted.significant
    assert counted.verdict() == (
        f"collapsing vs steady on ring8 modes: not distinguishable at n = 10 (2 [2, 2] over the 6 seeds finite in "
        f"both, p = {counted.p:.3g}, n = 10); 4 of collapsing's 10 seeds NaN, failed or diverged, ranked worst")
    d = np.array([-np.inf] * 4 + [2.0] * 6)  # the same pairs as scipy's Wilcoxon sees them
    assert counted.p == pytest.approx(stats.wilcoxon(d, zero_method="pratt", method=stats.PermutationMethod()).pvalue)


def test_a_group_that_always_collapses_loses_and_ties_between_failures_carry_no_sign():
    steady = {s: 1.0 + s for s in range(6)}
    result = paired("modes", "modes", True, "ring8", "collapsed", "steady", {s: math.nan for s in range(6)}, steady)
    assert result.significant and result.p == pytest.approx(2 / 2**6)
    assert result.verdict().startswith("steady beats collapsed on ring8 modes: - [-, -] over the 0 seeds finite in both")
    both = paired("modes", "modes", True, "ring8", "a", "b", {0: math.nan, 1: math.nan, 2: 3.0},
                  {0: math.nan, 1: math.nan, 2: 1.0})
    assert both.statistic == 3.0 and both.p == 1.0  # one win, two ties: at most 2/2**1
    assert "cannot go below p = 1" in both.verdict()


def test_failed_and_diverged_cells_count_as_worst_and_the_counts_are_printed(tmp_path, registry, write_suite,
                                                                            invoke_genbench):
    values = {"saturating": {0: 9.0, 1: 8.0, 2: 9.5, 3: "failed", 4: "diverged"},  # better where it finished
              "nonsaturating": {0: 5.0, 1: 6.0, 2: 5.5, 3: 6.5, 4: 7.0},
              "hinge": {0: 4.0, 1: math.nan, 2: 3.0, 3: 2.0}}  # seed 4 not run yet
    out = record(tmp_path, registry, write_suite, values, text=FIVE_SEEDS)
    found = {(c.candidate, c.baseline): c for c in comparisons(out, "modes", baseline="nonsaturating",
                                                              registry=registry)}
    sat = found["saturating", "nonsaturating"]
    assert sat.n == 5 and sat.finite == 3 and math.isnan(sat.candidate_values[3])  # not the diverged cell's 99
    assert sat.outcomes[0].run == 5 and sat.outcomes[0].failed == 2 and sat.outcomes[0].finite == 3
    assert sat.m == 2 and "Holm-adjusted p = " in sat.verdict() and not sat.significant
    hinge = found["hinge", "nonsaturating"]
    assert hinge.n == 4 and hinge.outcomes[0].nan == 1 and hinge.outcomes[0].run == 4
    assert "rests on 4 of the 5 seeds run (seed 4 only in nonsaturating)" in hinge.verdict()
    shown = invoke_genbench("compare", str(out), "--metric", "modes", "--baseline", "nonsaturating")
    assert shown.returncode == 0, shown.stderr
    rows = {parts[1]: parts[2:] for parts in map(str.split, shown.stdout.splitlines())  # piped: plain columns
            if len(parts) == 6 and parts[0].startswith("ring8")}
    assert rows == {"saturating": ["5", "3", "2", "0"], "nonsaturating": ["5", "5", "0", "0"],
                    "hinge": ["4", "3", "0", "1"]}  # run, finite, failed or diverged, NaN
    assert "run  finite  failed or diverged  NaN" in shown.stdout
    assert "2 of saturating's 5 seeds NaN, failed or diverged, ranked worst" in " ".join(shown.stdout.split())


def test_compare_without_a_metric_lists_the_folders_metrics_and_their_direction(tmp_path, registry, write_suite,
                                                                               invoke_genbench):
    out = record(tmp_path, registry, write_suite, {"saturating": {0: 1.0, 1: 2.0}, "nonsaturating": {0: 4.0, 1: 6.5}})
    shown = invoke_genbench("compare", str(out))
    assert shown.returncode == 2 and "Missing option" not in shown.stderr
    said = " ".join(shown.stderr.split())
    assert f"name the metric to compare with --metric, e.g. `genbench compare {out} --metric modes`" in said
    assert "modes: higher is better" in said
