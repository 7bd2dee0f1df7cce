"""Maximum mean discrepancy between the two groups of a batch (Gretton et al. 2012), with the
Gaussian kernel k(a, b) = exp(-||a - b||^2 / (2 bandwidth^2)). Not a plugin itself.

For z (B, Z) and a group s (B,) in {0, 1}, with the group means taken in the kernel's feature
space, both estimates are ||mean phi(z | s=0) - mean phi(z | s=1)||^2 (the biased V-statistic):

- exact: w0' K w0 + w1' K w1 - 2 w0' K w1, K the (B, B) kernel matrix and w_g the weights
  1/n_g on the group's members (O(B^2 Z));
- rff (random kitchen sinks, Rahimi & Recht 2007, as the VFAE paper uses): phi(z) =
  sqrt(2/D) cos(W z + b), W (Z, D) ~ N(0, 1/bandwidth^2), b ~ U[0, 2 pi), so E phi(a).phi(b) =
  k(a, b) and the estimate equals the exact one in expectation over (W, b) (O(B D Z)).

`bandwidth = 0` takes the median heuristic instead: the median distance between the batch's
points (Gretton et al. 2012), detached, so the kernel follows the scale of z as it trains.

A batch without a member of each group has no discrepancy to measure: both give 0 there
(computed on the device, without reading the counts back).
"""

from __future__ import annotations

import math

import torch

KINDS = ("rff", "exact")


def group_weights(s: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(w0, w1) (B,) each summing to 1 over its group's members, and whether both groups are there (0-d)."""
    one = (s == 1).to(dtype)  # (B,)
    zero = 1 - one
    n0, n1 = zero.sum(), one.sum()
    return zero / n0.clamp(min=1), one / n1.clamp(min=1), (n0 > 0) & (n1 > 0)


def median_distance(z: torch.Tensor) -> torch.Tensor:
    """The median distance between two different points of z (B, Z), detached: 0-d."""
    distances = torch.pdist(z.detach())  # (B (B - 1) / 2,)
    return distances.median().clamp(min=1e-6)


def kernel_width(z: torch.Tensor, bandwidth: float) -> torch.Tensor | float:
    return median_distance(z) if bandwidth == 0 else bandwidth


def mmd_exact(z: torch.Tensor, s: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """MMD^2 between z[s == 0] and z[s == 1] with the Gaussian kernel, exactly: z (B, Z) -> 0-d."""
    w0, w1, both = group_weights(s, z.dtype)
    sigma = kernel_width(z, bandwidth)
    kernel = torch.exp(-torch.cdist(z, z).pow(2) / (2 * sigma ** 2))  # (B, B)
    w = w0 - w1  # (B,): w0'Kw0 + w1'Kw1 - 2 w0'Kw1 = (w0 - w1)' K (w0 - w1)
    return (w @ kernel @ w) * both


def random_features(z: torch.Tensor, bandwidth: float, n_features: int, generator: torch.Generator) -> torch.Tensor:
    """phi(z) (B, D) = sqrt(2/D) cos(W z + b) with fresh W (Z, D) and b (D,) from the generator."""
    w = torch.randn(z.shape[1], n_features, generator=generator, device=generator.device)  # (Z, D)
    w = w.to(z) / kernel_width(z, bandwidth)
    b = torch.rand(n_features, generator=generator, device=generator.device) * (2 * math.pi)  # (D,)
    return math.sqrt(2 / n_features) * torch.cos(z @ w + b.to(z))  # (B, D)


def mmd_rff(z: torch.Tensor, s: torch.Tensor, bandwidth: float, n_features: int,
            generator: torch.Generator) -> torch.Tensor:
    """MMD^2 between z[s == 0] and z[s == 1] from D random Fourier features: z (B, Z) -> 0-d."""
    w0, w1, both = group_weights(s, z.dtype)
    phi = random_features(z, bandwidth, n_features, generator)  # (B, D)
    return ((w0 - w1) @ phi).pow(2).sum() * both


def mmd(z: torch.Tensor, s: torch.Tensor, kind: str, bandwidth: float, n_features: int,
        generator: torch.Generator) -> torch.Tensor:
    with torch.autocast(z.device.type, enabled=False):  # a loss term: fp32 under mixed precision too
        z = z.float()
        if kind == "exact":
            return mmd_exact(z, s, bandwidth)
        return mmd_rff(z, s, bandwidth, n_features, generator)
