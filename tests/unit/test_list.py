"""`genbench list` makes everything built in discoverable: families, objectives' own training
defaults, and the shipped suites with their descriptions and cell counts."""

import pytest
from click.testing import CliRunner

from genbench.suite import config
from genbench.cli import cli


def listed(*args: str) -> str:
    result = CliRunner().invoke(cli, ["list", *args], env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    return result.output


def test_list_suite_shows_every_builtin_suite_with_description_time_and_cells():
    text = listed("--kind", "suite")  # piped: one plain line per suite
    rows = {line.split()[0]: line for line in text.splitlines()[3:]}
    assert set(rows) == set(config.builtin_suites())
    assert rows["quick"].split()[1] == "12" and "129 s on 2 cores (measured)" in rows["quick"]
    assert rows["quick"].endswith("saturating vs non-saturating generator loss on 2D Gaussian mixtures")
    assert rows["gan-smoke"].split()[1] == "7"  # 5 objectives on digits + 2 on ring8, one seed
    assert "checks that things run" in rows["gan-smoke"]


def test_list_shows_families_and_objective_defaults():
    text = listed()
    lines = text.splitlines()
    for family in ("gan", "autoencoder", "rbm"):
        assert any(line.split()[:2] == ["family", family] for line in lines)
    wgan = next(i for i, line in enumerate(lines) if line.split()[:2] == ["objective", "wgan-gp"])
    assert lines[wgan + 1].strip() == "trains with lr=0.0001, beta1=0.0, beta2=0.9 (unless the suite sets them)"
    assert "built-in suites (genbench run NAME)" in text  # the suites follow the components


def test_suite_expected_is_one_short_line(write_suite, registry):
    from genbench.api.errors import ConfigError

    text = write_suite().read_text()
    for bad in ('3', '"a\\nb"', '"' + "x" * 61 + '"'):
        path = write_suite(text.replace("[suite]", f"[suite]\nexpected = {bad}"), name="bad.toml")
        with pytest.raises(ConfigError, match="suite.expected"):
            config.load(str(path), registry)
    good = write_suite(text.replace("[suite]", '[suite]\nexpected = "3 min on 2 cores"'), name="good.toml")
    assert config.load(str(good), registry).expected == "3 min on 2 cores"
