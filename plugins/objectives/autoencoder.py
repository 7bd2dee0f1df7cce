"""Autoencoder objectives. Each object offers `loss(model, x, generator) -> (loss, parts)` and
`variational` (whether it trains a VAE model); the trainer minimises `loss` and records `parts`.

With l = model.decode(code) the decoder's logits and x in [-1, 1] (see models/autoencoders.py):
- recon "bce": BCE-with-logits(l, (x + 1) / 2), a Bernoulli decoder on [0, 1] pixels;
  recon "mse": (2 sigmoid(l) - 1 - x)^2, squared error in data space.
  Both are summed over the pixels of an example; every loss is then averaged over the batch,
  so the VAE's loss is the negative ELBO in nats per example.
- mse, bce: reconstruction only.
- denoising (Vincent et al. 2008): encode a corrupted x~ (masking: each pixel set to black with
  probability `level`; gaussian: x + level * N(0, I), clipped), reconstruct the clean x.
- sparse: + beta * sum_j KL(rho || rho_hat_j), rho_hat_j the batch mean of code unit h_j.
- contractive (Rifai et al. 2011): + weight * ||dh/dx||_F^2, the Jacobian of the code by autograd
  (one backward pass per code unit; for one sigmoid layer it equals the closed form
  sum_j (h_j (1 - h_j))^2 ||W_j||^2).
- vae (Kingma & Welling 2014): z = mu + exp(logvar / 2) * eps (the reparameterisation trick),
  loss = bce(decode(z), x) + beta * KL(q(z|x) || N(0, I)) through genbench.kernels.vae_loss, so
  the fused backends apply.
Noise (corruptions, eps) comes from the trainer's seeded generator, on the training device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from genbench.kernels import functional as K
from genbench.plugins.datasets.corruptions import gaussian_noise, masking_noise
from genbench.plugins.models.autoencoders import to_data, to_unit

from genbench import ObjectiveSpec, Param, hookimpl

RECONSTRUCTIONS = ("bce", "mse")
NOISES = ("masking", "gaussian")
EPS = 1e-6  # keeps the sparsity KL finite when a unit is always off or always on
ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999}  # Kingma & Ba's defaults


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Per example, summed over pixels: logits, x (B, *shape) -> (B,)."""
    if kind == "bce":
        terms = F.binary_cross_entropy_with_logits(logits, to_unit(x), reduction="none")
    else:
        terms = (to_data(logits) - x).pow(2)
    return terms.flatten(1).sum(1)


def sparsity_penalty(h: torch.Tensor, rho: float) -> torch.Tensor:
    """sum_j KL(Bernoulli(rho) || Bernoulli(rho_hat_j)), rho_hat = h.mean(0). h: (B, Z) in (0, 1)."""
    rho_hat = h.mean(0).clamp(EPS, 1 - EPS)  # (Z,)
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))  # (Z,)
    return kl.sum()


