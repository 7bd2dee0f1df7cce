"""Running cells: run_cell builds one cell from the registry and owns its lifecycle; run_suite
drives many through an executor.

The family's trainer is a generator of TrainSteps; the runner owns everything around it: the
kernel backend (`with kernels.use(...)`), the clock, the statistics (kept on the device and
recorded every `log_every` steps and at each eval step, with one host sync per record),
divergence, evaluation and the sample pictures. run_cell never raises for a problem inside the
cell: a raising cell comes back `failed` with its traceback, a non-finite statistic comes back
`diverged` with the step. Only the driver (run_suite) writes
to the store, one transaction per finished cell, as each finishes.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from genbench import kernels
from genbench.run.checkpoints import Checkpoints, global_rng_state, set_global_rng_state
from genbench.run.code_version import CodeVersions
from genbench.run.environment import environment, load_average, peak_rss_mb, resolve_device, synchronize
from genbench.api.errors import DataError
from genbench.run.executors import CellExecutor, ProgressEvent
from genbench.suite.config import LOG_POINTS, TRAIN_PARAMS
from genbench.suite.plan import Cell
from genbench.api.registry import Registry
from genbench.run.resume import Pending, pending_cells
from genbench.api.result import Artifact, CellResult, MetricRow, metric_rows
from genbench.api.specs import (
    DomainSpec,
    EvalContext,
    FamilySpec,
    Resume,
    Statistic,
    TrainingDiverged,
    TrainSetup,
    TrainStep,
)
from genbench.results.store import Store

PROGRESS_UPDATES = 100  # progress events per cell


def log_interval(log_every: int, steps: int) -> int:
    """Steps between two records of the training statistics (0: only at eval steps) for the
    train setting `log_every` (-1: about LOG_POINTS records over `steps`)."""
    return max(1, steps // LOG_POINTS) if log_every < 0 else log_every


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_cell(cell: Cell, registry: Registry, on_event: Callable[[ProgressEvent], None] | None = None,
             checkpoints: Checkpoints | None = None) -> CellResult:
    """Train and evaluate one cell; always returns a CellResult (done, failed or diverged). With
    `checkpoints`, it continues from the cell's newest checkpoint and writes one at each eval step."""
    started = time.perf_counter()
    result = CellResult(cell.cell_id, "done")
    device = resolve_device(cell.train_config()["device"])
    result.env = environment(device)
    # what a family that declares the `precision` train setting (the built-ins do) trains in
    result.env["precision"] = cell.train_config().get("precision", "fp32")
    result.env["checkpoints"] = {"retention": checkpoints.retention if checkpoints else "none",
                                 "resumed_from_step": None, "saved_steps": []}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    try:
        spec = registry.get("kernel", cell.component("kernel").name)
        with kernels.use(spec.backend()) as usage:
            try:
                _train_and_evaluate(cell, registry, device, result, on_event, checkpoints, started)
            finally:
                result.env["kernel_ops"] = dict(usage.ops)
    except TrainingDiverged as exc:
        result.status, result.error, result.diverged_step = "diverged", str(exc), exc.step
        result.steps = exc.step
    except Exception:
        result.status, result.error = "failed", traceback.format_exc()
    result.wall_time_s += time.perf_counter() - started  # after the time restored from a checkpoint
    result.peak_rss_mb = peak_rss_mb()
    result.env["load_end"] = load_average()
    if device.type == "cuda":
        result.peak_cuda_mb = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def build_setup(cell: Cell, registry: Registry, device: torch.device,
                resume: Resume | None = None) -> tuple[FamilySpec, TrainSetup]:
    """The cell's components built from the registry (global RNGs seeded first), as its family's
    trainer and evaluator take them."""
    seed_everything(cell.seed)
    train = cell.train_config()
    dataset, model_config = cell.component("dataset"), cell.component("model")
    data = registry.get("dataset", dataset.name).factory(**dataset.kwargs())
    model_spec = registry.get("model", model_config.name)
    family: FamilySpec = registry.get("family", model_spec.family)
    model = model_spec.factory(data.info, **model_config.kwargs())
    if family.model_type is not None and not isinstance(model, family.model_type):
        raise TypeError(f"model {model_config.name!r} returned a {type(model).__name__}, but family "
                        f"{family.name!r} trains {family.model_type.__name__} objects; fix the model's factory")
    objective_config, optimizer_config = cell.component("objective"), cell.component("optimizer")
    objective = registry.build_objective(objective_config.name, objective_config.kwargs())
    optimizer = role_optimizers(registry.get("optimizer", optimizer_config.name).factory, train["lr"],
                                optimizer_config.kwargs())
    return family, TrainSetup(data, model, objective, optimizer, train, cell.seed, device, resume)


