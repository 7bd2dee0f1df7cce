"""[search]: deterministic trials per group, distribution ranges, validation, trials as cells."""

import math
from dataclasses import replace

import numpy as np
import pytest

from genbench.suite.config import load
from genbench.api.errors import ConfigError
from genbench.suite.plan import expand
from genbench.suite.search import Distribution

SUITE = """
[suite]
name = "sweep"
seeds = [0, 1]
[train]
steps = 20
batch_size = 32
[eval]
every = 10
metrics = [{{ name = "modes", n_samples = 200 }}]
[matrix]
datasets = [{{ name = "ring8", n_train = 512, n_test = 64 }}]
models = [{{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }}]
objectives = ["nonsaturating", "wgan-gp"]
[search]
trials = {trials}
{params}
"""
PARAMS = """train.lr = { log_uniform = [1e-5, 1e-2] }
optimizer.beta1 = { uniform = [0.0, 0.9] }
objective.gp = { choice = [1.0, 10.0] }
model.hidden = { uniform = [8, 32] }"""


def cells_of(write_suite, registry, trials=3, params=PARAMS, name="suite.toml"):
    return expand(load(str(write_suite(SUITE.format(trials=trials, params=params), name=name)), registry), registry)


def test_trials_expand_into_cells_with_their_sampled_values(write_suite, registry):
    cells = cells_of(write_suite, registry)
    assert len(cells) == 2 * 3 * 2  # objectives x trials x seeds
    assert cells[0].path.endswith("/nonsaturating/adam/eager/trial00/seed0")
    assert cells[1].path.endswith("/nonsaturating/adam/eager/trial00/seed1")
    assert len({c.cell_id for c in cells}) == 12
    for cell in cells:
        sampled = dict(cell.search)
        assert dict(cell.train)["lr"] == sampled["train.lr"]  # in the cell's resolved config, hence its id
        assert cell.component("optimizer").kwargs()["beta1"] == sampled["optimizer.beta1"]
        assert cell.component("model").kwargs()["hidden"] == sampled["model.hidden"]
        assert cell.resolved()["search"] == sampled and cell.resolved()["trial"] == cell.trial
        # objective.gp applies only where the objective has it
        assert ("objective.gp" in sampled) == (cell.component("objective").name == "wgan-gp")
    wgan = [c for c in cells if c.component("objective").name == "wgan-gp"]
    assert all(c.component("optimizer").kwargs()["beta2"] == 0.9 for c in wgan)  # published defaults stay
    seeds_of_a_trial = [dict(c.search) for c in cells[:2]]
    assert seeds_of_a_trial[0] == seeds_of_a_trial[1]  # a trial runs at every seed


def test_a_drawn_parameter_is_in_the_configuration_even_one_kept_out_of_ids_at_its_default(write_suite, registry):
    """mlp's `pack` stays out of cell ids at its default (Param.id_if_default); drawn by a search,
    it is a setting of the trial and appears in the resolved configuration whatever its value."""
    cells = cells_of(write_suite, registry, trials=4, params="model.pack = { choice = [1, 2] }")
    drawn = [(dict(c.search)["model.pack"], c.resolved()["model"]["params"].get("pack")) for c in cells]
    assert {value for value, _ in drawn} == {1, 2} and all(value == shown for value, shown in drawn)


def test_sampling_is_deterministic_and_extending_trials_keeps_the_first(write_suite, registry):
    first = cells_of(write_suite, registry, trials=3)
    again = cells_of(write_suite, registry, trials=3, name="again.toml")
    more = cells_of(write_suite, registry, trials=5, name="more.toml")
    assert [c.cell_id for c in first] == [c.cell_id for c in again]
    assert {c.cell_id for c in first} < {c.cell_id for c in more}  # resuming with more trials keeps these
    # groups draw apart: the two objectives' trial 0 differ
    lr = {c.component("objective").name: dict(c.search)["train.lr"] for c in first if c.trial == 0}
    assert lr["nonsaturating"] != lr["wgan-gp"]


def test_another_search_seed_draws_other_values(write_suite, registry):
    base = cells_of(write_suite, registry)
    other = cells_of(write_suite, registry, params=PARAMS + "\nseed = 7", name="seeded.toml")
    assert [c.search for c in base] != [c.search for c in other]


