"""Kernel tests: run the Triton kernels through the interpreter on CPU when there is no GPU.

TRITON_INTERPRET must be set when triton is imported, and when a Triton op is called. torch
imports triton as a side effect (torch._dynamo does, e.g. on an optimiser's first step, in any
test), so triton is imported here, at collection, under the variable; then the variable is set
for each test here only: it stays out of the rest of the suite, where the triton backend on CPU
must keep raising.
"""

import importlib.util
import os
import sys

import pytest
import torch
from genbench.kernels import Backend, compiled, reference, triton

if not torch.cuda.is_available() and importlib.util.find_spec("triton") and "triton" not in sys.modules:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRITON_INTERPRET", "1")
        import triton as _triton  # noqa: F401  (in interpreter mode from now on)


@pytest.fixture(autouse=True)
def triton_interpreter(monkeypatch):
    if not torch.cuda.is_available():
        monkeypatch.setenv("TRITON_INTERPRET", "1")


@pytest.fixture
def triton_device() -> str:
    """Device for Triton-backend tests: CUDA if present, else CPU through the interpreter."""
    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed")
    if torch.cuda.is_available():
        return "cuda"
    if os.environ.get("TRITON_INTERPRET", "0") in ("", "0"):
        pytest.skip("no CUDA device and TRITON_INTERPRET is not set")
    return "cpu"


@pytest.fixture
def backend_for(request):
    """backend_for(name) -> (Backend, device): the built-in backend `name` as the registry makes
    it; Triton on CUDA or through the interpreter, the others on CUDA if present, else CPU."""

    def make(name: str) -> tuple[Backend, str]:
        backends = {"eager": Backend("eager", reference.OPS),
                    "compiled": Backend("compiled", compiled.OPS, compiled.prepare),
                    "triton": Backend("triton", triton.OPS)}
        if name == "triton":
            return backends[name], request.getfixturevalue("triton_device")
        return backends[name], "cuda" if torch.cuda.is_available() else "cpu"

    return make
