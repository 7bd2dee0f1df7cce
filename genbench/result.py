"""CellResult: what running one cell produced, as the driver hands it to the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("running", "done", "failed", "diverged")


@dataclass
class MetricRow:
    step: int
    name: str
    value: float
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class ArtifactRow:
    step: int
    kind: str
    path: str  # relative to the results directory


@dataclass
class CellResult:
    cell_id: str
    status: str  # "done" | "failed" | "diverged"
    metrics: list[MetricRow] = field(default_factory=list)
    artifacts: list[ArtifactRow] = field(default_factory=list)
    steps: int = 0
    wall_time_s: float = 0.0
    train_time_s: float = 0.0  # the training loop only
    eval_time_s: float = 0.0  # metric passes and sample grids
    samples_per_s: float | None = None  # real examples consumed per second of training
    steps_per_s: float | None = None  # model updates per second of training
    peak_rss_mb: float | None = None  # the process's resident-set high-water mark
    peak_cuda_mb: float | None = None
    env: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # traceback for failed cells, the reason for diverged ones
    diverged_step: int | None = None
