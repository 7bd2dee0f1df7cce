"""Sample pictures: grids of images and 2D scatter plots, saved and registered at eval points."""

import numpy as np
import torch
from PIL import Image

from genbench.artifacts import image_grid, save_image_grid, save_scatter
from genbench.config import load
from genbench.plan import expand
from genbench.runner import run_cell


def test_image_grid_layout_and_pixel_values():
    images = torch.full((5, 1, 4, 3), -1.0)  # (N, C, H, W)
    images[1] = 1.0
    grid = image_grid(images, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 4 + 1, 1)  # 3 columns x 2 rows of 4x3 tiles, 1 px padding
    assert grid[1:5, 1:4].max() == 0  # first tile: -1 -> 0
    assert grid[1:5, 5:8].min() == 255  # second tile: +1 -> 255


def test_saved_pictures_are_pngs(tmp_path):
    save_image_grid(torch.rand(8, 3, 8, 8) * 2 - 1, tmp_path / "grid.png", scale=2)
    with Image.open(tmp_path / "grid.png") as picture:
        assert picture.mode == "RGB" and picture.width == 2 * (3 * 10 + 2)
    points = torch.tensor([[0.0, 0.0], [1.0, 1.0], [float("nan"), 0.0]])
    save_scatter(points, torch.tensor([[0.5, 0.5]]), tmp_path / "scatter.png")
    with Image.open(tmp_path / "scatter.png") as picture:
        assert np.asarray(picture).min() == 0  # some black sample pixels


def test_each_eval_step_saves_a_picture(write_suite, registry, tmp_path):
    cell = expand(load(str(write_suite()), registry), registry)[0]
    result = run_cell(cell, str(tmp_path))
    assert [(a.step, a.kind) for a in result.artifacts] == [(10, "samples"), (20, "samples")]
    for artifact in result.artifacts:
        assert (tmp_path / artifact.path).is_file() and cell.cell_id in artifact.path
