"""A family, domain, model, objective and dataset from an installed plugin run like the built-ins."""

import io

import torch
from PIL import Image

from genbench import TrainSetup
from genbench.api.registry import load_plugins


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
