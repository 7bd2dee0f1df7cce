"""CellResult: what running one cell produced, as the driver hands it to the store.

Everything travels inside it, pictures included (as bytes), so a worker needs no access to the
results folder: the driver alone writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genbench.api.specs import MetricResult

STATUSES = ("running", "done", "failed", "diverged")


@dataclass
class MetricRow:
    step: int
    name: str
    value: float
    provenance: dict[str, Any] = field(default_factory=dict)


def metric_rows(metric: str, params: dict[str, Any], outputs: dict[str, dict], seed: int, step: int,
                scored: MetricResult, variant: str = "", **extra: Any) -> list[MetricRow]:
    """The rows a metric's score of a cell at a step is stored as, each with the provenance
    reports read: the metric and its parameters, the seed and step, its `outputs` (direction,
    label, unit: MetricSpec.output_info), `extra` (e.g. the checkpoint a rescore scored) and what
    the metric reported itself (MetricResult.provenance: extractor, n_real, n_fake, ...). A
    variant's values (an eval context's variant: the trained G beside its weight average) are
    named `<value>_<variant>` (fid_raw) and their provenance says which variant."""
    def name(value: str) -> str:
        return f"{value}_{variant}" if variant else value

    if variant:
        outputs = {name(k): {**o, "label": f"{o['label']} ({variant})"} for k, o in outputs.items()}
        extra = {**extra, "variant": variant}
    provenance = {"metric": metric, "params": params, "seed": seed, "step": step, "outputs": outputs, **extra,
                  **scored.provenance}
    return [MetricRow(step, name(key), float(value), provenance) for key, value in scored.values.items()]


@dataclass
class Artifact:
    step: int
    kind: str  # e.g. "samples"
    filename: str  # stored as artifacts/<cell_id>/<filename> in the results folder
    data: bytes


@dataclass
class CellResult:
    cell_id: str
    status: str  # "done" | "failed" | "diverged"
    metrics: list[MetricRow] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    steps: int = 0
    wall_time_s: float = 0.0
    train_time_s: float = 0.0  # the training loop only, warm-up included
    warmup_time_s: float = 0.0  # the first step: allocation and compilation (torch.compile)
    train_cpu_s: float = 0.0  # this process's CPU time over the training loop after warm-up
    eval_time_s: float = 0.0  # metric passes and sample pictures
    samples_per_s: float | None = None  # real examples consumed per second, after warm-up
    steps_per_s: float | None = None  # model updates per second, after warm-up
    peak_rss_mb: float | None = None  # the process's resident-set high-water mark
    peak_cuda_mb: float | None = None
    env: dict[str, Any] = field(default_factory=dict)  # versions, machine, kernel_ops
    error: str | None = None  # traceback for failed cells, the reason for diverged ones
    diverged_step: int | None = None


def error_headline(error: str | None) -> str:
    """The line that says why a cell failed, never empty: of a traceback, the first line of its
    (last) exception, whose message may go on over lines of its own; else the first line (an
    executor's cause: `timeout: ...`, `memory: ...`, `worker died: ...`)."""
    lines = [line for line in (error or "").strip().splitlines() if line.strip()]
    if not lines:
        return "(no error message)"
    if not lines[0].startswith("Traceback"):
        return lines[0]
    last = max(i for i, line in enumerate(lines) if line.startswith("Traceback"))
    exception = [line for line in lines[last + 1:] if not line.startswith((" ", "\t"))]  # frames are indented
    return exception[0] if exception else lines[-1]
