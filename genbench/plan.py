"""Suite config -> list of Cells. Pure: no plugin code runs here beyond reading specs.

A Cell carries names and parameters only (no tensors, no modules), so it pickles across
processes, and its cell_id is a hash of its resolved configuration: the same cell has the same
id across runs and machines, which is what lets a re-run skip finished work.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .config import TRAIN_PARAMS, ComponentConfig, MatrixBlock, SuiteConfig, metric_applies
from .registry import Registry


@dataclass(frozen=True)
class Cell:
    """One training run: a dataset x model x objective x kernel at one seed."""

    suite: str
    dataset: ComponentConfig
    model: ComponentConfig
    objective: ComponentConfig
    kernel: ComponentConfig
    metrics: tuple[ComponentConfig, ...]
    train: tuple[tuple[str, Any], ...]  # every TRAIN_PARAMS key, resolved
    eval_steps: tuple[int, ...]
    seed: int
    cell_id: str = field(init=False, compare=False)

    def __post_init__(self):
        canonical = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        object.__setattr__(self, "cell_id", hashlib.sha256(canonical.encode()).hexdigest()[:16])

    def resolved(self) -> dict[str, Any]:
        """The configuration that determines the result (labels and suite name excluded)."""

        def component(c: ComponentConfig) -> dict:
            return {"name": c.name, "params": {k: _jsonable(v) for k, v in c.params}}

        return {
            "dataset": component(self.dataset),
            "model": component(self.model),
            "objective": component(self.objective),
            "kernel": component(self.kernel),
            "metrics": [component(m) for m in self.metrics],
            "train": {k: _jsonable(v) for k, v in self.train},
            "eval_steps": list(self.eval_steps),
            "seed": self.seed,
        }

    @property
    def group(self) -> tuple[str, str, str, str]:
        """The key results are aggregated over seeds by."""
        return (self.dataset.label, self.model.label, self.objective.label, self.kernel.label)

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
        for dataset in block.datasets:
            for model in block.models:
                metrics = tuple(m for m in config.metrics if metric_applies(registry, m, model, dataset))
                for objective in block.objectives:
                    train = _train_for(config, block, registry.get("objective", objective.name).train_defaults)
                    schedule = eval_schedule(train["steps"], config.eval_every)
                    for kernel in block.kernels:
                        for seed in config.seeds:
                            cell = Cell(config.name, dataset, model, objective, kernel, metrics,
                                        tuple(sorted(train.items())), schedule, seed)
                            if cell.cell_id not in seen:  # two blocks may share cells
                                seen.add(cell.cell_id)
                                cells.append(cell)
    return cells


def _train_for(config: SuiteConfig, block: MatrixBlock, objective_defaults) -> dict[str, Any]:
    """Defaults < the objective's published settings < the suite's [train] < the block's train."""
    train = {key: param.default for key, param in TRAIN_PARAMS.items()}
    train.update(objective_defaults)
    train.update(dict(config.train))
    train.update(dict(block.train))
    return train


def select(cells: list[Cell], patterns: tuple[str, ...]) -> list[Cell]:
    """Cells whose path (dataset/model/objective/kernel/seedN) matches any pattern.

    A pattern with no wildcard matches as a substring; otherwise as a glob.
    """
    if not patterns:
        return cells

    def matches(cell: Cell, pattern: str) -> bool:
        if any(ch in pattern for ch in "*?["):
            return fnmatch.fnmatchcase(cell.path, pattern)
        return pattern in cell.path

    return [c for c in cells if any(matches(c, p) for p in patterns)]
