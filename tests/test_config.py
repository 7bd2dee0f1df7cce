"""Suite validation: every bad input is a ConfigError naming the file, the key and the fix."""

import pytest

from genbench import ConfigError
from genbench.config import load

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
    assert dict(block.axis("model")[0].params) == {"hidden": 128, "depth": 2, "z_dim": 16}
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


def test_bad_suite_exits_2_and_writes_nothing(tmp_path, genbench_cli):
    path = tmp_path / "bad.toml"
    path.write_text(VALID.replace('"ring8"', '"rnig8"'))
    out_dir = tmp_path / "results"
    result = genbench_cli("run", str(path), "--out", str(out_dir))
    assert result.returncode == 2
    assert "unknown dataset 'rnig8'" in result.stderr and "Traceback" not in result.stderr
    assert not out_dir.exists()


IMAGE_SUITE = """
[suite]
name = "images"
seeds = [0]
[train]
steps = 10
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
