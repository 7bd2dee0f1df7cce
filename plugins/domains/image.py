"""The "image" domain: samples (C, H, W) in [-1, 1] drawn as a square grid, upscaled so each
image is at least 64 pixels a side (nearest neighbour: every pixel stays visible)."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from genbench import Data, DomainSpec, hookimpl

from . import png_bytes

GRID_SAMPLES = 64
MIN_SIDE = 64  # pixels per image side in the picture, at least


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


def grid_picture(images: torch.Tensor, scale: int = 1) -> Image.Image:
    """The grid of images (N, C, H, W) as a greyscale or RGB picture, each pixel scale x scale."""
    grid = image_grid(images)
    picture = Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def draw_images(samples: torch.Tensor, data: Data) -> bytes:
    """samples (n, C, H, W) -> a PNG grid, upscaled to at least MIN_SIDE pixels per image."""
    scale = math.ceil(MIN_SIDE / min(samples.shape[-2:]))
    return png_bytes(grid_picture(samples, scale))


@hookimpl
def register_domains(register):
    register(DomainSpec("image", "images in [-1, 1]: a grid of the samples", draw_images,
                        picture_samples=GRID_SAMPLES))
