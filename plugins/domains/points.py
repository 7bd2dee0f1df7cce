"""The "points" domain: 2D samples drawn as a scatter plot over the data's modes.

The samples are black dots; the reference points (a mixture's modes from data.extras["modes"],
else the first training points) are red rings. Non-finite samples are left out.
"""

from __future__ import annotations

import torch
from PIL import Image, ImageDraw

from genbench import Data, DomainSpec, hookimpl

from . import png_bytes

SCATTER_SAMPLES = 2500
SCATTER_PIXELS = 400


def scatter(points: torch.Tensor, reference: torch.Tensor) -> Image.Image:
    """2D samples (N, 2) in black over reference points (K, 2) in red, on a square canvas."""
    points = points[torch.isfinite(points).all(dim=1)]  # (N', 2)
    everything = torch.cat([reference, points])  # (K + N', 2)
    low = everything.min(dim=0).values - 0.1
    high = everything.max(dim=0).values + 0.1
    span = (high - low).max().clamp(min=1e-6)

    def to_pixels(xy: torch.Tensor) -> list[tuple[float, float]]:
        uv = (xy - low) / span * (SCATTER_PIXELS - 1)  # (N, 2) in pixel units
        return [(u, SCATTER_PIXELS - 1 - v) for u, v in uv.tolist()]

    picture = Image.new("RGB", (SCATTER_PIXELS, SCATTER_PIXELS), "white")
    draw = ImageDraw.Draw(picture)
    draw.point(to_pixels(points), fill="black")
    for u, v in to_pixels(reference):
        draw.ellipse((u - 3, v - 3, u + 3, v + 3), outline="red")
    return picture


def draw_points(samples: torch.Tensor, data: Data) -> bytes:
    """samples (n, 2) -> a PNG scatter over the modes (or the first training points)."""
    reference = torch.as_tensor(data.extras.get("modes", data.train[:SCATTER_SAMPLES]))
    return png_bytes(scatter(samples.detach().float().cpu(), reference.float().cpu()))


@hookimpl
def register_domains(register):
    register(DomainSpec("points", "2D points: a scatter of the samples over the modes", draw_points,
                        picture_samples=SCATTER_SAMPLES))
