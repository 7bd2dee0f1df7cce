"""Running cells and suites: results, determinism, divergence and failure handling."""

import math

import pytest

from genbench.suite.config import load
from genbench.suite.plan import expand
from genbench.api.registry import load_plugins
from genbench.run.executors import ExecutorOptions
from genbench.plugins.executors.local import LocalExecutor
from genbench.run.runner import run_cell, run_suite
from genbench.results.store import Store


@pytest.fixture
def plugin_registry(install_plugin):
    """The registry with the sample plugin installed."""
    install_plugin("genbench_sample_plugin", dist="genbench-sample")
    return load_plugins()


def local(registry):
    return LocalExecutor(ExecutorOptions(registry, 1, None, lambda event: None))


def cells_of(path, registry):
    return expand(load(str(path), registry), registry)


def test_cell_result_has_metrics_throughput_and_provenance(write_suite, registry, tmp_path):
    cell = cells_of(write_suite(), registry)[0]
    result = run_cell(cell, registry)
    assert result.status == "done", result.error
    names = {(m.step, m.name) for m in result.metrics}
    for step in (10, 20):
        for name in ("modes", "hq_pct", "reverse_kl", "loss_d", "loss_g", "d_real", "d_fake", "g_grad_norm"):
            assert (step, name) in names
    modes = next(m for m in result.metrics if m.name == "modes")
    assert modes.provenance["n_fake"] == 200 and modes.provenance["seed"] == 0
    assert result.steps == 20 and result.train_time_s > 0 and result.samples_per_s > 0
    assert result.steps_per_s >= 19 / result.train_time_s  # the warm-up step is left out
    assert result.wall_time_s >= result.train_time_s + result.eval_time_s
    assert result.env["torch"] and result.env["device"] == "cpu" and result.peak_rss_mb > 0
    assert 0 < result.warmup_time_s < result.train_time_s
    pictures = [a for a in result.artifacts if a.kind == "samples"]
    assert [a.step for a in pictures] == [10, 20] and pictures[0].data.startswith(b"\x89PNG")


def test_same_cell_and_seed_give_the_same_numbers(write_suite, registry, tmp_path):
    cell = cells_of(write_suite(), registry)[0]
    first, second = run_cell(cell, registry), run_cell(cell, registry)
    values = lambda r: [(m.step, m.name, m.value) for m in r.metrics]
    assert values(first) == values(second)


def test_different_seeds_give_different_numbers(write_suite, registry, tmp_path):
    seed0, seed1 = cells_of(write_suite(), registry)[:2]
    loss = lambda r: [m.value for m in r.metrics if m.name == "loss_d"]
    assert loss(run_cell(seed0, registry)) != loss(run_cell(seed1, registry))


def test_nan_loss_stops_the_cell_as_diverged_with_the_step(write_suite, plugin_registry, tmp_path):
    path = write_suite(objectives='[{ name = "explode", after = 13 }]')
    result = run_cell(cells_of(path, plugin_registry)[0], plugin_registry)
    assert result.status == "diverged"
    assert result.diverged_step == 14 and "loss_g became non-finite at step 14" in result.error
    # what was measured before is kept: the statistics of each step (20 steps: the default records
    # every step) and the scores of step 10; the divergence is found at its step's record
    assert {m.step for m in result.metrics} == set(range(1, 14))
    assert {m.step for m in result.metrics if m.provenance.get("source") != "train"} == {10}


def test_failing_cell_is_recorded_and_the_suite_goes_on(write_suite, plugin_registry, tmp_path):
    path = write_suite(objectives='["nonsaturating"]')
    text = path.read_text().replace('datasets = [{ name = "ring8", n_train = 512, n_test = 64 }]',
                                    'datasets = ["broken-data", { name = "ring8", n_train = 512, n_test = 64 }]')
    path.write_text(text)
    store = Store(tmp_path / "out")
    outcome = run_suite(cells_of(path, plugin_registry), store, local(plugin_registry))
    assert [r.status for r in outcome.results] == ["failed", "failed", "done", "done"]
    failed = [c for c in store.cells() if c.status == "failed"]
    assert len(failed) == 2 and "this dataset always fails to load" in failed[0].row["error"]
    assert "Traceback" in failed[0].row["error"]


