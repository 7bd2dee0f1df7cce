"""Each autoencoder objective's loss against values computed by hand or by an independent route."""

import math

import pytest
import torch
from genbench.plugins.datasets.corruptions import masking_noise
from genbench.plugins.models.autoencoders import make_deep, make_linear
from genbench.plugins.objectives.autoencoder import (
    jacobian_norm,
    kl_standard_normal,
    make_bce,
    make_contractive,
    make_denoising,
    make_mse,
    make_sparse,
    make_vae,
    reconstruction_loss,
    sparsity_penalty,
)

from genbench import DataInfo

X = torch.tensor([[-1.0, 1.0, 0.0]])  # one example, three pixels in data space
LOGITS = torch.tensor([[0.0, 2.0, -1.0]])


class Fixed:
    """A stand-in model: encode records its input and returns a fixed code; decode fixed logits."""

    variational = False

    def __init__(self, code, logits):
        self.code, self.logits, self.inputs = code, logits, []

    def encode(self, x):
        self.inputs.append(x)
        return self.code

    def decode(self, code):
        return self.logits


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def test_bce_reconstruction_by_hand():
    # targets (x + 1) / 2 = 0, 1, 1/2; BCE-with-logits(l, t) = softplus(l) - t l
    expected = softplus(0.0) + (softplus(2.0) - 2.0) + (softplus(-1.0) + 0.5)
    assert reconstruction_loss(LOGITS, X, "bce").item() == pytest.approx(expected, rel=1e-6)
    loss, parts = make_bce().loss(Fixed(None, LOGITS), X, torch.Generator())
    assert loss.item() == pytest.approx(expected, rel=1e-6) and parts["recon"].item() == pytest.approx(expected, rel=1e-6)


def test_mse_reconstruction_by_hand():
    # outputs 2 sigmoid(l) - 1 = tanh(l / 2): 0, tanh(1), tanh(-1/2)
    expected = (0 + 1) ** 2 + (math.tanh(1.0) - 1) ** 2 + (math.tanh(-0.5) - 0) ** 2
    assert reconstruction_loss(LOGITS, X, "mse").item() == pytest.approx(expected, rel=1e-6)
    two = torch.cat([X, X])  # the batch mean of per-example sums
    loss, _ = make_mse().loss(Fixed(None, torch.cat([LOGITS, LOGITS])), two, torch.Generator())
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_denoising_encodes_the_corrupted_input_and_reconstructs_the_clean_one():
    x = torch.rand(4, 1, 5, 5) * 2 - 1
    model = Fixed(None, torch.zeros(4, 1, 5, 5))
    objective = make_denoising(noise="masking", level=0.5, recon="mse")
    loss, _ = objective.loss(model, x, torch.Generator().manual_seed(3))
    assert torch.equal(model.inputs[0], masking_noise(x, 0.5, torch.Generator().manual_seed(3)))
    assert not torch.equal(model.inputs[0], x)
    assert loss.item() == pytest.approx(x.pow(2).flatten(1).sum(1).mean().item())  # output 0 vs the clean x


def test_sparsity_penalty_is_the_kl_formula():
    h = torch.tensor([[0.1, 0.5], [0.3, 0.7]])  # rho_hat = (0.2, 0.6)
    rho = 0.05

    def kl(r, q):
        return r * math.log(r / q) + (1 - r) * math.log((1 - r) / (1 - q))

    expected = kl(rho, 0.2) + kl(rho, 0.6)
    assert sparsity_penalty(h, rho).item() == pytest.approx(expected, rel=1e-6)
    assert sparsity_penalty(torch.full((3, 4), rho), rho).item() == pytest.approx(0.0, abs=1e-7)
    logits = torch.zeros(2, 3)
    x = torch.zeros(2, 3)  # target 1/2: BCE = log 2 per pixel
    loss, parts = make_sparse(rho=rho, beta=2.0, recon="bce").loss(Fixed(h, logits), x, None)
    assert parts["sparsity"].item() == pytest.approx(expected, rel=1e-6)
    assert loss.item() == pytest.approx(3 * math.log(2) + 2.0 * expected, rel=1e-6)


