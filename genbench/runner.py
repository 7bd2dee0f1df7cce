"""Running cells: run_cell builds one cell from the registry and trains it; run_suite drives many.

run_cell never raises for a problem inside the cell: a raising cell comes back `failed` with its
traceback, a non-finite loss comes back `diverged` with the step. Only the driver (run_suite)
writes to the store, one transaction per finished cell, as each finishes.
"""

from __future__ import annotations

import os
import platform
import random
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .plan import Cell
from .registry import Registry, load_plugins
from .artifacts import GRID_SAMPLES, SCATTER_SAMPLES, save_image_grid, save_scatter
from .result import ArtifactRow, CellResult, MetricRow
from .specs import EvalContext, TrainingDiverged, TrainSetup, TrainStats
from .store import Store

ProgressFn = Callable[[str, int, int], None]  # (cell_id, step, total steps)
SKIP_STATUSES = ("done", "diverged")  # results; `running` (interrupted) and `failed` re-run


@lru_cache(maxsize=1)
def process_registry() -> Registry:
    """The registry of this process, loaded once (worker processes load their own)."""
    return load_plugins()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@lru_cache(maxsize=1)
def _static_environment() -> dict:
    return {
        "genbench": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "git_sha": _git_sha(),
    }


def _git_sha() -> str | None:
    """The commit of the genbench source tree, when genbench runs from a git checkout."""
    source_root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=source_root,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != source_root:
        return None  # not a checkout of genbench itself (e.g. a venv inside another repo)
    return lines[1]


def environment(device: torch.device) -> dict:
    env = dict(_static_environment())
    env["torch_threads"] = torch.get_num_threads()
    env["device"] = str(device)
    if device.type == "cuda":
        env["cuda_device"] = torch.cuda.get_device_name(device)
    return env


