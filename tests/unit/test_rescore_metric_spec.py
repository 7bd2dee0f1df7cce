"""`genbench rescore --metric`: a metric spec is validated like a suite file's metrics."""

import pytest

from genbench.api.errors import ConfigError
from genbench.api.registry import load_plugins
from genbench.run.rescore import parse_metric

MODES = '{ name = "modes", n_samples = 200 }'

def test_metric_specs_are_validated_like_a_suite_files_metrics():
    registry = load_plugins(entry_points=False)
    assert parse_metric("modes", registry).kwargs() == {"n_samples": 2500}
    assert parse_metric(MODES, registry).kwargs() == {"n_samples": 200}
    with pytest.raises(ConfigError, match="n_samples.*minimum"):
        parse_metric('{ name = "modes", n_samples = -5 }', registry)
    with pytest.raises(ConfigError, match="unknown key 'samples'"):
        parse_metric('{ name = "modes", samples = 5 }', registry)
    with pytest.raises(ConfigError, match="inline TOML table"):
        parse_metric("{ name = ", registry)