def jacobian_norm(h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||dh/dx||_F^2 per example, (B,), with the graph kept for the update. h (B, Z) must be
    computed from x (B, *shape) example by example (no batch statistics), x requiring grad."""
    total = h.new_zeros(len(h))
    for j in range(h.shape[1]):
        (row,) = torch.autograd.grad(h[:, j].sum(), x, create_graph=True)  # (B, *shape): dh_j/dx
        total = total + row.pow(2).flatten(1).sum(1)
    return total


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, closed form: (B, Z) -> (B,)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


class Reconstruction:
    """mse, bce and denoising: the reconstruction of x from a (possibly corrupted) input."""

    variational = False

    def __init__(self, recon: str, noise: str = "none", level: float = 0.0):
        self.recon, self.noise, self.level = recon, noise, level

    def corrupt(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.noise == "masking":
            return masking_noise(x, self.level, generator)
        if self.noise == "gaussian":
            return gaussian_noise(x, self.level, generator)
        return x

    def loss(self, model, x: torch.Tensor, generator: torch.Generator):
        logits = model.decode(model.encode(self.corrupt(x, generator)))  # (B, *shape)
        recon = reconstruction_loss(logits, x, self.recon).mean()
        return recon, {"recon": recon.detach()}


class Sparse:
    variational = False

    def __init__(self, recon: str, rho: float, beta: float):
        self.recon, self.rho, self.beta = recon, rho, beta

    def loss(self, model, x: torch.Tensor, generator: torch.Generator):
        h = model.encode(x)  # (B, Z)
        recon = reconstruction_loss(model.decode(h), x, self.recon).mean()
        sparsity = sparsity_penalty(h, self.rho)
        return recon + self.beta * sparsity, {"recon": recon.detach(), "sparsity": sparsity.detach()}


class Contractive:
    variational = False
    double_backward = True  # the penalty differentiates the encoder's Jacobian

    def __init__(self, recon: str, weight: float):
        self.recon, self.weight = recon, weight

    def loss(self, model, x: torch.Tensor, generator: torch.Generator):
        x = x.detach().requires_grad_(True)
        h = model.encode(x)  # (B, Z)
        recon = reconstruction_loss(model.decode(h), x.detach(), self.recon).mean()
        contraction = jacobian_norm(h, x).mean()
        return recon + self.weight * contraction, {"recon": recon.detach(), "contraction": contraction.detach()}


class VAE:
    variational = True

    def __init__(self, beta: float):
        self.beta = beta

    def loss(self, model, x: torch.Tensor, generator: torch.Generator):
        mu, logvar = model.encode(x)  # (B, Z) each
        eps = torch.randn(mu.shape, generator=generator, device=mu.device)  # the generator is on mu's device
        z = mu + torch.exp(0.5 * logvar) * eps  # (B, Z), differentiable in mu and logvar
        logits = model.decode(z)  # (B, *shape)
        loss = K.vae_loss(logits, to_unit(x), mu, logvar, beta=self.beta, reduction="mean")
        kl = kl_standard_normal(mu.detach(), logvar.detach()).mean()
        return loss, {"recon": loss.detach() - self.beta * kl, "kl": kl}


def make_mse() -> Reconstruction:
    return Reconstruction("mse")


def make_bce() -> Reconstruction:
    return Reconstruction("bce")


def make_denoising(*, noise: str, level: float, recon: str) -> Reconstruction:
    return Reconstruction(recon, noise, level)


def make_sparse(*, rho: float, beta: float, recon: str) -> Sparse:
    return Sparse(recon, rho, beta)


def make_contractive(*, weight: float, recon: str) -> Contractive:
    return Contractive(recon, weight)


def make_vae(*, beta: float) -> VAE:
    return VAE(beta)


RECON = {"recon": Param("bce", "reconstruction loss", choices=RECONSTRUCTIONS)}


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("mse", "reconstruction by squared error in data space", make_mse,
                           family="autoencoder", train_defaults=ADAM))
    register(ObjectiveSpec("bce", "reconstruction by BCE from logits on [0, 1] pixels", make_bce,
                           family="autoencoder", train_defaults=ADAM))
    register(ObjectiveSpec("denoising", "denoising autoencoder: reconstruct x from a corrupted x (Vincent et al. 2008)",
                           make_denoising, {"noise": Param("masking", "corruption of the input", choices=NOISES),
                                            "level": Param(0.25, "masking probability, or gaussian sd in data units",
                                                           min=0.0),
                                            **RECON},
                           family="autoencoder", train_defaults=ADAM))
    register(ObjectiveSpec("sparse", "reconstruction + beta * KL(rho || mean code activation)", make_sparse,
                           {"rho": Param(0.05, "target mean activation of each code unit", min=1e-4, max=0.9999),
                            "beta": Param(1.0, "penalty weight", min=0.0), **RECON},
                           family="autoencoder", train_defaults=ADAM))
    register(ObjectiveSpec("contractive", "reconstruction + weight * ||dh/dx||_F^2 (Rifai et al. 2011)",
                           make_contractive, {"weight": Param(0.1, "penalty weight lambda", min=0.0), **RECON},
                           family="autoencoder", train_defaults=ADAM))
    register(ObjectiveSpec("vae", "negative ELBO, reparameterised (Kingma & Welling 2014); needs variational=true",
                           make_vae, {"beta": Param(1.0, "KL weight (beta-VAE; 1 = the ELBO)", min=0.0)},
                           family="autoencoder", train_defaults=ADAM))
