"""The suites shipped in the package validate and plan (the smoke suites run in
tests/e2e/test_builtin_suite_runs.py)."""


import pytest

from genbench.suite.config import builtin_suites, load
from genbench.suite.plan import expand


@pytest.mark.parametrize("name", sorted(builtin_suites()))
def test_builtin_suite_validates_and_plans(name, registry):
    cells = expand(load(name, registry), registry)
    assert cells and len({c.cell_id for c in cells}) == len(cells)
