"""The rbm family: exact and AIS log Z, the CD gradient, Gibbs sampling, binarised data, bad
parameters (the rbm-smoke suite runs in tests/e2e/test_builtin_suite_runs.py)."""

import itertools
from functools import partial

import pytest
import torch
from scipy.stats import chisquare

from genbench import ConfigError, TrainSetup

from genbench.suite import config

from genbench.suite import plan
from genbench.plugins.datasets.binarized import digits_bin
from genbench.plugins.datasets.digits import digits
from genbench.plugins.families.rbm import contrastive_loss, make_sampler, train_rbm
from genbench.plugins.metrics.rbm_loglik import ais_log_z, base_rate_bias, exact_log_z
from genbench.plugins.models.rbm import RBM
from genbench.plugins.objectives.rbm import ContrastiveDivergence, PersistentCD
from genbench.plugins.optimizers.torch_optim import sgd


def random_rbm(n_visible: int, n_hidden: int, scale: float, seed: int) -> RBM:
    """An RBM on (n_visible,) data with every parameter ~ N(0, scale^2)."""
    model = RBM((n_visible,), n_hidden, 0.0)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    return model


def all_binary(n: int) -> torch.Tensor:
    """Every binary vector of length n, (2^n, n), in the order of the integers they spell."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))


def train(data, objective, n_hidden: int = 20, steps: int = 300, seed: int = 0) -> RBM:
    """An RBM trained by the family's own trainer (SGD with momentum, as the suites use)."""
    torch.manual_seed(seed)
    model = RBM(data.info.shape, n_hidden, 0.01)
    setup = TrainSetup(data, model, objective, partial(sgd, lr=0.05, momentum=0.9, weight_decay=1e-4, nesterov=False),
                       {"steps": steps, "batch_size": 100, "sample_steps": 10, "sample_start": "marginals"},
                       seed, torch.device("cpu"))
    for _ in train_rbm(setup):
        pass
    return model


@pytest.fixture(scope="module")
def digits_rbm():
    """A 20-hidden-unit RBM trained with CD-1 on thresholded digits, and its data."""
    data = digits_bin(0, "threshold")
    return train(data, ContrastiveDivergence(1)), data


def test_exact_log_z_matches_brute_force_over_both_layers():
    model = random_rbm(10, 8, 1.0, seed=1)
    v, h = all_binary(10).double(), all_binary(8).double()  # (1024, 10), (256, 8)
    W, b, c = (p.detach().double() for p in (model.weight, model.visible_bias, model.hidden_bias))
    negative_energy = (v @ b)[:, None] + (h @ c)[None, :] + v @ W.T @ h.T  # (1024, 256): -E(v, h)
    brute_force = torch.logsumexp(negative_energy.flatten(), 0).item()
    assert exact_log_z(model) == pytest.approx(brute_force, abs=1e-9)
    # and log p(v) = -F(v) - log Z sums to one over every v
    log_p = -model.free_energy(v.float()).double() - exact_log_z(model)
    assert torch.logsumexp(log_p, 0).item() == pytest.approx(0.0, abs=1e-5)


def test_exact_log_z_sums_in_chunks(monkeypatch):
    """More hidden units than one chunk of configurations: the chunked sum equals one big sum."""
    import genbench.plugins.metrics.rbm_loglik as rbm_loglik

    model = random_rbm(6, 10, 0.5, seed=2)
    whole = exact_log_z(model)
    monkeypatch.setattr(rbm_loglik, "EXACT_CHUNK", 100)  # 2^10 configurations in 11 chunks
    assert exact_log_z(model) == pytest.approx(whole, abs=1e-9)


def test_ais_agrees_with_exact_log_z_on_a_trained_digits_rbm(digits_rbm):
    model, data = digits_rbm
    exact = exact_log_z(model)
    train_v = model.to_visible(data.train)
    ais = ais_log_z(model, base_rate_bias(train_v), n_betas=2000, runs=100,
                    generator=torch.Generator().manual_seed(0))
    assert abs(exact - ais["log_z_base"]) > 2.0  # training moved Z far from the base-rate start
    assert ais["log_z_low"] <= exact <= ais["log_z_high"]
    assert abs(ais["log_z"] - exact) < 0.2
    # trained: the held-out log-likelihood beats the base-rate model's
    log_p = -model.free_energy(model.to_visible(data.test)).mean().item() - exact
    base = torch.distributions.Bernoulli(logits=base_rate_bias(train_v).float())
    assert log_p > base.log_prob(model.to_visible(data.test)).sum(1).mean().item() + 2.0


