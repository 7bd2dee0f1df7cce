"""Suite validation: every bad input is a ConfigError naming the file, the key and the fix."""

import pytest

from genbench import ConfigError
from genbench.suite.config import load

VALID = """
[suite]
name = "t"
seeds = [0]
[train]
steps = 10
[eval]
every = 5
metrics = ["modes"]
[matrix]
datasets = ["ring8"]
models = ["mlp"]
objectives = ["nonsaturating"]
"""

BAD_INPUTS = [
    # (replace this, with this, expected message fragments)
    ('datasets = ["ring8"]', 'datasets = ["rnig8"]', ["matrix.datasets[0]", "unknown dataset 'rnig8'", "Did you mean: ring8"]),
    ('models = ["mlp"]', 'models = ["mpl"]', ["unknown model 'mpl'", "Did you mean: mlp"]),
    ('objectives = ["nonsaturating"]', 'objectives = ["non-saturating"]', ["unknown objective", "Did you mean: nonsaturating"]),
    ('steps = 10', 'step = 10', ["train.step", "unknown key 'step'", "Did you mean: steps"]),
    ('steps = 10', 'steps = "ten"', ["train.steps", "expected int, got str", "default 2000"]),
    ('steps = 10', 'steps = 0', ["train.steps", "below the minimum 1"]),
    ('steps = 10', 'lr = 2.0', ["train.lr", "above the maximum 1.0"]),
    ('seeds = [0]', 'seeds = []', ["suite.seeds", "non-empty list"]),
    ('seeds = [0]', 'seeds = [1, 1]', ["suite.seeds", "repeat"]),
    ('seeds = [0]', 'seeds = [-1]', ["suite.seeds", "not a non-negative integer"]),
    ('models = ["mlp"]', 'models = [{ name = "mlp", hiden = 3 }]', ["matrix.models[0] (mlp).hiden", "Did you mean: hidden"]),
    ('models = ["mlp"]', 'models = [{ name = "mlp", depth = 2.5 }]', ["(mlp).depth", "expected int, got float"]),
    ('every = 5', 'every = 5\nevery_n = 3', ["eval.every_n", "unknown key"]),
    ('metrics = ["modes"]', 'metrics = ["mode"]', ["eval.metrics[0]", "Did you mean: modes"]),
    ('[matrix]', '[matrics]', ["unknown key 'matrics'", "Did you mean: matrix"]),
    ('objectives = ["nonsaturating"]', 'objectives = []', ["matrix.objectives", "no objectives given"]),
    ('datasets = ["ring8"]', 'datasets = ["ring8"]\nkernels = ["cuda-magic"]', ["unknown kernel 'cuda-magic'"]),
    ('steps = 10', 'steps = 10\ndevice = "gpu"', ["train.device", "'gpu' is not a device"]),
    ('name = "t"', 'name = "t"\nname2 = 1', ["suite.name2", "unknown key"]),
    ('datasets = ["ring8"]', 'datasets = ["ring8", { name = "ring8" }]', ["share the label 'ring8'", "distinct label"]),
    ('seeds = [0]', 'seeds = [0', ["not valid TOML"]),
    ('datasets = ["ring8"]', 'datasets = ["ring8"]\noptimizers = ["adamw"]', ["matrix.optimizers[0]", "unknown optimizer 'adamw'"]),
    ('datasets = ["ring8"]', 'datasets = ["ring8"]\noptimizers = [{ name = "adam", beta1 = 1.5 }]', ["(adam).beta1", "above the maximum 1.0"]),
    ('steps = 10', 'steps = 10\nbeta1 = 0.5', ["train.beta1", "unknown key 'beta1'"]),
    ('steps = 10', 'steps = 10\ng_noise = "stale"', ["train.g_noise", "not one of 'fresh', 'reuse'"]),
    # bounds that keep a hostile suite from allocating without limit or failing after work began
    ('steps = 10', 'steps = 9223372036854775807', ["train.steps", "above the maximum 1000000000"]),
    ('steps = 10', 'steps = 100000000', ["eval.every", "20,000,000 evaluations per cell", "raise every to at least 1,000"]),
    ('seeds = [0]', 'seeds = [9223372036854775807]', ["suite.seeds", "not below 2**32", "0 <= seed < 4294967296"]),
    ('seeds = [0]', 'seeds = [4294967296]', ["suite.seeds", "not below 2**32"]),
    ('steps = 10', 'steps = 10\nlr = nan', ["train.lr", "nan is not a finite number"]),
    ('steps = 10', 'steps = 10\nlr = inf', ["train.lr", "inf is not a finite number"]),
    ('objectives = ["nonsaturating"]', 'objectives = [{ name = "nonsaturating", r1 = nan }]',
     ["(nonsaturating).r1", "not a finite number"]),
    ('objectives = ["nonsaturating"]', 'objectives = [{ name = "nonsaturating", r1 = -inf }]', ["(nonsaturating).r1"]),
    ('metrics = ["modes"]', 'metrics = ["modes", { name = "modes", n_samples = 10 }]',
     ["eval.metrics", "'modes' is listed twice", "one entry per metric"]),
]


