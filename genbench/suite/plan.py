"""Suite config -> list of Cells. Pure: no plugin code runs here beyond reading specs.

A Cell carries names and parameters only (no tensors, no modules), so it pickles across
processes, and its cell_id is a hash of its resolved configuration: the same cell has the same
id across runs and machines, which is what lets a re-run skip finished work. A suite with a
[search] gives each group N trials (genbench.suite.search): cells whose sampled values are part of
their configuration.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from . import search as search_module
from genbench.api.axes import AXIS_NAMES
from genbench.api.registry import Registry, id_name
from genbench.suite.config import RECORDING_ONLY, ComponentConfig, SuiteConfig, cell_train, metric_applies, train_params


@dataclass(frozen=True)
class Cell:
    """One training run: one component per axis (genbench.api.axes) at one seed."""

    suite: str
    components: tuple[ComponentConfig, ...]  # one per axis, in AXES order
    metrics: tuple[ComponentConfig, ...]
    train: tuple[tuple[str, Any], ...]  # every train setting of the cell's family, resolved
    eval_steps: tuple[int, ...]
    seed: int
    trial: int | None = None  # the trial of a [search] (None: the suite searches nothing)
    search: tuple[tuple[str, Any], ...] = ()  # the trial's sampled values, e.g. (("train.lr", 3e-4),)
    # train settings at defaults that stay out of the cell id (Param.id_if_default)
    unhashed_train: tuple[str, ...] = field(default=(), compare=False)
    cell_id: str = field(init=False, compare=False)

    def __post_init__(self):
        canonical = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        object.__setattr__(self, "cell_id", hashlib.sha256(canonical.encode()).hexdigest()[:16])

    def component(self, axis: str) -> ComponentConfig:
        return self.components[AXIS_NAMES.index(axis)]

    def resolved(self) -> dict[str, Any]:
        """The configuration that determines the result (labels and suite name excluded).
        Components go by id_name(): a built-in by its plain name even where a plugin registers
        the same name, so ids never change when a plugin is installed."""

        def component(c: ComponentConfig) -> dict:
            return {"name": id_name(c.name), "params": {k: _jsonable(v) for k, v in c.id_params().items()}}

        resolved = {
            **{axis: component(c) for axis, c in zip(AXIS_NAMES, self.components, strict=True)},
            "metrics": [component(m) for m in self.metrics],
            "train": {k: _jsonable(v) for k, v in self.train if k not in self.unhashed_train},
            "eval_steps": list(self.eval_steps),
            "seed": self.seed,
        }
        if self.trial is not None:  # (absent otherwise: the ids of suites without [search] stay as they were)
            resolved.update(trial=self.trial, search=dict(self.search))
        return resolved

    @property
    def group(self) -> tuple[str, ...]:
        """The key results are aggregated over seeds by: each axis's label (and the trial's)."""
        return tuple(self.axis_labels.values())

    @property
    def axis_labels(self) -> dict[str, str]:
        labels = {axis: c.label for axis, c in zip(AXIS_NAMES, self.components, strict=True)}
        if self.trial is not None:
            labels[search_module.TRIAL_AXIS] = search_module.trial_label(self.trial)
        return labels

    @property
    def path(self) -> str:
        return "/".join(self.group) + f"/seed{self.seed}"

    def train_config(self) -> dict[str, Any]:
        return dict(self.train)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def eval_schedule(steps: int, every: int) -> tuple[int, ...]:
    """Eval at every `every` steps and always at the final step."""
    return tuple(sorted(set(range(every, steps + 1, every)) | {steps}))


def expand(config: SuiteConfig, registry: Registry) -> list[Cell]:
    """Every cell of every matrix block, seeds innermost, in a stable order."""
    cells: list[Cell] = []
    seen: set[str] = set()
    for block in config.blocks:
        for components in _product(block.components):
            values = dict(zip(AXIS_NAMES, components, strict=True))
            dataset, model, objective = values["dataset"], values["model"], values["objective"]
            metrics = tuple(m for m in config.metrics if metric_applies(registry, m, model, dataset))
            ospec = registry.get("objective", objective.name)
            train = cell_train(registry, objective.name, dict(config.train), dict(block.train))
            schedule = eval_schedule(train["steps"], config.eval_every)
            trials = [(None, {})] if config.search is None else \
                list(enumerate(search_module.draws(config.search, values, train, registry)))
            for trial, sampled in trials:
                chosen, trial_train = search_module.apply(sampled, values, train)
                chosen["optimizer"] = _optimizer_for(chosen["optimizer"], registry, ospec.train_defaults)
                unhashed = unhashed_train(registry, ospec.family, trial_train, sampled)
                for seed in config.seeds:
                    cell = Cell(config.name, tuple(chosen.values()), metrics, tuple(sorted(trial_train.items())),
                                schedule, seed, trial, tuple(sampled.items()), unhashed)
                    if cell.cell_id not in seen:  # two blocks may share cells
                        seen.add(cell.cell_id)
                        cells.append(cell)
    return cells


def unhashed_train(registry: Registry, family: str, train: dict[str, Any], sampled=()) -> tuple[str, ...]:
    """The train settings left out of the cell id: those that change only what is recorded
    (config.RECORDING_ONLY), and those declared id_if_default=False that are at their defaults
    and not drawn by a search."""
    params = train_params(registry, family)
    return tuple(sorted(k for k, v in train.items() if k in RECORDING_ONLY or (
        k in params and not params[k].id_if_default and v == params[k].default and f"train.{k}" not in sampled)))


def _product(axes: tuple[tuple[ComponentConfig, ...], ...]) -> list[tuple[ComponentConfig, ...]]:
    """Every combination of one component per axis, the first axis outermost."""
    combinations: list[tuple[ComponentConfig, ...]] = [()]
    for options in axes:
        combinations = [(*done, option) for done in combinations for option in options]
    return combinations


def _optimizer_for(optimizer: ComponentConfig, registry: Registry, defaults) -> ComponentConfig:
    """The optimizer with the objective's published values for the parameters the suite left
    unset (e.g. WGAN-GP's Adam betas)."""
    known = registry.get("optimizer", optimizer.name).params
    params = optimizer.kwargs()
    params.update({k: v for k, v in defaults.items() if k in known and k not in optimizer.explicit})
    return replace(optimizer, params=tuple(sorted(params.items())))


def select(cells: list[Cell], patterns: tuple[str, ...]) -> list[Cell]:
    """Cells whose path (the axis labels and seedN, joined by /) matches any pattern.

    A pattern with no wildcard matches as a substring; otherwise as a glob.
    """
    if not patterns:
        return cells

    def matches(cell: Cell, pattern: str) -> bool:
        if any(ch in pattern for ch in "*?["):
            return fnmatch.fnmatchcase(cell.path, pattern)
        return pattern in cell.path

    return [c for c in cells if any(matches(c, p) for p in patterns)]
