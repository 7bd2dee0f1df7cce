"""Property-based: any file given as a suite either loads (and expands into cells) or is a
GenbenchError; never another exception, never a file written. Hostile values (huge numbers,
NaN and inf, wrong types) of every registered parameter, and degenerate data files (empty,
non-finite, out of range, wrong dtypes, huge labels), are refused naming what is wrong, or load
only what trains: the generators read the registry, so new parameters are covered as they come."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from genbench import GenbenchError  # noqa: E402
from genbench.api.registry import load_plugins  # noqa: E402
from genbench.api.specs import MAX_INT  # noqa: E402
from genbench.suite import plan  # noqa: E402
from genbench.suite.config import EVAL_PARAMS, SuiteConfig, load, train_params  # noqa: E402

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
KEYS = ["name", "label", "n_train", "n_test", "hidden", "depth", "z_dim", "r1", "beta1", "n_samples", "hiden",
        "width", "n_fake"]
small = st.integers(min_value=-3, max_value=40) | st.sampled_from([0, 2**31, 2**32, 2**63 - 1, 10**9, 10**12, 10**30])
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
                                                                  max_size=2, unique=True)
     | st.fixed_dictionaries({"name": st.just("ring8")}, optional={"n_train": small, "n_test": small}),
     "models": st.just("mlp") | st.fixed_dictionaries({"name": st.just("mlp")}, optional={"hidden": small}),
     "objectives": st.sampled_from(["nonsaturating", "saturating"]) | component},
    optional={"train": st.fixed_dictionaries({}, optional={"steps": small, "lr": param_value})})
suites = st.fixed_dictionaries(
    {"matrix": matrix_block | near_valid_block | st.lists(near_valid_block | matrix_block, min_size=1, max_size=3)},
    optional={
        "suite": st.fixed_dictionaries({}, optional={"name": st.text(max_size=6) | small,
                                                     "seeds": st.lists(small, max_size=3) | small,
                                                     "nmae": st.just("x")}),
        "train": st.dictionaries(st.sampled_from(["steps", "lr", "batch_size", "device", "g_noise", "n_critic",
                                                  "max_memory"]),
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


# --- hostile values of every registered parameter ----------------------------------------------

REGISTRY = load_plugins(entry_points=False)
COMPONENT_KINDS = ("dataset", "model", "objective", "optimizer", "metric")
EVERY_PARAM = [(kind, name, key) for kind in COMPONENT_KINDS for name in REGISTRY.names(kind)
               for key in REGISTRY.get(kind, name).params]
huge_ints = st.integers(min_value=MAX_INT + 1, max_value=10**40)
non_finite = st.sampled_from([float("nan"), float("inf"), float("-inf")])
texts = st.text(max_size=6)
HOSTILE = {  # a parameter's type -> values of the wrong kind or out of every range
    int: huge_ints | st.floats(allow_nan=True) | texts | st.booleans() | st.lists(st.integers(), max_size=2),
    float: non_finite | texts | st.booleans() | st.lists(st.floats(), max_size=2),
    str: st.integers() | st.floats() | st.booleans() | st.lists(texts, max_size=2),
    bool: st.integers() | texts | st.floats(),
    tuple: texts | st.integers() | st.dictionaries(texts, st.integers(), max_size=2),
}


def hostile(param) -> st.SearchStrategy:
    values = HOSTILE[param.type]
    if param.type is tuple and param.default and type(param.default[0]) is int:
        values = values | st.lists(huge_ints, min_size=1, max_size=3)  # widths of 10^12 units
    return values


@FUZZ
@given(data=st.data())
def test_every_registered_parameter_refuses_hostile_values(data):
    kind, name, key = data.draw(st.sampled_from(EVERY_PARAM))
    param = REGISTRY.get(kind, name).params[key]
    value = data.draw(hostile(param))
    with pytest.raises(ValueError) as refused:
        param.check(value)
    assert str(refused.value).strip(), (kind, name, key, value)


SUITE = """
[suite]
name = "fuzz"
[train]
steps = 4
batch_size = 8
{train}
[eval]
every = 2
metrics = [{metric}]
[matrix]
datasets = [{dataset}]
models = [{model}]
objectives = [{objective}]
optimizers = [{optimizer}]
"""
BASE = {"dataset": "ring8", "model": "mlp", "objective": "nonsaturating", "optimizer": "adam", "metric": "modes"}
SUITE_PARAMS = [(kind, key) for kind, name in BASE.items() for key in REGISTRY.get(kind, name).params]
TRAIN = train_params(REGISTRY, "gan")


def component(kind: str, params: dict) -> str:
    return toml_value({"name": BASE[kind], **params})


@FUZZ
@given(data=st.data())
def test_a_hostile_value_in_a_suite_is_refused_naming_its_key(tmp_path, registry, data):
    """Any parameter of the suite's components, any train setting and eval.every: a hostile value
    is refused in one line that names the key and the fix, and nothing is written."""
    where, key = data.draw(st.sampled_from([*SUITE_PARAMS, *(("train", k) for k in TRAIN if k != "device"),
                                            ("eval", "every")]))
    param = TRAIN[key] if where == "train" else EVAL_PARAMS[key] if where == "eval" else \
        REGISTRY.get(where, BASE[where]).params[key]
    value = data.draw(hostile(param))
    parts = {kind: component(kind, {}) for kind in BASE} | {"train": ""}
    if where in BASE:
        parts[where] = component(where, {key: value})
    elif where == "train":
        parts["train"] = f"{key} = {toml_value(value)}"
    text = SUITE.format(**parts)
    if where == "eval":
        text = text.replace("every = 2", f"every = {toml_value(value)}")
    if where == "train":
        text = text.replace(f"{key} = 4\n", "", 1).replace(f"{key} = 8\n", "", 1)
    path = tmp_path / "fuzz.toml"
    path.write_text(text)
    with pytest.raises(GenbenchError) as refused:
        load(str(path), registry)
    message = str(refused.value)
    assert f"{key}:" in message and "; fix: " in message and "\n" not in message, message
    assert [p.name for p in tmp_path.iterdir()] == ["fuzz.toml"]


# --- degenerate data files -------------------------------------------------------------------

DTYPES = ["uint8", "int8", "int64", "float16", "float32", "float64", "bool", "complex64"]
SHAPES = [(0, 8, 8), (1, 1), (4, 1, 1), (4, 8, 8), (4, 8, 8, 3), (4, 3, 8, 8), (4, 2, 8, 8), (4, 8), (4,)]
pixels = st.sampled_from([0.0, 0.5, 1.0, 1.5, -0.5, 255.0, 1e30, float("nan"), float("inf"), float("-inf")])


@st.composite
def npz_arrays(draw) -> dict:
    """x (and maybe y, x_test) of any dtype and shape, with values in and out of range."""
    shape = draw(st.sampled_from(SHAPES))
    dtype = draw(st.sampled_from(DTYPES))
    values = np.array(draw(st.lists(pixels, min_size=1, max_size=4)))
    with np.errstate(all="ignore"):
        x = np.resize(values, shape).astype(dtype) if shape[0] else np.zeros(shape, dtype)
    arrays = {"x": x}
    if shape[0] and draw(st.booleans()):
        labels = draw(st.lists(st.integers(-2, 10**12) | st.integers(0, 3), min_size=1, max_size=4))
        arrays["y"] = np.resize(np.array(labels, dtype=np.int64), shape[:1])
    if draw(st.booleans()):
        arrays["x_test"] = x[:2]
    return arrays


@settings(FUZZ, max_examples=100)
@given(arrays=npz_arrays())
def test_a_degenerate_npz_is_refused_or_loads_as_clean_data(tmp_path, registry, arrays):
    """What the suite's validation lets through, the dataset loads: finite pixels in [-1, 1],
    as many as DataInfo promised, labels that index its classes."""
    np.savez(tmp_path / "data.npz", **arrays)
    path = tmp_path / "fuzz.toml"
    path.write_text(SUITE.format(dataset=toml_value({"name": "npz", "path": str(tmp_path / "data.npz")}),
                                 model='"mlp"', objective='"nonsaturating"', optimizer='"adam"', metric="",
                                 train="").replace("batch_size = 8", "batch_size = 1"))
    try:
        load(str(path), registry)
    except GenbenchError as exc:
        assert str(exc).strip()
        return
    spec = registry.get("dataset", "npz")
    info = spec.data_info({"path": str(tmp_path / "data.npz"), "n_train": 0})
    data = spec.factory(path=str(tmp_path / "data.npz"), n_train=0)
    assert data.train.isfinite().all() and data.train.abs().max() <= 1
    assert len(data.train) == info.n_train >= 1 and data.train.shape[1:] == info.shape
    if data.train_labels is not None:
        assert 0 <= int(data.train_labels.min()) and int(data.train_labels.max()) < info.n_classes