def test_cd_loss_gradient_is_the_closed_form():
    model = random_rbm(6, 4, 0.5, seed=3)
    generator = torch.Generator().manual_seed(0)
    v = (torch.rand(8, 6, generator=generator) < 0.5).float()  # (8, 6)
    negatives = ContrastiveDivergence(2).negatives(model, v, generator)  # (8, 6)
    contrastive_loss(model, v, negatives).backward()
    with torch.no_grad():
        ph_data, ph_model = model.hidden_probs(v), model.hidden_probs(negatives)  # (8, 4) each
        ascent_w = ph_data.T @ v / 8 - ph_model.T @ negatives / 8  # (4, 6)
        ascent_b = v.mean(0) - negatives.mean(0)
        ascent_c = ph_data.mean(0) - ph_model.mean(0)
    torch.testing.assert_close(model.weight.grad, -ascent_w)
    torch.testing.assert_close(model.visible_bias.grad, -ascent_b)
    torch.testing.assert_close(model.hidden_bias.grad, -ascent_c)


def test_gibbs_samples_reproduce_the_exact_distribution():
    """The family's sampler (what FID and the pictures see) against p(v) enumerated exactly."""
    model = random_rbm(4, 3, 1.0, seed=4)
    states = all_binary(4)  # (16, 4)
    exact = torch.softmax(-model.free_energy(states).detach().double(), 0)  # (16,)
    train_v = torch.zeros(10, 4)  # marginal starts: every chain starts at 0000, far from p(v)
    samples = make_sampler(model, train_v, steps=30, start="marginals", seed=0)(20_000)  # (20000, 4) in {-1, 1}
    index = ((samples + 1) / 2 * torch.tensor([8, 4, 2, 1])).sum(1).long()  # (20000,): the state's number
    observed = torch.bincount(index, minlength=16).double()
    assert chisquare(observed, 20_000 * exact).pvalue > 0.01
    # the test has power: the same counts reject a slightly different RBM's distribution
    other = random_rbm(4, 3, 1.0, seed=4)
    with torch.no_grad():
        other.visible_bias[0] += 0.2
    wrong = torch.softmax(-other.free_energy(states).detach().double(), 0)
    assert chisquare(observed, 20_000 * wrong).pvalue < 1e-4


def test_training_is_reproducible_and_pcd_keeps_its_chains():
    data = digits_bin(200, "threshold")
    first, second = (train(data, PersistentCD(20, 1), n_hidden=8, steps=30) for _ in range(2))
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    objective = PersistentCD(20, 1)
    model = RBM(data.info.shape, 8, 0.01)
    model.init_visible_bias(data.train)
    generator = torch.Generator().manual_seed(0)
    chains = objective.negatives(model, model.to_visible(data.train[:5]), generator)
    assert chains.shape == (20, 64)  # n_chains, not the batch
    assert objective.negatives(model, model.to_visible(data.train[:5]), generator) is objective.chains


def test_visible_biases_start_at_the_data_log_odds():
    data = digits_bin(0, "threshold")
    model = RBM(data.info.shape, 8, 0.01)
    model.init_visible_bias(data.train)
    p = model.to_visible(data.train).mean(0).clamp(1e-3, 1 - 1e-3)
    torch.testing.assert_close(torch.sigmoid(model.visible_bias.detach()), p)
    assert model.hidden_bias.abs().max() == 0


