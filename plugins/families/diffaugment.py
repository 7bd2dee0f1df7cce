"""Differentiable augmentation (DiffAugment; Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable
Augmentation for Data-Efficient GAN Training", NeurIPS; https://arxiv.org/abs/2006.10738).

The same random augmentation T is applied to every image D judges, real and fake, in D's steps
and in G's step: D(T(x)), D(T(G(z))). T is differentiable, so G's gradient flows through it. The
three policies and their parameters are those of the authors' reference implementation,
`DiffAugment_pytorch.py` in https://github.com/mit-han-lab/data-efficient-gans (written anew
here, drawing from the trainer's seeded generator), for images (B, C, H, W) in [-1, 1]:

- color: brightness x + (u - 0.5); saturation (x - mean_C x) * 2u + mean_C x; contrast
  (x - mean_CHW x) * (u + 0.5) + mean_CHW x; one u ~ U[0, 1) per image and per op.
- translation: a shift of each image by whole pixels, uniform in [-s, s] rows and [-s, s]
  columns with s = round(H / 8) (round(W / 8)), the uncovered border zero (zero padding).
- cutout: a square of side round(H / 2) x round(W / 2) centred at a uniform position, its
  pixels set to zero (the square may cross the border and be cut by it).

A policy string names them comma-separated in the order they apply, as in the reference
(`"translation,cutout,color"`; the paper's best on CIFAR-10 and 100-shot sets is all three).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from genbench import DataInfo

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _uniform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """u ~ U[0, 1) per image: (B, 1, 1, 1) in x's dtype."""
    return torch.rand(len(x), 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def brightness(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x + (_uniform(x, generator) - 0.5)


def saturation(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)  # (B, 1, H, W): the grey level of each pixel
    return (x - mean) * (_uniform(x, generator) * 2) + mean


def contrast(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def _shifts(x: torch.Tensor, size: int, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """A shift per image, uniform in [-s, s] with s = round(size * ratio): (B, 1) int64."""
    s = int(size * ratio + 0.5)
    return torch.randint(-s, s + 1, (len(x), 1), generator=generator, device=x.device)


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """out[b, :, i, j] = x[b, :, i + r_b, j + c_b] for shifts r_b, c_b drawn per image, zero where
    that falls outside the image."""
    b, _, h, w = x.shape
    rows = torch.arange(h, device=x.device) + _shifts(x, h, ratio, generator)  # (B, H)
    cols = torch.arange(w, device=x.device) + _shifts(x, w, ratio, generator)  # (B, W)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]  # (B, H, W)
    batch = torch.arange(b, device=x.device)[:, None, None]  # (B, 1, 1)
    moved = x[batch, :, rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]  # (B, H, W, C)
    return moved.permute(0, 3, 1, 2) * inside[:, None].to(x.dtype)  # (B, C, H, W)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """x with a zero square of side round(H * ratio) x round(W * ratio) per image, its centre
    uniform over the image (the reference's offsets: [0, H + 1 - side % 2))."""
    b, _, h, w = x.shape

    def band(size: int) -> torch.Tensor:  # (B, size): which rows (columns) the square covers
        side = int(size * ratio + 0.5)
        centre = torch.randint(0, size + (1 - side % 2), (b, 1), generator=generator, device=x.device)
        start = centre - side // 2  # (B, 1)
        index = torch.arange(size, device=x.device)  # (size,)
        return (index >= start) & (index < start + side)

    rows, cols = band(h), band(w)  # (B, H), (B, W)
    keep = ~(rows[:, :, None] & cols[:, None, :])  # (B, H, W)
    return x * keep[:, None].to(x.dtype)


POLICIES: dict[str, tuple[Augment, ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse(policy: str) -> tuple[str, ...]:
    """"translation,cutout,color" -> ("translation", "cutout", "color"); "" -> (); ValueError
    naming the fix for an unknown or repeated name."""
    names = tuple(part.strip() for part in policy.split(",")) if policy.strip() else ()
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"unknown DiffAugment policy {name!r} in {policy!r}; use a comma-separated "
                             f"list of {', '.join(POLICIES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"DiffAugment policy {policy!r} names a policy twice; name each once")
    return names


def problem(policy: str, info: DataInfo) -> str | None:
    """Why `policy` cannot augment data of this kind (None when it can, or is off)."""
    try:
        names = parse(policy)
    except ValueError as exc:
        return str(exc)
    if names and (info.domain != "image" or len(info.shape) != 3):
        return (f"diffaugment = {policy!r} augments images (C, H, W), but the data is {info.domain} data of "
                f"shape {info.shape}; set diffaugment = \"\" for it")
    return None


def augmenter(policy: str, generator: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor]:
    """x (B, C, H, W) -> T(x), the policy's ops in order with draws from `generator`; the
    identity (drawing nothing) when the policy is ""."""
    ops = [op for name in parse(policy) for op in POLICIES[name]]

    def augment(x: torch.Tensor) -> torch.Tensor:
        for op in ops:
            x = op(x, generator)
        return x.contiguous() if ops else x

    return augment