def test_contractive_penalty_matches_autograds_jacobian_on_a_tiny_net():
    torch.manual_seed(0)
    model = make_deep(DataInfo("image", (1, 2, 3)), hidden=(5, 4), code_dim=3, variational=False)
    x = torch.randn(4, 1, 2, 3)
    expected = torch.stack([
        torch.autograd.functional.jacobian(lambda v: model.encode(v.unsqueeze(0)).squeeze(0), x[b]).pow(2).sum()
        for b in range(len(x))])  # (4,): ||dh/dx||_F^2 per example
    xr = x.clone().requires_grad_(True)
    assert torch.allclose(jacobian_norm(model.encode(xr), xr), expected, rtol=1e-5, atol=1e-7)

    loss, parts = make_contractive(weight=0.5, recon="bce").loss(model, x, None)
    assert parts["contraction"].item() == pytest.approx(expected.mean().item(), rel=1e-5)
    loss.backward()  # the penalty is differentiable in the weights (double backward)
    assert all(p.grad is not None for p in model.parameters())


def test_contractive_penalty_of_one_sigmoid_layer_is_the_closed_form():
    torch.manual_seed(1)
    model = make_linear(DataInfo("image", (1, 3, 3)), code_dim=4, variational=False)
    x = torch.randn(6, 1, 3, 3).requires_grad_(True)
    h = model.encode(x)  # (6, 4)
    weight = model.encoder[1].weight  # (4, 9)
    closed = ((h * (1 - h)).pow(2) * weight.pow(2).sum(1)).sum(1)  # sum_j (h_j (1 - h_j))^2 ||W_j||^2
    assert torch.allclose(jacobian_norm(h, x), closed, rtol=1e-5)


def test_vae_kl_closed_form_matches_a_monte_carlo_estimate():
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, -1.5, 0.7]], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    eps = torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    z = mu + (0.5 * logvar).exp() * eps  # z ~ q
    log_q = (-0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi))).sum(1)
    log_p = (-0.5 * (z.pow(2) + math.log(2 * math.pi))).sum(1)
    monte_carlo = (log_q - log_p).mean().item()
    assert kl_standard_normal(mu, logvar).item() == pytest.approx(monte_carlo, abs=0.01)


class Gaussian:
    """A stand-in VAE: encode gives fixed (mu, logvar), decode a linear map of z."""

    variational = True

    def __init__(self, mu, logvar, weight):
        self.mu, self.logvar, self.weight = mu, logvar, weight

    def encode(self, x):
        return self.mu, self.logvar

    def decode(self, z):
        return z @ self.weight  # (B, Z) -> (B, D)


def test_vae_loss_is_reparameterised_bce_plus_beta_kl():
    mu = torch.tensor([[0.3, -0.2], [1.0, 0.5]], requires_grad=True)
    logvar = torch.tensor([[-0.5, 0.1], [0.2, -1.0]], requires_grad=True)
    weight = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))
    x = torch.tensor([[-1.0, 1.0, 0.5, 0.0], [1.0, 1.0, -1.0, -0.5]])
    loss, parts = make_vae(beta=0.5).loss(Gaussian(mu, logvar, weight), x,
                                                           torch.Generator().manual_seed(7))
    eps = torch.randn(2, 2, generator=torch.Generator().manual_seed(7))
    z = mu + (0.5 * logvar).exp() * eps
    bce = torch.nn.functional.binary_cross_entropy_with_logits(z @ weight, (x + 1) / 2, reduction="none").sum(1)
    kl = kl_standard_normal(mu, logvar)
    assert loss.item() == pytest.approx((bce + 0.5 * kl).mean().item(), rel=1e-5)
    assert parts["kl"].item() == pytest.approx(kl.mean().item(), rel=1e-5)
    assert parts["recon"].item() == pytest.approx(bce.mean().item(), rel=1e-5)
    loss.backward()
    assert mu.grad is not None and logvar.grad.abs().sum() > 0  # the gradient flows through eps
