"""The IWAE bound on the log-likelihood of a VAE (Burda et al. 2016), in nats per image.

    log p(x) >= E[ log (1/k) sum_i w_i ],  w_i = p(x | z_i) p(z_i) / q(z_i | x),  z_i ~ q(z | x)

on binarised held-out images (x_bin = 1 where the [0, 1] pixel exceeds 1/2; on the binarised
datasets, digits-bin and mnist5k-bin, that keeps the dataset's own threshold or stochastic bits;
the encoder sees x_bin in data space, 2 x_bin - 1), with the model's Bernoulli decoder p(x | z) = prod
Bernoulli(sigmoid(logits)) and the prior p(z) = N(0, I). The bound tightens as k grows; k = 1
is the ELBO. Reports iwae_nll = -bound and elbo_nll = -mean_i log w_i from the same samples
(elbo_nll >= iwae_nll). The z_i come from a generator seeded by the cell's seed. A model that is
not variational has no q(z | x) and no likelihood: its values are NaN with the reason.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genbench import EvalContext, MetricOutput, MetricResult, MetricSpec, Param, hookimpl

Z_SEED_OFFSET = 3_000_017  # the z_i stream: cell seed + offset
DECODES_PER_CHUNK = 8192  # k x images decoded at once
LOG_2PI = math.log(2 * math.pi)


def binarise(x: torch.Tensor) -> torch.Tensor:
    """Data in [-1, 1] -> {0, 1}: 1 where the [0, 1] pixel exceeds 1/2, i.e. x > 0."""
    return (x > 0).float()


def log_weights(model, x_bin: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """log w_i for k draws z_i ~ q(z | x) per image: x_bin (B, *shape) in {0, 1} -> (k, B)."""
    mu, logvar = model.encode(2 * x_bin - 1)  # (B, Z) each
    eps = torch.randn((k, *mu.shape), generator=generator).to(mu.device)  # (k, B, Z)
    z = mu + torch.exp(0.5 * logvar) * eps  # (k, B, Z)
    logits = model.decode(z.flatten(0, 1)).view(k, len(x_bin), -1)  # (k, B, D)
    target = x_bin.flatten(1).expand_as(logits)  # (k, B, D)
    log_px_z = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)  # (k, B)
    log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)  # (k, B)
    log_qz = -0.5 * (eps.pow(2) + LOG_2PI + logvar).sum(-1)  # (k, B): N(z; mu, exp(logvar))
    return log_px_z + log_pz - log_qz


@torch.no_grad()
def iwae_bounds(model, x_bin: torch.Tensor, k: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(IWAE bound, ELBO estimate) per image, each (B,), in nats; the model in eval mode."""
    was_training = model.training
    model.eval()
    iwae, elbo = [], []
    for chunk in x_bin.split(max(1, DECODES_PER_CHUNK // k)):
        log_w = log_weights(model, chunk, k, generator)  # (k, b)
        iwae.append(torch.logsumexp(log_w, 0) - math.log(k))
        elbo.append(log_w.mean(0))
    model.train(was_training)
    return torch.cat(iwae), torch.cat(elbo)


def binarisation(data) -> str:
    """How the scored bits were made: by a binarised dataset (digits-bin, mnist5k-bin: x is
    already in {-1, 1}, so x > 0 keeps it as it is), or here by thresholding."""
    mode = data.extras.get("binarize")
    return f"by the dataset ({mode})" if mode else "x > 0 (pixel > 1/2)"


class IWAE:
    def __init__(self, k: int, n: int, split: str):
        self.k, self.n, self.split = k, n, split

    def __call__(self, ctx: EvalContext) -> MetricResult:
        images = ctx.data.test if self.split == "test" else ctx.data.train
        if images is None or len(images) == 0:
            raise ValueError(f"dataset has no {self.split} split; fix: split = 'train'")
        provenance = {"n_real": min(self.n, len(images)), "split": self.split, "k": self.k,
                      "binarised": binarisation(ctx.data), "z_seed": ctx.seed + Z_SEED_OFFSET}
        if not getattr(ctx.model, "variational", False):
            return MetricResult({"iwae_nll": math.nan, "elbo_nll": math.nan},
                                {**provenance, "reason": "not a variational model: no q(z|x), no likelihood bound"})
        x_bin = binarise(images[:self.n]).to(ctx.device)  # (n, *shape)
        generator = torch.Generator().manual_seed(ctx.seed + Z_SEED_OFFSET)
        iwae, elbo = iwae_bounds(ctx.model, x_bin, self.k, generator)
        return MetricResult({"iwae_nll": -iwae.mean().item(), "elbo_nll": -elbo.mean().item()}, provenance)


def make_iwae(*, k: int, n: int, split: str) -> IWAE:
    return IWAE(k, n, split)


@hookimpl
def register_metrics(register):
    register(MetricSpec("iwae", "IWAE bound on -log p(x) of binarised held-out images, k samples (VAEs only)",
                        make_iwae,
                        {"k": Param(100, "importance samples per image", min=1),
                         "n": Param(1000, "held-out images: the first n of the split", min=1),
                         "split": Param("test", "split the images come from", choices=("test", "train"))},
                        outputs={"iwae_nll": MetricOutput(False, "IWAE -log p(x) bound", "nats"),
                                 "elbo_nll": MetricOutput(False, "negative ELBO", "nats")},
                        domains=("image",), needs=("real", "posterior")))
