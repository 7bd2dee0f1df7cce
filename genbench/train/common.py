"""What every family trainer shares: minibatches, eval noise, interval statistics, the clock.

A trainer times only its training loop (evaluation excluded) and reports the first step as
warm-up (allocation, compilation), which throughput leaves out; statistics are recorded at each
eval step as their averages since the previous one.
"""

from __future__ import annotations

import math
import time

import torch

from genbench import TrainingDiverged

EVAL_NOISE_OFFSET = 1_000_003  # eval noise stream: seed + offset, apart from the training stream
SAMPLE_CHUNK = 1024  # examples per forward pass when sampling or reconstructing for metrics


class Minibatches:
    """Epochs of shuffled minibatches drawn from `data` (N, ...) with a seeded generator."""

    def __init__(self, data: torch.Tensor, batch_size: int, generator: torch.Generator):
        if len(data) < batch_size:
            raise ValueError(f"batch_size {batch_size} is larger than the {len(data)} training examples")
        self.data, self.batch_size, self.generator = data, batch_size, generator
        self.order, self.position = torch.empty(0, dtype=torch.long), 0

    def next(self) -> torch.Tensor:
        if self.position + self.batch_size > len(self.order):
            self.order = torch.randperm(len(self.data), generator=self.generator)
            self.position = 0
        index = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return self.data[index.to(self.data.device)]  # (m, *shape)


class IntervalMeans:
    """Sums of per-step statistics since the last eval step; `pop()` returns their means."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, stats: dict[str, float]) -> None:
        for name, value in stats.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.count += 1

    def pop(self) -> dict[str, float]:
        means = {name: total / self.count for name, total in self.sums.items()}
        self.sums, self.count = {}, 0
        return means


class TrainClock:
    """Accumulates training-loop time; the first step's time is kept apart as warm-up."""

    def __init__(self):
        self.total = 0.0
        self.warmup = 0.0
        self.started = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()

    def stop(self, step: int) -> None:
        self.total += time.perf_counter() - self.started
        if step == 1:
            self.warmup = self.total


def check_finite(step: int, stats: dict[str, float], names: tuple[str, ...]) -> None:
    """TrainingDiverged naming the first of `names` whose value is NaN or inf."""
    for name in names:
        if not math.isfinite(stats[name]):
            raise TrainingDiverged(step, name)