def test_a_resumed_run_finds_its_cells_by_id(write_suite, registry, tmp_path):
    from genbench.run.rescore import stored_cell
    from genbench.results.store import Store

    cells = cells_of(write_suite, registry)
    store = Store(tmp_path / "out")
    store.record_suite("sweep", "suite.toml", "", cells)
    assert set(store.statuses()) == {c.cell_id for c in cells}
    stored = store.cells()
    assert {s.axes["trial"] for s in stored} == {"trial00", "trial01", "trial02"}
    assert all(stored_cell(s, "sweep", registry) is not None for s in stored)  # rebuilt from the store, same id
    store.close()


@pytest.mark.parametrize("kind, bounds, integer", [("log_uniform", (1e-5, 1e-2), False), ("uniform", (0.0, 0.9), False),
                                                   ("uniform", (8, 12), True), ("log_uniform", (1, 8), True)])
def test_distributions_stay_in_range_and_have_their_shape(kind, bounds, integer):
    dist = Distribution(kind, bounds, integer)
    rng = np.random.default_rng(0)
    draws = np.array([dist.sample(rng) for _ in range(4000)])
    assert draws.min() >= bounds[0] and draws.max() <= bounds[1]
    assert all(type(v) is (int if integer else float) for v in draws.tolist()[:10])
    if kind == "log_uniform" and not integer:  # uniform in log space: the median is the geometric mean
        assert np.median(draws) == pytest.approx(math.sqrt(bounds[0] * bounds[1]), rel=0.15)
    if kind == "uniform" and not integer:
        assert np.mean(draws) == pytest.approx(sum(bounds) / 2, rel=0.05)
    if integer:
        assert set(draws.tolist()) == set(range(bounds[0], bounds[1] + 1))  # the bounds too
    if kind == "uniform" and integer:  # each integer equally likely
        assert np.bincount(draws)[bounds[0]:] / len(draws) == pytest.approx([0.2] * 5, abs=0.03)


def test_choice_draws_every_option():
    rng = np.random.default_rng(0)
    draws = [Distribution("choice", (1, 2, 5)).sample(rng) for _ in range(300)]
    assert set(draws) == {1, 2, 5}


@pytest.mark.parametrize("params, message", [
    ("train.lr = { log_uniform = [0.0, 1e-2] }", r"search.train.lr.log_uniform: a log-uniform range must be positive"),
    ("train.lr = { uniform = [1e-2, 1e-5] }", r"expected \[low, high\] numbers with low < high"),
    ("train.lr = { uniform = [1e-5, 2.0] }", r"2.0: 2.0 is above the maximum 1.0"),
    ("train.lr = { normal = [0, 1] }", r"expected a table with one of log_uniform, uniform, choice"),
    ("train.steps = { choice = [10, 20] }", r"'steps' cannot be searched: the step budget"),
    ("train.lrr = { uniform = [0.1, 0.2] }", r"no train of this suite has a parameter 'lrr'.*lr"),
    ("objective.kk = { choice = [1, 2] }", r"no objective of this suite has a parameter 'kk'"),
    ("dataset.n_train = { choice = [100] }", r"search.dataset: unknown key 'dataset'"),
    ("model.hidden = { uniform = [8.0, 32.0] }", r"an integer parameter needs integer bounds"),
    ("objective.k = { choice = [0, 1] }", r"0: 0 is below the minimum 1"),
    ("tirals = 3", r"search.tirals: unknown key 'tirals'"),
])
def test_bad_search_blocks_are_config_errors_before_any_work(write_suite, registry, params, message):
    with pytest.raises(ConfigError, match=message):
        cells_of(write_suite, registry, params=params)


def test_trials_must_be_a_positive_count(write_suite, registry):
    with pytest.raises(ConfigError, match=r"search.trials: expected an integer from 1 to 1000, got 0"):
        cells_of(write_suite, registry, trials=0)


def test_a_drawn_model_that_cannot_fit_its_data_is_refused(write_suite, registry, monkeypatch):
    entry = registry.tables["model"]["mlp"]
    picky = replace(entry.spec, fits=lambda info, **params: "too wide" if params["hidden"] > 20 else None)
    monkeypatch.setitem(registry.tables["model"], "mlp", replace(entry, spec=picky))
    with pytest.raises(ConfigError, match=r"search: trial \d of .*/nonsaturating/.* draws model mlp "
                                          r"\{'model.hidden': \d+\}, which cannot fit dataset .*: too wide"):
        cells_of(write_suite, registry, params="model.hidden = { choice = [8, 32] }")
    assert len(cells_of(write_suite, registry, params="model.hidden = { choice = [8, 16] }", name="ok.toml")) == 12
