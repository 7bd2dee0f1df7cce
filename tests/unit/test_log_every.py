"""The train setting log_every: the family's training statistics recorded between evaluations
(their means over each interval), about 50 records per run by default, eval metrics still at
eval.every; it changes what is recorded, never what is trained, nor the cell id."""

import pytest

from genbench.api.errors import ConfigError
from genbench.run.runner import log_interval, run_cell
from genbench.suite.config import load
from genbench.suite.plan import expand


def gan_cell(write_suite, registry, steps: int = 20, every: int = 10, log_every: int | None = None):
    suite = write_suite()
    text = suite.read_text().replace("every = 10", f"every = {every}").replace("seeds = [0, 1]", "seeds = [0]")
    if log_every is not None:
        text = text.replace("steps = 20", f"steps = {steps}\nlog_every = {log_every}")
    suite.write_text(text.replace("steps = 20", f"steps = {steps}"))
    return expand(load(str(suite), registry), registry)[0]


def recorded(result, source: str) -> dict[str, list[tuple[int, float]]]:
    """name -> [(step, value)] of the rows of one source ("train" or a metric's)."""
    rows: dict[str, list[tuple[int, float]]] = {}
    for row in result.metrics:
        if (row.provenance.get("source") == "train") == (source == "train"):
            rows.setdefault(row.name, []).append((row.step, row.value))
    return rows


def test_statistics_are_interval_means_at_each_record_and_training_is_unchanged(write_suite, registry):
    every_step = run_cell(gan_cell(write_suite, registry, log_every=1), registry)
    every_4 = run_cell(gan_cell(write_suite, registry, log_every=4), registry)
    assert every_step.status == every_4.status == "done"
    per_step, means = recorded(every_step, "train"), recorded(every_4, "train")
    assert set(means) == set(per_step) and "loss_d" in means
    for name, values in means.items():
        assert [step for step, _ in values] == [4, 8, 10, 12, 16, 20]  # multiples of 4 and the eval steps
        by_step = dict(per_step[name])
        starts = (0, 4, 8, 10, 12, 16)
        for (step, value), start in zip(values, starts, strict=True):
            interval = [by_step[s] for s in range(start + 1, step + 1)]
            assert value == pytest.approx(sum(interval) / len(interval), rel=1e-9, abs=1e-12), (name, step)
    assert recorded(every_4, "eval") == recorded(every_step, "eval")  # the same training, scored alike
    assert {step for rows in recorded(every_4, "eval").values() for step, _ in rows} == {10, 20}


def test_default_records_about_50_points_and_0_only_the_eval_steps(write_suite, registry):
    default = run_cell(gan_cell(write_suite, registry, steps=100, every=50), registry)
    steps = {step for step, _ in recorded(default, "train")["loss_d"]}
    assert steps == set(range(2, 101, 2))
    at_evals = run_cell(gan_cell(write_suite, registry, steps=100, every=50, log_every=0), registry)
    assert [step for step, _ in recorded(at_evals, "train")["loss_d"]] == [50, 100]


def test_log_interval():
    assert [log_interval(-1, steps) for steps in (1, 49, 50, 100, 2000, 2049)] == [1, 1, 1, 2, 40, 40]
    assert log_interval(0, 2000) == 0 and log_interval(7, 2000) == 7


def test_log_every_stays_out_of_the_cell_id_and_is_checked(write_suite, registry):
    ids = {gan_cell(write_suite, registry, log_every=value).cell_id for value in (None, -1, 0, 1, 7)}
    assert len(ids) == 1
    assert "log_every" not in gan_cell(write_suite, registry, log_every=7).resolved()["train"]
    with pytest.raises(ConfigError, match=r"train.log_every.*below the minimum -1"):
        gan_cell(write_suite, registry, log_every=-2)
