"""The variational fair autoencoder: the MMD estimates against each other and closed forms, the
datasets with a sensitive attribute (tinted digits, the csv loader and its errors), the fairness
metric on data whose answer is known, training through the runner, and bad settings."""

import math

import numpy as np
import pytest
import torch

from genbench import ConfigError, DataError

from genbench.suite import config

from genbench.suite import plan
from genbench.plugins.datasets.sensitive import SENSITIVE, TEST_SENSITIVE
from genbench.plugins.datasets.tabular import csv_dataset
from genbench.plugins.datasets.tinted import TINTS, digits_tinted
from genbench.plugins.metrics.fairness import fairness_scores
from genbench.plugins.objectives.mmd import mmd_exact, mmd_rff
from genbench.run.runner import run_cell


def groups(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """z = a then b, s = 0 for a's rows and 1 for b's."""
    return torch.cat([a, b]), torch.cat([torch.zeros(len(a)), torch.ones(len(b))]).long()


def test_exact_mmd_is_the_kernel_sum_by_hand():
    a, b = torch.tensor([[0.0, 0.0], [1.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    k = lambda u, v: math.exp(-((u - v) ** 2).sum().item() / (2 * 1.5 ** 2))
    by_hand = (sum(k(u, v) for u in a for v in a) / 4 + k(b[0], b[0])
               - 2 * sum(k(u, b[0]) for u in a) / 2)
    assert mmd_exact(*groups(a, b), 1.5).item() == pytest.approx(by_hand, rel=1e-6)


def test_exact_mmd_matches_the_closed_form_for_two_gaussians():
    """MMD^2(N(m0, s^2 I), N(m1, s^2 I)) = 2 c (1 - exp(-|m0 - m1|^2 / (2 (sigma^2 + 2 s^2)))),
    c = (sigma^2 / (sigma^2 + 2 s^2))^(d/2); the V-statistic adds (1/n0 + 1/n1)(1 - c) on average."""
    d, s, sigma, n = 3, 0.7, 1.2, 1500
    g = torch.Generator().manual_seed(0)
    shift = torch.tensor([1.0, -0.5, 0.0])
    a = torch.randn(n, d, generator=g, dtype=torch.float64) * s
    b = torch.randn(n, d, generator=g, dtype=torch.float64) * s + shift
    c = (sigma ** 2 / (sigma ** 2 + 2 * s ** 2)) ** (d / 2)
    closed = 2 * c * (1 - math.exp(-shift.pow(2).sum().item() / (2 * (sigma ** 2 + 2 * s ** 2))))
    bias = (2 / n) * (1 - c)
    assert mmd_exact(*groups(a, b), sigma).item() == pytest.approx(closed + bias, abs=0.01)


def test_random_feature_mmd_agrees_with_the_exact_one():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(80, 4, generator=g, dtype=torch.float64)
    s = (torch.rand(80, generator=g) < 0.4).long()
    z[s == 1] += 0.8  # the groups differ
    for bandwidth in (0.7, 2.0, 0.0):  # 0: the median heuristic, the same width for both
        exact = mmd_exact(z, s, bandwidth).item()
        draws = torch.tensor([mmd_rff(z, s, bandwidth, 2000, g).item() for _ in range(20)])
        # one draw is within a few percent; the mean of 20 is unbiased for the exact value
        assert abs(draws[0].item() - exact) < 0.1 * exact
        assert abs(draws.mean().item() - exact) < 3 * draws.std().item() / math.sqrt(20) + 1e-3
    same = mmd_exact(torch.randn(200, 4, generator=g), torch.arange(200) % 2, 1.0).item()
    assert same < 0.03  # two samples of one distribution: only the V-statistic's floor


def test_mmd_is_zero_when_a_group_is_missing():
    z = torch.randn(10, 3)
    for estimate in (mmd_exact(z, torch.zeros(10).long(), 1.0),
                     mmd_rff(z, torch.ones(10).long(), 1.0, 50, torch.Generator().manual_seed(0))):
        assert estimate.item() == 0.0


def test_tinted_digits_carry_s_at_the_set_rate():
    data = digits_tinted(0, 0.8)
    s, y = data.extras[SENSITIVE], (data.train_labels >= 5).long()
    assert data.train.shape[1:] == (3, 8, 8) and set(data.info.extras) >= {SENSITIVE, TEST_SENSITIVE}
    n = len(s)
    assert abs((s == y).float().mean().item() - 0.8) < 3 * math.sqrt(0.16 / n)
    assert len(data.extras[TEST_SENSITIVE]) == len(data.test)
    # the tint: s = 1 is red (the blue channel at half the red), s = 0 blue
    unit = (data.train + 1) / 2
    bright = unit[:, 0].flatten(1).sum(1) > 0
    ratio = unit[:, 2].flatten(1).sum(1)[bright] / unit[:, 0].flatten(1).sum(1)[bright]
    expected = (TINTS[s[bright], 2] / TINTS[s[bright], 0])
    assert torch.allclose(ratio, expected, atol=1e-5)
    assert torch.equal(digits_tinted(0, 1.0).extras[SENSITIVE], y)  # rate 1: s is the task
    assert torch.equal(digits_tinted(0, 0.8).extras[SENSITIVE], s)  # one fixed draw


TABLE = """age,job,sex,income,hours
39,clerk,Male,<=50K,40
50,manager,Male,>50K,13
38,clerk,Female,<=50K,40
53,labourer,Female,>50K,45
28,manager,Female,<=50K,40
37,clerk,Male,>50K,50
49,labourer,Female,<=50K,16
52,manager,Male,>50K,45
31,clerk,Female,>50K,50
42,labourer,Male,<=50K,40
"""


def write(path, text: str):
    path.write_text(text)
    return str(path)


def test_csv_one_hot_encodes_standardises_and_keeps_s_apart(tmp_path):
    path = write(tmp_path / "adult.csv", TABLE)
    test_path = write(tmp_path / "adult.test", TABLE.splitlines()[0] + "\n45,clerk,Male,>50K.,20\n33,pilot,Female,<=50K.,35\n")
    data = csv_dataset(path, "income", "sex", ("job",), test_path, 0.2)
    assert data.info.domain == "tabular" and data.info.n_classes == 2
    assert data.train.shape == (10, 2 + 3) and data.test.shape == (2, 5)  # age, hours, 3 jobs
    numeric = data.train[:, :2].double()
    assert torch.allclose(numeric.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(numeric.std(0, unbiased=False), torch.ones(2, dtype=torch.float64), atol=1e-6)
    assert data.train[:, 2:].sum(1).tolist() == [1.0] * 10  # one-hot
    assert data.test[1, 2:].tolist() == [0.0, 0.0, 0.0]  # an unseen job
    assert data.train_labels.tolist() == [0, 1, 0, 1, 0, 1, 0, 1, 1, 0]  # "<=50K" < ">50K"
    assert data.test_labels.tolist() == [1, 0]  # adult.test's trailing "." is dropped
    assert data.extras[SENSITIVE].tolist() == [1, 1, 0, 0, 0, 1, 0, 1, 0, 1]  # Female 0, Male 1
    split = csv_dataset(path, "income", "sex", ("job",), "", 0.2)
    assert len(split.train) == 8 and len(split.test) == 2 and sorted(split.test_labels.tolist()) == [0, 1]


@pytest.mark.parametrize("change, message", [
    ({"path": "missing.csv"}, "does not exist"),
    ({"target": "salary"}, "target column 'salary' is not in"),
    ({"sensitive": "race"}, "sensitive column 'race' is not in"),
    ({"categorical": ("color",)}, "categorical column 'color' is not in"),
    ({"target": "job"}, "column 'job' of .* has 3 distinct values"),
    ({"sensitive": "age", "categorical": ("job",)}, "column 'age' of .* has 10 distinct values"),
    ({"categorical": ()}, "column 'job' of .* holds 'clerk', not a number.*list 'job' in categorical"),
    ({"sensitive": "income"}, "target and sensitive are both 'income'"),
    ({"target": ""}, "target and sensitive must name columns"),
    ({"test_path": "other.csv"}, "other.csv does not exist"),
])
def test_csv_errors_say_what_is_wrong(tmp_path, change, message):
    write(tmp_path / "adult.csv", TABLE)
    args = {"path": "adult.csv", "target": "income", "sensitive": "sex", "categorical": ("job",),
            "test_path": "", "test_fraction": 0.2, **change}
    args = {**args, **{k: str(tmp_path / args[k]) for k in ("path", "test_path") if args[k]}}
    with pytest.raises(DataError, match=message):
        csv_dataset(**args)


def test_csv_rejects_ragged_rows_and_other_headers(tmp_path):
    path = write(tmp_path / "a.csv", "a,b,c\n1,2\n")
    with pytest.raises(DataError, match="line 2 has 2 cells, the header 3"):
        csv_dataset(path, "a", "b", (), "", 0.2)
    path = write(tmp_path / "b.csv", TABLE)
    other = write(tmp_path / "c.csv", "x,y\n1,2\n")
    with pytest.raises(DataError, match="other columns"):
        csv_dataset(path, "income", "sex", ("job",), other, 0.2)


def test_fairness_of_a_representation_blind_to_s():
    """z carries y but not s: parity ~ 0 and acc_s ~ the majority rate; the raw s itself is found."""
    g = np.random.default_rng(0)
    n = 4000
    y, s = g.integers(0, 2, n), (g.random(n) < 0.3).astype(np.int64)
    z = np.stack([y + 0.3 * g.standard_normal(n), g.standard_normal(n)], 1)
    scores = fairness_scores(z[:2000], z[2000:], y[:2000], y[2000:], s[:2000], s[2000:])
    assert scores["acc_y"] > 0.95 and scores["parity"] < 0.05
    assert scores["s_majority"] == pytest.approx(max(np.mean(s[2000:]), 1 - np.mean(s[2000:])))
    assert abs(scores["acc_s"] - scores["s_majority"]) < 0.02
    leaky = np.concatenate([z, s[:, None] + 0.1 * g.standard_normal((n, 1))], 1)
    assert fairness_scores(leaky[:2000], leaky[2000:], y[:2000], y[2000:], s[:2000], s[2000:])["acc_s"] > 0.99


def test_fairness_parity_gap_when_the_task_is_s():
    """y = s: a perfect y classifier answers 1 for s = 1 and 0 for s = 0, a parity gap of 1."""
    g = np.random.default_rng(1)
    s = g.integers(0, 2, 1000)
    z = (s + 0.1 * g.standard_normal(1000))[:, None]
    scores = fairness_scores(z[:500], z[500:], s[:500], s[500:], s[:500], s[500:])
    assert scores["acc_y"] == 1.0 and scores["parity"] == 1.0


FAIR_SUITE = """
[suite]
name = "fair-tiny"
seeds = [0]
[train]
steps = 6
batch_size = 16
[eval]
every = 3
metrics = [{metric}, {{ name = "fairness", features = "input" }}]
[[matrix]]
datasets = [{dataset}]
models = [{model}]
objectives = [{objective}]
"""
GOOD = {"metric": '"fairness"', "dataset": '{ name = "digits-tinted", n_train = 200 }',
        "model": '{ name = "vfae", hidden = 16, z_dim = 4, z2_dim = 3 }', "objective": '"vfae"'}


def fair_cell(write_suite, registry, **change):
    path = write_suite(FAIR_SUITE.format(**{**GOOD, **change}))
    (cell,) = plan.expand(config.load(str(path), registry), registry)
    return cell


def final_values(result) -> dict[str, float]:
    last = max(m.step for m in result.metrics)
    return {m.name: m.value for m in result.metrics if m.step == last}


@pytest.mark.parametrize("objective", ['"vfae"', '{ name = "vfae", mmd = "exact", beta = 5.0 }'])
def test_vfae_trains_through_the_runner_reproducibly(write_suite, registry, objective):
    cell = fair_cell(write_suite, registry, objective=objective)
    first, again = run_cell(cell, registry), run_cell(cell, registry)
    assert first.status == "done", first.error
    values = final_values(first)
    for name in ("loss", "mmd", "classification", "acc_y", "acc_s", "parity", "acc_y@input", "parity@input"):
        assert math.isfinite(values[name]), name
    assert values["acc_s@input"] > 0.95  # the tint gives s away in the raw pixels
    assert values == final_values(again)
    assert any(a.kind == "samples" for a in first.artifacts)


def test_vfae_and_fairness_on_a_csv_table(tmp_path, write_suite, registry):
    rows = [TABLE.splitlines()[0]] + [line for _ in range(4) for line in TABLE.splitlines()[1:]]
    path = write(tmp_path / "t.csv", "\n".join(rows) + "\n")
    dataset = f'{{ name = "csv", path = "{path}", target = "income", sensitive = "sex", categorical = ["job"] }}'
    result = run_cell(fair_cell(write_suite, registry, dataset=dataset), registry)
    assert result.status == "done", result.error
    assert 0 <= final_values(result)["parity"] <= 1


def test_vae_codes_are_scored_too(write_suite, registry):
    cell = fair_cell(write_suite, registry, model='{ name = "ae-deep", hidden = [16], code_dim = 4, variational = true }',
                     objective='"vae"')
    result = run_cell(cell, registry)
    assert result.status == "done", result.error
    assert {"acc_y", "acc_s", "parity", "s_majority"} <= set(final_values(result))


@pytest.mark.parametrize("change, message", [
    ({"dataset": '"digits"'}, "model 'vfae.*' cannot fit dataset 'digits': the dataset has no sensitive attribute"),
    ({"dataset": '"digits"', "model": '{ name = "ae-deep", variational = true }', "objective": '"vae"'},
     "metric 'fairness' cannot score dataset 'digits': the dataset has no sensitive attribute"),
    ({"model": '{ name = "vfae", z_dim = 0 }'}, "z_dim: 0 is below the minimum 1"),
    ({"objective": '{ name = "vfae", mmd = "fast" }'}, "is not one of 'rff', 'exact'"),
    ({"objective": '{ name = "vfae", beta = -1.0 }'}, "beta: -1.0 is below the minimum"),
    ({"dataset": '{ name = "digits-tinted", rate = 1.5 }'}, "rate: 1.5 is above the maximum"),
    ({"metric": '{ name = "fairness", features = "z" }'}, "is not one of 'learned', 'input'"),
    ({"dataset": '{ name = "csv", target = "y", sensitive = "s" }'}, "csv needs a path"),
    ({"objective": '"vae"'}, "cannot train model"),
])
def test_bad_vfae_settings_are_config_errors(write_suite, registry, change, message):
    path = write_suite(FAIR_SUITE.format(**{**GOOD, **change}))
    with pytest.raises((ConfigError, DataError), match=message):
        config.load(str(path), registry)


def test_vfae_steps_read_nothing_back_from_the_device(host_reads, write_suite, registry):
    from functools import partial

    from genbench import TrainSetup
    from genbench.plugins.families.vfae import train_vfae
    from genbench.plugins.models.vfae import VFAEModel
    from genbench.plugins.objectives.vfae import VFAE
    from genbench.plugins.optimizers.torch_optim import adam

    data = digits_tinted(100, 0.8)
    for kind in ("rff", "exact"):
        setup = TrainSetup(data, VFAEModel(data.info, 8, 3, 2), VFAE(1.0, 10.0, kind, 20, 0.0, "mean"),
                           partial(adam, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8),
                           {"steps": 5, "batch_size": 20}, 0, torch.device("cpu"))
        host_reads.clear()
        steps = list(train_vfae(setup))
        assert host_reads == [] and len(steps) == 5


def test_fair_suite_validates(registry):
    cells = plan.expand(config.load("fair", registry), registry)
    assert {c.seed for c in cells} == {0, 1, 2}
    assert {c.component("objective").label for c in cells} >= {"vae", "vfae-nommd", "vfae"}
    assert all({m.name for m in c.metrics} == {"fairness"} and len(c.metrics) == 2 for c in cells)


def test_vfae_resumes_from_its_trainer_state_bit_identically(tmp_path):
    from functools import partial

    from genbench import Resume, TrainSetup
    from genbench.plugins.families.vfae import train_vfae
    from genbench.plugins.models.vfae import VFAEModel
    from genbench.plugins.objectives.vfae import VFAE
    from genbench.plugins.optimizers.torch_optim import adam

    data = digits_tinted(100, 0.8)

    def setup(resume=None):
        torch.manual_seed(0)
        return TrainSetup(data, VFAEModel(data.info, 8, 3, 2), VFAE(1.0, 10.0, "rff", 20, 0.0, "mean"),
                          partial(adam, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8),
                          {"steps": 6, "batch_size": 20}, 0, torch.device("cpu"), resume)

    whole = [step.stats["loss"].item() for step in train_vfae(setup())]
    steps = train_vfae(setup())
    for step in steps:
        if step.step == 3:
            torch.save(step.state(), tmp_path / "state.pt")
            break
    state = torch.load(tmp_path / "state.pt", weights_only=True)
    resumed = [(step.step, step.stats["loss"].item()) for step in train_vfae(setup(Resume(3, state)))]
    assert resumed == list(zip([4, 5, 6], whole[3:], strict=True))
