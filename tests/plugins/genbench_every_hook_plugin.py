"""A plugin implementing every hook once, so each hook has a test through a real entry point."""

import torch
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.domains import png_bytes
from genbench.plugins.families.gan import GANModel
from PIL import Image

from genbench import (
    DataInfo,
    DatasetSpec,
    DomainSpec,
    EvalContext,
    FamilySpec,
    KernelSpec,
    MetricOutput,
    MetricResult,
    MetricSpec,
    ModelSpec,
    ObjectiveSpec,
    Param,
    Statistic,
    TrainStep,
    hookimpl,
)

INFO = DataInfo(domain="points", shape=(2,))


def linear_gan(info):
    return GANModel(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0)), 2)


def mean_norm():
    return lambda ctx: MetricResult({"mean_norm": float(ctx.sample(64).norm(dim=1).mean())})


def no_training(setup):
    """Changes nothing; yields a zero statistic each step."""
    context = EvalContext(setup.data, setup.seed, 0, setup.device, sample=lambda n: torch.zeros(n, 2))
    for step in range(1, setup.train["steps"] + 1):
        yield TrainStep(step, {"nothing": torch.zeros((), device=setup.device)}, 0, context)


def blank(samples, data):
    return png_bytes(Image.new("L", (8, 8)))


@hookimpl
def register_datasets(register):
    params = {"n_train": Param(100, "points"), "n_test": Param(10, "points"), "data_seed": Param(0, "seed")}
    register(DatasetSpec("ring8-copy", "ring8 under another name", ring8, params, info=INFO))


@hookimpl
def register_models(register):
    register(ModelSpec("linear-gan", "a linear generator and discriminator", linear_gan, family="gan"))


@hookimpl
def register_objectives(register):
    from genbench.plugins.objectives.gan import GANLoss

    register(ObjectiveSpec("lsgan-lite", "least squares, from the kernels", lambda: GANLoss("lsgan", 1), family="gan"))


@hookimpl
def register_metrics(register):
    register(MetricSpec("mean-norm", "mean distance of samples from the origin", mean_norm,
                        outputs={"mean_norm": MetricOutput(False, "mean |x|")}))


@hookimpl
def register_kernels(register):
    register(KernelSpec("never", "a backend that is never available", lambda: "it is a test backend"))


@hookimpl
def register_families(register):
    register(FamilySpec("frozen", "a family whose trainer does nothing", no_training,
                        statistics={"nothing": Statistic("nothing at all")}))


@hookimpl
def register_domains(register):
    register(DomainSpec("blank", "a domain pictured as a black square", blank, picture_samples=1))
