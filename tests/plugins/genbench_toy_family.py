"""A model family genbench has never heard of, added through hooks alone.

"gaussian-fit" fits a diagonal Gaussian N(mean, diag(exp(log_std))^2) to points by gradient
descent on the negative log-likelihood. The plugin brings everything a cell needs: the family
(its trainer, statistic and model type), a model, an objective, a data domain with its own
picture, and a dataset in that domain.
"""

import io
import math

import torch
from PIL import Image, ImageDraw

from genbench import (
    Data,
    DataInfo,
    DatasetSpec,
    DomainSpec,
    EvalContext,
    FamilySpec,
    ModelSpec,
    ObjectiveSpec,
    Param,
    Statistic,
    TrainStep,
    hookimpl,
)

INFO = DataInfo(domain="toy-points", shape=(2,))
PICTURE_PIXELS = 96


class GaussianFit(torch.nn.Module):
    """A diagonal Gaussian over (B, 2) points: the family's model type."""

    def __init__(self, dim: int):
        super().__init__()
        self.mean = torch.nn.Parameter(torch.zeros(dim))
        self.log_std = torch.nn.Parameter(torch.zeros(dim))

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of x (B, dim), in nats per point."""
        z = (x - self.mean) / self.log_std.exp()  # (B, dim)
        per_point = 0.5 * z.pow(2) + self.log_std + 0.5 * math.log(2 * math.pi)  # (B, dim)
        return per_point.sum(1).mean()

    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Standard normal z (n, dim) -> samples (n, dim)."""
        return self.mean + self.log_std.exp() * z


class NLL:
    """The only objective of the family: the model's own negative log-likelihood."""

    def loss(self, model: GaussianFit, x: torch.Tensor) -> torch.Tensor:
        return model.nll(x)


def fit_gaussian(setup):
    """The trainer: minibatch descent on the NLL; yields the NLL (on the device) each step."""
    model, device, m = setup.model.to(setup.device), setup.device, setup.train["batch_size"]
    optimiser = setup.optimizer(model.parameters())
    rng = torch.Generator(device=device).manual_seed(setup.seed)
    data = setup.data.train.to(device)  # (N, 2)

    def sample(n: int) -> torch.Tensor:
        z = torch.randn(n, 2, generator=torch.Generator().manual_seed(setup.seed))  # the same z each eval
        with torch.no_grad():
            return model.sample(z.to(device))

    context = EvalContext(setup.data, setup.seed, 0, device, sample=sample, model=model)
    for step in range(1, setup.train["steps"] + 1):
        x = data[torch.randint(len(data), (m,), generator=rng, device=device)]  # (m, 2)
        nll = setup.objective.loss(model, x)
        optimiser.zero_grad(set_to_none=True)
        nll.backward()
        optimiser.step()
        yield TrainStep(step, {"nll": nll.detach()}, m, context)


def draw(samples: torch.Tensor, data: Data) -> bytes:
    """Samples as green dots on a small black square, the data's centre as a white cross."""
    picture = Image.new("RGB", (PICTURE_PIXELS, PICTURE_PIXELS), "black")
    ink = ImageDraw.Draw(picture)
    centre = PICTURE_PIXELS / 2
    for x, y in (samples.cpu() * 8 + centre).tolist():
        ink.point((x, y), fill="lime")
    cx, cy = (data.train.mean(0) * 8 + centre).tolist()
    ink.line((cx - 4, cy, cx + 4, cy), fill="white")
    ink.line((cx, cy - 4, cx, cy + 4), fill="white")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def blob(n: int, data_seed: int) -> Data:
    """Points from N((1, -2), diag(0.5, 2)^2)."""
    z = torch.randn(n, 2, generator=torch.Generator().manual_seed(data_seed))
    return Data(INFO, train=torch.tensor([1.0, -2.0]) + torch.tensor([0.5, 2.0]) * z)


@hookimpl
def register_families(register):
    register(FamilySpec("gaussian-fit", "a diagonal Gaussian fitted by descent on its NLL", fit_gaussian,
                        statistics={"nll": Statistic("Gaussian NLL", unit="nats", column=True, finite=True)},
                        model_type=GaussianFit))


@hookimpl
def register_domains(register):
    register(DomainSpec("toy-points", "2D points pictured as dots on a black square", draw, picture_samples=200))


@hookimpl
def register_datasets(register):
    register(DatasetSpec("toy-blob", "an axis-aligned 2D Gaussian blob", blob,
                         {"n": Param(512, "points", min=1), "data_seed": Param(0, "seed of the points")}, info=INFO))


@hookimpl
def register_models(register):
    register(ModelSpec("gaussian", "mean and log-std of a diagonal Gaussian", lambda info: GaussianFit(info.shape[0]),
                       family="gaussian-fit", domains=("toy-points",)))


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("nll", "negative log-likelihood of the minibatch", NLL, family="gaussian-fit",
                           train_defaults={"lr": 0.05}))
