"""The types plugins and trainers share: component specs, parameters, data and model containers.

A plugin registers a spec (name, one-line description, factory, typed parameter defaults, and
facts a planner or report can read without running anything). The factories receive validated
parameters as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

FAMILIES = ("gan", "autoencoder")
DOMAINS = ("points", "image")


@dataclass(frozen=True)
class Param:
    """One typed parameter of a component, with its default and allowed range."""

    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None

    @property
    def type(self) -> type:
        return type(self.default)

    def check(self, value: Any) -> Any:
        """The value, coerced (int -> float), or ValueError saying what is allowed."""
        expected = self.type
        if expected is float and type(value) is int:
            value = float(value)
        if expected is tuple and isinstance(value, list):
            value = tuple(value)
        if type(value) is not expected:
            raise ValueError(f"expected {expected.__name__}, got {type(value).__name__} {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, self.choices))}")
        if self.min is not None and value < self.min:
            raise ValueError(f"{value!r} is below the minimum {self.min}")
        if self.max is not None and value > self.max:
            raise ValueError(f"{value!r} is above the maximum {self.max}")
        return value

    def describe(self) -> str:
        limits = []
        if self.choices is not None:
            limits.append("one of " + ", ".join(map(repr, self.choices)))
        if self.min is not None:
            limits.append(f">= {self.min}")
        if self.max is not None:
            limits.append(f"<= {self.max}")
        suffix = f" ({'; '.join(limits)})" if limits else ""
        return f"{self.type.__name__}, default {self.default!r}{suffix}: {self.help}"


@dataclass(frozen=True)
class DataInfo:
    """What a dataset is, known without loading it: the planner sizes models from this."""

    domain: str  # one of DOMAINS
    shape: tuple[int, ...]  # one example: (2,) for points, (C, H, W) for images
    n_classes: int | None = None


@dataclass
class Data:
    """A loaded dataset. Images are float32 in [-1, 1]; labels are int64 class indices."""

    info: DataInfo
    train: torch.Tensor  # (N, *info.shape)
    test: torch.Tensor | None = None  # (M, *info.shape)
    train_labels: torch.Tensor | None = None  # (N,)
    test_labels: torch.Tensor | None = None  # (M,)
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. toy sets: {"modes": (K, 2), "sd": float}


@dataclass
class GANModel:
    """What a GAN model factory returns: G maps z ~ N(0, I) of shape (B, z_dim) to data space."""

    generator: torch.nn.Module  # (B, z_dim) -> (B, *info.shape)
    discriminator: torch.nn.Module  # (B, *info.shape) -> (B,) logits
    z_dim: int


@dataclass
class MetricResult:
    """Values of one metric evaluation plus the provenance a reader needs to compare them."""

    values: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalContext:
    """What a metric may use at an eval point. `sample(n)` draws n model samples in data space."""

    data: Data
    seed: int
    step: int
    device: torch.device
    sample: Callable[[int], torch.Tensor] | None = None  # n -> (n, *shape), no grad, eval mode
    # autoencoders: x (n, *shape) -> the model's output for x, in data space (no grad, eval mode)
    reconstruct: Callable[[torch.Tensor], torch.Tensor] | None = None
    model: Any = None  # the family's model object, for metrics that need more (e.g. IWAE)


@dataclass
class TrainSetup:
    """Everything a family trainer needs for one cell; the runner builds it from the registry."""

    data: Data
    model: Any
    objective: Any
    train: Mapping[str, Any]  # steps, batch_size, lr, beta1, beta2 (validated)
    seed: int
    device: torch.device
    eval_steps: tuple[int, ...]  # ascending, always ends with train["steps"]
    evaluate: Callable[[int, EvalContext], None]  # the runner's metric pass at an eval step
    record: Callable[[int, dict[str, float]], None]  # training statistics at a step
    progress: Callable[[int], None] = lambda step: None


@dataclass
class TrainStats:
    """What a trainer reports back: the step reached and time spent inside the training loop."""

    steps: int
    train_time_s: float  # training loop only, evaluation excluded
    samples_seen: int  # real examples consumed by the updates
    warmup_steps: int = 0  # first steps left out of throughput (allocation, compilation)
    warmup_time_s: float = 0.0  # their share of train_time_s


class TrainingDiverged(Exception):
    """Raised by a trainer when a loss becomes NaN or inf; the cell is recorded as diverged."""

    def __init__(self, step: int, what: str):
        super().__init__(f"{what} became non-finite at step {step}")
        self.step = step
        self.what = what


@dataclass(frozen=True)
class _Spec:
    name: str
    description: str
    factory: Callable[..., Any]
    params: Mapping[str, Param] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec(_Spec):
    """A dataset: factory(**params) -> Data; `info` is a DataInfo or info(**params) -> DataInfo."""

    info: DataInfo | Callable[..., DataInfo] = None

    def data_info(self, params: Mapping[str, Any]) -> DataInfo:
        return self.info(**params) if callable(self.info) else self.info


@dataclass(frozen=True)
class ModelSpec(_Spec):
    """A model: factory(info: DataInfo, backend: str, **params) -> the family's model object."""

    family: str = "gan"
    domains: tuple[str, ...] = DOMAINS
    # Optional check(info, **params) -> None | str: why this model cannot fit that data.
    fits: Callable[..., str | None] | None = None


@dataclass(frozen=True)
class ObjectiveSpec(_Spec):
    """A training objective: factory(backend: str, **params) -> the family's objective object."""

    family: str = "gan"
    # Training hyperparameters the objective's paper uses (e.g. Adam betas); a suite's [train] wins.
    train_defaults: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricOutput:
    """One number a metric reports."""

    higher_is_better: bool
    label: str
    unit: str = ""


@dataclass(frozen=True)
class MetricSpec(_Spec):
    """A metric: factory(**params) -> callable(EvalContext) -> MetricResult."""

    outputs: Mapping[str, MetricOutput] = field(default_factory=dict)
    families: tuple[str, ...] = FAMILIES
    domains: tuple[str, ...] = DOMAINS
    needs: tuple[str, ...] = ("samples",)  # of: samples, real, labels, reconstructions
    fits: Callable[..., str | None] | None = None  # fits(info, **params): why it cannot score this data


@dataclass(frozen=True)
class KernelSpec(_Spec):
    """A kernel backend: factory() -> None if usable here, else a one-line reason why not."""


@dataclass(frozen=True)
class TrainerSpec(_Spec):
    """A family's trainer: factory(setup: TrainSetup) -> TrainStats. `name` is the family."""


SPEC_KINDS: dict[str, type] = {
    "dataset": DatasetSpec,
    "model": ModelSpec,
    "objective": ObjectiveSpec,
    "metric": MetricSpec,
    "kernel": KernelSpec,
    "trainer": TrainerSpec,
}
