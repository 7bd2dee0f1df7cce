"""The "triton" backend: hand-written Triton kernels, for CUDA tensors (or CPU tensors under
TRITON_INTERPRET=1, set before triton is imported: for tests only).

Importing this package does not import triton: each op of OPS checks its tensors' device, then
imports ops.py (fused.py's autograd.Functions over the launchers) on first use. Each other module
holds one op's @triton.jit kernels and launchers.
"""

import importlib.util
import os

import torch
from torch import Tensor

from ..fused import OPS as OP_NAMES


def interpreter_enabled() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def unavailable() -> str | None:
    """None if the kernels can run here, else why not (checked without importing triton)."""
    try:
        found = importlib.util.find_spec("triton") is not None
    except (ImportError, ValueError):  # a broken install, or an import blocked on purpose
        found = False
    if not found:
        return "the triton package is not installed (pip install 'genbench[triton]'; CUDA builds of torch bring it)"
    if torch.cuda.is_available() or interpreter_enabled():
        return None
    return ("no CUDA device; set TRITON_INTERPRET=1 before triton is imported to run the "
            "kernels on CPU tensors through the (slow) interpreter, for testing")


def _op(name: str):
    """The op `name`, refusing tensors the kernels cannot read before anything imports triton."""

    def call(x: Tensor, *args):
        if x.device.type != "cuda" and not (x.device.type == "cpu" and interpreter_enabled()):
            raise ValueError(f"kernel backend 'triton' needs CUDA tensors, got {x.device.type} "
                             "tensors; use backend 'eager' or 'compiled' (or, for testing on "
                             "CPU, set TRITON_INTERPRET=1 before triton is imported)")
        from .ops import OPS

        return OPS[name](x, *args)

    call.__name__ = call.__qualname__ = name
    return call


OPS = {name: _op(name) for name in OP_NAMES}
