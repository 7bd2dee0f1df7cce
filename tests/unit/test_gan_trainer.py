"""The GAN trainer follows Algorithm 1, and the objectives behave as the lecture says."""

import pytest
import torch
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.families.gan import STATISTICS, d_outputs, train_gan
from genbench.plugins.models.gan import GANModel
from genbench.plugins.models.mlp_gan import make_mlp_gan
from genbench.plugins.objectives.gan import hinge, lsgan, nonsaturating, ragan, rsgan, saturating, wgan_gp

from genbench import TrainSetup, TrainStep, kernels

TRAIN = {"steps": 5, "batch_size": 16, "lr": 1e-3, "device": "cpu", "g_noise": "fresh"}


@pytest.fixture(autouse=True)
def identity_prepare(monkeypatch):
    """Until the kernels branch lands genbench.kernels.prepare, train the modules as they are."""
    monkeypatch.setattr(kernels, "prepare", lambda module: module, raising=False)


def adam(parameters, role=None):
    return torch.optim.Adam(parameters, lr=TRAIN["lr"], betas=(0.5, 0.999))


def setup_for(k: int, calls: dict, g_noise: str = "fresh", objective=None) -> TrainSetup:
    data = ring8(256, 16, 0)
    torch.manual_seed(0)
    model = make_mlp_gan(data.info, hidden=8, depth=1, z_dim=2)
    forward = model.discriminator.forward

    def counted(x):
        calls["d"] += 1
        calls["batch"].add(len(x))
        return forward(x)

    model.discriminator.forward = counted
    generator_forward = model.generator.forward

    def counted_generator(z):
        calls["g"] = calls.get("g", 0) + 1
        return generator_forward(z)

    model.generator.forward = counted_generator
    return TrainSetup(data, model, objective or nonsaturating(k=k), adam, {**TRAIN, "g_noise": g_noise},
                      seed=0, device=torch.device("cpu"))


def run(setup: TrainSetup) -> list[TrainStep]:
    return list(train_gan(setup))


def test_k_discriminator_steps_per_generator_step_on_minibatches_of_m():
    calls = {"d": 0, "batch": set()}
    steps = run(setup_for(3, calls))
    assert calls["d"] == 5 * (3 * 2 + 1)  # per iteration: k x (real, fake) + the generator step
    assert calls["g"] == 5 * (3 + 1)  # fresh noise: one generator forward per D step and the G step
    assert calls["batch"] == {16}
    assert [s.step for s in steps] == [1, 2, 3, 4, 5]
    assert all(s.examples == 3 * 16 for s in steps)  # k minibatches of m real examples per step


def test_reused_noise_saves_one_generator_forward_per_iteration():
    calls = {"d": 0, "batch": set()}
    run(setup_for(3, calls, g_noise="reuse"))
    assert calls["g"] == 5 * 3 and calls["d"] == 5 * (3 * 2 + 1)


def test_only_a_relativistic_generator_loss_costs_d_on_a_real_batch():
    calls = {"d": 0, "batch": set()}
    run(setup_for(2, calls, objective=rsgan(k=2)))
    assert calls["d"] == 5 * (2 * 2 + 2)  # the G step also scores the last real batch


def test_each_step_yields_device_statistics_and_one_eval_context():
    setup = setup_for(1, {"d": 0, "batch": set()})
    steps = run(setup)
    for step in steps:
        assert set(step.stats) == {"loss_d", "loss_g", "d_real", "d_fake", "g_grad_norm"}
        assert all(isinstance(v, torch.Tensor) and v.ndim == 0 and not v.requires_grad for v in step.stats.values())
        assert all(0 < step.stats[k] < 1 for k in ("d_real", "d_fake"))
    assert all(s.context is steps[0].context for s in steps)  # built once; the runner fills in the step
    ctx = steps[0].context
    assert ctx.step == 0 and ctx.data is setup.data and ctx.seed == 0 and ctx.model is setup.model
    assert ctx.reconstruct is None
    first = ctx.sample(10)
    assert first.shape == (10, 2) and torch.equal(first, ctx.sample(10))  # fixed eval noise
    assert setup.model.generator.training  # sampling switched to eval mode and back