def role_optimizers(factory: Callable[..., torch.optim.Optimizer], lr: float, params: Mapping) -> Callable:
    """TrainSetup.optimizer: (parameters, role=None) -> factory(parameters, lr=..., **params),
    a role's own settings (params "generator.lr", "generator.beta1") in place of the shared ones."""
    shared = {"lr": lr, **{key: value for key, value in params.items() if "." not in key}}
    roles: dict[str, dict] = {}
    for key, value in params.items():
        if "." in key:
            role, setting = key.split(".", 1)
            roles.setdefault(role, {})[setting] = value

    def optimizer(parameters, role: str | None = None) -> torch.optim.Optimizer:
        return factory(parameters, **{**shared, **roles.get(role, {})})

    return optimizer


def _train_and_evaluate(cell: Cell, registry: Registry, device: torch.device, result: CellResult,
                        on_event, checkpoints: Checkpoints | None, started: float) -> None:
    """Build the cell's components from the registry, then run the family's trainer (from the
    newest checkpoint, if any)."""
    saved_steps = checkpoints.steps(cell.cell_id) if checkpoints else []
    saved = checkpoints.load(cell.cell_id, saved_steps[-1]) if saved_steps else None
    family, setup = build_setup(cell, registry, device,
                                Resume(saved["step"], saved["trainer"]) if saved else None)
    metrics = [(m, registry.get("metric", m.name)) for m in cell.metrics]
    metrics = [(m, spec.factory(**m.kwargs()), spec.output_info()) for m, spec in metrics]
    loop = TrainingLoop(cell, family, registry.get("domain", setup.data.info.domain), metrics, device, result,
                        on_event, checkpoints, started)
    if saved is not None:
        loop.restore(saved, checkpoints.path(cell.cell_id, saved["step"]))
    loop.run(family.factory(setup))


