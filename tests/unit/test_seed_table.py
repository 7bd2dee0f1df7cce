"""scripts/seed_table.py, which makes the tables and curves of docs/reproductions.md: its
intervals are Student-t intervals of the mean, NaN seeds are counted, and --plot draws a PNG."""

import importlib.util
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "seed_table.py"


@pytest.fixture(scope="module")
def seed_table():
    spec = importlib.util.spec_from_file_location("seed_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_is_the_mean_its_standard_error_and_the_t_interval(seed_table):
    # [1, 2, 3]: mean 2, standard error 1/sqrt(3) = 0.577, t(0.975, 2 df) = 4.303: 2 -+ 2.484
    assert seed_table.summary([1.0, 2.0, 3.0]) == "2 +- 0.58 [-0.484, 4.48] (n=3)"
    assert seed_table.summary([1.0, 2.0, 3.0, math.nan]) == "2 +- 0.58 [-0.484, 4.48] (n=3, 1 NaN)"
    assert seed_table.summary([5.0, 5.0]) == "5 +- 0 [5, 5] (n=2)" and seed_table.summary([math.nan]) == "n/a (n=0, 1 NaN)"


def test_plot_draws_one_panel_per_metric(seed_table, tmp_path):
    table = {("ring8 / GAN / ns", "modes", step): {0: 6.0 + step / 1000, 1: 7.0, 2: math.nan} for step in (1000, 2000)}
    table |= {("ring8 / PacGAN2 / ns", "modes", 1000): {0: 8.0}, ("ring8 / GAN / ns", "hq_pct", 2000): {0: 50.0}}
    path = tmp_path / "curves.png"
    seed_table.plot_curves(table, ["modes", "hq_pct"], str(path))
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
