"""The plugin registry: built-ins, entry-point plugins, and plugins that go wrong."""

import pytest

from genbench import ConfigError, DatasetSpec, Param, PluginError, UnknownComponentError
from genbench.api.registry import Registry, load_plugins


def test_builtins_register_every_kind(registry):
    assert {"ring8", "grid25"} <= set(registry.names("dataset"))
    assert "mlp" in registry.names("model")
    assert {"saturating", "nonsaturating"} <= set(registry.names("objective"))
    assert "modes" in registry.names("metric")
    assert {"eager", "compiled", "triton"} <= set(registry.names("kernel"))
    assert {"gan", "autoencoder"} <= set(registry.names("family"))
    assert {"points", "image"} <= set(registry.names("domain"))
    assert {"adam", "rmsprop"} <= set(registry.names("optimizer"))
    assert {"table", "csv", "json"} <= set(registry.names("reporter"))
    assert {"local", "process"} <= set(registry.names("executor"))
    assert registry.origin("dataset", "ring8").distribution == "genbench"
    assert registry.problems == []


def test_entry_point_plugin_is_discovered_with_its_distribution(install_plugin):
    install_plugin("genbench_sample_plugin", dist="genbench-sample")
    registry = load_plugins()
    assert registry.get("dataset", "blobs").description == "two Gaussian blobs"
    origin = registry.origin("dataset", "blobs")
    assert (origin.plugin, origin.distribution) == ("genbench_sample_plugin", "genbench-sample")
    assert registry.problems == []


def test_broken_plugin_is_reported_and_others_keep_working(install_plugin):
    install_plugin("genbench_broken_plugin", dist="genbench-broken")
    install_plugin("genbench_sample_plugin", dist="genbench-sample")
    registry = load_plugins()
    assert "blobs" in registry.names("dataset") and "ring8" in registry.names("dataset")
    [problem] = registry.problems
    message = str(problem)
    assert "genbench_broken_plugin" in message and "genbench-broken" in message
    assert "ModuleNotFoundError" in message and "pip uninstall genbench-broken" in message


def test_a_name_two_distributions_register_is_ambiguous_and_each_has_a_qualified_name(install_plugin):
    install_plugin("genbench_duplicate_plugin", dist="genbench-dup")
    registry = load_plugins()
    assert registry.problems == []
    assert registry.origin("dataset", "genbench:ring8").distribution == "genbench"
    assert registry.origin("dataset", "genbench-dup:ring8").distribution == "genbench-dup"
    with pytest.raises(ConfigError, match=r"dataset 'ring8' is ambiguous.*genbench-dup:ring8 or genbench:ring8"):
        registry.get("dataset", "ring8")


def test_malformed_specs_are_plugin_errors(install_plugin):
    install_plugin("genbench_malformed_plugin", dist="genbench-malformed")
    registry = load_plugins()
    messages = sorted(str(p) for p in registry.problems)
    assert len(messages) == 2
    assert any("registered a ModelSpec as a dataset" in m and "DatasetSpec" in m for m in messages)
    assert any("'Bad Name'" in m and "lower-case" in m for m in messages)
    assert "Bad Name" not in registry.names("model")


def test_bad_param_default_is_rejected():
    registry = Registry()
    spec = DatasetSpec("x", "x", lambda n: None, {"n": Param(-1, "count", min=0)})
    with pytest.raises(PluginError, match="parameter 'n' default is invalid"):
        registry.add("dataset", spec, "p", "d")


def test_unknown_name_suggests_close_matches(registry):
    with pytest.raises(UnknownComponentError, match=r"unknown dataset 'rnig8'\. Did you mean: ring8\?"):
        registry.get("dataset", "rnig8")


def test_genbench_list_shows_plugins_and_problems(install_plugin, invoke_genbench):
    install_plugin("genbench_broken_plugin", dist="genbench-broken")
    site = install_plugin("genbench_sample_plugin", dist="genbench-sample")
    out = invoke_genbench("list", pythonpath=site)
    assert out.returncode == 0, out.stderr
    assert "blobs" in out.stdout and "genbench-sample" in out.stdout and "ring8" in out.stdout
    assert "plugin problem" in out.stderr and "genbench_broken_plugin" in out.stderr
