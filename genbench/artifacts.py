"""Pictures of samples saved at eval points: image grids, and scatter plots for 2D points.

Both are PNG files under <results>/artifacts/<cell_id>/, drawn from the trainer's fixed eval
noise, so the same z is pictured at every step and for every objective of a seed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

GRID_SAMPLES = 64
SCATTER_SAMPLES = 2500
SCATTER_PIXELS = 400


def image_grid(images: torch.Tensor, padding: int = 2) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (rows*(H+p)+p, cols*(W+p)+p, C) uint8, about square."""
    n, c, h, w = images.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    pixels = pixels.nan_to_num(0)
    grid = torch.zeros(rows * (h + padding) + padding, cols * (w + padding) + padding, c, dtype=torch.uint8)
    for i in range(n):
        top, left = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        grid[top:top + h, left:left + w] = pixels[i].permute(1, 2, 0)  # (H, W, C)
    return grid.numpy()


def save_image_grid(images: torch.Tensor, path: Path, scale: int = 1) -> None:
    grid = image_grid(images)
    picture = Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)


def save_scatter(points: torch.Tensor, reference: torch.Tensor, path: Path) -> None:
    """2D samples (N, 2) in black over reference points (K, 2) (e.g. mixture modes) in red."""
    everything = torch.cat([reference, points[torch.isfinite(points).all(dim=1)]])  # (K + N', 2)
    low = everything.min(dim=0).values - 0.1
    high = everything.max(dim=0).values + 0.1
    span = (high - low).max().clamp(min=1e-6)

    def to_pixels(xy: torch.Tensor) -> list[tuple[float, float]]:
        uv = (xy - low) / span * (SCATTER_PIXELS - 1)  # (N, 2) in pixel units
        return [(u, SCATTER_PIXELS - 1 - v) for u, v in uv.tolist()]

    picture = Image.new("RGB", (SCATTER_PIXELS, SCATTER_PIXELS), "white")
    draw = ImageDraw.Draw(picture)
    draw.point(to_pixels(points[torch.isfinite(points).all(dim=1)]), fill="black")
    for u, v in to_pixels(reference):
        draw.ellipse((u - 3, v - 3, u + 3, v + 3), outline="red")
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
