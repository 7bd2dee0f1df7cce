"""Kernel benchmarks: forward+backward time of each op per backend, against a same-size memcpy.

Each case runs inside `use(backend)`, as a cell does: the loss ops are called as objectives call
them; the channel ops (bias_act, batchnorm_act) as a one-op network passed through
`prepare` (so the compiled backend measures them compiled into a network, as trainers run them).
For each op, size (elements) and backend this measures:
- the median time with its 20th/80th percentiles;
- the ratio to a memcpy of the same number of elements into an existing buffer, measured in the
  same run (the bandwidth floor); the same copy into a freshly allocated buffer (provider
  "torch-alloc") shows what allocating an output costs;
- the achieved bandwidth under a minimal-traffic model (TRAFFIC) and its share of the device's
  bandwidth (CUDA: the spec peak when torch reports it; otherwise, and on CPU, the memcpy's);
- the bytes saved for backward (counted with torch.autograd.graph.saved_tensors_hooks);
- the peak memory of one step (CUDA: the allocator's peak; CPU on Linux: the growth of the peak
  resident set).
Rows follow Liger-Kernel's CSV schema (provider = backend name). Timings of the Triton
interpreter (TRITON_INTERPRET=1) mean nothing.
"""

import csv
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn

from . import functional as K
from .backend import Backend, prepare, use

BENCH_OPS = ("gan_loss", "vae_loss", "bias_act", "batchnorm_act")
FIELDS = ("kernel", "provider", "mode", "metric", "unit", "x", "median", "p20", "p80", "machine",
          "version")
# bytes an ideal fused forward+backward moves, in units of the input's size (see make_case)
TRAFFIC = {"gan_loss": 2, "vae_loss": 3, "bias_act": 5, "batchnorm_act": 8, "memcpy": 2}


class Case(NamedTuple):
    step: Callable[[], None]  # forward + backward
    forward: Callable[[], Tensor]  # forward only, for counting saved tensors
    numel: int  # elements of the main input (size rounded to the op's shape)