def test_binarised_digits_are_fixed_bits_of_the_grey_digits():
    grey = digits(0)
    threshold, stochastic = digits_bin(0, "threshold"), digits_bin(0, "stochastic")
    assert torch.equal(threshold.train, (grey.train > 0).float() * 2 - 1)
    assert set(stochastic.train.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(stochastic.test, digits_bin(0, "stochastic").test)  # one fixed draw
    # a stochastic bit is 1 with the grey pixel's intensity: the means agree closely over 92k pixels
    assert ((stochastic.train + 1) / 2).mean().item() == pytest.approx(((grey.train + 1) / 2).mean().item(), abs=0.01)
    assert torch.equal(threshold.train_labels, grey.train_labels)
    assert "binarize" in threshold.info.extras and threshold.extras["binarize"] == "threshold"


RBM_SUITE = """
[suite]
name = "bad"
[train]
steps = 2
[eval]
every = 1
metrics = [{metric}]
[matrix]
datasets = [{dataset}]
models = [{model}]
objectives = [{objective}]
optimizers = ["sgd"]
"""
GOOD = {"metric": '"rbm-loglik"', "dataset": '"digits-bin"', "model": '{ name = "rbm", n_hidden = 8 }',
        "objective": '"cd"'}


@pytest.mark.parametrize("change, message", [
    ({"model": '{ name = "rbm", n_hidden = 0 }'}, "n_hidden: 0 is below the minimum 1"),
    ({"objective": '{ name = "cd", k = 0 }'}, "k: 0 is below the minimum 1"),
    ({"objective": '{ name = "pcd", n_chains = 0 }'}, "n_chains: 0 is below the minimum 1"),
    ({"dataset": '"digits"'}, "defined on binary images and this dataset is not binarised"),
    ({"dataset": '{ name = "digits-bin", binarize = "random" }'}, "is not one of 'threshold', 'stochastic'"),
    ({"metric": '{ name = "rbm-loglik", method = "exactly" }'}, "is not one of"),
    ({"objective": '"nonsaturating"'}, "cannot train model"),
])
def test_bad_rbm_settings_are_config_errors(write_suite, registry, change, message):
    path = write_suite(RBM_SUITE.format(**{**GOOD, **change}))
    with pytest.raises(ConfigError, match=message):
        config.load(str(path), registry)


def test_a_bad_setting_stops_the_cli_before_any_work(tmp_path, write_suite, invoke_genbench):
    path = write_suite(RBM_SUITE.format(**{**GOOD, "dataset": '"mnist5k"'}))
    ran = invoke_genbench("run", str(path), "--out", str(tmp_path / "out"))
    assert ran.returncode == 2 and "not binarised" in ran.stderr and "mnist5k-bin" in ran.stderr
    assert not (tmp_path / "out").exists()


def test_exact_log_z_is_refused_for_large_models():
    with pytest.raises(ValueError, match="n_hidden <= 24"):
        exact_log_z(RBM((4,), 25, 0.01))


def test_rbm_suite_validates(registry):
    cells = plan.expand(config.load("rbm", registry), registry)
    assert {c.component("dataset").name for c in cells} == {"digits-bin", "mnist5k-bin"}
    assert {c.component("objective").label for c in cells} == {"cd1", "cd10", "pcd"}
    assert {c.seed for c in cells} == set(range(10))  # the seeds a paired test needs after Holm (docs 6)
    assert len({dict(c.component("model").params)["n_hidden"] for c in cells}) >= 2


@pytest.mark.parametrize("objective", [ContrastiveDivergence(2), PersistentCD(16, 1)], ids=["cd", "pcd"])
def test_rbm_steps_read_nothing_back_from_the_device(host_reads, objective):
    """Like the other families (test_host_syncs.py): the runner alone syncs, once per interval."""
    data = digits_bin(128, "threshold")
    model = RBM(data.info.shape, 8, 0.01)
    setup = TrainSetup(data, model, objective, partial(sgd, lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=False),
                       {"steps": 20, "batch_size": 32, "sample_steps": 5, "sample_start": "data"}, 0,
                       torch.device("cpu"))
    host_reads.clear()
    steps = list(train_rbm(setup))
    assert host_reads == [] and len(steps) == 20
    assert set(steps[0].stats) == {"fe_diff", "recon", "fe_gap", "pseudo_ll"}


def test_dbn_method_of_the_pretraining_metric_shares_its_protocol(monkeypatch):
    """method = "dbn": the scratch network is the dae entry's (same numbers, trained once), the
    stack is RBMs trained from the data, and the same seed gives the same numbers."""
    import genbench.plugins.metrics.pretraining as pretraining_module
    from genbench import EvalContext
    from genbench.plugins.metrics.pretraining import make_pretraining

    runs = []
    original = pretraining_module.finetune_early_stopping
    monkeypatch.setattr(pretraining_module, "finetune_early_stopping", lambda *a: runs.append(a) or original(*a))
    pretraining_module._scratch_memo.clear()
    ctx = EvalContext(digits(300), 4, 1, torch.device("cpu"))
    shared = dict(layers=(16,), labels_per_class=5, finetune_steps=30, batch_size=32, lr=1e-2, noise=0.25,
                  rbm_lr=0.05, k=1, val_fraction=0.2, patience=3, check_every=10, max_steps=200)
    dae = make_pretraining(method="dae", pretrain_steps=30, **shared)(ctx)
    dbn_params = dict(method="dbn", pretrain_steps=60, **shared)
    dbn = make_pretraining(**dbn_params)(ctx)
    assert len(runs) == 3  # dae's two arms, then dbn's pretrained arm: its scratch arm is dae's
    assert set(dbn.values) == {"acc_dbn@5", "gap_dbn@5", "gap_dbn_equal_steps@5"} and dbn.provenance["method"] == "dbn"
    assert dbn.provenance["acc_scratch"] == dae.values["acc_scratch@5"]
    assert dbn.values["gap_dbn@5"] == pytest.approx(dbn.values["acc_dbn@5"] - dbn.provenance["acc_scratch"])
    assert dbn.provenance["acc_equal_steps"]["scratch"] == dae.provenance["acc_equal_steps"]["scratch"]
    pretraining_module._stack_memo.clear()
    pretraining_module._scratch_memo.clear()
    assert make_pretraining(**dbn_params)(ctx).values == dbn.values
    trained = next(iter(pretraining_module._stack_memo.values()))[0]
    untrained = pretraining_module.pretrain_rbm_layer(torch.rand(50, 64), 16, 0, 1, 32, 0.05, seed=4)
    assert (trained.weight - untrained.weight).abs().max() > 0.05  # CD moved the weights off N(0, 0.01^2)
