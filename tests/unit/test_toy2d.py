"""The 2D mixtures and the mode-coverage metric, against hand-computed cases."""

import math

import pytest
import torch
from genbench.plugins.datasets.toy2d import grid25, grid25_modes, ring8, ring8_modes
from genbench.plugins.metrics.modes import make_modes, mode_statistics

from genbench import Data, EvalContext


def test_ring8_modes_are_at_2_pi_i_over_8_without_a_repeated_endpoint():
    modes = ring8_modes()
    assert modes.shape == (8, 2)
    assert torch.allclose(modes[0], torch.tensor([1.0, 0.0]))
    assert torch.allclose(modes[2], torch.tensor([0.0, 1.0]), atol=1e-7)
    assert torch.allclose(modes[1], torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))
    assert torch.cdist(modes, modes).add(torch.eye(8)).min() > 0.7  # all distinct


def test_grid25_modes_cover_the_grid():
    modes = grid25_modes()
    assert modes.shape == (25, 2)
    assert set(modes[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert len({tuple(m) for m in modes.tolist()}) == 25


def test_mixture_draws_are_deterministic_and_have_the_stated_sd():
    a, b = ring8(20_000, 100, 0), ring8(20_000, 100, 0)
    assert torch.equal(a.train, b.train) and a.train.shape == (20_000, 2) and a.test.shape == (100, 2)
    assert not torch.equal(a.train, ring8(20_000, 100, 1).train)
    nearest = torch.cdist(a.train, ring8_modes()).min(dim=1).values
    assert nearest.pow(2).mean().div(2).sqrt().item() == pytest.approx(0.01, rel=0.05)
    grid = grid25(20_000, 10, 0)
    assert torch.cdist(grid.train, grid25_modes()).min(dim=1).values.pow(2).mean().div(2).sqrt().item() == pytest.approx(0.05, rel=0.05)


def test_mode_statistics_hand_computed():
    modes = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    sd = 1.0
    samples = torch.tensor([
        [0.5, 0.0], [0.0, -2.9], [1.0, 1.0],  # mode 0, all within 3 sd
        [10.0, 2.0],                           # mode 1
        [5.0, 0.0],                            # 5 from modes 0 and 1: not high quality
        [float("nan"), 0.0],                   # NaN: never high quality
    ])
    stats = mode_statistics(samples, modes, sd)
    assert stats["modes"] == 2.0
    assert stats["hq_pct"] == pytest.approx(100 * 4 / 6)
    q = torch.tensor([0.75, 0.25])  # HQ histogram over the covered modes
    assert stats["reverse_kl"] == pytest.approx(float((q * torch.log(q * 4)).sum()))


def test_uniform_coverage_has_zero_reverse_kl_and_all_modes():
    modes = ring8_modes()
    stats = mode_statistics(modes.repeat(3, 1), modes, 0.01)
    assert stats == {"modes": 8.0, "hq_pct": 100.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}


def test_collapse_to_one_mode_has_reverse_kl_log_k():
    modes = grid25_modes()
    stats = mode_statistics(modes[:1].repeat(10, 1), modes, 0.05)
    assert stats["modes"] == 1.0 and stats["reverse_kl"] == pytest.approx(math.log(25))


def test_metric_reports_nan_with_a_reason_when_nothing_is_high_quality():
    data = ring8(100, 10, 0)
    far = lambda n: torch.full((n, 2), 50.0)
    result = make_modes(n_samples=40)(EvalContext(data, 0, 1, torch.device("cpu"), sample=far))
    assert result.values["modes"] == 0 and result.values["hq_pct"] == 0
    assert math.isnan(result.values["reverse_kl"]) and "no high-quality samples" in result.provenance["reason"]
    assert result.provenance["n_fake"] == 40


def test_metric_explains_a_dataset_without_modes():
    data = Data(ring8(10, 1, 0).info, train=torch.zeros(10, 2))
    with pytest.raises(ValueError, match="extras\\['modes'\\]"):
        make_modes(n_samples=4)(EvalContext(data, 0, 1, torch.device("cpu"), sample=lambda n: torch.zeros(n, 2)))