@pytest.mark.parametrize("old,new,fragments", BAD_INPUTS, ids=[b[1].split("\n")[-1] for b in BAD_INPUTS])
def test_bad_input_names_the_file_key_and_fix(tmp_path, registry, old, new, fragments):
    assert old in VALID
    path = tmp_path / "bad.toml"
    path.write_text(VALID.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load(str(path), registry)
    message = str(info.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message
    assert "fix" in message or "Did you mean" in message


def test_valid_suite_loads_with_defaults_filled(tmp_path, registry):
    path = tmp_path / "ok.toml"
    path.write_text(VALID)
    config = load(str(path), registry)
    [block] = config.blocks
    assert block.axis("kernel")[0].name == "eager" and block.axis("optimizer")[0].name == "adam"
    model = block.axis("model")[0]
    assert model.id_params() == {"hidden": 128, "depth": 2, "z_dim": 16}  # what the cell id hashes
    assert dict(model.params)["pack"] == 1  # a parameter added later: its default is filled, kept out of the id
    assert config.train == (("steps", 10),)


def test_gan_objective_with_a_model_of_another_family_is_rejected(tmp_path, registry):
    from genbench import ModelSpec

    registry.add("model", ModelSpec("fake-ae", "an autoencoder", lambda info, **kw: None, family="fake-family"),
                 "test", "test")
    registry.add("family", __import__("genbench").FamilySpec("fake-family", "t", lambda s: iter(())), "test", "test")
    try:
        path = tmp_path / "mixed.toml"
        path.write_text(VALID.replace('models = ["mlp"]', 'models = ["mlp", "fake-ae"]'))
        with pytest.raises(ConfigError, match=r"'nonsaturating' \(family gan\) cannot train model 'fake-ae' \(family fake-family\)"):
            load(str(path), registry)
    finally:
        del registry.tables["model"]["fake-ae"], registry.tables["family"]["fake-family"]


def test_a_model_of_an_unregistered_family_is_rejected(tmp_path, registry):
    from genbench import ModelSpec

    registry.add("model", ModelSpec("orphan", "a model", lambda info: None, family="diffusion"), "test", "test")
    try:
        path = tmp_path / "orphan.toml"
        path.write_text(VALID.replace('models = ["mlp"]', 'models = ["orphan"]'))
        with pytest.raises(ConfigError, match=r"family 'diffusion', which no plugin registered"):
            load(str(path), registry)
    finally:
        del registry.tables["model"]["orphan"]


def test_missing_suite_file_suggests_builtins(registry):
    with pytest.raises(ConfigError, match=r"no suite file 'quik'.*Did you mean: quick"):
        load("quik", registry)


def test_bad_suite_exits_2_and_writes_nothing(tmp_path, invoke_genbench):
    path = tmp_path / "bad.toml"
    path.write_text(VALID.replace('"ring8"', '"rnig8"'))
    out_dir = tmp_path / "results"
    result = invoke_genbench("run", str(path), "--out", str(out_dir))
    assert result.returncode == 2
    assert "unknown dataset 'rnig8'" in result.stderr and "Traceback" not in result.stderr
    assert not out_dir.exists()


IMAGE_SUITE = """
[suite]
name = "images"
seeds = [0]
[train]
steps = 10
batch_size = 8
[eval]
every = 5
metrics = [METRIC]
[matrix]
datasets = [{ name = "npz", path = "PATH" }]
models = ["dcgan"]
objectives = ["nonsaturating"]
"""


@pytest.mark.parametrize("metric, fragments", [
    ('"fid"', ["metric 'fid' cannot score dataset 'npz(path=", "no labels", 'extractor = "inception"']),
    ('"prdc"', ["metric 'prdc' cannot score dataset 'npz(path=", "no labels"]),
    ('{ name = "kid", extractor = "inception", inception_path = "/nowhere/inception.pth" }',
     ["metric 'kid(extractor=inception", "cannot score dataset", "no file at /nowhere/inception.pth", "never downloads"]),
])
def test_a_metric_that_cannot_score_a_dataset_is_rejected_before_any_work(tmp_path, registry, metric, fragments):
    """An unlabelled npz: a domain classifier cannot be trained, so FID & co. would only give NaN
    after the whole training; the suite is rejected at load instead."""
    import numpy as np

    np.savez(tmp_path / "unlabelled.npz", x=np.zeros((16, 8, 8), dtype=np.uint8))
    path = tmp_path / "suite.toml"
    path.write_text(IMAGE_SUITE.replace("METRIC", metric).replace("PATH", str(tmp_path / "unlabelled.npz")))
    with pytest.raises(ConfigError) as info:
        load(str(path), registry)
    for fragment in fragments:
        assert fragment in str(info.value)
    np.savez(tmp_path / "unlabelled.npz", x=np.zeros((16, 8, 8), dtype=np.uint8), y=np.arange(16) % 2)
    if "inception" not in metric:  # labelled: the same suite loads
        load(str(path), registry)


def load_text(tmp_path, registry, text: str | bytes):
    path = tmp_path / "suite.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path, load(str(path), registry)


@pytest.mark.parametrize("content, fragments", [
    (b"\xff\xfe[suite]\n", ["not UTF-8 text", "save the suite as UTF-8"]),
    (VALID.encode("utf-16"), ["binary file", "NUL bytes"]),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", ["binary file"]),
    (b"a = " + b"[" * 100_000 + b"]" * 100_000, ["nested too deeply"]),
    (b"a = " + b"[" * 40 + b"]" * 40, ["nested more than 16 levels"]),
    (b"x = " + b"{ y = " * 40 + b"1" + b" }" * 40, ["nested"]),
    (b"# " + b"x" * (2 << 20), ["larger than 1,048,576 bytes"]),
])
def test_unreadable_suite_files_are_config_errors(tmp_path, registry, content, fragments):
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, registry, content)
    assert str(info.value).startswith(str(tmp_path / "suite.toml"))
    for fragment in fragments:
        assert fragment in str(info.value)
    assert "fix" in str(info.value)


TWO_BLOCKS = VALID.replace("[matrix]", "[[matrix]]") + """
[[matrix]]
datasets = [{ name = "grid25", label = "ring8" }]
models = ["mlp"]
objectives = ["nonsaturating"]
"""


def test_one_label_for_two_configurations_across_blocks_is_refused(tmp_path, registry):
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, registry, TWO_BLOCKS)
    message = str(info.value)
    for fragment in ("matrix[0].datasets and matrix[1].datasets", "label 'ring8'", "ring8 {", "grid25 {",
                     "give each configuration its own label"):
        assert fragment in message
    # the same configuration under one label in two blocks is fine (one group in reports)
    load_text(tmp_path, registry, TWO_BLOCKS.replace('{ name = "grid25", label = "ring8" }', '"ring8"'))
    # so is one configuration under its own label
    load_text(tmp_path, registry, TWO_BLOCKS.replace('label = "ring8"', 'label = "grid"'))


