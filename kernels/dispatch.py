"""Choose a backend (eager | compiled | triton) from the requested name and the tensor's device.

"auto" never compiles implicitly on CPU: CUDA tensors -> "triton" (or "compiled" when triton is
not installed); every other device -> "eager". Ask for "compiled" explicitly to get the fused
CPU path. Triton runs on CUDA tensors, or on CPU tensors under the Triton interpreter
(TRITON_INTERPRET=1, set before triton is first imported), which is for testing only.
"""

import importlib.util
import os

import torch

from .cpu import find_compiler, missing_compiler

BACKENDS = ("eager", "compiled", "triton", "auto")


def triton_installed() -> bool:
    """True when the triton package can be imported (checked without importing it)."""
    return importlib.util.find_spec("triton") is not None


def triton_interpreter_enabled() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def resolve_backend(name: str, device: torch.device | str) -> str:
    """The concrete backend ("eager", "compiled" or "triton") for `name` and tensors on `device`."""
    if name not in BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}; choose one of {', '.join(BACKENDS)}")
    device = torch.device(device)
    if name == "auto":
        if device.type == "cuda":
            return "triton" if triton_installed() else "compiled"
        return "eager"
    if name == "triton":
        if not triton_installed():
            raise ValueError("kernel backend 'triton' needs the triton package; install it, "
                             "or use backend 'eager' or 'compiled'")
        if device.type == "cuda":
            return "triton"
        if device.type == "cpu" and triton_interpreter_enabled():
            return "triton"
        raise ValueError(f"kernel backend 'triton' needs CUDA tensors, got {device.type} tensors; "
                         "use backend 'eager' or 'compiled' (or, for testing on CPU, set "
                         "TRITON_INTERPRET=1 before triton is imported)")
    return name


def backend_status() -> dict[str, str | None]:
    """Each concrete backend -> None if usable on this machine, else a one-line reason why not."""
    compiled = None
    if not torch.cuda.is_available() and find_compiler() is None:
        compiled = missing_compiler()
    if not triton_installed():
        triton = "the triton package is not installed"
    elif torch.cuda.is_available():
        triton = None
    elif triton_interpreter_enabled():
        triton = None  # CPU tensors run through the (slow) Triton interpreter: for tests only
    else:
        triton = ("no CUDA device; set TRITON_INTERPRET=1 before triton is imported to run "
                  "the kernels on CPU tensors through the (slow) interpreter, for testing")
    return {"eager": None, "compiled": compiled, "triton": triton}
