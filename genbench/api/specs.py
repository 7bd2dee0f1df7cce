"""The types plugins and the core share: component specs, parameters, data and training steps.

A plugin registers a spec (name, one-line description, factory, typed parameter defaults, and
facts a planner or report can read without running anything). The factories receive validated
parameters as keyword arguments. The core knows no concrete family, domain or backend: those
are specs too (FamilySpec, DomainSpec, KernelSpec), registered like everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from genbench.kernels import Backend

# The largest int a parameter takes unless it declares a `max` of its own: a count beyond it (of
# units, samples, images, steps) could not be allocated, and C code indexes with 32-bit ints.
MAX_INT = 2**31 - 1


@dataclass(frozen=True)
class Param:
    """One typed parameter of a component, with its default and allowed range. An int without
    `max` is bounded by MAX_INT all the same."""

    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    # False for a parameter added to a component that already has stored results: at its default
    # it is left out of the cell id, so those results keep their ids (and resume and rescore).
    id_if_default: bool = True
    # True when the value counts examples of the cell's data (samples drawn, images scored): the
    # suite is refused when that many examples of its dataset would not fit in memory.
    examples: bool = False

    @property
    def type(self) -> type:
        return type(self.default)

    @property
    def upper(self) -> float | None:
        """The largest value allowed: `max`, else MAX_INT for an int."""
        return MAX_INT if self.max is None and self.type is int else self.max

    def check(self, value: Any) -> Any:
        """The value, coerced (int -> float), or ValueError saying what is allowed."""
        expected = self.type
        if expected is float and type(value) is int:
            value = float(value)
        if expected is tuple and isinstance(value, list):
            value = tuple(value)
        if type(value) is not expected:
            raise ValueError(f"expected {expected.__name__}, got {type(value).__name__} {value!r}")
        if expected is tuple and self.default:  # a list of items like the default's first
            item = Param(self.default[0], self.help, self.min, self.max, examples=self.examples)
            return tuple(item.check(v) for v in value)
        if expected is float and not math.isfinite(value):  # NaN passes every < and > test
            raise ValueError(f"{value!r} is not a finite number")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, self.choices))}")
        if self.min is not None and value < self.min:
            raise ValueError(f"{value!r} is below the minimum {self.min}")
        if self.upper is not None and value > self.upper:
            raise ValueError(f"{value!r} is above the maximum {self.upper}")
        return value

    def describe(self) -> str:
        limits = []
        if self.choices is not None:
            limits.append("one of " + ", ".join(map(repr, self.choices)))
        if self.min is not None:
            limits.append(f">= {self.min}")
        if self.upper is not None:
            limits.append(f"<= {self.upper}")
        suffix = f" ({'; '.join(limits)})" if limits else ""
        return f"{self.type.__name__}, default {self.default!r}{suffix}: {self.help}"


@dataclass(frozen=True)
class DataInfo:
    """What a dataset is, known without loading it: the planner sizes models from this."""

    domain: str  # a registered domain's name, e.g. "points" or "image"
    shape: tuple[int, ...]  # one example: (2,) for points, (C, H, W) for images
    n_classes: int | None = None
    # What the loaded Data.extras will hold, e.g. ("modes", "sd") for the 2D mixtures, so a
    # metric's fits() can refuse a dataset without them before any work.
    extras: tuple[str, ...] = ()
    # Examples in each split once loaded (None: not known without loading): the planner checks
    # batch sizes against n_train and the data's memory against this machine's.
    n_train: int | None = None
    n_test: int | None = None


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
class MetricResult:
    """Values of one metric evaluation plus the provenance a reader needs to compare them."""

    values: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)


# What every eval context carries, whatever the family: the data (`real`: its examples, `labels`:
# its class labels when it has them; a metric's fits() refuses a dataset without them).
CONTEXT_DATA: tuple[str, ...] = ("real", "labels")


@dataclass
class EvalContext:
    """What a metric may use at an eval point. `sample(n)` draws n model samples in data space;
    a class-conditional model also gives `sample_class(labels)`, one sample of each given class."""

    data: Data
    seed: int
    step: int
    device: torch.device
    sample: Callable[[int], torch.Tensor] | None = None  # n -> (n, *shape), no grad, eval mode
    # class-conditional models: labels (n,) int64 -> (n, *shape), sample i of class labels[i]
    sample_class: Callable[[torch.Tensor], torch.Tensor] | None = None
    # autoencoders: x (n, *shape) -> the model's output for x, in data space (no grad, eval mode)
    reconstruct: Callable[[torch.Tensor], torch.Tensor] | None = None
    model: Any = None  # the family's model object, for metrics that need more (e.g. IWAE)
    # other versions of the model the metrics score too, by name: each value a metric reports
    # on variants["raw"] is stored as `<value>_raw` (the GAN family's raw G beside its EMA)
    variants: Mapping[str, EvalContext] = field(default_factory=dict)


@dataclass
class TrainSetup:
    """Everything a family trainer needs for one cell; the runner builds it from the registry."""

    data: Data
    model: Any  # what the model factory returned (an instance of the family's model_type)
    objective: Any  # what the objective factory returned
    # (parameters, role=None) -> a new optimiser (the optimizer axis); a role of the family's
    # FamilySpec.optimizer_roles gets the settings the suite gives that role
    optimizer: Callable[..., torch.optim.Optimizer]
    train: Mapping[str, Any]  # the core's train settings (steps, batch_size, lr, ...) and the family's
    seed: int
    device: torch.device
    resume: Resume | None = None  # continue after this checkpointed step instead of from step 0


@dataclass(frozen=True)
class Resume:
    """Where a trainer continues from: the state its TrainStep.state() returned at `step` (an eval
    step), as read back from a checkpoint. The trainer loads it and yields step + 1 next."""

    step: int
    state: Mapping[str, Any]


@dataclass
class TrainStep:
    """What a trainer yields after each training step; the runner owns everything else.

    `stats` are 0-d tensors left on the device (no .item(): the runner syncs once per record, every
    `log_every` steps and at each eval step); `examples` counts the real examples the step
    consumed; `context` is what metrics may use when the runner evaluates at this step (the runner
    fills in the step); `state`, if given, returns everything the trainer needs to continue
    bit-identically from this step (model and optimiser state dicts, its generators' states, the
    sampler's position) as tensors, dicts, lists, str, int, float, bool and None (what
    torch.load(weights_only=True) reads). The runner calls it at eval steps only, to write a
    checkpoint; a trainer without it is not checkpointed."""

    step: int  # 1, 2, ..., train["steps"]
    stats: Mapping[str, torch.Tensor]
    examples: int
    context: EvalContext
    state: Callable[[], dict[str, Any]] | None = None


class TrainingDiverged(Exception):
    """Raised when a statistic that must stay finite became NaN or inf; the cell is recorded
    as diverged."""

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
    """A dataset: factory(**params) -> Data; `info` is a DataInfo or info(**params) -> DataInfo.

    `check(**params)`, if given, reads the dataset's files as far as is cheap (checksums, dtypes,
    shapes, finiteness and range of the values) and raises DataError naming what is wrong and the
    fix; the suite runs it once per dataset configuration before any work (and at --dry-run)."""

    info: DataInfo | Callable[..., DataInfo] = None
    check: Callable[..., None] | None = None

    def data_info(self, params: Mapping[str, Any]) -> DataInfo:
        return self.info(**params) if callable(self.info) else self.info


@dataclass(frozen=True)
class ModelSpec(_Spec):
    """A model: factory(info: DataInfo, **params) -> the family's model object."""

    family: str = ""  # a registered family's name
    domains: tuple[str, ...] = ()  # the data domains it takes; () = any
    # Optional check(info, **params) -> None | str: why this model cannot fit that data.
    fits: Callable[..., str | None] | None = None
    # Optional weights(info, **params) -> int: how many weights its networks hold (at least:
    # biases and normalisation parameters may be left out), computed without building them; the
    # suite is refused before any work when training them would not fit in memory.
    weights: Callable[..., int] | None = None