def test_rerun_skips_done_cells(write_suite, registry, tmp_path):
    cells = cells_of(write_suite(), registry)
    store = Store(tmp_path / "out")
    first = run_suite(cells, store, local(registry))
    assert first.skipped == 0 and first.count("done") == 2
    again = run_suite(cells, store, local(registry))
    assert again.skipped == 2 and again.results == []


def test_metrics_store_nan_with_its_reason(tmp_path):
    from genbench.api.result import CellResult, MetricRow

    store = Store(tmp_path)
    store.db.execute("INSERT INTO cells (cell_id, seed, config, status) VALUES ('c', 0, '{}', 'running')")
    store.record_result(CellResult("c", "done", metrics=[MetricRow(5, "reverse_kl", math.nan, {"reason": "none"})]))
    [row] = store.metrics("c")
    assert math.isnan(row["value"]) and row["provenance"] == {"reason": "none"}


def test_throughput_leaves_warm_up_out():
    from genbench.run.runner import throughput

    # 11 steps of 64 examples in 25 s, the first (warm-up) taking 20 s
    assert throughput(11, 11 * 64, 25.0, 64, 20.0) == (pytest.approx(10 * 64 / 5.0), pytest.approx(10 / 5.0))
    assert throughput(1, 64, 2.0, 64, 2.0) == (32.0, 0.5)


@pytest.mark.compile
def test_compiled_kernels_match_eager_end_to_end(write_suite, registry, tmp_path):
    """The kernel axis: same cell, eager vs fused compiled ops, same numbers within tolerance."""
    path = write_suite()
    path.write_text(path.read_text().replace('objectives = ["nonsaturating"]',
                                             'objectives = ["nonsaturating"]\nkernels = ["eager", "compiled"]'))
    cells = [c for c in cells_of(path, registry) if c.seed == 0]
    assert [c.component("kernel").name for c in cells] == ["eager", "compiled"]
    eager, compiled = (run_cell(c, registry) for c in cells)
    assert eager.status == compiled.status == "done", compiled.error
    for a, b in zip(eager.metrics, compiled.metrics, strict=True):
        assert (a.step, a.name) == (b.step, b.name)
        assert b.value == pytest.approx(a.value, rel=1e-3, abs=1e-4, nan_ok=True), a.name


@pytest.mark.compile
def test_compiled_backend_trains_objectives_that_differentiate_twice(write_suite, registry):
    """torch.compile has no double backward: a penalised D (WGAN-GP, R1) stays uncompiled under
    `compiled`, and the cell trains; G and the losses are still compiled."""
    path = write_suite(objectives='[{ name = "wgan-gp", k = 1 }, { name = "nonsaturating", r1 = 1.0 }]')
    path.write_text(path.read_text().replace("steps = 20", "steps = 4").replace("every = 10", "every = 4")
                    + 'kernels = ["compiled"]\n')
    for cell in [c for c in cells_of(path, registry) if c.seed == 0]:
        result = run_cell(cell, registry)
        assert result.status == "done", result.error
        assert result.env["kernel_ops"]["discriminator_loss"] == "compiled"


def test_two_metric_entries_reporting_one_value_name_fail_the_cell_not_the_store(write_suite, tmp_path):
    """A repeatable metric whose entries report the same value name would overwrite each other:
    the cell fails with the reason, and the store records it (no row left `running`)."""
    from genbench import MetricOutput, MetricResult, MetricSpec

    registry = load_plugins(entry_points=False)
    registry.add("metric", MetricSpec("same-name", "reports one fixed name", lambda scale: lambda ctx: MetricResult(
        {"score": float(scale)}), {"scale": __import__("genbench").Param(1.0, "a number")},
        outputs={"score": MetricOutput(True, "score")}, repeatable=True), "test", "test")
    path = write_suite()
    path.write_text(path.read_text().replace('metrics = [{ name = "modes", n_samples = 200 }]',
                                             'metrics = [{ name = "same-name", scale = 1.0 }, { name = "same-name", scale = 2.0 }]'))
    store = Store(tmp_path / "out")
    outcome = run_suite(cells_of(path, registry)[:1], store, local(registry))
    [result] = outcome.results
    assert result.status == "failed" and "already reported" in result.error
    assert [c.status for c in store.cells()] == ["failed"]
