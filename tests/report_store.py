"""A results store written through the Store API with known numbers, for the HTML report's tests
and benchmarks/bench_report.py: groups (one objective label each) x seeds on a few datasets, a
scored metric with its outputs (a real-vs-real floor among them), training statistics (two of them in a panel), sample pictures
at every eval step, resolved configurations, the suite's --set overrides, and optionally a
failed and a diverged cell."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from genbench.api.result import Artifact, CellResult, MetricRow
from genbench.results.store import Store

OUTPUTS = {"score": {"higher_is_better": True, "label": "score", "unit": "%"},
           "distance": {"higher_is_better": False, "label": "distance", "unit": "nats"},
           "distance_floor": {"higher_is_better": False, "label": "distance floor (real vs real)", "unit": "nats"}}
SETTINGS = ("train.steps=20",)  # the --set overrides the store records for its suite
PANEL = "diagnostics: gradient and D(G(z))"


@dataclass(frozen=True)
class FakeCell:
    """What Store.record_suite and mark_started read of a planned cell."""

    cell_id: str
    seed: int
    axis_labels: dict = field(hash=False)

    def resolved(self) -> dict:
        """A configuration shaped as genbench.suite.plan's: beta trains with a larger lr."""
        objective = self.axis_labels["objective"]
        return {"dataset": {"name": self.axis_labels["dataset"], "params": {}},
                "model": {"name": "net", "params": {"width": 8}},
                "objective": {"name": objective, "params": {"k": 1}},
                "optimizer": {"name": "adam", "params": {"beta1": 0.5, "eps": 1e-08}},
                "metrics": [{"name": "quality", "params": {"n": 100}}],
                "train": {"steps": 20, "batch_size": 32, "lr": 0.0004 if objective == "beta" else 0.0002},
                "eval_steps": [10, 20], "seed": self.seed}


def picture(step: int, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), ((step * 37) % 256, (seed * 91) % 256, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def score(group: int, seed: int, step: int) -> float:
    """Group g's score rises with the step; groups lie 10 apart, seeds within 1."""
    return 10.0 * group + seed * 0.5 + step / 100


def build_store(directory: Path, datasets=("toy",), objectives=("alpha", "beta"), seeds=(0, 1, 2),
                eval_steps=(10, 20), nan_seed: tuple[str, int] | None = ("beta", 2),
                failures: bool = True, kernels=("eager",), draw=picture) -> Path:
    """Write the store; `nan_seed` (objective, seed) has a NaN distance at its last step; `draw(step,
    seed)` makes the PNG bytes of each sample picture."""
    store = Store(directory)
    cells = []
    for dataset in datasets:
        for objective in objectives:
            for kernel in kernels:
                for seed in seeds:
                    axes = {"dataset": dataset, "model": "net", "objective": objective, "kernel": kernel}
                    cells.append(FakeCell(f"{dataset}-{objective}-{kernel}-{seed}", seed, axes))
    extra = []
    if failures:
        extra = [FakeCell("toy-broken-0", 0, {"dataset": datasets[0], "model": "net", "objective": "broken",
                                              "kernel": kernels[0]}),
                 FakeCell("toy-wild-0", 0, {"dataset": datasets[0], "model": "net", "objective": "wild",
                                            "kernel": kernels[0]})]
    store.record_suite("synthetic", "synthetic.toml", "a store written through the Store API", cells + extra,
                       SETTINGS)
    for cell in cells:
        store.mark_started(cell)
        group = objectives.index(cell.axis_labels["objective"])
        result = CellResult(cell.cell_id, "done", steps=eval_steps[-1], wall_time_s=4.0, train_time_s=3.0,
                            warmup_time_s=0.25 + group, train_cpu_s=2.75 - group, samples_per_s=1000.0 * (1 + group) + cell.seed,
                            steps_per_s=10.0 + group, peak_rss_mb=300.0 + group,
                            env={"genbench": "0.1.0", "torch": "2.13.0", "git_sha": "abc123", "machine": "x86_64",
                                 "cuda_device": None,
                                 "cpu_count": 2, "torch_threads": 1, "device": "cpu", "load_start": 0.5,
                                 "load_end": 0.7, "cpu_policy": {"workers": 1, "threads": 1}})
        for step in eval_steps:
            provenance = {"metric": "quality", "params": {"n": 100}, "seed": cell.seed, "step": step,
                          "outputs": OUTPUTS, "extractor": "tiny-net", "extractor_accuracy": 0.971234,
                          "n_real": 100, "n_fake": 100, "inception_path": ""}
            value = score(group, cell.seed, step)
            last = step == eval_steps[-1]
            nan = nan_seed == (cell.axis_labels["objective"], cell.seed) and last
            result.metrics += [MetricRow(step, "score", value, provenance),
                               MetricRow(step, "distance", math.nan if nan else 100.0 - value, provenance),
                               MetricRow(step, "distance_floor", 1.0 + cell.seed, provenance)]
            for name, label, panel in (("grad", "|grad G|", PANEL), ("d_fake", "D(G(z))", PANEL), ("loss", "loss", "")):
                train = {"source": "train", "label": label, "unit": "", "column": bool(panel), "panel": panel}
                result.metrics.append(MetricRow(step, name, value / 7 + len(name), train))
            result.artifacts.append(Artifact(step, "samples", f"samples_step{step:07d}.png", draw(step, cell.seed)))
        store.record_result(result)
    if failures:
        store.mark_started(extra[0])
        store.record_result(CellResult("toy-broken-0", "failed",
                                       error="Traceback (most recent call last):\nValueError: the model blew up"))
        store.mark_started(extra[1])
        store.record_result(CellResult("toy-wild-0", "diverged", steps=10, diverged_step=7,
                                       error="loss_d is not finite at step 7"))
    store.close()
    return directory
