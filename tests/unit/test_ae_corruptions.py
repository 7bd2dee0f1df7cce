"""The image corruptions are deterministic per seed and do what they say."""

import torch
from genbench.plugins.datasets.corruptions import (
    BLACK,
    centre_mask,
    downsample_upsample,
    gaussian_noise,
    mask_centre,
    masking_noise,
)

X = torch.rand(16, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_noise_is_deterministic_per_seed_and_differs_across_seeds():
    for corrupt, level in ((gaussian_noise, 0.3), (masking_noise, 0.25)):
        assert torch.equal(corrupt(X, level, seeded(1)), corrupt(X, level, seeded(1)))
        assert not torch.equal(corrupt(X, level, seeded(1)), corrupt(X, level, seeded(2)))


def test_noise_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    gaussian_noise(X, 0.3, seeded(1))
    masking_noise(X, 0.3, seeded(1))
    assert torch.equal(torch.rand(1), before)


def test_gaussian_noise_is_added_and_clipped():
    noisy = gaussian_noise(X, 0.5, seeded(0))
    assert noisy.min() >= -1 and noisy.max() <= 1
    eps = torch.randn(X.shape, generator=seeded(0))
    assert torch.equal(noisy, (X + 0.5 * eps).clamp(-1, 1))


def test_masking_noise_blackens_about_the_fraction_and_nothing_else():
    big = torch.zeros(100, 1, 28, 28)
    masked = masking_noise(big, 0.25, seeded(0))
    dropped = masked == BLACK
    assert abs(dropped.float().mean().item() - 0.25) < 0.01
    assert torch.equal(masked[~dropped], big[~dropped])


def test_centre_mask_is_the_centred_square():
    mask = centre_mask(28, 28, 0.5)
    assert mask.sum() == 14 * 14 and mask[7:21, 7:21].all()
    assert centre_mask(8, 8, 0.5).nonzero().tolist()[0] == [2, 2]
    masked, same = mask_centre(X, 0.5, 0.0)
    assert torch.equal(same, centre_mask(8, 8, 0.5))
    assert (masked[..., same] == 0).all() and torch.equal(masked[..., ~same], X[..., ~same])


def test_downsample_upsample_keeps_the_size_and_block_constant_images():
    blocks = torch.rand(2, 1, 4, 4).repeat_interleave(2, 2).repeat_interleave(2, 3)  # constant 2x2 blocks
    assert torch.allclose(downsample_upsample(blocks, 2, "nearest"), blocks)
    low = downsample_upsample(X, 2, "bilinear")
    assert low.shape == X.shape
    assert torch.allclose(low.mean((2, 3)), X.mean((2, 3)), atol=0.1)  # roughly the same content
    assert not torch.allclose(low, X)
