"""Sample pictures come from the domains: grids of images, scatter plots of 2D points, as PNG bytes."""

import io

import numpy as np
import torch
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.domains.image import draw_images, grid_picture, image_grid
from genbench.plugins.domains.points import SCATTER_PIXELS, draw_points, scatter
from PIL import Image

from genbench import Data, DataInfo


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data))


def test_image_grid_layout_and_pixel_values():
    images = torch.full((5, 1, 4, 3), -1.0)  # (N, C, H, W)
    images[1] = 1.0
    grid = image_grid(images, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 4 + 1, 1)  # 3 columns x 2 rows of 4x3 tiles, 1 px padding
    assert grid[1:5, 1:4].max() == 0  # first tile: -1 -> 0
    assert grid[1:5, 5:8].min() == 255  # second tile: +1 -> 255


def test_grid_pictures_are_rgb_or_greyscale_and_scaled():
    picture = grid_picture(torch.rand(8, 3, 8, 8) * 2 - 1, scale=2)
    assert picture.mode == "RGB" and picture.width == 2 * (3 * 10 + 2)
    assert grid_picture(torch.zeros(4, 1, 8, 8)).mode == "L"


def test_the_image_domain_upscales_each_image_to_at_least_64_pixels():
    data = Data(DataInfo("image", (1, 28, 28)), train=torch.zeros(4, 1, 28, 28))
    with open_png(draw_images(torch.rand(64, 1, 28, 28) * 2 - 1, data)) as picture:
        assert picture.width == 3 * (8 * 30 + 2)  # 8 columns of 28 px + 2 px padding, scaled by ceil(64 / 28)


def test_scatter_draws_finite_samples_in_black_over_the_reference():
    points = torch.tensor([[0.0, 0.0], [1.0, 1.0], [float("nan"), 0.0]])
    picture = scatter(points, torch.tensor([[0.5, 0.5]]))
    assert picture.size == (SCATTER_PIXELS, SCATTER_PIXELS)
    assert np.asarray(picture).min() == 0  # some black sample pixels


def test_the_points_domain_draws_over_the_modes():
    data = ring8(64, 8, 0)
    with open_png(draw_points(torch.randn(100, 2), data)) as picture:
        pixels = np.asarray(picture.convert("RGB"))
    red = (pixels[..., 0] == 255) & (pixels[..., 1] == 0)
    assert red.any()  # the mode rings


def test_domains_are_registered_with_how_many_samples_they_picture(registry):
    assert registry.get("domain", "points").picture_samples == 2500
    assert registry.get("domain", "image").picture_samples == 64
    assert registry.get("domain", "image").factory is draw_images
