"""The GAN objectives against hand-derived losses and gradients, and their penalties."""

import inspect
import math

import pytest
import torch
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.families.gan import train_gan
from genbench.plugins.models.mlp_gan import make_mlp_gan
from genbench.plugins.objectives import gan

from genbench import TrainSetup


def softplus(x):
    return x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))  # log(1 + e^x), stable for any x


# objective -> (D's real term t(r), dt/dr), (D's fake term t(f), dt/df), (G's term t(f), dt/df),
# each derived by hand, e.g. d/dr softplus(-r) = -sigmoid(-r) and d/df relu(1 + f) = [f > -1].
HAND = {
    "saturating": (
        (lambda r: softplus(-r), lambda r: -torch.sigmoid(-r)),
        (lambda f: softplus(f), lambda f: torch.sigmoid(f)),
        (lambda f: -softplus(f), lambda f: -torch.sigmoid(f)),  # log(1 - D(G(z)))
    ),
    "nonsaturating": (
        (lambda r: softplus(-r), lambda r: -torch.sigmoid(-r)),
        (lambda f: softplus(f), lambda f: torch.sigmoid(f)),
        (lambda f: softplus(-f), lambda f: -torch.sigmoid(-f)),  # -log D(G(z))
    ),
    "lsgan": (
        (lambda r: 0.5 * (r - 1) ** 2, lambda r: r - 1),
        (lambda f: 0.5 * f**2, lambda f: f),
        (lambda f: 0.5 * (f - 1) ** 2, lambda f: f - 1),
    ),
    "hinge": (
        (lambda r: torch.relu(1 - r), lambda r: -(r < 1).to(r.dtype)),
        (lambda f: torch.relu(1 + f), lambda f: (f > -1).to(f.dtype)),
        (lambda f: -f, lambda f: -torch.ones_like(f)),
    ),
    "wgan-gp": (  # the critic's terms (the penalty is tested on its own below)
        (lambda r: -r, lambda r: -torch.ones_like(r)),
        (lambda f: f, lambda f: torch.ones_like(f)),
        (lambda f: -f, lambda f: -torch.ones_like(f)),
    ),
}
FACTORIES = {"saturating": gan.saturating, "nonsaturating": gan.nonsaturating, "lsgan": gan.lsgan,
             "hinge": gan.hinge, "wgan-gp": gan.wgan_gp}
ALL = {**FACTORIES, "rsgan": gan.rsgan, "ragan": gan.ragan}
MODERATE = torch.tensor([-4.5, -2.0, -1.3, -0.7, -0.2, 0.3, 0.9, 1.6, 3.2, 4.7], dtype=torch.float64)
EXTREME = torch.tensor([-1e4, -3e3, -60.0, -1.5, 0.0, 2.5, 60.0, 3e3, 1e4])  # float32, as in training


@pytest.mark.parametrize("logits", [MODERATE, EXTREME], ids=["moderate", "extreme"])
@pytest.mark.parametrize("name", HAND)
def test_losses_and_gradients_match_the_hand_derivation(name, logits):
    objective = FACTORIES[name]()
    (real_term, real_grad), (fake_term, fake_grad), (g_term, g_grad) = HAND[name]
    real = logits.clone().requires_grad_(True)
    fake = logits.flip(0).clone().requires_grad_(True)
    n = len(logits)
    tol = {"rtol": 1e-6, "atol": 1e-6}

    loss_d = objective.discriminator_loss(real, fake)
    grad_real, grad_fake = torch.autograd.grad(loss_d, (real, fake))
    # mean over the real batch + mean over the fake batch: each gradient is divided by n
    torch.testing.assert_close(loss_d, real_term(real.detach()).mean() + fake_term(fake.detach()).mean(), **tol)
    torch.testing.assert_close(grad_real, real_grad(real.detach()) / n, **tol)
    torch.testing.assert_close(grad_fake, fake_grad(fake.detach()) / n, **tol)

    loss_g = objective.generator_loss(None, fake)
    (grad_g,) = torch.autograd.grad(loss_g, fake)
    torch.testing.assert_close(loss_g, g_term(fake.detach()).mean(), **tol)
    torch.testing.assert_close(grad_g, g_grad(fake.detach()) / n, **tol)
    for value in (loss_d, grad_real, grad_fake, loss_g, grad_g):
        assert torch.isfinite(value).all()


def test_saturating_and_nonsaturating_share_the_discriminator_loss():
    real, fake = torch.randn(64) * 20, torch.randn(64) * 20
    a = gan.saturating().discriminator_loss(real, fake)
    b = gan.nonsaturating().discriminator_loss(real, fake)
    assert torch.equal(a, b)


