"""`genbench list` makes everything built in discoverable: families, objectives' own training
defaults, and the shipped suites with their descriptions and cell counts."""

from click.testing import CliRunner

from genbench.suite import config
from genbench.cli import cli


def listed(*args: str) -> str:
    result = CliRunner().invoke(cli, ["list", *args], env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    return result.output


def test_list_suite_shows_every_builtin_suite_with_description_and_cells():
    text = listed("--kind", "suite")
    rows = {line.split("│")[2].strip(): line for line in text.splitlines() if line.startswith("│ suite")}
    assert set(rows) == set(config.builtin_suites())
    assert "saturating vs non-saturating generator loss on 2D Gaussian mixtures (12 cells)" in rows["quick"]
    assert "(7 cells)" in rows["gan-smoke"]  # 5 objectives on digits + 2 on ring8, one seed


def test_list_shows_families_and_objective_defaults():
    text = listed()
    for family in ("gan", "autoencoder", "rbm"):
        assert any(line.startswith("│ family") and line.split("│")[2].strip() == family for line in text.splitlines())
    lines = text.splitlines()
    wgan = next(i for i, line in enumerate(lines) if line.startswith("│ objective │ wgan-gp"))
    assert "trains with lr=0.0001, beta1=0.0, beta2=0.9 (unless the suite sets them)" in lines[wgan + 1]
    assert "│ suite" in text  # the suites follow the components