def peak_rss_mb() -> float:
    """This process's resident-set high-water mark (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def run_cell(cell: Cell, out_dir: str, progress: ProgressFn | None = None) -> CellResult:
    """Train and evaluate one cell; always returns a CellResult (done, failed or diverged)."""
    started = time.perf_counter()
    result = CellResult(cell.cell_id, "done")
    train = cell.train_config()
    device = resolve_device(train["device"])
    result.env = environment(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    eval_time = 0.0
    try:
        registry = process_registry()
        seed_everything(cell.seed)
        kernel = cell.kernel.name
        data = registry.get("dataset", cell.dataset.name).factory(**cell.dataset.kwargs())
        model_spec = registry.get("model", cell.model.name)
        model = model_spec.factory(data.info, backend=kernel, **cell.model.kwargs())
        objective = registry.get("objective", cell.objective.name).factory(
            backend=kernel, **cell.objective.kwargs())
        metrics = [(m, registry.get("metric", m.name).factory(**m.kwargs())) for m in cell.metrics]
        trainer = registry.get("trainer", model_spec.family)

        def record(step: int, stats: dict[str, float]) -> None:
            for name, value in stats.items():
                result.metrics.append(MetricRow(step, name, float(value), {"source": "train"}))

        def evaluate(step: int, ctx: EvalContext) -> None:
            nonlocal eval_time
            eval_started = time.perf_counter()
            ctx = share_samples(ctx)
            if ctx.sample is not None:
                result.artifacts.append(save_samples_picture(ctx, Path(out_dir), cell.cell_id))
            for config, metric in metrics:
                scored = metric(ctx)
                provenance = {"metric": config.name, "params": config.kwargs(), "seed": cell.seed,
                              "step": step, **scored.provenance}
                for name, value in scored.values.items():
                    result.metrics.append(MetricRow(step, name, float(value), provenance))
            eval_time += time.perf_counter() - eval_started

        def report_progress(step: int) -> None:
            if progress is not None:
                progress(cell.cell_id, step, train["steps"])

        stats = trainer.factory(TrainSetup(data, model, objective, train, cell.seed, device,
                                           cell.eval_steps, evaluate, record, report_progress))
        result.steps = stats.steps
        result.train_time_s = stats.train_time_s
        result.samples_per_s, result.steps_per_s = throughput(stats)
    except TrainingDiverged as exc:
        result.status, result.error, result.diverged_step = "diverged", str(exc), exc.step
        result.steps = exc.step
    except Exception:
        result.status, result.error = "failed", traceback.format_exc()
    result.eval_time_s = eval_time
    result.wall_time_s = time.perf_counter() - started
    result.peak_rss_mb = peak_rss_mb()
    if device.type == "cuda":
        result.peak_cuda_mb = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def share_samples(ctx: EvalContext) -> EvalContext:
    """ctx with a sampler that draws each n once: the picture and every metric of an eval step
    score the same samples, and the model runs once per size."""
    if ctx.sample is None:
        return ctx
    sample, drawn = ctx.sample, {}

    def shared(n: int) -> torch.Tensor:
        if n not in drawn:
            drawn[n] = sample(n)
        return drawn[n]

    return replace(ctx, sample=shared)


def throughput(stats: TrainStats) -> tuple[float | None, float | None]:
    """(samples/s, steps/s) over the steady part of training: warm-up steps are left out."""
    steps, seconds = stats.steps - stats.warmup_steps, stats.train_time_s - stats.warmup_time_s
    if steps <= 0 or seconds <= 0:
        steps, seconds = stats.steps, stats.train_time_s
    if steps <= 0 or seconds <= 0:
        return None, None
    return stats.samples_seen * steps / stats.steps / seconds, steps / seconds


def save_samples_picture(ctx: EvalContext, out_dir: Path, cell_id: str) -> ArtifactRow:
    """A PNG of the model's samples at this step: an image grid, or a 2D scatter over the modes."""
    relative = Path("artifacts") / cell_id / f"samples_step{ctx.step:07d}.png"
    if ctx.data.info.domain == "image":
        height = ctx.data.info.shape[-1]
        save_image_grid(ctx.sample(GRID_SAMPLES), out_dir / relative, scale=max(1, 64 // height))
    else:
        reference = ctx.data.extras.get("modes", ctx.data.train[:SCATTER_SAMPLES])
        save_scatter(ctx.sample(SCATTER_SAMPLES).cpu(), reference, out_dir / relative)
    return ArtifactRow(ctx.step, "samples", str(relative))


class InProcessExecutor(Executor):
    """The default executor: runs each submitted call at once, in this process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


@dataclass
class SuiteOutcome:
    skipped: int = 0  # already in the store as done or diverged
    results: list[CellResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def run_suite(cells: list[Cell], store: Store, executor: Executor, max_in_flight: int = 1,
              progress: ProgressFn | None = None,
              on_result: Callable[[Cell, CellResult], None] | None = None,
              poll: Callable[[], None] | None = None) -> SuiteOutcome:
    """Run the cells the store does not hold as done; record each result as it finishes."""
    statuses = store.statuses()
    pending = [c for c in cells if statuses.get(c.cell_id) not in SKIP_STATUSES]
    outcome = SuiteOutcome(skipped=len(cells) - len(pending))
    queue = iter(pending)
    in_flight: dict[Future, Cell] = {}
    while True:
        while len(in_flight) < max_in_flight:
            cell = next(queue, None)
            if cell is None:
                break
            store.mark_started(cell)
            in_flight[executor.submit(run_cell, cell, str(store.directory), progress)] = cell
        if not in_flight:
            return outcome
        finished, _ = wait(in_flight, timeout=0.2, return_when=FIRST_COMPLETED)
        if poll is not None:
            poll()
        for future in finished:
            cell = in_flight.pop(future)
            try:
                result = future.result()
            except Exception:  # the worker itself died or could not pickle: still recorded
                result = CellResult(cell.cell_id, "failed", error=traceback.format_exc())
            store.record_result(result)
            outcome.results.append(result)
            if on_result is not None:
                on_result(cell, result)