class LinearD(torch.nn.Module):
    """D(x) = w . x: grad_x D(x) = w everywhere, so ||grad|| = ||w|| at every point."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w.flatten()  # (B, 2, 3) -> (B,)


def linear_case():
    w = torch.tensor([[2.0, 0.0, 1.0], [0.0, -2.0, 0.0]], dtype=torch.float64)  # ||w|| = 3
    real, fake = torch.randn(8, 2, 3, dtype=torch.float64), torch.randn(8, 2, 3, dtype=torch.float64)
    return LinearD(w), real, fake


def test_gradient_penalty_of_a_linear_critic_is_lambda_times_norm_minus_one_squared():
    D, real, fake = linear_case()
    penalty = gan.wgan_gp().penalty(D, real, fake)  # lambda = 10, R1 off
    norm = D.w.detach().norm()
    torch.testing.assert_close(penalty, 10 * (norm - 1) ** 2)  # 10 (3 - 1)^2 = 40
    # double backward: d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w||
    (grad_w,) = torch.autograd.grad(penalty, D.w)
    torch.testing.assert_close(grad_w, 2 * 10 * (norm - 1) * D.w.detach() / norm)


def test_gradient_penalty_is_taken_at_uniform_interpolates_from_the_seeded_global_rng():
    """D(x) = ||x||^2 / 2 has grad_x D = x; with real = 1 and fake = 0 in d dims, xhat = e 1, so
    ||grad D(xhat)|| = e sqrt(d) for the draws e ~ U[0, 1] of the seeded global generator."""
    d, batch = 4, 16

    def D(x):
        return 0.5 * x.flatten(1).pow(2).sum(1)  # (B, d) -> (B,)

    real, fake = torch.ones(batch, d), torch.zeros(batch, d)
    torch.manual_seed(3)
    e = torch.rand(batch)
    torch.manual_seed(3)
    penalty = gan.gradient_penalty(D, real, fake, 10.0)
    torch.testing.assert_close(penalty, 10 * (e * d**0.5 - 1).pow(2).mean())
    torch.manual_seed(3)
    assert torch.equal(penalty, gan.gradient_penalty(D, real, fake, 10.0))


def test_r1_of_a_linear_discriminator_is_half_gamma_times_squared_norm():
    D, real, fake = linear_case()
    gamma = 0.4
    penalty = gan.nonsaturating(r1=gamma).penalty(D, real, fake)
    torch.testing.assert_close(penalty, gamma / 2 * D.w.detach().pow(2).sum())  # 0.2 * 9
    (grad_w,) = torch.autograd.grad(penalty, D.w)  # d/dw gamma/2 ||w||^2 = gamma w
    torch.testing.assert_close(grad_w, gamma * D.w.detach())


@pytest.mark.parametrize("name", ALL)
def test_every_objective_offers_r1_and_adds_it_to_its_own_penalty(name):
    D, real, fake = linear_case()
    without = ALL[name]().penalty(D, real, fake)
    with_r1 = ALL[name](r1=2.0).penalty(D, real, fake)
    torch.testing.assert_close(with_r1 - without, D.w.detach().pow(2).sum())  # 2/2 ||w||^2


def test_penalties_off_add_nothing():
    D, real, fake = linear_case()
    assert gan.hinge().penalty(D, real, fake).item() == 0.0
    assert gan.wgan_gp(gp=0.0).penalty(D, real, fake).item() == 0.0


def test_specs_carry_the_papers_settings(registry):
    for name, factory in ALL.items():
        spec = registry.get("objective", name)
        assert spec.family == "gan"
        assert spec.factory is factory and spec.params["r1"].default == 0.0
        defaults = {p.name: p.default for p in inspect.signature(factory).parameters.values()
                    if p.default is not inspect.Parameter.empty}
        assert defaults == {key: param.default for key, param in spec.params.items()}
    wgan = registry.get("objective", "wgan-gp")
    assert wgan.params["k"].default == 5 and wgan.params["gp"].default == 10.0
    assert dict(wgan.train_defaults) == {"lr": 1e-4, "beta1": 0.0, "beta2": 0.9}
    assert dict(registry.get("objective", "lsgan").train_defaults) == {"lr": 2e-4, "beta1": 0.5}
    assert registry.get("objective", "nonsaturating").params["k"].default == 1
    for name in ("rsgan", "ragan"):  # Jolicoeur-Martineau 2018: Adam(2e-4, 0.5, 0.999), one D step
        spec = registry.get("objective", name)
        assert dict(spec.train_defaults) == {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999}
        assert spec.params["k"].default == 1


@pytest.mark.parametrize("name", ALL)
def test_each_objective_trains_through_algorithm_1(name, monkeypatch):
    data = ring8(256, 16, 0)
    torch.manual_seed(0)
    model = make_mlp_gan(data.info, hidden=8, depth=1, z_dim=2)
    train = {"steps": 3, "batch_size": 16, "lr": 1e-3, "device": "cpu", "g_noise": "fresh"}
    setup = TrainSetup(data, model, ALL[name](r1=1.0), lambda p, role=None: torch.optim.Adam(p, lr=1e-3, betas=(0.5, 0.9)),
                       train, seed=0, device=torch.device("cpu"))
    steps = list(train_gan(setup))
    assert len(steps) == 3 and all(torch.isfinite(v) for v in steps[-1].stats.values())


def sp(x: float) -> float:
    return math.log1p(math.exp(x))  # softplus, for the moderate numbers below


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# critic scores: C(x_r) = [2, 0] (mean 1), C(x_f) = [-1, 0.5] (mean -0.25)
REAL, FAKE = [2.0, 0.0], [-1.0, 0.5]


def scores():
    real = torch.tensor(REAL, dtype=torch.float64, requires_grad=True)
    fake = torch.tensor(FAKE, dtype=torch.float64, requires_grad=True)
    return real, fake


def test_rsgan_losses_and_gradients_by_hand():
    """D: mean softplus(-(r_i - f_i)); r - f = [3, -0.5]. G: mean softplus(-(f_i - r_i)); f - r = [-3, 0.5].
    d/dr_i of D's loss = -sigmoid(-(r_i - f_i)) / 2 = -d/df_i; d/df_i of G's = -sigmoid(r_i - f_i) / 2."""
    objective, (real, fake) = gan.rsgan(), scores()
    assert objective.generator_needs_real and not objective.d_is_classifier
    loss_d = objective.discriminator_loss(real, fake)
    assert loss_d.item() == pytest.approx((sp(-3.0) + sp(0.5)) / 2, rel=1e-12)
    grad_real, grad_fake = torch.autograd.grad(loss_d, (real, fake))
    expected = torch.tensor([-sig(-3.0) / 2, -sig(0.5) / 2], dtype=torch.float64)
    torch.testing.assert_close(grad_real, expected)
    torch.testing.assert_close(grad_fake, -expected)

    loss_g = objective.generator_loss(real.detach(), fake)
    assert loss_g.item() == pytest.approx((sp(3.0) + sp(-0.5)) / 2, rel=1e-12)
    (grad_g,) = torch.autograd.grad(loss_g, fake)
    torch.testing.assert_close(grad_g, torch.tensor([-sig(3.0) / 2, -sig(-0.5) / 2], dtype=torch.float64))


def test_ragan_losses_and_gradients_by_hand():
    """D: mean softplus(-(r_i - mean f)) + mean softplus(f_j - mean r): r - (-0.25) = [2.25, 0.25],
    f - 1 = [-2, -0.5]. G swaps them: mean softplus(-(f_j - mean r)) + mean softplus(r_i - mean f).
    d/df_k of G's loss = -sigmoid(-(f_k - mean r)) / 2 - sum_i sigmoid(r_i - mean f) / 4."""
    objective, (real, fake) = gan.ragan(), scores()
    assert objective.generator_needs_real and not objective.d_is_classifier
    loss_d = objective.discriminator_loss(real, fake)
    assert loss_d.item() == pytest.approx((sp(-2.25) + sp(-0.25)) / 2 + (sp(-2.0) + sp(-0.5)) / 2, rel=1e-12)
    loss_g = objective.generator_loss(real.detach(), fake)
    assert loss_g.item() == pytest.approx((sp(2.0) + sp(0.5)) / 2 + (sp(2.25) + sp(0.25)) / 2, rel=1e-12)
    (grad_g,) = torch.autograd.grad(loss_g, fake)
    shared = (sig(2.25) + sig(0.25)) / 4
    torch.testing.assert_close(grad_g, torch.tensor([-sig(2.0) / 2 - shared, -sig(0.5) / 2 - shared],
                                                    dtype=torch.float64))


@pytest.mark.parametrize("name", ["rsgan", "ragan"])
def test_relativistic_gradients_match_finite_differences(name):
    objective = ALL[name]()
    real = (torch.randn(6, dtype=torch.float64) * 3).requires_grad_(True)
    fake = (torch.randn(6, dtype=torch.float64) * 3).requires_grad_(True)
    assert torch.autograd.gradcheck(objective.discriminator_loss, (real, fake))
    assert torch.autograd.gradcheck(objective.generator_loss, (real, fake))
