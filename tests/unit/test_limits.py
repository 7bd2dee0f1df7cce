"""Per-cell limits in a suite file and on the command line: what parses, and the errors that
name the problem (tests/e2e/test_workers.py: the limits enforced on real workers)."""

import pytest

from genbench.suite import config
from genbench.api.errors import ConfigError
from genbench.suite.limits import parse_memory, parse_timeout


@pytest.mark.parametrize("line, problem", [
    ("timeout = -1", "train.timeout: -1 is not positive"),
    ("timeout = true", "train.timeout: True is not seconds"),
    ('timeout = "soon"', "train.timeout: 'soon' is not seconds"),
    ("max_memory = 0", "train.max_memory: 0 is not positive"),
    ('max_memory = "4 parsecs"', "train.max_memory: '4 parsecs' is not a number of MiB"),
    ("max_memory = nan", "train.max_memory: nan is not positive"),
])
def test_bad_limits_in_a_suite_are_config_errors(write_suite, registry, line, problem):
    suite = write_suite()
    suite.write_text(suite.read_text().replace("batch_size = 32", f"batch_size = 32\n{line}"))
    with pytest.raises(ConfigError, match="fix: give") as error:
        config.load(str(suite), registry)
    assert problem in str(error.value)


def test_a_limit_in_a_block_train_table_says_where_it_belongs(write_suite, registry):
    suite = write_suite()
    suite.write_text(suite.read_text() + "train = { timeout = 60 }\n")
    with pytest.raises(ConfigError, match=r"matrix.train.timeout: timeout is a limit of the whole run"):
        config.load(str(suite), registry)


def test_limit_values_parse_with_units():
    assert parse_timeout(600) == parse_timeout("10m") == parse_timeout("600s") == 600
    assert parse_timeout("2h") == 7200 and parse_timeout(1.5) == 1.5
    assert parse_memory(512) == parse_memory("512MiB") == parse_memory("0.5 GiB") == 512 * 2**20
    assert parse_memory("4GB") == 4 * 10**9
