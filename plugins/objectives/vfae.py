"""The variational fair autoencoder's objective (Louizos et al. 2016), for labelled data:

    loss = -ELBO + alpha * CE(q(y | z1), y) + beta * MMD^2(z1 | s=0, z1 | s=1)
    -ELBO = -log p(x | z1, s) + KL(q(z1 | x, s) || p(z1 | z2, y)) + KL(q(z2 | z1, y) || N(0, I)) + log K

with z1 ~ q(z1 | x, s) and z2 ~ q(z2 | z1, y) drawn by the reparameterisation trick (both KLs in
closed form given the draws) and -log p(y) = log K for the uniform label prior. Every term is
averaged over the batch, so -ELBO is in nats per example and beta weighs one batch's MMD^2
against one example's ELBO (the paper sums the ELBO over the batch instead: its beta is this
beta times the batch size). The MMD is taken between the batch's two sensitive groups, on the means
of q(z1 | x, s) (`mmd_on = "mean"`, the default) or on the sampled z1 (`"sample"`, the paper's
choice), with the fast random-feature estimate (`mmd = "rff"`, fresh features each step) or the
exact one (see mmd.py). The default is the mean because it is the representation a downstream
classifier (and the fairness metric) reads: matched samples leave the encoder free to keep s in
the means under the posterior noise (measured on digits-tinted, rate 0.5, beta 100, 1500 steps:
s read from the means with 94% accuracy against 55% without MMD). beta = 0 is the VFAE without
MMD, the paper's ablation. The model object is a VFAEModel (models/vfae.py); noise comes from
the trainer's seeded generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genbench import ObjectiveSpec, Param, hookimpl

from .mmd import KINDS, mmd

ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999}
LOG_2PI = math.log(2 * math.pi)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) from the generator: (B, Z)."""
    eps = torch.randn(mu.shape, generator=generator, device=generator.device).to(mu)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, e^logvar) || N(mu_p, e^logvar_p)) per example, diagonal, closed form: (B, Z) -> (B,)."""
    return 0.5 * (logvar_p - logvar + (logvar.exp() + (mu - mu_p).pow(2)) / logvar_p.exp() - 1).sum(1)


def reconstruction_nll(model, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z1, s) per example (B,): Bernoulli on (x + 1) / 2 for images, unit Gaussian otherwise."""
    if model.bernoulli:
        terms = F.binary_cross_entropy_with_logits(out, (x + 1) / 2, reduction="none")
    else:
        terms = 0.5 * ((x - out).pow(2) + LOG_2PI)
    return terms.flatten(1).sum(1)


class VFAE:
    def __init__(self, alpha: float, beta: float, mmd: str, n_features: int, bandwidth: float, mmd_on: str):
        self.alpha, self.beta, self.kind, self.mmd_on = alpha, beta, mmd, mmd_on
        self.n_features, self.bandwidth = n_features, bandwidth

    def loss(self, model, x: torch.Tensor, s: torch.Tensor, y: torch.Tensor, generator: torch.Generator):
        """x (B, *shape), s (B,) in {0, 1}, y (B,) labels -> (loss, parts), parts detached 0-d."""
        onehot = F.one_hot(y, model.n_classes).to(x.dtype)  # (B, K)
        mu1, logvar1 = model.encode(x, s)  # (B, Z1) each
        z1 = reparameterise(mu1, logvar1, generator)
        mu2, logvar2 = model.encode2(z1, onehot)  # (B, Z2) each
        z2 = reparameterise(mu2, logvar2, generator)
        prior_mu, prior_logvar = model.prior(z2, onehot)  # (B, Z1) each
        recon = reconstruction_nll(model, model.decode(z1, s), x).mean()
        kl = (gaussian_kl(mu1, logvar1, prior_mu, prior_logvar)
              + gaussian_kl(mu2, logvar2, torch.zeros_like(mu2), torch.zeros_like(logvar2))).mean()
        neg_elbo = recon + kl + math.log(model.n_classes)
        classification = F.cross_entropy(model.classify(z1), y)
        compared = mu1 if self.mmd_on == "mean" else z1  # (B, Z1)
        discrepancy = mmd(compared, s, self.kind, self.bandwidth, self.n_features, generator)
        loss = neg_elbo + self.alpha * classification + self.beta * discrepancy
        return loss, {"neg_elbo": neg_elbo.detach(), "recon": recon.detach(), "kl": kl.detach(),
                      "classification": classification.detach(), "mmd": discrepancy.detach()}


def make_vfae(*, alpha: float, beta: float, mmd: str, n_features: int, bandwidth: float, mmd_on: str) -> VFAE:
    return VFAE(alpha, beta, mmd, n_features, bandwidth, mmd_on)


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec(
        "vfae", "-ELBO + alpha * classification + beta * MMD^2 between the z1 of the two sensitive groups",
        make_vfae,
        {"alpha": Param(1.0, "weight of the classification term -log q(y | z1)", min=0.0),
         "beta": Param(10.0, "weight of the MMD^2 penalty per batch (0 = the VFAE without MMD)", min=0.0),
         "mmd": Param("rff", "MMD estimate: random Fourier features (fast) or the exact kernel sums", choices=KINDS),
         "n_features": Param(500, "random Fourier features D (mmd = rff)", min=1),
         "mmd_on": Param("mean", "what the MMD compares: the means of q(z1|x,s) (the representation) or "
                         "the sampled z1", choices=("mean", "sample")),
         "bandwidth": Param(0.0, "Gaussian kernel bandwidth sigma (0 = the batch's median distance)", min=0.0)},
        family="vfae", train_defaults=ADAM))
