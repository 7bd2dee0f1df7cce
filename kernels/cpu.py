"""The fused CPU path: cpu_kernels.c, built for this machine, behind fused.py's Kernels protocol.

The C source is compiled on first use with the system C compiler ($CC, else cc, gcc or clang)
at -O3 for this CPU (-march=native, dropped if the compiler refuses it), once for float and
once for double, into $GENBENCH_CACHE/kernels (default ~/.cache/genbench), keyed by the
source, compiler, flags and CPU. Builds are written to a temporary name and renamed, so
processes building at once do not clash. A build takes about a second; nothing is compiled at import.

Work is split into fixed chunks (CHUNK elements, or the whole rows or samples nearest to it)
and the chunks into one contiguous run per thread (torch.get_num_threads() threads; ctypes
releases the GIL while C runs). Partial sums are kept per chunk and added in chunk order, so
results are bitwise the same for any number of threads.
"""

import ctypes
import functools
import hashlib
import itertools
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor

from .fused import Term

SOURCE = Path(__file__).with_name("cpu_kernels.c")
HUGE_PAGE = 2 << 20  # bytes; outputs of two or more are advised onto transparent huge pages
MADV_HUGEPAGE = 14
CHUNK = 1 << 16  # elements per chunk: the unit of work and of partial sums
MIN_CHUNKS_PER_THREAD = 4
FLAGS = ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fPIC", "-shared"]
TERM_OPS = {"softplus": 0, "square": 1, "hinge": 2, "linear": 3}

P, I64 = ctypes.c_void_p, ctypes.c_int64
SIGNATURES = {  # ctypes argument types of each kernel; "r" marks `real` (float or double)
    "gan_terms": [P, P, P, P, I64, I64, I64, ctypes.c_int, "r", "r", "r"],
    "vae_terms": [P] * 8 + [I64, I64, I64, I64, "r", "r"],
    "bias_act_forward": [P, P, P, I64, I64, I64, I64, "r"],
    "bias_act_grad": [P, P, P, P, I64, I64, I64, I64, I64, "r"],
    "channel_moments": [P, P, P, I64, I64, I64, I64, I64],
    "batchnorm_apply": [P, P, P, P, P, I64, I64, I64, I64, "r"],
    "batchnorm_grad_sums": [P] * 7 + [I64, I64, I64, I64, I64, "r"],
    "batchnorm_grad_input": [P] * 9 + [I64, I64, I64, I64, "r"],
}


class CompilerError(RuntimeError):
    """The C kernels could not be built; the message says why and what to do."""


def find_compiler() -> str | None:
    """The path of $CC if set, else of the first of cc, gcc, clang on PATH; None if not found."""
    names = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    return next((path for path in map(shutil.which, names) if path), None)


def missing_compiler() -> str:
    """Why the CPU kernels cannot be built when find_compiler() finds nothing, and the fix."""
    return (f"the compiled backend builds its CPU kernels with a C compiler; "
            f"{os.environ.get('CC') or 'cc, gcc or clang'} was not found: install one or set CC")


def cache_dir() -> Path:
    """$GENBENCH_CACHE/kernels (genbench's cache, default ~/.cache/genbench)."""
    return Path(os.environ.get("GENBENCH_CACHE") or Path.home() / ".cache" / "genbench") / "kernels"


