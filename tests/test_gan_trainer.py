"""The GAN trainer follows Algorithm 1, and the objectives behave as the lecture says."""

import pytest
import torch
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.models.mlp_gan import make_mlp_gan
from genbench.plugins.objectives.gan import hinge, lsgan, nonsaturating, saturating, wgan_gp

from genbench import EvalContext, TrainSetup
from genbench.train.gan import d_outputs, train_gan

TRAIN = {"steps": 5, "batch_size": 16, "lr": 1e-3, "beta1": 0.5, "beta2": 0.999, "device": "cpu",
         "g_noise": "fresh"}


def setup_for(k: int, calls: dict, g_noise: str = "fresh") -> TrainSetup:
    data = ring8(256, 16, 0)
    torch.manual_seed(0)
    model = make_mlp_gan(data.info, backend="eager", hidden=8, depth=1, z_dim=2)
    forward = model.discriminator.forward

    def counted(x):
        calls["d"] += 1
        calls["batch"].add(len(x))
        return forward(x)

    model.discriminator.forward = counted
    recorded = {}
    evaluated = []
    generator_forward = model.generator.forward

    def counted_generator(z):
        calls["g"] = calls.get("g", 0) + 1
        return generator_forward(z)

    model.generator.forward = counted_generator
    setup = TrainSetup(data, model, nonsaturating(backend="eager", k=k), {**TRAIN, "g_noise": g_noise}, seed=0,
                       device=torch.device("cpu"), eval_steps=(2, 5),
                       evaluate=lambda step, ctx: evaluated.append((step, ctx)),
                       record=lambda step, stats: recorded.__setitem__(step, stats))
    setup.recorded, setup.evaluated = recorded, evaluated
    return setup


def test_k_discriminator_steps_per_generator_step_on_minibatches_of_m():
    calls = {"d": 0, "batch": set()}
    setup = setup_for(3, calls)
    stats = train_gan(setup)
    assert calls["d"] == 5 * (3 * 2 + 1)  # per iteration: k x (real, fake) + the generator step
    assert calls["g"] == 5 * (3 + 1)  # fresh noise: one generator forward per D step and the G step
    assert calls["batch"] == {16}
    assert stats.steps == 5 and stats.samples_seen == 5 * 3 * 16 and stats.train_time_s > 0


def test_reused_noise_saves_one_generator_forward_per_iteration():
    calls = {"d": 0, "batch": set()}
    train_gan(setup_for(3, calls, g_noise="reuse"))
    assert calls["g"] == 5 * 3 and calls["d"] == 5 * (3 * 2 + 1)


def test_statistics_recorded_and_evaluated_at_eval_steps():
    setup = setup_for(1, {"d": 0, "batch": set()})
    train_gan(setup)
    assert sorted(setup.recorded) == [2, 5]
    assert set(setup.recorded[5]) == {"loss_d", "loss_g", "d_real", "d_fake", "g_grad_norm"}
    assert all(0 < setup.recorded[5][k] < 1 for k in ("d_real", "d_fake"))
    steps = [step for step, _ in setup.evaluated]
    assert steps == [2, 5]
    ctx: EvalContext = setup.evaluated[0][1]
    first = ctx.sample(10)
    assert first.shape == (10, 2) and torch.equal(first, ctx.sample(10))  # fixed eval noise


@pytest.mark.parametrize("make_objective", [lsgan, hinge, wgan_gp])
def test_a_critic_is_reported_by_its_raw_scores_not_as_probabilities(make_objective):
    """sigmoid of an LSGAN/hinge/WGAN critic's score is no probability: report the scores."""
    setup = setup_for(1, {"d": 0, "batch": set()})
    setup.objective = make_objective(backend="eager", k=1)
    train_gan(setup)
    assert set(setup.recorded[5]) == {"loss_d", "loss_g", "critic_real", "critic_fake", "g_grad_norm"}
    real, fake = torch.zeros(3) + 2.5, torch.zeros(3) - 4.0
    assert d_outputs(setup.objective, real, fake) == {"critic_real": 2.5, "critic_fake": -4.0}


def test_saturating_generator_gradient_vanishes_when_d_rejects_samples():
    """At logit -10 (D(G(z)) ~ 4.5e-5): d/dx log(1 - D) = -sigmoid(x) ~ -4.5e-5; d/dx -log D ~ -1."""
    logits = torch.full((8,), -10.0, requires_grad=True)
    grads = {}
    for name, make in (("saturating", saturating), ("nonsaturating", nonsaturating)):
        (grad,) = torch.autograd.grad(make(backend="eager", k=1).generator_loss(logits), logits)
        grads[name] = grad.abs().mean().item()
    # mean reduction over 8 logits divides each element's gradient by 8
    assert grads["saturating"] == pytest.approx(torch.sigmoid(torch.tensor(-10.0)).item() / 8)
    assert grads["nonsaturating"] == pytest.approx(torch.sigmoid(torch.tensor(10.0)).item() / 8)
    assert grads["nonsaturating"] / grads["saturating"] > 1e4


def test_both_objectives_share_the_discriminator_loss():
    real, fake = torch.randn(32) * 5, torch.randn(32) * 5
    a = saturating(backend="eager", k=1).discriminator_loss(real, fake)
    b = nonsaturating(backend="eager", k=1).discriminator_loss(real, fake)
    expected = torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()
    assert torch.allclose(a, b) and torch.allclose(a, expected)