def test_the_trainer_stops_when_the_runner_stops_pulling():
    calls = {"d": 0, "batch": set()}
    trainer = train_gan(setup_for(1, calls))
    assert next(trainer).step == 1 and next(trainer).step == 2
    trainer.close()
    assert calls["d"] == 2 * 3  # nothing ran ahead of what was pulled


def test_trainer_builds_optimisers_from_the_setup_and_trains_what_kernels_prepare_returns(monkeypatch):
    prepared, optimised = [], []

    def prepare(module):
        prepared.append(module)
        return module

    def sgd(parameters, role=None):
        parameters = list(parameters)
        optimised.append(parameters)
        return torch.optim.SGD(parameters, lr=0.1)

    monkeypatch.setattr(kernels, "prepare", prepare, raising=False)
    setup = setup_for(1, {"d": 0, "batch": set()})
    setup.optimizer = sgd
    before = [p.detach().clone() for p in setup.model.generator.parameters()]
    run(setup)
    assert prepared == [setup.model.generator, setup.model.discriminator]
    assert optimised == [list(setup.model.generator.parameters()), list(setup.model.discriminator.parameters())]
    assert any(not torch.equal(a, b) for a, b in zip(before, setup.model.generator.parameters(), strict=True))


@pytest.mark.parametrize("make_objective", [lsgan, hinge, wgan_gp, rsgan, ragan])
def test_a_critic_is_reported_by_its_raw_scores_not_as_probabilities(make_objective):
    """sigmoid of an LSGAN/hinge/WGAN/relativistic critic's score is no probability: report the scores."""
    setup = setup_for(1, {"d": 0, "batch": set()}, objective=make_objective(k=1))
    last = run(setup)[-1]
    assert set(last.stats) == {"loss_d", "loss_g", "critic_real", "critic_fake", "g_grad_norm"}
    real, fake = torch.zeros(3) + 2.5, torch.zeros(3) - 4.0
    outputs = d_outputs(setup.objective, real, fake)
    assert {name: value.item() for name, value in outputs.items()} == {"critic_real": 2.5, "critic_fake": -4.0}


def test_the_family_declares_every_statistic_and_which_must_stay_finite(registry):
    spec = registry.get("family", "gan")
    assert spec.factory is train_gan and spec.model_type is GANModel
    assert dict(spec.statistics) == STATISTICS
    assert {name for name, s in STATISTICS.items() if s.finite} == {"loss_d", "loss_g"}
    assert {name for name, s in STATISTICS.items() if s.column} == {
        "g_grad_norm", "d_real", "d_fake", "critic_real", "critic_fake"}
    assert spec.params["g_noise"].default == "fresh" and spec.params["g_noise"].choices == ("fresh", "reuse")


def test_saturating_generator_gradient_vanishes_when_d_rejects_samples():
    """At logit -10 (D(G(z)) ~ 4.5e-5): d/dx log(1 - D) = -sigmoid(x) ~ -4.5e-5; d/dx -log D ~ -1."""
    logits = torch.full((8,), -10.0, requires_grad=True)
    grads = {}
    for name, make in (("saturating", saturating), ("nonsaturating", nonsaturating)):
        (grad,) = torch.autograd.grad(make(k=1).generator_loss(None, logits), logits)
        grads[name] = grad.abs().mean().item()
    # mean reduction over 8 logits divides each element's gradient by 8
    assert grads["saturating"] == pytest.approx(torch.sigmoid(torch.tensor(-10.0)).item() / 8)
    assert grads["nonsaturating"] == pytest.approx(torch.sigmoid(torch.tensor(10.0)).item() / 8)
    assert grads["nonsaturating"] / grads["saturating"] > 1e4


def test_both_objectives_share_the_discriminator_loss():
    real, fake = torch.randn(32) * 5, torch.randn(32) * 5
    a = saturating(k=1).discriminator_loss(real, fake)
    b = nonsaturating(k=1).discriminator_loss(real, fake)
    expected = torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()
    assert torch.allclose(a, b) and torch.allclose(a, expected)
