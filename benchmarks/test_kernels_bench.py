"""pytest-benchmark suite for genbench.kernels: op x provider x size, forward+backward.

    pytest benchmarks/test_kernels_bench.py --benchmark-enable
    GENBENCH_BENCH_SIZES=1e3,1e5,1.6e7 pytest benchmarks/test_kernels_bench.py --benchmark-enable

Sizes are element counts (default: small, so the suite stays quick); the "memcpy" op is the
same-size copy to compare with. Triton runs on CUDA only. For the full table with memcpy ratios,
bandwidth and memory (and a CSV), use genbench.kernels.bench.run_kernel_benchmarks.
"""

import os

import pytest
import torch

from genbench.kernels.bench import BENCH_OPS, make_case, memcpy_step

SIZES = [int(float(s)) for s in os.environ.get("GENBENCH_BENCH_SIZES", "1e3,1e5").split(",")]
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
PROVIDERS = [
    "eager",
    "compiled",
    pytest.param("triton", marks=pytest.mark.skipif(DEVICE != "cuda", reason="Triton needs CUDA")),
]


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
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("op", BENCH_OPS)
def test_kernel(benchmark, op, provider, size):
    benchmark.group = f"n{size}"
    case = make_case(op, size, provider, DEVICE)
    case.step()  # compile and warm up outside the timing
    benchmark(_timed(case.step))
