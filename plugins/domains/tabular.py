"""The "tabular" domain: rows of features (F,) (standardised numbers and one-hot columns), drawn
as a grey heat map, one sample per row and one feature per column: -3 black, 0 grey, 3 white
(values beyond are clipped, non-finite ones drawn black)."""

from __future__ import annotations

import torch
from PIL import Image

from genbench import Data, DomainSpec, hookimpl

from . import png_bytes

ROWS = 64
CELL = 6  # pixels per drawn value, each side
RANGE = 3.0


def draw_rows(samples: torch.Tensor, data: Data) -> bytes:
    """samples (n, F) -> a PNG heat map of n x F cells."""
    values = samples.detach().float().cpu().nan_to_num(-RANGE, RANGE, -RANGE).clamp(-RANGE, RANGE)  # (n, F)
    pixels = ((values + RANGE) / (2 * RANGE) * 255).round().to(torch.uint8)  # (n, F)
    picture = Image.fromarray(pixels.numpy(), mode="L")
    return png_bytes(picture.resize((picture.width * CELL, picture.height * CELL), Image.NEAREST))


@hookimpl
def register_domains(register):
    register(DomainSpec("tabular", "rows of features: a heat map, one sample per row", draw_rows,
                        picture_samples=ROWS))
