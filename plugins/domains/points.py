"""The "points" domain: 2D samples drawn as a scatter plot over the data's modes.

A matplotlib figure with axes, a title and a legend: the samples are small black dots, the
reference (a mixture's true modes from data.extras["modes"], else the first training points)
red rings. Non-finite samples are left out and counted in the title.
"""

from __future__ import annotations

import torch
from PIL import Image

from genbench import Data, DomainSpec, hookimpl

from . import png_bytes

SCATTER_SAMPLES = 2500
SCATTER_PIXELS = 400
DPI = 100


def scatter(points: torch.Tensor, reference: torch.Tensor, reference_label: str = "true modes") -> Image.Image:
    """2D samples (N, 2) as black dots over reference points (K, 2) as red rings, with axes,
    a title and a legend, on a square SCATTER_PIXELS picture."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # matplotlib loads when a picture is drawn
    from matplotlib.figure import Figure

    finite = torch.isfinite(points).all(dim=1)
    shown = points[finite]  # (N', 2)
    figure = Figure(figsize=(SCATTER_PIXELS / DPI, SCATTER_PIXELS / DPI), dpi=DPI, layout="tight")
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.scatter(shown[:, 0], shown[:, 1], s=2, c="black", alpha=0.5, linewidths=0, label="samples")
    axes.scatter(reference[:, 0], reference[:, 1], s=60, facecolors="none", edgecolors="red", linewidths=1.5,
                 label=reference_label)
    left_out = len(points) - len(shown)
    axes.set_title(f"{len(shown)} samples" + (f" ({left_out} non-finite left out)" if left_out else ""), fontsize=9)
    axes.set_xlabel("x1", fontsize=8)
    axes.set_ylabel("x2", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.set_aspect("equal", adjustable="datalim")
    axes.legend(loc="upper right", fontsize=7, framealpha=0.8)
    canvas.draw()
    return Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")


def draw_points(samples: torch.Tensor, data: Data) -> bytes:
    """samples (n, 2) -> a PNG scatter over the true modes (or the first training points)."""
    modes = data.extras.get("modes")
    reference = torch.as_tensor(modes if modes is not None else data.train[:SCATTER_SAMPLES])
    label = "true modes" if modes is not None else "training data"
    return png_bytes(scatter(samples.detach().float().cpu(), reference.float().cpu(), label))


@hookimpl
def register_domains(register):
    register(DomainSpec("points", "2D points: a scatter of the samples over the modes, with axes and a legend",
                        draw_points, picture_samples=SCATTER_SAMPLES))
