"""A plugin implementing every hook once, so each hook has a test through a real entry point."""

import torch
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.models.gan import GANModel
from genbench.plugins.objectives.gan import GANLoss

from genbench import (
    DataInfo,
    DatasetSpec,
    DomainSpec,
    ExecutorSpec,
    FamilySpec,
    KernelSpec,
    MetricOutput,
    MetricResult,
    MetricSpec,
    ModelSpec,
    ObjectiveSpec,
    OptimizerSpec,
    Param,
    ReporterSpec,
    Statistic,
    TrainStep,
    hookimpl,
)

INFO = DataInfo(domain="points", shape=(2,))


def linear_gan(info):
    return GANModel(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0)), 2)


def mean_norm():
    return lambda ctx: MetricResult({"mean_norm": float(ctx.sample(64).norm(dim=1).mean())})


def sgd(parameters, *, lr, momentum):
    return torch.optim.SGD(parameters, lr=lr, momentum=momentum)


def no_training(setup):
    """A family whose trainer only counts steps."""
    for step in range(1, setup.train["steps"] + 1):
        yield TrainStep(step, {"zero": torch.zeros(())}, 0, None)


def blank_picture(samples, data) -> bytes:
    return b"\x89PNG not really"


def cell_count(view, *, prefix):
    return f"{prefix}{len(view.store.cells(view.suite))}\n"


class SerialExecutor:
    """The local executor under another name."""

    def __init__(self, options):
        from genbench.plugins.executors.local import LocalExecutor

        self.inner, self.slots = LocalExecutor(options), 1

    def submit(self, cell):
        return self.inner.submit(cell)

    def poll(self):
        self.inner.poll()

    def shutdown(self, cancel=False):
        self.inner.shutdown(cancel)


@hookimpl
def register_datasets(register):
    params = {"n_train": Param(100, "points"), "n_test": Param(10, "points"), "data_seed": Param(0, "seed")}
    register(DatasetSpec("ring8-copy", "ring8 under another name", ring8, params, info=INFO))


@hookimpl
def register_models(register):
    register(ModelSpec("linear-gan", "a linear generator and discriminator", linear_gan, family="gan"))


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("lsgan-lite", "least squares, from the kernels", lambda: GANLoss("lsgan", 1), family="gan"))


@hookimpl
def register_optimizers(register):
    register(OptimizerSpec("sgd-lite", "plain SGD with momentum", sgd, {"momentum": Param(0.9, "momentum", min=0.0)}))


@hookimpl
def register_metrics(register):
    register(MetricSpec("mean-norm", "mean distance of samples from the origin", mean_norm,
                        outputs={"mean_norm": MetricOutput(False, "mean |x|")}))


@hookimpl
def register_kernels(register):
    register(KernelSpec("never", "a backend that is never available", available=lambda: "it is a test backend"))


@hookimpl
def register_families(register):
    register(FamilySpec("frozen", "a family whose trainer does nothing", no_training,
                        statistics={"zero": Statistic("always zero")}))


@hookimpl
def register_domains(register):
    register(DomainSpec("blank", "a domain whose pictures are blank", blank_picture, picture_samples=1))


@hookimpl
def register_reporters(register):
    register(ReporterSpec("cell-count", "how many cells the store holds", cell_count,
                          {"prefix": Param("cells: ", "text before the count")}))


@hookimpl
def register_executors(register):
    register(ExecutorSpec("serial", "the local executor under another name", SerialExecutor))
