"""Property-based: any file given as a suite either loads (and expands into cells) or is a
GenbenchError; never another exception, never a file written."""

from __future__ import annotations

import tomllib

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from genbench import GenbenchError  # noqa: E402
from genbench.suite import plan  # noqa: E402
from genbench.suite.config import SuiteConfig, load  # noqa: E402

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_or_refuse(tmp_path, registry, content: bytes) -> None:
    """The property: a SuiteConfig whose plan expands, or a GenbenchError; nothing written."""
    path = tmp_path / "fuzz.toml"
    path.write_bytes(content)
    try:
        config = load(str(path), registry)
    except GenbenchError:
        pass
    else:
        assert isinstance(config, SuiteConfig)
        plan.expand(config, registry)
    assert [p.name for p in tmp_path.iterdir()] == ["fuzz.toml"]


@FUZZ
@given(content=st.binary(max_size=512) | st.text(max_size=256).map(str.encode))
def test_arbitrary_bytes_load_or_are_refused(tmp_path, registry, content):
    load_or_refuse(tmp_path, registry, content)


def toml_value(value) -> str:
    """A TOML literal for a generated value (tomllib reads; there is no writer in the stdlib)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value) if isinstance(value, int) else _string(value)
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan" if value != value else repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def _string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " -_.*()" else f"\\U{ord(c):08x}" for c in text) + '"'


def document(tables: dict) -> str:
    """Top-level keys as inline values (arrays of tables as arrays of inline tables)."""
    return "".join(f"{_string(key)} = {toml_value(value)}\n" for key, value in tables.items())


scalars = (st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats() | st.booleans()
           | st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)

NAMES = ["ring8", "grid25", "rnig8", "mnist", "npz", "mlp", "mpl", "dcgan", "nonsaturating", "saturating",
         "wgan-gp", "non-saturating", "adam", "adamw", "eager", "compiled", "*", "modes", "mode", "fid", ""]
KEYS = ["name", "label", "n_train", "n_test", "hidden", "depth", "z_dim", "r1", "beta1", "n_samples", "hiden"]
small = st.integers(min_value=-3, max_value=40) | st.sampled_from([0, 2**32, 2**63 - 1, 10**9])
param_value = small | st.floats(allow_nan=True) | st.sampled_from(NAMES) | st.booleans()
component = st.sampled_from(NAMES) | st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES)}, optional={k: param_value for k in KEYS[1:]})
components = component | st.lists(component, max_size=3)
matrix_block = st.fixed_dictionaries(
    {}, optional={"datasets": components, "models": components, "objectives": components,
                  "optimizers": components, "kernels": components, "dataset": components,
                  "train": st.dictionaries(st.sampled_from(["steps", "lr", "batch_size", "g_noise", "stepz"]),
                                           param_value, max_size=2)})
near_valid_block = st.fixed_dictionaries(  # mostly valid: some of these load, and then expand
    {"datasets": st.sampled_from(["ring8", "grid25"]) | st.lists(st.sampled_from(["ring8", "grid25"]), min_size=1,
                                                                  max_size=2, unique=True),
     "models": st.just("mlp") | st.fixed_dictionaries({"name": st.just("mlp")}, optional={"hidden": small}),
     "objectives": st.sampled_from(["nonsaturating", "saturating"]) | component},
    optional={"train": st.fixed_dictionaries({}, optional={"steps": small, "lr": param_value})})
suites = st.fixed_dictionaries(
    {"matrix": matrix_block | near_valid_block | st.lists(near_valid_block | matrix_block, min_size=1, max_size=3)},
    optional={
        "suite": st.fixed_dictionaries({}, optional={"name": st.text(max_size=6) | small,
                                                     "seeds": st.lists(small, max_size=3) | small,
                                                     "nmae": st.just("x")}),
        "train": st.dictionaries(st.sampled_from(["steps", "lr", "batch_size", "device", "g_noise", "n_critic"]),
                                 param_value | st.sampled_from(["cpu", "auto", "gpu", "cuda:x"]), max_size=4),
        "eval": st.fixed_dictionaries({}, optional={"every": small, "metrics": components, "evry": small}),
        "matrics": st.just({}),
    })


@FUZZ
@given(tables=st.dictionaries(st.text(max_size=8), values, max_size=5))
def test_arbitrary_toml_documents_load_or_are_refused(tmp_path, registry, tables):
    text = document(tables)
    assert tomllib.loads(text).keys() == tables.keys()  # the generator writes valid TOML
    load_or_refuse(tmp_path, registry, text.encode())


@settings(FUZZ, max_examples=300)
@given(suite=suites)
def test_suite_shaped_documents_load_or_are_refused(tmp_path, registry, suite):
    load_or_refuse(tmp_path, registry, document(suite).encode())