@dataclass(frozen=True)
class ObjectiveSpec(_Spec):
    """A training objective: factory(**params) -> the family's objective object."""

    family: str = ""  # a registered family's name
    # Settings the objective's paper uses: train keys (e.g. lr) or optimizer parameters (e.g.
    # Adam's beta1); a suite's [train] and its optimizer parameters win.
    train_defaults: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimizerSpec(_Spec):
    """An optimizer: factory(parameters, *, lr, **params) -> torch.optim.Optimizer. `default`: the
    one a [[matrix]] block without `optimizers` trains with."""

    default: bool = False


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
    domains: tuple[str, ...] = ()  # the data domains it scores; () = any
    # what it reads from an eval context: the data's (CONTEXT_DATA, always there), and what the
    # cell's family says its context provides (FamilySpec.provides); it scores the cells whose
    # family provides all of it
    needs: tuple[str, ...] = ("samples",)
    # deprecated (plugin API 2.1, removed in 3.0): the family names it scores; `needs` decides now
    families: tuple[str, ...] = ()
    fits: Callable[..., str | None] | None = None  # fits(info, **params): why it cannot score this data
    # True when entries with different parameters report differently named values (so a suite
    # may list the metric more than once), e.g. names suffixed with a parameter's value
    repeatable: bool = False

    def output_info(self) -> dict[str, dict[str, Any]]:
        """value name -> its direction, label and unit, as stored with every score (reports read
        them from the store alone)."""
        return {name: {"higher_is_better": o.higher_is_better, "label": o.label, "unit": o.unit}
                for name, o in self.outputs.items()}


