"""A family, domain, model, objective and dataset from an installed plugin run like the built-ins."""

import io

import torch
from PIL import Image

from genbench import TrainSetup
from genbench.api.registry import load_plugins

SUITE = """
[suite]
name = "toy-family"
seeds = [0]

[train]
steps = 40
batch_size = 64

[eval]
every = 20

[matrix]
datasets = ["toy-blob"]
models = ["gaussian"]
objectives = ["nll"]
"""


def test_the_plugin_registers_a_whole_family_through_hooks(install_plugin):
    install_plugin("genbench_toy_family", dist="genbench-toy-family")
    registry = load_plugins()
    for kind, name in (("family", "gaussian-fit"), ("domain", "toy-points"), ("dataset", "toy-blob"),
                       ("model", "gaussian"), ("objective", "nll")):
        assert registry.origin(kind, name).distribution == "genbench-toy-family"
    family = registry.get("family", "gaussian-fit")
    data = registry.get("dataset", "toy-blob").factory(n=512, data_seed=0)
    model = registry.get("model", "gaussian").factory(data.info)
    assert isinstance(model, family.model_type)

    setup = TrainSetup(data, model, registry.get("objective", "nll").factory(),
                       lambda p: torch.optim.Adam(p, lr=0.05), {"steps": 200, "batch_size": 64},
                       seed=0, device=torch.device("cpu"))
    steps = list(family.factory(setup))
    assert [s.step for s in steps] == list(range(1, 201)) and steps[0].stats["nll"] > steps[-1].stats["nll"]
    torch.testing.assert_close(model.mean.detach(), torch.tensor([1.0, -2.0]), atol=0.3, rtol=0)

    domain = registry.get("domain", "toy-points")
    picture = domain.factory(steps[-1].context.sample(domain.picture_samples), data)
    with Image.open(io.BytesIO(picture)) as image:
        assert image.format == "PNG" and image.size == (96, 96)


def test_run_and_show_a_suite_of_the_plugin_family(install_plugin, genbench_cli, tmp_path):
    """Needs the core that reads families and domains from the registry (the open-core runner)."""
    site = install_plugin("genbench_toy_family", dist="genbench-toy-family")
    suite, out = tmp_path / "toy.toml", tmp_path / "out"
    suite.write_text(SUITE)
    ran = genbench_cli("run", str(suite), "--out", str(out), pythonpath=site)
    assert ran.returncode == 0, ran.stdout + ran.stderr

    shown = genbench_cli("show", str(out), pythonpath=site)
    assert shown.returncode == 0, shown.stderr
    assert "Gaussian NLL" in shown.stdout  # the family's statistic, by its display label
    pictures = [path.read_bytes() for path in out.rglob("*.png")]
    assert pictures and all(p.startswith(b"\x89PNG") for p in pictures)
    with Image.open(io.BytesIO(pictures[0])) as image:
        assert image.size == (96, 96)  # drawn by the plugin's domain