def make_case(op: str, size: int, device: str) -> Case:
    """Forward+backward of `op` over about `size` float32 elements, as zero-argument calls for
    the active backend, to be run inside the same use() (vae_loss, bias_act and batchnorm_act
    round size down to a multiple of 1024, and the channel ops up to at least 2048).

    gan_loss: generator nonsaturating loss of (N,) logits (ideal traffic: read x, write grad).
    vae_loss: (N/1024, 1024) logits and targets, 32 latents (read logits, targets; write grad).
    bias_act: (N/1024, 64, 4, 4) LeakyReLU (fwd read x, write y; bwd read grad_y, y, write grad).
    batchnorm_act: (N/1024, 64, 4, 4) BN + ReLU (fwd reads x twice, writes y; bwd reads
    grad_y and x twice, writes grad).
    """
    g = torch.Generator().manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=g).to(device)

    if op == "gan_loss":
        x = randn(size)
        return _case(lambda x: K.generator_loss(x, "nonsaturating"), [x])
    if op == "vae_loss":
        rows = max(1, size // 1024)
        recon, target = randn(rows, 1024), torch.rand(rows, 1024, generator=g).to(device)
        mu, logvar = randn(rows, 32), randn(rows, 32)
        return _case(lambda r, m, lv: K.vae_loss(r, target, m, lv), [recon, mu, logvar])
    batch = max(2, size // 1024)
    x, params, grad_y = randn(batch, 64, 4, 4), [randn(64), randn(64)], randn(batch, 64, 4, 4)
    if op == "bias_act":
        return _case(prepare(Network(K.bias_act)), [x, params[1]], grad_y)
    if op == "batchnorm_act":
        return _case(prepare(Network(K.batchnorm_act)), [x, *params], grad_y)
    raise ValueError(f"unknown benchmark op {op!r}; choose one of {', '.join(BENCH_OPS)}")


class Network(nn.Module):
    """A network of one op: forward(*inputs) = fn(*inputs)."""

    def __init__(self, fn: Callable[..., Tensor]):
        super().__init__()
        self.fn = fn

    def forward(self, *inputs: Tensor) -> Tensor:
        return self.fn(*inputs)


def _case(fn, inputs: list[Tensor], grad_output: Tensor | None = None) -> Case:
    """Case of fn(*inputs) (a loss, or an output backpropagated with grad_output)."""
    leaves = [t.detach().requires_grad_() for t in inputs]  # no copies

    def step():
        fn(*leaves).backward(grad_output)
        for t in leaves:  # as optimizer.zero_grad() does; frees the gradients
            t.grad = None

    return Case(step, lambda: fn(*leaves), inputs[0].numel())


def memcpy_step(size: int, device: str, allocate: bool = False) -> Callable[[], None]:
    """Copy `size` float32 elements into an existing buffer (the floor), or into a new one."""
    src = torch.randn(size, device=device)
    dst = torch.empty_like(src)
    return src.clone if allocate else lambda: dst.copy_(src)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


WARMUP_STEPS = 5  # at least: compile, autotune, and let the allocator and the OS settle
MAX_WARMUP_STEPS = 50
SETTLED = 1.25  # warm-up ends once a step takes at most this times the fastest warm-up step


def _one_step_ms(step: Callable[[], None], device: str) -> float:
    start = time.perf_counter()
    step()
    _sync(device)
    return (time.perf_counter() - start) * 1e3


def _time_ms(step: Callable[[], None], repeats: int, device: str) -> list[float]:
    """Wall time of `repeats` steps after untimed warm-up steps: at least WARMUP_STEPS, then
    until a step is within SETTLED of the fastest so far (at most MAX_WARMUP_STEPS). A fixed
    count is not enough: a fresh process's first few hundred MB of new memory can fault several
    times slower than later ones (seen here: 43 ms, then 7 ms, to allocate and fill 64 MB), and
    how many are slow depends on the machine's state."""
    warm = [_one_step_ms(step, device) for _ in range(WARMUP_STEPS)]
    while warm[-1] > SETTLED * min(warm) and len(warm) < MAX_WARMUP_STEPS:
        warm.append(_one_step_ms(step, device))
    return [_one_step_ms(step, device) for _ in range(repeats)]


def _saved_bytes(forward: Callable[[], Tensor]) -> int:
    """Bytes of the distinct storages autograd saves for backward during forward()."""
    storages = {}

    def pack(t: Tensor):
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = forward()
    del out
    return sum(storages.values())


def _peak_bytes(step: Callable[[], None], device: str) -> int | None:
    """Peak extra memory during one step, or None where it cannot be measured."""
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    try:  # Linux: writing 5 to clear_refs resets the peak resident set (VmHWM)
        base = _proc_status_kb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        step()
        return max(0, _proc_status_kb("VmHWM") - base) * 1024
    except OSError:
        return None


def _proc_status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def _peak_bandwidth(device: str, memcpy_gbs: float) -> tuple[float, str]:
    """(GB/s, unit of a percentage of it): the device's spec peak (double data rate x bus
    width) if torch reports it, else the measured memcpy bandwidth."""
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        clock_khz = getattr(props, "memory_clock_rate", 0)
        bus_bits = getattr(props, "memory_bus_width", 0)
        if clock_khz and bus_bits:
            return 2 * clock_khz * 1e3 * bus_bits / 8 / 1e9, "% of spec peak"
    return memcpy_gbs, "% of memcpy"


def machine_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    cpu = platform.processor() or platform.machine()
    return f"{cpu} cpu, {torch.get_num_threads()} threads"


def run_kernel_benchmarks(sizes: Iterable[int], backends: Sequence[Backend],
                          ops: Iterable[str] = BENCH_OPS, repeats: int = 10,
                          csv_path: str | os.PathLike | None = None,
                          on_case: Callable[[int, int, str, str, int, float], None] | None = None) -> list[dict]:
    """Benchmark ops x backends x sizes on CUDA if present, else CPU, each case inside
    use(backend); rows in Liger's schema (kernel, provider, mode, metric, unit, x, median, p20,
    p80, machine, version). The caller passes only backends that can run here. `on_case(done,
    total, op, backend, size, median_ms)` is called as each case is measured (for progress)."""
    ops = list(ops)
    for name in ops:
        if name not in BENCH_OPS:
            raise ValueError(f"unknown benchmark op {name!r}; choose from {', '.join(BENCH_OPS)}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    machine, version = machine_name(device), f"torch {torch.__version__}"
    rows = []
    sizes = list(sizes)
    total, done = len(sizes) * len(ops) * len(backends), 0

    def add(kernel, provider, metric, unit, x, values):
        values = values if isinstance(values, list) else [values]
        q = statistics.quantiles(values, n=5) if len(values) > 1 else values * 4
        row = (kernel, provider, "full", metric, unit, x, statistics.median(values), q[0],
               q[3], machine, version)
        rows.append(dict(zip(FIELDS, row, strict=True)))

    for size in sizes:
        memcpy = _time_ms(memcpy_step(size, device), repeats, device)
        memcpy_ms = statistics.median(memcpy)
        memcpy_gbs = TRAFFIC["memcpy"] * size * 4 / memcpy_ms / 1e6
        peak_gbs, pct_unit = _peak_bandwidth(device, memcpy_gbs)
        add("memcpy", "torch", "time", "ms", size, memcpy)
        add("memcpy", "torch", "bandwidth", "GB/s", size, memcpy_gbs)
        clone = _time_ms(memcpy_step(size, device, allocate=True), repeats, device)
        add("memcpy", "torch-alloc", "time", "ms", size, clone)  # what a fresh output costs
        add("memcpy", "torch-alloc", "memcpy_ratio", "x", size, [t / memcpy_ms for t in clone])
        for op in ops:
            for backend in backends:
                with use(backend):
                    name = backend.name
                    case = make_case(op, size, device)
                    times = _time_ms(case.step, repeats, device)
                    median = statistics.median(times)
                    gbs = TRAFFIC[op] * case.numel * 4 / median / 1e6
                    add(op, name, "time", "ms", size, times)
                    add(op, name, "memcpy_ratio", "x", size, [t / memcpy_ms for t in times])
                    add(op, name, "bandwidth", "GB/s", size, gbs)
                    add(op, name, "bandwidth_pct", pct_unit, size, 100 * gbs / peak_gbs)
                    add(op, name, "saved_for_backward", "bytes", size, _saved_bytes(case.forward))
                    peak = _peak_bytes(case.step, device)
                    if peak is not None:
                        add(op, name, "peak_memory", "bytes", size, peak)
                    del case
                done += 1
                if on_case is not None:
                    on_case(done, total, op, name, size, median)
    if csv_path is not None:
        write_csv(rows, csv_path)
    return rows


def write_csv(rows: list[dict], path: str | os.PathLike) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


TABLE_HEADERS = ("kernel", "size", "provider", "median ms", "p20-p80 ms", "x memcpy", "% bw", "saved MB", "peak MB")


def table_cells(rows: list[dict]) -> list[list[str]]:
    """One row of TABLE_HEADERS per (kernel, size, provider): time median [p20, p80], x memcpy,
    % bandwidth, MB saved for backward, MB peak; '-' where a metric was not measured."""
    by_key: dict[tuple, dict] = {}
    for row in rows:
        by_key.setdefault((row["kernel"], row["x"], row["provider"]), {})[row["metric"]] = row

    def value(metrics, name, fmt, scale=1.0):
        return format(metrics[name]["median"] * scale, fmt) if name in metrics else "-"

    return [[kernel, _size(size), provider, f"{m['time']['median']:.3f}",
             f"{m['time']['p20']:.3f}-{m['time']['p80']:.3f}", value(m, "memcpy_ratio", ".1f"),
             value(m, "bandwidth_pct", ".0f"), value(m, "saved_for_backward", ".1f", 1e-6),
             value(m, "peak_memory", ".1f", 1e-6)]
            for (kernel, size, provider), m in by_key.items()]


def format_table(rows: list[dict]) -> str:
    """table_cells as fixed-width text (for a script's log; `genbench kernels` fits it to the
    terminal)."""
    widths = (14, 10, 12, 11, 18, 10, 7, 10, 9)
    left = {0, 2}

    def line(cells) -> str:
        return "".join((f"{c:<{w}}" if i in left else f"{c:>{w}}") + ("  " if i == 1 else "")
                       for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    header = line(TABLE_HEADERS)
    return "\n".join([header, "-" * len(header), *(line(cells) for cells in table_cells(rows))])


def _size(n: int) -> str:
    exponent = int(math.log2(n)) if n > 0 else 0
    return f"2^{exponent}" if n == 2**exponent else str(n)
