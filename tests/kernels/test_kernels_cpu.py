"""The compiled backend's C kernels (kernels/cpu.py): results that do not depend on the number of
threads, the build and its cache, clear errors without a compiler, huge-page outputs."""

import os
import re
import stat
import sys
import time
from pathlib import Path

import pytest
import torch
from genbench.kernels import cpu
from genbench.kernels import functional as K
from genbench.kernels.dispatch import backend_status


def outputs_and_grads(n_threads: int) -> list[torch.Tensor]:
    """Every op's outputs and gradients, with n_threads, on inputs of enough chunks for two
    threads (cpu.MIN_CHUNKS_PER_THREAD each); the channel ops on small maps (4x4: per-channel
    values spread per element) and larger ones (9x9: per channel)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        g = torch.Generator().manual_seed(0)
        logits = (torch.randn(9 * cpu.CHUNK + 17, generator=g) * 4).requires_grad_()
        recon = torch.randn(600, 1000, generator=g).requires_grad_()
        target = torch.rand(600, 1000, generator=g)
        mu, logvar = (torch.randn(600, 8, generator=g).requires_grad_() for _ in range(2))
        outs = [K.generator_loss(logits, "nonsaturating", backend="compiled"),
                K.vae_loss(recon, target, mu, logvar, backend="compiled")]
        leaves = [logits, recon, mu, logvar]
        for shape in [(1200, 32, 4, 4), (300, 32, 9, 9)]:
            x = (torch.randn(shape, generator=g) + 3).requires_grad_()
            weight = torch.rand(32, generator=g).requires_grad_()
            bias = torch.randn(32, generator=g).requires_grad_()
            y, mean, var = K.batchnorm_act_with_stats(x, weight, bias, backend="compiled")
            outs += [K.bias_act(x, bias, backend="compiled"), y, mean, var]
            leaves += [x, weight, bias]
        # backpropagate fixed grad_outputs (a torch .sum() here would itself depend on threads)
        differentiable = [o for o in outs if o.requires_grad]
        grad_outputs = [torch.randn(o.shape, generator=g) for o in differentiable]
        grads = torch.autograd.grad(differentiable, leaves, grad_outputs)
        return [o.detach() for o in outs] + list(grads)
    finally:
        torch.set_num_threads(previous)


def test_results_are_bitwise_the_same_for_any_number_of_threads():
    one, two = outputs_and_grads(1), outputs_and_grads(2)
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a, b)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_threads_work_in_a_forked_child():
    """A child forked after the parent used its kernel threads must not wait on the parent's."""
    x = torch.randn(16 * cpu.CHUNK)
    expected = K.generator_loss(x, "nonsaturating", backend="compiled")  # parent's pool in use
    pid = os.fork()
    if pid == 0:  # child: exit 0 only if the same value comes back
        same = False
        try:
            same = torch.equal(K.generator_loss(x, "nonsaturating", backend="compiled"), expected)
        finally:
            os._exit(0 if same else 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    raise AssertionError("the forked child hung in the kernels")


@pytest.mark.parametrize("backend", ["compiled", "eager"])
def test_forward_without_autograd_matches_forward_with_it(backend):
    """Under no_grad (sampling, a generator run for D's step) the fused ops skip their
    autograd.Function; the values must be the same."""
    g = torch.Generator().manual_seed(0)
    x, weight, bias = torch.randn(16, 8, 3, generator=g), torch.rand(8, generator=g), torch.randn(8, generator=g)
    x.requires_grad_()
    with_grad = [K.bias_act(x, bias, backend=backend),
                 *K.batchnorm_act_with_stats(x, weight, bias, backend=backend)]
    with torch.no_grad():
        without = [K.bias_act(x, bias, backend=backend),
                   *K.batchnorm_act_with_stats(x, weight, bias, backend=backend)]
    assert with_grad[0].requires_grad and not without[0].requires_grad
    for a, b in zip(with_grad, without, strict=True):
        assert torch.equal(a.detach(), b)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path))
    return tmp_path / "kernels"


def test_build_is_cached_by_source_and_flags(cache):
    compiler = cpu.find_compiler()
    if compiler is None:
        pytest.skip("no C compiler")
    first = cpu._build(compiler, [])
    built_at = first.stat().st_mtime_ns
    assert first.parent == cache and first.suffix == ".so"
    assert cpu._build(compiler, []) == first and first.stat().st_mtime_ns == built_at
    assert cpu._build(compiler, ["-DREAL_DOUBLE"]) != first  # float and double: two libraries
    assert not [p for p in cache.iterdir() if p.is_dir()]  # no temporary build left behind


def test_a_shared_cache_never_serves_another_cpus_build(cache, monkeypatch):
    """Builds use -march=native: a cache on a shared home directory must key them by CPU."""
    compiler = cpu.find_compiler()
    if compiler is None:
        pytest.skip("no C compiler")
    here = cpu._build(compiler, [])
    monkeypatch.setattr(cpu, "cpu_fingerprint", lambda: "model name: another CPU")
    assert cpu._build(compiler, []) != here


def fake_compiler(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fakecc"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as the compiler")
def test_failed_build_names_the_compiler_its_error_and_the_way_out(cache, tmp_path):
    cc = fake_compiler(tmp_path, 'echo "fakecc: error: no such target" >&2; exit 1')
    with pytest.raises(cpu.CompilerError, match=r"(?s)fakecc failed.*no such target.*use backend 'eager'"):
        cpu._build(cc, [])


def test_without_a_compiler_the_backend_says_why(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert cpu.find_compiler() is None
    if not torch.cuda.is_available():
        reason = backend_status()["compiled"]
        assert reason is not None and "/nonexistent/cc was not found" in reason


def test_cpu_path_leaves_other_dtypes_to_inductor():
    from genbench.kernels import compiled
    kernels = compiled.CompiledKernels()
    assert kernels._for(torch.zeros(2)) is kernels.cpu
    assert kernels._for(torch.zeros(2, dtype=torch.float64)) is kernels.cpu
    assert kernels._for(torch.zeros(2, dtype=torch.bfloat16)) is kernels.inductor


def anon_huge_kb(address: int) -> int:
    """AnonHugePages (kB) of the mapping of this process that contains `address`."""
    smaps = Path("/proc/self/smaps").read_text()
    for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", smaps):
        start, end = (int(v, 16) for v in block.split()[0].split("-"))
        if start <= address < end:
            return int(re.search(r"AnonHugePages:\s+(\d+) kB", block).group(1))
    raise AssertionError("address not mapped")


def thp_fallbacks() -> int:
    """How often this machine's kernel fell back to small pages for a huge-page fault."""
    vmstat = Path("/proc/vmstat").read_text()
    return int(re.search(r"^thp_fault_fallback (\d+)$", vmstat, re.MULTILINE).group(1))


@pytest.mark.skipif(cpu.transparent_huge_pages() not in ("madvise", "always"),
                    reason="transparent huge pages are off")
def test_large_outputs_are_backed_by_huge_pages():
    like = torch.empty(16 << 20)  # 64 MB: above glibc's largest mmap threshold, so a fresh mapping
    fallbacks = thp_fallbacks()
    out = cpu.empty_like(like)
    out.fill_(1.0)  # first touch
    assert out.shape == like.shape and out.dtype == like.dtype
    if thp_fallbacks() > fallbacks:
        pytest.skip("the kernel had no free huge page (thp_fault_fallback rose)")
    assert anon_huge_kb(out.data_ptr() + out.nbytes // 2) >= 2048
    small = cpu.empty_like(torch.empty(10))
    assert small.shape == (10,)