@dataclass
class TrainingLoop:
    """Pulls TrainSteps from a trainer and does everything between them that is not training."""

    cell: Cell
    family: FamilySpec
    domain: DomainSpec  # the data's domain: draws the sample pictures
    metrics: list  # (config, metric callable, MetricSpec.output_info())
    device: torch.device
    result: CellResult
    on_event: Callable[[ProgressEvent], None] | None
    checkpoints: Checkpoints | None = None
    started: float = field(default_factory=time.perf_counter)  # when run_cell began (wall time)
    statistics: IntervalStatistics = field(init=False)
    scored: dict[tuple[int, str], str] = field(init=False, default_factory=dict)  # (step, value) -> metric
    clock: LoopClock = field(init=False, default_factory=lambda: LoopClock())
    warmup: tuple[float, float] = field(init=False, default=(0.0, 0.0))  # (wall, cpu) seconds of step 1
    examples: int = field(init=False, default=0)  # real examples consumed
    warmup_examples: int = field(init=False, default=0)
    last_eval: int = field(init=False, default=0)  # the step training continues after (a checkpoint's)
    last_record: int = field(init=False, default=0)  # the step the statistics were last recorded at
    log_every: int = field(init=False)  # record the statistics at its multiples too (0: at eval steps only)

    def __post_init__(self):
        schedule = (0, *self.cell.eval_steps)
        longest = max(b - a for a, b in zip(schedule, schedule[1:], strict=False))
        log_every = self.cell.train_config().get("log_every", TRAIN_PARAMS["log_every"].default)
        self.log_every = log_interval(log_every, self.cell.eval_steps[-1])
        finite = {name for name, stat in self.family.statistics.items() if stat.finite}
        self.statistics = IntervalStatistics(min(longest, self.log_every or longest), self.device, finite)

    def run(self, steps: Iterator[TrainStep]) -> None:
        total, evals = self.cell.eval_steps[-1], set(self.cell.eval_steps)
        every = max(1, total // PROGRESS_UPDATES)
        self.clock.resume()
        try:
            for step in steps:
                if step.step <= self.last_eval:
                    raise RuntimeError(f"the {self.family.name!r} trainer yielded step {step.step} after step "
                                       f"{self.last_eval}; fix the family: count steps up from 1, or from "
                                       f"TrainSetup.resume.step + 1 when resuming")
                self.statistics.add(step.stats)
                self.examples += step.examples
                if step.step == 1:  # the warm-up step: allocation, compilation
                    synchronize(self.device)
                    self.warmup, self.warmup_examples = self.clock.read(), self.examples
                if self.on_event is not None and (step.step % every == 0 or step.step == total):
                    self.on_event(ProgressEvent(self.cell.cell_id, step.step, total))
                if step.step in evals:
                    synchronize(self.device)
                    self.clock.pause()
                    self.record(step.step)
                    rng_at_eval = global_rng_state()
                    self.evaluate(step.context, step.step)
                    self.last_eval = step.step
                    self.checkpoint(step, rng_at_eval)
                    self.clock.resume()
                    if step.step == total:
                        break
                elif self.log_every and step.step % self.log_every == 0:
                    self.record(step.step)  # training time: its one host sync is part of the cost
        finally:
            self.result.steps, self.result.train_time_s = self.last_eval, self.clock.wall
            self.result.warmup_time_s = self.warmup[0]
            self.result.train_cpu_s = self.clock.cpu - self.warmup[1]
            close = getattr(steps, "close", None)
            if close is not None:
                close()
        if self.last_eval < total:
            raise RuntimeError(f"the {self.family.name!r} trainer stopped at step {self.last_eval} of {total}")
        self.result.samples_per_s, self.result.steps_per_s = throughput(
            total, self.examples, self.clock.wall, self.warmup_examples, self.warmup[0])

    def record(self, step: int) -> None:
        """The means of the training statistics since the last record (one host sync), with how
        reports show them; TrainingDiverged if one that must stay finite did not."""
        values = self.statistics.pop(self.last_record)
        self.last_record = step
        for name, value in values.items():
            stat = self.family.statistics.get(name, Statistic(name))
            provenance = {"source": "train", "label": stat.label, "unit": stat.unit, "column": stat.column,
                          "panel": stat.panel}
            self.result.metrics.append(MetricRow(step, name, value, provenance))

    def evaluate(self, context: EvalContext, step: int) -> None:
        """The metric pass and the sample picture at an eval step."""
        started = time.perf_counter()
        contexts = eval_contexts(context, step)
        ctx = contexts[0][1]
        if ctx.sample is not None:
            picture = self.domain.factory(ctx.sample(self.domain.picture_samples), ctx.data)
            self.result.artifacts.append(Artifact(step, "samples", f"samples_step{step:07d}.png", picture))
        for variant, ctx in contexts:
            for config, metric, outputs in self.metrics:
                for row in metric_rows(config.name, config.kwargs(), outputs, self.cell.seed, step, metric(ctx),
                                       variant):
                    if (step, row.name) in self.scored:
                        raise ValueError(f"metric {config.name!r} reported {row.name!r} at step {step}, which "
                                         f"metric {self.scored[step, row.name]!r} already reported; fix: give "
                                         f"each entry differently named values, or keep one of them")
                    self.scored[step, row.name] = config.name
                    self.result.metrics.append(row)
        self.result.eval_time_s += time.perf_counter() - started

    def checkpoint(self, step: TrainStep, rng_at_eval: dict) -> None:
        """Save the trainer's and this loop's state at an eval step (if the family provides its
        state and the run keeps checkpoints)."""
        if self.checkpoints is None:
            return
        record = self.result.env["checkpoints"]
        if step.state is None:
            record["unsupported"] = (f"family {self.family.name!r} provides no trainer state "
                                     f"(TrainStep.state): no checkpoints")
            return
        started = time.perf_counter()
        self.checkpoints.save(self.cell.cell_id, step.step, {
            "trainer": step.state(), "loop": self.state(), "rng": global_rng_state(), "rng_at_eval": rng_at_eval})
        record["saved_steps"].append(step.step)
        record["save_time_s"] = record.get("save_time_s", 0.0) + time.perf_counter() - started

    def state(self) -> dict:
        """What this loop recorded up to the last eval step, as torch.load(weights_only=True)
        reads it back (pictures as uint8 tensors, provenance as JSON text)."""
        result = self.result
        return {
            "step": self.last_eval, "examples": self.examples, "warmup_examples": self.warmup_examples,
            "warmup": list(self.warmup), "clock": [self.clock.wall, self.clock.cpu],
            "eval_time_s": result.eval_time_s,
            "wall_time_s": result.wall_time_s + time.perf_counter() - self.started,
            "metrics": [[m.step, m.name, m.value, json.dumps(m.provenance, default=str)] for m in result.metrics],
            "artifacts": [{"step": a.step, "kind": a.kind, "filename": a.filename,
                           "data": torch.frombuffer(bytearray(a.data), dtype=torch.uint8)} for a in result.artifacts],
        }

    def restore(self, saved: dict, path) -> None:
        """Continue from a checkpoint: this loop's state, the result so far and the global RNGs;
        a DataError naming the file when it does not hold what state() writes."""
        try:
            loop, result = saved["loop"], self.result
            if loop["step"] != saved["step"] or saved["step"] not in self.cell.eval_steps:
                raise ValueError(f"step {loop['step']} is not an eval step of this cell")
            self.last_eval, self.examples = int(loop["step"]), int(loop["examples"])
            self.last_record = self.last_eval
            self.warmup_examples, self.warmup = int(loop["warmup_examples"]), tuple(map(float, loop["warmup"]))
            self.clock.wall, self.clock.cpu = map(float, loop["clock"])
            result.eval_time_s, result.wall_time_s = float(loop["eval_time_s"]), float(loop["wall_time_s"])
            result.metrics = [MetricRow(int(step), str(name), float(value), json.loads(provenance))
                              for step, name, value, provenance in loop["metrics"]]
            result.artifacts = [Artifact(int(a["step"]), str(a["kind"]), str(a["filename"]),
                                         a["data"].numpy().tobytes()) for a in loop["artifacts"]]
            self.scored = {(m.step, m.name): m.provenance["metric"] for m in result.metrics
                           if "metric" in m.provenance}
            set_global_rng_state(saved["rng"])
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
            raise DataError(f"checkpoint {path} does not hold a training loop state genbench can continue "
                            f"from ({type(exc).__name__}: {exc}); fix: delete it (the cell then trains "
                            f"from step 0), or run with --checkpoints none") from None
        result.env["checkpoints"]["resumed_from_step"] = self.last_eval


class LoopClock:
    """Wall-clock and process CPU time of the training loop, paused while evaluating."""

    def __init__(self):
        self.wall = self.cpu = 0.0
        self.resume()

    def resume(self) -> None:
        self.started = (time.perf_counter(), time.process_time())

    def pause(self) -> None:
        self.wall, self.cpu = self.read()

    def read(self) -> tuple[float, float]:
        """(wall, cpu) seconds so far, the running segment included."""
        return (self.wall + time.perf_counter() - self.started[0],
                self.cpu + time.process_time() - self.started[1])


class IntervalStatistics:
    """The statistics of each step since the last record, one row per step, kept on the device
    (no host sync per step); `pop` syncs once and returns their means."""

    def __init__(self, rows: int, device: torch.device, must_stay_finite: set[str]):
        self.rows, self.device, self.must_stay_finite = rows, device, must_stay_finite
        self.names: tuple[str, ...] | None = None
        self.buffer: torch.Tensor | None = None  # (rows, len(names)) float64
        self.count = 0

    def add(self, stats: Mapping[str, torch.Tensor]) -> None:
        names = tuple(stats)
        if self.names is None:
            self.names = names
            self.buffer = torch.empty(self.rows, len(names), dtype=torch.float64, device=self.device)
        elif names != self.names:
            raise ValueError(f"the trainer yielded statistics {names} after {self.names}; a trainer "
                             f"must yield the same statistics at every step")
        if names:
            with torch.no_grad():
                values = [torch.as_tensor(stats[n], device=self.device) for n in names]
                self.buffer[self.count].copy_(torch.stack(values))  # (len(names),)
        self.count += 1

    def pop(self, first_step: int) -> dict[str, float]:
        """Means over the interval that began after `first_step`; TrainingDiverged naming the
        first step at which a must-stay-finite statistic was NaN or inf."""
        rows = self.buffer[:self.count].cpu() if self.names else torch.empty(self.count, 0)  # (n, k)
        self.count = 0
        watched = [c for c, name in enumerate(self.names or ()) if name in self.must_stay_finite]
        bad = (~torch.isfinite(rows[:, watched])).nonzero()  # (k, 2): (row, watched column), row-major
        if len(bad):
            row, column = bad[0].tolist()
            raise TrainingDiverged(first_step + 1 + row, self.names[watched[column]])
        return dict(zip(self.names or (), rows.mean(0).tolist(), strict=True))


def throughput(steps: int, examples: int, seconds: float, warmup_examples: int,
               warmup_seconds: float) -> tuple[float | None, float | None]:
    """(samples/s, steps/s) over the steady part of training: the warm-up step is left out."""
    if steps > 1 and seconds > warmup_seconds:
        return (examples - warmup_examples) / (seconds - warmup_seconds), (steps - 1) / (seconds - warmup_seconds)
    if seconds > 0:
        return examples / seconds, steps / seconds
    return None, None


def eval_contexts(context: EvalContext, step: int) -> list[tuple[str, EvalContext]]:
    """("", the context at this step), then each of its variants by name (EvalContext.variants),
    each with a sampler that draws each n once."""
    main = share_samples(replace(context, step=step, variants={}))
    return [("", main), *((name, share_samples(replace(v, step=step))) for name, v in context.variants.items())]


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


@dataclass
class SuiteOutcome:
    skipped: int = 0  # already in the store as done or diverged
    results: list[CellResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def run_suite(cells: list[Cell], store: Store, executor: CellExecutor,
              on_result: Callable[[Cell, CellResult], None] | None = None,
              code: Mapping[str, CodeVersions] | None = None, pending: Pending | None = None,
              run_env: Mapping | None = None) -> SuiteOutcome:
    """Run the `pending` cells (by default those the store does not hold as done, nor, given
    each cell's current code versions, as done with other code: genbench.run.resume); record each
    result, with its code versions and `run_env` (what the driver knows of the run, e.g. its
    CPU policy) added to its env, as it finishes."""
    pending = (pending or pending_cells(cells, store, code)).run
    outcome = SuiteOutcome(skipped=len(cells) - len(pending))
    queue = iter(pending)
    in_flight: dict[Future, Cell] = {}
    while True:
        while len(in_flight) < executor.slots:
            cell = next(queue, None)
            if cell is None:
                break
            store.mark_started(cell)
            in_flight[executor.submit(cell)] = cell
        if not in_flight:
            return outcome
        finished, _ = wait(in_flight, timeout=0.2, return_when=FIRST_COMPLETED)
        executor.poll()
        for future in finished:
            cell = in_flight.pop(future)
            try:
                result = future.result()
            except Exception:  # the worker itself died or could not pickle: still recorded
                result = CellResult(cell.cell_id, "failed", error=traceback.format_exc())
            result.env.update(run_env or {})
            store.record_result(result, code=None if code is None else code[cell.cell_id])
            outcome.results.append(result)
            if on_result is not None:
                on_result(cell, result)
