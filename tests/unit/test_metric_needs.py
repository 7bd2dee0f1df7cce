"""Metrics declare what they need from an eval context, families what their context provides;
the match (and the data's domain) decides where a metric applies, never a family's name."""

from __future__ import annotations

import pytest

from genbench import ConfigError, FamilySpec, MetricOutput, MetricResult, MetricSpec, ModelSpec, ObjectiveSpec
from genbench.api.registry import load_plugins
from genbench.suite.config import ComponentConfig, load, metric_applies

# Where each built-in metric applies among the built-in families (domains aside): what the
# metrics' family lists said before needs and provides replaced them, plus `pretraining`, which
# needs only labelled data (it trains its own networks) and so applies to every family.
APPLIES = {
    "fid": {"gan", "autoencoder", "rbm", "vfae"}, "kid": {"gan", "autoencoder", "rbm", "vfae"},
    "is": {"gan", "autoencoder", "rbm", "vfae"}, "prdc": {"gan", "autoencoder", "rbm", "vfae"},
    "parzen": {"gan", "autoencoder", "rbm", "vfae"}, "modes": {"gan", "autoencoder", "rbm", "vfae"},
    "stacked-modes": {"gan", "autoencoder", "rbm", "vfae"}, "iwae": {"autoencoder"}, "rbm-loglik": {"rbm"},
    "fairness": {"autoencoder", "vfae"}, "reconstruction": {"autoencoder"}, "denoise": {"autoencoder"},
    "inpaint": {"autoencoder"}, "superres": {"autoencoder"}, "pretraining": {"gan", "autoencoder", "rbm", "vfae"},
    "intra-fid": {"gan"},  # needs classes: samples of given classes, which only the GAN family draws
}
MODELS = {"gan": "mlp", "autoencoder": "ae-linear", "rbm": "rbm", "vfae": "vfae"}


BUILTINS = load_plugins(entry_points=False)


def component(kind: str, name: str) -> ComponentConfig:
    """A built-in component at its defaults, as a suite resolves it (a test's own have none)."""
    params = BUILTINS.get(kind, name).params if name in BUILTINS.tables[kind] else {}
    return ComponentConfig(kind, name, tuple(sorted((k, p.default) for k, p in params.items())), name)


def test_builtin_metrics_apply_where_their_families_provide_what_they_need(registry):
    assert set(APPLIES) == set(registry.names("metric"))
    for metric, families in APPLIES.items():
        spec = registry.get("metric", metric)
        applies = {f for f, model in MODELS.items()
                   if set(spec.needs) <= {"real", "labels", *registry.get("family", f).provides}}
        assert applies == families, metric
    # the domain still counts: fid scores images, not the 2D points of ring8
    assert not metric_applies(registry, component("metric", "fid"), component("model", "mlp"),
                              component("dataset", "ring8"))
    assert metric_applies(registry, component("metric", "fid"), component("model", "dcgan"),
                          component("dataset", "mnist5k"))


def test_a_new_family_gets_the_metrics_its_context_provides_for(tmp_path):
    registry = load_plugins(entry_points=False)
    registry.add("family", FamilySpec("flow", "a normalizing flow", lambda setup: iter(()), provides=("samples",)),
                 "test", "test")
    registry.add("model", ModelSpec("tiny-flow", "a flow", lambda info: None, family="flow"), "test", "test")
    registry.add("objective", ObjectiveSpec("flow-nll", "its likelihood", lambda: None, family="flow"), "test", "test")
    registry.add("metric", MetricSpec("needs-model", "reads ctx.model", lambda: lambda ctx: MetricResult({}),
                                      outputs={"x": MetricOutput(True, "x")}, needs=("model",)), "test", "test")
    flow, ring = component("model", "tiny-flow"), component("dataset", "ring8")
    assert metric_applies(registry, component("metric", "modes"), flow, ring)  # needs samples: provided
    assert not metric_applies(registry, component("metric", "needs-model"), flow, ring)
    path = tmp_path / "flow.toml"
    path.write_text("""
[eval]
metrics = ["needs-model"]
[matrix]
datasets = ["ring8"]
models = ["tiny-flow"]
objectives = ["flow-nll"]
""")
    with pytest.raises(ConfigError, match=r"'needs-model' applies to no cell \(it needs model on any data; the "
                                          r"suite's families provide flow: samples\)"):
        load(str(path), registry)


def test_a_metric_declaring_families_still_scores_only_those_with_a_deprecation_warning():
    """Plugin API 2.1's MetricSpec(families=...) keeps its meaning until 3.0: the metric applies
    only to those families' cells, and registering it says what to write instead."""
    from genbench.api.compat import PluginDeprecationWarning

    registry = load_plugins(entry_points=False)
    spec = MetricSpec("gan-only", "an old plugin's metric", lambda: lambda ctx: MetricResult({}),
                      outputs={"x": MetricOutput(True, "x")}, families=("gan",))
    with pytest.warns(PluginDeprecationWarning, match=r"MetricSpec\(families=...\) is deprecated.*needs="):
        registry.add("metric", spec, "old", "old-dist")
    ring = component("dataset", "ring8")
    assert metric_applies(registry, component("metric", "gan-only"), component("model", "mlp"), ring)
    assert not metric_applies(registry, component("metric", "gan-only"), component("model", "ae-linear"),
                              component("dataset", "digits"))
