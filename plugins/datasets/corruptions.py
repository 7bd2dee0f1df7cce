"""Image corruptions for the autoencoder tasks: pure functions of images in [-1, 1].

Used by the denoising objective (noise on the training input) and by the application metrics
(denoising, inpainting, super-resolution). Not a plugin itself (it registers nothing).
Everything random draws from an explicit torch.Generator on that generator's device: the metrics
pass one on the CPU, so the same state gives the same corruption on every device; the trainer
passes its own, on the training device, so a training step copies nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

BLACK = -1.0  # the data-space minimum: "0" in Vincent et al.'s [0, 1] pixels


def gaussian_noise(x: torch.Tensor, sd: float, generator: torch.Generator) -> torch.Tensor:
    """x + sd * eps, eps ~ N(0, I), clipped back to [-1, 1]. (B, *shape) -> (B, *shape)."""
    eps = torch.randn(x.shape, generator=generator, device=generator.device).to(x.device)
    return (x + sd * eps).clamp(-1.0, 1.0)


def masking_noise(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Each value independently set to black with probability `fraction` (Vincent et al. 2008).
    (B, *shape) -> (B, *shape)."""
    drop = (torch.rand(x.shape, generator=generator, device=generator.device) < fraction).to(x.device)
    return x.masked_fill(drop, BLACK)


def centre_mask(height: int, width: int, fraction: float) -> torch.Tensor:
    """(H, W) bool, True on the centred square of side round(fraction * min(H, W)) (at least 1)."""
    side = max(1, round(fraction * min(height, width)))
    top, left = (height - side) // 2, (width - side) // 2
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[top:top + side, left:left + side] = True
    return mask


def mask_centre(x: torch.Tensor, fraction: float, fill: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(x with the centre square set to `fill`, the mask (H, W)). x: (B, C, H, W)."""
    mask = centre_mask(x.shape[-2], x.shape[-1], fraction).to(x.device)
    return x.masked_fill(mask, fill), mask


def downsample_upsample(x: torch.Tensor, factor: int, mode: str) -> torch.Tensor:
    """Average-pool by `factor`, then back to the input size by `mode` ("nearest" or "bilinear"):
    the low-resolution image at the size the autoencoder takes. (B, C, H, W) -> (B, C, H, W)."""
    small = F.avg_pool2d(x, factor)  # (B, C, H // factor, W // factor)
    if mode == "bilinear":
        return F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return F.interpolate(small, size=x.shape[-2:], mode="nearest")