def always_available() -> str | None:
    return None


@dataclass(frozen=True)
class KernelSpec:
    """A kernel backend: the op table genbench.kernels dispatches to while a cell runs with it.

    `ops` maps op names (those of genbench.kernels.functional, or any op a plugin defines with
    genbench.kernels.op) to implementations taking the reference's arguments; an op the table
    lacks runs the reference. `available()` is None when the backend is usable here, else a
    one-line reason why not. `prepare(module)`, if given, is applied to each network a trainer
    builds (e.g. torch.compile) and returns the module to train."""

    name: str
    description: str
    ops: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    available: Callable[[], str | None] = always_available
    prepare: Callable[[torch.nn.Module], torch.nn.Module] | None = None
    params: Mapping[str, Param] = field(default_factory=dict)  # backends take none
    default: bool = False  # the backend a [[matrix]] block without `kernels` runs with

    def backend(self) -> Backend:
        """What genbench.kernels.use() makes active."""
        return Backend(self.name, dict(self.ops), self.prepare)


@dataclass(frozen=True)
class Statistic:
    """A training statistic a family records: how reports show it."""

    label: str  # display name, e.g. "|grad G|"
    unit: str = ""
    column: bool = False  # shown in the terminal summary by default (the rest with --all)
    finite: bool = False  # must stay finite: the cell diverges the step it does not
    # a figure of the HTML report drawing this statistic beside the others of the same panel
    # (e.g. the GAN diagnostics), one line per group; "" = only the plain curves
    panel: str = ""


@dataclass(frozen=True)
class FamilySpec(_Spec):
    """A model family: factory(setup: TrainSetup) -> Iterator[TrainStep], the trainer.

    `params` are the family's own train settings (a suite's [train] keys beside the core's);
    `statistics` every statistic the trainer yields; `model_type` the class its model factories
    return (checked before training). `evaluator(setup, state) -> EvalContext`, if given, loads a
    trainer state (what TrainStep.state() returned) into setup.model and returns the context its
    trainer would hand metrics at that step: `genbench rescore` scores finished cells with it.
    `optimizer_roles` names the networks the trainer optimises apart (it builds each optimiser
    with setup.optimizer(parameters, role=...)); a suite's optimizer entry may give each role its
    own settings. `fits(info, train) -> None | str`, if given, says why the cell's resolved train
    settings cannot train on data of this DataInfo (checked with the suite, before any work).
    `objective_contract` maps each method the trainer calls on every objective to the number of
    arguments it passes, `objective_optional` those it calls only when present: a suite's
    objectives are checked against both before any work (genbench.api.contracts).

    `provides`: what its eval context gives metrics beside the data: samples (ctx.sample),
    reconstructions (ctx.reconstruct), model (ctx.model), and the model interfaces metrics use
    through ctx.model (the built-ins: code, a representation of x; posterior, q(z|x) and p(x|z);
    energy, an RBM's free energy; classes, ctx.sample_class when the model is
    class-conditional). A metric scores the cells whose family provides its `needs`."""

    statistics: Mapping[str, Statistic] = field(default_factory=dict)
    model_type: type | None = None
    evaluator: Callable[[TrainSetup, Mapping[str, Any]], EvalContext] | None = None
    optimizer_roles: tuple[str, ...] = ()
    fits: Callable[[DataInfo, Mapping[str, Any]], str | None] | None = None
    objective_contract: Mapping[str, int] = field(default_factory=dict)
    objective_optional: Mapping[str, int] = field(default_factory=dict)
    provides: tuple[str, ...] = ("samples", "model")


