"""Plain-torch reference ops: the spec every backend is tested against, and the eager backend (OPS).

Everything is computed in logit space with softplus forms (never log(1 - sigmoid(x))), so
extreme logits give finite losses. Arguments are assumed validated by `functional`.
"""

import torch
import torch.nn.functional as F
from torch import Tensor

# F.softplus returns x itself above `threshold`; 50 instead of the default 20 keeps the
# float64 reference exact to rounding (log1p(exp(-50)) ~ 2e-22) while exp(50) fits float32.
SOFTPLUS_THRESHOLD = 50.0


def softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)), stable for any x."""
    return F.softplus(x, beta=1.0, threshold=SOFTPLUS_THRESHOLD)


def gan_d_terms(real: Tensor, fake: Tensor, kind: str) -> tuple[Tensor, Tensor]:
    """Per-element discriminator loss terms (real_terms, fake_terms), same shapes as the inputs."""
    if kind in ("saturating", "nonsaturating"):
        return softplus(-real), softplus(fake)  # -log D(x), -log(1 - D(G(z)))
    if kind == "lsgan":
        return 0.5 * (real - 1.0) ** 2, 0.5 * fake**2
    if kind == "hinge":
        return F.relu(1.0 - real), F.relu(1.0 + fake)
    if kind == "wasserstein":
        return -real, fake.clone()  # clone: never hand the caller's tensor back as the output
    raise AssertionError(kind)


def gan_g_terms(fake: Tensor, kind: str) -> Tensor:
    """Per-element generator loss terms, same shape as `fake`."""
    if kind == "saturating":
        return -softplus(fake)  # log(1 - D(G(z))), the original minimax objective
    if kind == "nonsaturating":
        return softplus(-fake)  # -log D(G(z))
    if kind == "lsgan":
        return 0.5 * (fake - 1.0) ** 2
    if kind in ("hinge", "wasserstein"):
        return -fake
    raise AssertionError(kind)


def _reduce(terms: Tensor, reduction: str) -> Tensor:
    return terms.mean() if reduction == "mean" else terms.sum()


def discriminator_loss(real: Tensor, fake: Tensor, kind: str, reduction: str):
    real_terms, fake_terms = gan_d_terms(real, fake, kind)
    if reduction == "none":
        return real_terms, fake_terms
    return _reduce(real_terms, reduction) + _reduce(fake_terms, reduction)


def generator_loss(fake: Tensor, kind: str, reduction: str) -> Tensor:
    terms = gan_g_terms(fake, kind)
    return terms if reduction == "none" else _reduce(terms, reduction)


def vae_loss(recon_logits: Tensor, target: Tensor, mu: Tensor, logvar: Tensor,
             beta: float, reduction: str) -> Tensor:
    """Per example: BCE-with-logits summed over pixels + beta * KL(N(mu, exp(logvar)) || N(0, I)),
    summed over latent dims; then reduced over the batch."""
    target = target.detach()  # data: no gradient flows into it on any backend
    bce = F.binary_cross_entropy_with_logits(recon_logits, target, reduction="none")
    bce = bce.flatten(1).sum(1)  # (B,)
    kl = -0.5 * (1.0 + logvar - mu**2 - logvar.exp()).flatten(1).sum(1)  # (B,)
    per_example = bce + beta * kl  # (B,)
    if reduction == "none":
        return per_example
    return _reduce(per_example, reduction)


def channel_view(t: Tensor, ndim: int) -> Tensor:
    """(C,) -> (1, C, 1, ...) so it broadcasts over dim 1 of an ndim-dimensional tensor."""
    return t.view([1, -1] + [1] * (ndim - 2))


def act(z: Tensor, activation: str, negative_slope: float) -> Tensor:
    """ReLU, or LeakyReLU with `negative_slope`."""
    if activation == "relu":
        return F.relu(z)
    return F.leaky_relu(z, negative_slope)


def bias_act(x: Tensor, bias: Tensor, activation: str, negative_slope: float) -> Tensor:
    """act(x + bias) with bias (C,) broadcast over dim 1 of x (B, C, ...)."""
    return act(x + channel_view(bias, x.ndim), activation, negative_slope)


def batch_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and biased variance over all dims but 1: (C,), (C,)."""
    dims = [d for d in range(x.ndim) if d != 1]
    var, mean = torch.var_mean(x, dim=dims, correction=0)
    return mean, var


def batchnorm_act_with_stats(x: Tensor, weight: Tensor, bias: Tensor, eps: float,
                             activation: str, negative_slope: float):
    """(y, mean, var): y = act(batch_norm(x)) with training-mode batch statistics, plus the
    detached batch mean (C,) and biased variance (C,)."""
    z = F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)  # (B, C, ...)
    mean, var = batch_stats(x.detach())
    return act(z, activation, negative_slope), mean, var


OPS = {"discriminator_loss": discriminator_loss, "generator_loss": generator_loss,
       "vae_loss": vae_loss, "bias_act": bias_act, "batchnorm_act_with_stats": batchnorm_act_with_stats}