def cpu_fingerprint() -> str:
    """What -march=native depends on: the CPU's model and feature flags (Linux), else the
    platform's processor name; a cache shared between machines then never serves one CPU's
    build to another."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return "\n".join(next(line for line in lines if line.startswith(field))
                         for field in ("model name", "flags"))
    except (OSError, StopIteration):
        return f"{platform.machine()} {platform.processor()}"


def _build(compiler: str, dtype_flags: list[str]) -> Path:
    """Compile SOURCE to a shared library in the cache (or reuse it); return its path."""
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    errors = []
    for arch in (["-march=native"], []):
        flags = FLAGS + arch + dtype_flags
        key = hashlib.sha256("\0".join([SOURCE.read_text(), compiler, version, *flags,
                                        sys.platform, cpu_fingerprint()]).encode()).hexdigest()[:16]
        target = cache_dir() / f"cpu_kernels-{key}.so"
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            out = Path(tmp) / target.name
            result = subprocess.run([compiler, *flags, str(SOURCE), "-o", str(out), "-lm"],
                                    capture_output=True, text=True)
            if result.returncode == 0:
                os.replace(out, target)
                return target
            errors.append(result.stderr.strip())
    raise CompilerError(f"building the compiled backend's CPU kernels with {compiler} failed:\n"
                        f"{errors[-1]}\nuse backend 'eager', or set CC to a working C compiler")


@functools.cache
def library(dtype: torch.dtype) -> ctypes.CDLL:
    """The kernels for float32 or float64 tensors, built on first use."""
    compiler = find_compiler()
    if compiler is None:
        raise CompilerError(f"{missing_compiler()}, or use backend 'eager'")
    lib = ctypes.CDLL(str(_build(compiler, ["-DREAL_DOUBLE"] if dtype == torch.float64 else [])))
    real = ctypes.c_double if dtype == torch.float64 else ctypes.c_float
    for name, argtypes in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = [real if a == "r" else a for a in argtypes]
        fn.restype = None
    return lib


def _pool(threads: int) -> ThreadPoolExecutor:
    """The worker threads of this process (a forked child gets its own: threads do not survive
    fork, and an executor inherited from the parent would wait forever)."""
    return _pool_of(threads, os.getpid())


@functools.cache
def _pool_of(threads: int, pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="genbench-kernels")


def _parallel(call, chunks: int, chunk_size: int, total: int) -> None:
    """call(start, count, first_chunk) over [0, total) in `chunks` chunks of chunk_size units,
    one contiguous run of whole chunks per thread, the calling thread taking the first run.
    A thread gets at least MIN_CHUNKS_PER_THREAD chunks: below that, waking a thread costs
    more than it saves."""
    threads = min(torch.get_num_threads(), chunks // MIN_CHUNKS_PER_THREAD)
    if threads <= 1:
        call(0, total, 0)
        return
    bounds = [round(chunks * t / threads) for t in range(threads + 1)]
    runs = [(lo * chunk_size, min(hi * chunk_size, total) - lo * chunk_size, lo)
            for lo, hi in itertools.pairwise(bounds)]
    futures = [_pool(threads - 1).submit(call, *run) for run in runs[1:]]
    call(*runs[0])
    for future in futures:
        future.result()


@functools.cache
def _madvise():
    """libc's madvise on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    fn = ctypes.CDLL(None).madvise
    fn.argtypes, fn.restype = [P, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return fn


def transparent_huge_pages() -> str | None:
    """The kernel's THP mode (always, madvise or never), or None where there is none to read."""
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return None
    return text[text.index("[") + 1:text.index("]")] if "[" in text else None


def empty_like(t: Tensor) -> Tensor:
    """torch.empty_like, with large outputs advised onto transparent huge pages (Linux).

    A fresh large allocation is a fresh mapping, and first touching it costs one page fault per
    4 KB page: for 64 MB that is about 6 memcpys of the same size. With huge pages it is 512x
    fewer faults; the advice is ignored where THP is off, and is harmless on reused memory.
    """
    out = torch.empty_like(t)
    madvise = _madvise()
    if madvise is not None and out.nbytes >= 2 * HUGE_PAGE:
        start = -(-out.data_ptr() // HUGE_PAGE) * HUGE_PAGE  # whole huge pages inside `out`
        end = (out.data_ptr() + out.nbytes) // HUGE_PAGE * HUGE_PAGE
        if end > start:
            madvise(start, end - start, MADV_HUGEPAGE)
    return out


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _sum_chunks(partial: Tensor) -> Tensor:
    """Per-chunk partial sums (chunks, ...) added over the chunks (a lone chunk as is: summing
    a small tensor costs more than the kernel on small inputs)."""
    return partial[0] if partial.shape[0] == 1 else partial.sum(0)


def _chunk_samples(x: Tensor) -> int:
    """Samples per chunk for the channel ops on x (B, C, S): about CHUNK elements."""
    return max(1, CHUNK // max(1, x.shape[1] * x.shape[2]))


class CpuKernels:
    """fused.Kernels for contiguous float32/float64 CPU tensors (see fused.py for the shapes)."""

    def gan_terms(self, x: Tensor, term: Term, scale: float, reduce: bool):
        n = x.numel()
        grad = empty_like(x)
        terms = None if reduce else empty_like(x)
        chunks = max(1, math.ceil(n / CHUNK))
        partial = (ctypes.c_double * chunks)()  # zeros
        fn = library(x.dtype).gan_terms

        def call(start, count, first):
            fn(_ptr(x), _ptr(terms), _ptr(grad), ctypes.addressof(partial) + 8 * first, start,
               count, CHUNK, TERM_OPS[term.op], term.k, term.a, scale)

        _parallel(call, chunks, CHUNK, n)
        return (torch.tensor(sum(partial), dtype=x.dtype) if reduce else terms), grad

    def vae_terms(self, recon, target, mu, logvar, beta, scale, reduce):
        rows, d = recon.shape
        z = mu.shape[1]
        g_recon, g_mu, g_logvar = map(empty_like, (recon, mu, logvar))
        row_loss = recon.new_empty(rows)
        fn = library(recon.dtype).vae_terms
        per_chunk = max(1, CHUNK // max(1, d))

        def call(start, count, _first):
            fn(*map(_ptr, (recon, target, mu, logvar, row_loss, g_recon, g_mu, g_logvar)),
               start, count, d, z, beta, scale)

        _parallel(call, max(1, math.ceil(rows / per_chunk)), per_chunk, rows)
        return (row_loss.sum() if reduce else row_loss), g_recon, g_mu, g_logvar

    def bias_act_forward(self, x, bias, slope):
        y = empty_like(x)
        self._elementwise("bias_act_forward", x, (x, bias, y), slope)
        return y

    def bias_act_grad(self, grad_y, y, slope):
        grad_x = empty_like(y)
        grad_bias = self._channel_sums("bias_act_grad", y, (grad_y, y, grad_x), slope, sums=1)[0]
        return grad_x, grad_bias.to(y.dtype)

    def _channel_sums(self, name: str, x: Tensor, tensors: tuple, *trailing, sums: int = 2) -> Tensor:
        """The (sums, C) float64 per-channel sums that kernel `name` (bias_act_grad: 1;
        channel_moments, batchnorm_grad_sums: 2) computes over x (B, C, S)."""
        batch, channels, s = x.shape
        per_chunk = _chunk_samples(x)
        chunks = max(1, math.ceil(batch / per_chunk))
        partial = torch.zeros(chunks, sums, channels, dtype=torch.float64)
        fn = getattr(library(x.dtype), name)

        def call(start, count, first):
            fn(*map(_ptr, tensors), _ptr(partial[first:]), start, count, per_chunk, channels, s,
               *trailing)

        _parallel(call, chunks, per_chunk, batch)
        return _sum_chunks(partial)

    def _elementwise(self, name: str, x: Tensor, tensors: tuple, slope: float) -> None:
        """Run the per-element channel kernel `name` over x (B, C, S) in parallel."""
        batch, channels, s = x.shape
        fn = getattr(library(x.dtype), name)

        def call(start, count, _first):
            fn(*map(_ptr, tensors), start, count, channels, s, slope)

        per_chunk = _chunk_samples(x)
        _parallel(call, max(1, math.ceil(batch / per_chunk)), per_chunk, batch)

    def batchnorm_forward(self, x, weight, bias, eps, slope):
        n = x.shape[0] * x.shape[2]
        shift = x[0, :, 0].contiguous()  # (C,)
        sums = self._channel_sums("channel_moments", x, (x, shift))  # (2, C) float64
        shifted_mean = sums[0] / n
        var = (sums[1] / n - shifted_mean**2).clamp_min(0).to(x.dtype)  # (C,)
        mean = (shifted_mean + shift).to(x.dtype)  # (C,)
        gain = torch.rsqrt(var + eps) * weight  # (C,), as batchnorm_backward recomputes it
        y = empty_like(x)
        self._elementwise("batchnorm_apply", x, (x, mean, gain, bias, y), slope)
        return y, mean, var

    def batchnorm_backward(self, grad_y, x, mean, rstd, weight, bias, slope):
        n = x.shape[0] * x.shape[2]
        gain = rstd * weight  # (C,)
        sums = self._channel_sums("batchnorm_grad_sums", x, (grad_y, x, mean, rstd, gain, bias),
                                  slope)
        grad_b, grad_w = sums[0].to(x.dtype), sums[1].to(x.dtype)  # (C,), (C,)
        grad_x = empty_like(x)
        self._elementwise("batchnorm_grad_input", x,
                          (grad_y, x, mean, rstd, gain, bias, grad_b / n, grad_w / n, grad_x),
                          slope)
        return grad_x, grad_w, grad_b