@dataclass(frozen=True)
class DomainSpec(_Spec):
    """A data domain: factory(samples (n, *shape), data: Data) -> PNG bytes, the picture of a
    model's samples at an eval step; `picture_samples` is how many it draws."""

    picture_samples: int = 64


@dataclass(frozen=True)
class ReporterSpec(_Spec):
    """A reporter: factory(view: ReportView, **params) -> str, results rendered from a store.

    `logger(out_dir: Path) -> ResultLogger` (genbench.run.loggers), if given, lets `genbench run
    --log NAME` hand it each cell's result as it arrives (TensorBoard, MLflow, W&B...). `terminal`:
    the one `genbench show` and `genbench run` print with; `default`: the one `genbench export`
    writes without --format; `compares`: the one `genbench compare` prints with (it takes
    metric, baseline, axes and alpha); `page`: the one `genbench report` writes."""

    suffix: str = ".txt"  # the file suffix its output is written with
    logger: Callable[..., Any] | None = None
    terminal: bool = False
    default: bool = False
    compares: bool = False
    page: bool = False


@dataclass(frozen=True)
class ExecutorSpec(_Spec):
    """An executor: factory(options: ExecutorOptions, **params) -> CellExecutor (see
    genbench.run.executors), which runs cells and reports progress as events.

    `params` are its own options (a suite's [executor] table, `genbench run --executor-opt
    KEY=VALUE`: genbench.suite.executor_options); `check(**params)`, if given, returns why a
    combination of them cannot work (None when it can), checked before any cell runs. `default`:
    the executor `genbench run` uses without --executor; `enforces_limits`: whether it stops a
    cell past its time or memory limit."""

    check: Callable[..., str | None] | None = None
    default: bool = False
    enforces_limits: bool = True


@dataclass(frozen=True)
class ComponentKind:
    """One kind of component, declared once: the registry's tables, the hooks plugins implement
    (genbench.api.hookspecs) and `genbench list --kind` all derive from KINDS."""

    name: str  # "dataset": a registry table, `genbench list --kind dataset`
    spec: type  # what its hook registers
    plural: str  # "datasets": its hook is register_datasets
    each: str  # what one spec registers, for the hook's docstring

    @property
    def hook(self) -> str:
        return f"register_{self.plural}"


KINDS: tuple[ComponentKind, ...] = (
    ComponentKind("dataset", DatasetSpec, "datasets", "dataset"),
    ComponentKind("model", ModelSpec, "models", "model"),
    ComponentKind("objective", ObjectiveSpec, "objectives", "training objective"),
    ComponentKind("optimizer", OptimizerSpec, "optimizers", "optimizer"),
    ComponentKind("metric", MetricSpec, "metrics", "metric"),
    ComponentKind("kernel", KernelSpec, "kernels", "kernel backend (its op table)"),
    ComponentKind("family", FamilySpec, "families", "model family (its trainer)"),
    ComponentKind("domain", DomainSpec, "domains", "data domain (how its samples are pictured)"),
    ComponentKind("reporter", ReporterSpec, "reporters", "output format"),
    ComponentKind("executor", ExecutorSpec, "executors", "way of running cells"),
)
SPEC_KINDS: dict[str, type] = {kind.name: kind.spec for kind in KINDS}  # kind name -> spec type
