"""`genbench run --set KEY=VALUE` (validated like the suite file) and `genbench show --cell`."""

import json

import pytest

from genbench.suite import config

from genbench.suite import overrides
from genbench.api.errors import ConfigError


def test_set_values_are_toml_and_change_the_cells(write_suite, registry):
    suite = write_suite()
    loaded = config.load(str(suite), registry, ("train.steps=40", "eval.every=20", "suite.seeds=[3]",
                                                "train.device=cpu", "train.lr=1e-3"))
    assert dict(loaded.train)["steps"] == 40 and dict(loaded.train)["lr"] == 1e-3
    assert dict(loaded.train)["device"] == "cpu"  # a bare word is a string
    assert loaded.eval_every == 20 and loaded.seeds == (3,)
    assert config.load(str(suite), registry).eval_every == 10  # the file itself is unchanged


def test_set_reaches_matrix_blocks_by_index(registry):
    raw = {"matrix": [{"datasets": ["ring8"]}, {"datasets": ["grid25"]}]}
    assert overrides.apply(raw, ["matrix.1.train.steps=7"])["matrix"][1]["train"] == {"steps": 7}
    assert "train" not in raw["matrix"][1]  # applied to a copy
    with pytest.raises(ConfigError, match=r"matrix is an array of 2 tables.*from 0 to 1"):
        overrides.apply(raw, ["matrix.2.train.steps=7"])


@pytest.mark.parametrize("setting, message", [
    ("train.stepz=500", r"with --set train.stepz=500: train.stepz: unknown key 'stepz'.*steps"),
    ("train.steps=many", r"with --set train.steps=many: train.steps: expected int, got str 'many'"),
    ("eval.every=0", r"eval.every: 0 is below the minimum 1"),
    ("nonsense", r"--set 'nonsense': expected KEY=VALUE"),
    ("train..steps=1", r"has an empty part"),
    ("suite.name.x=1", r"suite.name is a value, not a table"),
    ("train.steps=" + "[" * 5000 + "]" * 5000, r"nested too deeply|nested more than 16 levels"),
    ("train.steps=" + "[" * 20 + "]" * 20, r"nested more than 16 levels"),
])
def test_a_bad_set_is_a_config_error_naming_it(write_suite, registry, setting, message):
    with pytest.raises(ConfigError, match=message):
        config.load(str(write_suite()), registry, (setting,))


def test_run_with_set_then_show_cell(write_suite, tmp_path, invoke_genbench):
    suite, out = write_suite(), tmp_path / "out"
    bad = invoke_genbench("run", str(suite), "--out", str(out), "--set", "train.stepz=5")
    assert bad.returncode == 2 and "--set train.stepz=5" in bad.stderr and not out.exists()

    ran = invoke_genbench("run", str(suite), "--out", str(out), "--set", "train.steps=6", "--set", "eval.every=3",
                       "--set", "suite.seeds=[0]", "--set", "train.log_every=0", "--executor", "local")
    assert ran.returncode == 0, ran.stderr
    exported = json.loads(invoke_genbench("export", str(out), "--format", "json", "--raw").stdout)
    assert {r["step"] for r in exported} == {3, 6}  # log_every = 0: training statistics at eval steps only
    cell_id = exported[0]["cell_id"]

    shown = invoke_genbench("show", str(out), "--cell", cell_id[:6])
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert f"cell {cell_id}: ring8" in text and "/nonsaturating/adam/eager/seed0" in text
    assert "status: done" in text and '"steps": 6' in text and '"eval_steps": [\n' in text
    assert "environment:" in text and "torch:" in text and "metrics at step 6:" in text and "modes:" in text

    missing = invoke_genbench("show", str(out), "--cell", "zzzz")
    assert missing.returncode == 2 and "no cell 'zzzz'" in missing.stderr
    ambiguous = invoke_genbench("show", str(out), "--cell", "")
    assert ambiguous.returncode == 2
