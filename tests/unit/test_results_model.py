"""The results model: one tidy table read from the store once, that show, export (csv, json),
the report and compare all read, so they agree on the same store's numbers and outcome counts;
and genbench.results.load, its DataFrame for notebooks."""

import csv
import io
import json
import math
import statistics

import pytest
from click.testing import CliRunner
from report_store import build_store, score

from genbench.cli import cli
from genbench.plugins.reporters.html_data import collect
from genbench.plugins.reporters.text_table import format_stat
from genbench.results import load, read
from genbench.results.compare import comparisons, group_outcomes
from genbench.results.statistics import Outcomes

SEEDS = (0, 1, 2)


def expected(objective: str, name: str) -> list[float]:
    """The final (step 20) values report_store wrote, NaN for beta's collapsed seed 2 distance."""
    group = ("alpha", "beta").index(objective)
    values = [score(group, seed, 20) for seed in SEEDS]
    if name == "distance":
        values = [100.0 - v for v in values]
        if objective == "beta":
            values[2] = math.nan
    return values


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("model") / "results")  # with a failed and a diverged group


def invoke(*args: str) -> str:
    outcome = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def test_show_export_report_and_compare_agree_on_the_same_numbers(results_dir):
    outcomes = {("alpha", "score"): Outcomes(3, 3, 0, 0), ("beta", "score"): Outcomes(3, 3, 0, 0),
                ("alpha", "distance"): Outcomes(3, 3, 0, 0), ("beta", "distance"): Outcomes(3, 2, 1, 0),
                ("broken", "score"): Outcomes(1, 0, 0, 1), ("wild", "score"): Outcomes(1, 0, 0, 1)}
    means = {key: (statistics.fmean(f), statistics.stdev(f)) for key in outcomes if key[0] in ("alpha", "beta")
             for f in [[v for v in expected(*key) if math.isfinite(v)]]}

    shown = invoke("show", str(results_dir), "--format", "plain", "--no-pictures")
    rows = {line.split()[0]: line for line in shown.splitlines() if line.startswith(("alpha", "beta"))}
    for (objective, name), (mean, std) in means.items():
        assert format_stat(mean, std, outcomes[objective, name]) in rows[objective], (objective, name)
    assert "[n=2, 1 NaN]" in rows["beta"]

    exports = [list(csv.DictReader(io.StringIO(invoke("export", str(results_dir), "--format", "csv")))),
               json.loads(invoke("export", str(results_dir), "--format", "json"))]
    for records in exports:
        found = {(r["objective"], r["metric"]): r for r in records}
        for key, (mean, std) in means.items():
            assert float(found[key]["mean"]) == pytest.approx(mean) and float(found[key]["std"]) == pytest.approx(std)
        for key, o in outcomes.items():
            counts = [int(found[key][k]) for k in ("run", "n", "nan", "failed")]
            assert counts == [o.run, o.finite, o.nan, o.failed], key

    block = collect(read(results_dir).of_suite("synthetic"), "synthetic").datasets[0]
    stats = {(g.label, name): g.stats[name] for g in block.groups for name in ("score", "distance")}
    for key, (mean, _) in means.items():
        assert stats[key].mean == pytest.approx(mean) and stats[key].outcomes == outcomes[key]
    assert stats["broken", "score"].outcomes == outcomes["broken", "score"]

    for name in ("score", "distance"):
        [pair] = [c for c in comparisons(results_dir, name) if (c.candidate, c.baseline) == ("alpha", "beta")]
        assert pair.candidate_values == pytest.approx(expected("alpha", name), nan_ok=True)
        assert pair.baseline_values == pytest.approx(expected("beta", name), nan_ok=True)
        assert pair.outcomes == (outcomes["alpha", name], outcomes["beta", name])
        finite = [i for i, v in enumerate(expected("beta", name)) if math.isfinite(v)]
        assert pair.diff == pytest.approx(statistics.fmean(expected("alpha", name)[i] - expected("beta", name)[i]
                                                           for i in finite))
        counted = {o.group: o.outcomes for o in group_outcomes(results_dir, name)}
        assert counted["broken"] == counted["wild"] == Outcomes(1, 0, 0, 1)
    compared = invoke("compare", str(results_dir), "--metric", "distance")
    assert "1 of beta's 3 seeds NaN, failed or diverged, ranked worst" in " ".join(compared.split())


def test_load_gives_the_tidy_table_as_a_dataframe(results_dir):
    frame = load(results_dir)
    axes = ["dataset", "model", "objective", "kernel"]
    assert list(frame.columns) == ["cell_id", *axes, "seed", "status", "step", "name", "value", "source", "label",
                                   "unit", "higher_is_better", "provenance"]
    final = frame[(frame.name == "score") & (frame.step == 20)]
    assert sorted(final.value) == pytest.approx(sorted(expected("alpha", "score") + expected("beta", "score")))
    distance = frame[(frame.name == "distance") & (frame.step == 20)].iloc[0]
    assert distance.label == "distance" and distance.unit == "nats" and distance.higher_is_better is False
    assert distance.provenance["extractor"] == "tiny-net" and distance.source == "eval"
    throughput = frame[frame.name == "samples_per_s"]
    assert set(throughput.source) == {"run"} and len(throughput) == 6  # the failed cells recorded none
    assert set(frame[frame.name == "grad"].source) == {"train"} and frame[frame.name == "grad"].label.iloc[0] == "|grad G|"
    stopped = frame[frame.status != "done"]  # the failed and the diverged cell: their run measures only
    assert set(stopped.status) == {"failed", "diverged"} and set(stopped.source) == {"run"}
    assert len(load(results_dir, suite="synthetic")) == len(frame)
