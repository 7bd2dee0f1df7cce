"""What a suite's cells would allocate, checked against their data and this machine's memory
before any work.

The estimates use only what is known without loading or building anything: the dataset's
DataInfo (examples per split, the shape of one, classes), the model's weights as its spec
counts them from its parameters (ModelSpec.weights) and the parameters that count examples of
the data (Param(examples=True), e.g. the samples a metric draws). Each is a lower bound of what
a cell allocates (float32 values; a model's weights and their gradients, before any optimiser
state or activation), so a refusal is never wrong; a cell within the estimates that still
outgrows its worker meets the run's memory limit (genbench.suite.limits) instead.
"""

from __future__ import annotations

import math

import psutil

from genbench.api.specs import DataInfo
from genbench.suite.limits import format_bytes

FLOAT_BYTES = 4
TRAINED_COPIES = 2  # a trained weight is held at least twice: itself and its gradient
MAX_CLASSES = 2**16  # labels 0..K-1 with more classes than this are not class indices


def memory_budget(max_memory: int | None) -> tuple[int, str]:
    """(bytes one cell may hold, what says so): the suite's [train] max_memory if it sets one
    (a cluster's workers may hold more than this machine), else this machine's memory."""
    if max_memory is not None:
        return max_memory, f"the suite's max_memory of {format_bytes(max_memory)}"
    total = psutil.virtual_memory().total
    return total, f"this machine's {format_bytes(total)} of memory"


def example_bytes(info: DataInfo) -> int:
    """One example of the data as float32."""
    return math.prod(info.shape) * FLOAT_BYTES


def data_bytes(info: DataInfo) -> int:
    """Both splits, loaded as float32 (a split of unknown size counts 0)."""
    return ((info.n_train or 0) + (info.n_test or 0)) * example_bytes(info)


def training_bytes(weights: int) -> int:
    """A model of this many weights while it trains: the weights and their gradients."""
    return weights * FLOAT_BYTES * TRAINED_COPIES


def too_big(what: str, needed: int, budget: tuple[int, str]) -> str | None:
    """Why `what` cannot be held, or None when `needed` bytes fit the budget."""
    if needed <= budget[0]:
        return None
    return f"{what} needs at least {format_bytes(needed)}, more than {budget[1]}"
