"""The kernel backends genbench.kernels provides, registered so suites can name them."""

from __future__ import annotations

from functools import partial

from genbench.kernels.dispatch import backend_status

from genbench import KernelSpec, hookimpl

DESCRIPTIONS = {
    "eager": "plain PyTorch reference ops (numerically stable; the test oracle)",
    "compiled": "fused ops compiled for the device: C kernels built for this CPU, torch.compile on CUDA",
    "triton": "fused Triton kernels (CUDA; CPU only under TRITON_INTERPRET=1 for testing)",
}


def status(name: str) -> str | None:
    return backend_status()[name]


@hookimpl
def register_kernels(register):
    for name, description in DESCRIPTIONS.items():
        register(KernelSpec(name, description, partial(status, name)))
