"""A tiny GAN and a tiny VAE trained a few steps with the reference ops and under each fused
backend reach the same losses: the backends are drop-in replacements inside real training loops
(bias_act and batchnorm_act in the networks, which go through kernels.prepare as a trainer's do,
the losses on top, Adam updates in between)."""

import contextlib

import pytest
import torch
from torch import nn

from genbench import kernels
from genbench.kernels import functional as K

STEPS = 12
BATCH, Z_DIM, HIDDEN, DATA_DIM = 64, 4, 16, 2


class Block(nn.Module):
    """Linear without bias, then bias + LeakyReLU, or BatchNorm + ReLU: (B, n_in) -> (B, n_out)."""

    def __init__(self, n_in: int, n_out: int, batchnorm: bool):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out, bias=False)
        self.weight = nn.Parameter(torch.ones(n_out))
        self.bias = nn.Parameter(torch.full((n_out,), 0.1))
        self.batchnorm = batchnorm

    def forward(self, x):
        h = self.linear(x)
        if self.batchnorm:
            return K.batchnorm_act(h, self.weight, self.bias)
        return K.bias_act(h, self.bias, negative_slope=0.2)


def active(backend):
    """use(backend), or no backend (the reference) for None."""
    return contextlib.nullcontext() if backend is None else kernels.use(backend)


def train_gan(backend, kind: str, device: str) -> torch.Tensor:
    """Per-step (d_loss, g_loss) of a tiny GAN on a 2-D Gaussian mixture: (STEPS, 2)."""
    with active(backend):
        return _train_gan(kind, device)


def _train_gan(kind: str, device: str) -> torch.Tensor:
    torch.manual_seed(0)
    gen = kernels.prepare(nn.Sequential(Block(Z_DIM, HIDDEN, True), nn.Linear(HIDDEN, DATA_DIM)).to(device))
    disc = kernels.prepare(nn.Sequential(Block(DATA_DIM, HIDDEN, False), nn.Linear(HIDDEN, 1)).to(device))
    opt_g = torch.optim.Adam(gen.parameters(), lr=5e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), lr=5e-3, betas=(0.5, 0.9))
    centres = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])
    losses = []
    for _ in range(STEPS):
        real = (centres[torch.randint(0, 3, (BATCH,))] + 0.1 * torch.randn(BATCH, DATA_DIM)).to(device)
        z = torch.randn(BATCH, Z_DIM).to(device)
        d_loss = K.discriminator_loss(disc(real), disc(gen(z).detach()), kind)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = K.generator_loss(disc(gen(z)), kind)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        losses.append([d_loss.item(), g_loss.item()])
    return torch.tensor(losses)


def train_vae(backend, device: str) -> torch.Tensor:
    """Per-step loss of a tiny VAE on random 4x4 binary images: (STEPS,)."""
    with active(backend):
        return _train_vae(device)


def _train_vae(device: str) -> torch.Tensor:
    torch.manual_seed(0)
    pixels = 16
    encoder = kernels.prepare(nn.Sequential(Block(pixels, HIDDEN, False), nn.Linear(HIDDEN, 2 * Z_DIM)).to(device))
    decoder = kernels.prepare(nn.Sequential(Block(Z_DIM, HIDDEN, True), nn.Linear(HIDDEN, pixels)).to(device))
    params = [*encoder.parameters(), *decoder.parameters()]
    opt = torch.optim.Adam(params, lr=1e-2)
    images = (torch.rand(8, 1, 4, 4) > 0.5).float()  # 8 distinct images
    losses = []
    for _ in range(STEPS):
        x = images[torch.randint(0, 8, (BATCH,))].to(device)  # (B, 1, 4, 4)
        mu, logvar = encoder(x.flatten(1)).chunk(2, dim=1)  # (B, Z), (B, Z)
        z = mu + torch.randn(mu.shape).to(device) * (0.5 * logvar).exp()
        recon_logits = decoder(z).view_as(x)
        loss = K.vae_loss(recon_logits, x, mu, logvar, beta=1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses)


FUSED = [pytest.param("triton", marks=pytest.mark.slow), pytest.param("compiled", marks=pytest.mark.compile)]


@pytest.mark.parametrize("name", FUSED)
def test_gan_training_matches_eager(name, backend_for):
    backend, device = backend_for(name)
    expected = train_gan(None, "nonsaturating", device)
    actual = train_gan(backend, "nonsaturating", device)
    assert torch.isfinite(expected).all()
    assert (expected[0] - expected[-1]).abs().max() > 1e-2  # the losses moved
    torch.testing.assert_close(actual, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", FUSED)
def test_vae_training_matches_eager(name, backend_for):
    backend, device = backend_for(name)
    expected = train_vae(None, device)
    actual = train_vae(backend, device)
    assert expected[-1] < 0.95 * expected[0]  # it learns
    torch.testing.assert_close(actual, expected, rtol=1e-3, atol=1e-4)
