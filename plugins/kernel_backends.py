"""The kernel backends genbench.kernels provides, registered so suites can name them."""

from __future__ import annotations

from genbench.kernels import compiled, reference, triton

from genbench import KernelSpec, hookimpl


@hookimpl
def register_kernels(register):
    register(KernelSpec("eager", "plain PyTorch reference ops (numerically stable; the test oracle)",
                        ops=reference.OPS, default=True))
    register(KernelSpec("compiled", "torch.compile (Inductor: C++ on CPU, Triton on CUDA) of each network, "
                        "and fused loss ops compiled with it", ops=compiled.OPS,
                        available=compiled.unavailable, prepare=compiled.prepare))
    register(KernelSpec("triton", "hand-written fused Triton kernels (CUDA; CPU only under TRITON_INTERPRET=1, "
                        "for testing)", ops=triton.OPS, available=triton.unavailable))
