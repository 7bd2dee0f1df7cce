"""pytest-benchmark suite for genbench.kernels: op x backend x size, forward+backward.

    pytest benchmarks/test_kernels_bench.py --benchmark-enable
    GENBENCH_BENCH_SIZES=1e3,1e5,1.6e7 pytest benchmarks/test_kernels_bench.py --benchmark-enable

Sizes are element counts (default: small, so the suite stays quick); the "memcpy" op is the
same-size copy to compare with. Every registered kernel backend usable here takes part (plugins'
too); Triton only on CUDA (the interpreter's timings mean nothing). For the full table with
memcpy ratios, bandwidth and memory (and a CSV), use `genbench kernels`.
"""

import os

import pytest
import torch

from genbench import kernels
from genbench.kernels.bench import BENCH_OPS, make_case, memcpy_step
from genbench.api.registry import load_plugins

SIZES = [int(float(s)) for s in os.environ.get("GENBENCH_BENCH_SIZES", "1e3,1e5").split(",")]
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _backends():
    """A parameter per registered backend, skipped with the reason where it cannot run here."""
    registry = load_plugins()
    for name in registry.names("kernel"):
        spec = registry.get("kernel", name)
        reason = spec.available()
        if reason is None and name == "triton" and DEVICE != "cuda":
            reason = "the Triton interpreter's timings mean nothing"
        yield pytest.param(spec, id=name, marks=pytest.mark.skipif(reason is not None, reason=str(reason)))


BACKENDS = list(_backends())


def _timed(step):
    """step, synchronised on CUDA so the benchmark times the kernels, not their launch."""
    if DEVICE != "cuda":
        return step
    return lambda: (step(), torch.cuda.synchronize())


@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"n{n}")
def test_memcpy(benchmark, size):
    benchmark.group = f"n{size}"
    benchmark(_timed(memcpy_step(size, DEVICE)))


@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"n{n}")
@pytest.mark.parametrize("spec", BACKENDS)
@pytest.mark.parametrize("op", BENCH_OPS)
def test_kernel(benchmark, op, spec, size):
    benchmark.group = f"n{size}"
    with kernels.use(spec.backend()):
        case = make_case(op, size, DEVICE)
        case.step()  # compile and warm up outside the timing
        benchmark(_timed(case.step))