def test_two_metrics_reporting_the_same_values_are_refused(tmp_path, registry):
    from genbench import MetricSpec

    modes = registry.get("metric", "modes")
    registry.add("metric", MetricSpec("modes-copy", "the same outputs", modes.factory, modes.params,
                                      outputs=modes.outputs, domains=("points",)), "test", "test")
    try:
        with pytest.raises(ConfigError, match=r"'modes' and 'modes-copy' both report hq_pct, modes, reverse_kl"):
            load_text(tmp_path, registry, VALID.replace('metrics = ["modes"]', 'metrics = ["modes", "modes-copy"]'))
    finally:
        del registry.tables["metric"]["modes-copy"]


def test_modes_on_a_points_dataset_without_modes_is_refused_before_work(tmp_path, registry):
    from genbench import Data, DataInfo, DatasetSpec

    bare = DataInfo(domain="points", shape=(2,))
    registry.add("dataset", DatasetSpec("bare-points", "points without modes", lambda: Data(bare, None), info=bare),
                 "test", "test")
    try:
        with pytest.raises(ConfigError) as info:
            load_text(tmp_path, registry, VALID.replace('"ring8"', '"bare-points"'))
        for fragment in ("metric 'modes' cannot score dataset 'bare-points'", "does not provide modes and sd",
                         "DataInfo.extras: none"):
            assert fragment in str(info.value)
        load_text(tmp_path, registry, VALID.replace('"ring8"', '"bare-points"').replace('metrics = ["modes"]', ""))
    finally:
        del registry.tables["dataset"]["bare-points"]


def test_tuple_parameters_check_their_items(tmp_path, registry):
    from genbench import Param

    widths = Param((256, 128), "widths", min=1)
    assert widths.check([3, 4]) == (3, 4) and widths.check([]) == ()
    for bad, fragment in (([3, "x"], "expected int, got str"), ([3, 0], "below the minimum 1"),
                          ([[3]], "expected int, got list")):
        with pytest.raises(ValueError, match=fragment):
            widths.check(bad)
    assert Param(0.5, "f").check(1) == 1.0
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="not a finite number"):
            Param(0.5, "f").check(bad)


def test_config_errors_print_brackets_as_written(tmp_path, invoke_genbench):
    """Rich would read "[suite]" in an error as markup and drop it: the CLI prints it verbatim."""
    path = tmp_path / "bad.toml"
    path.write_text("suite = 3\n" + VALID[VALID.index("[train]"):])
    result = invoke_genbench("run", str(path), "--out", str(tmp_path / "results"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "fix: write [suite]" in result.stderr and "error:" in result.stderr
    two = tmp_path / "two.toml"
    two.write_text(TWO_BLOCKS)
    result = invoke_genbench("run", str(two), "--out", str(tmp_path / "results"))
    assert result.returncode == 2 and "matrix[0].datasets and matrix[1].datasets" in result.stderr
    assert not (tmp_path / "results").exists()
