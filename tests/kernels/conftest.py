"""Kernel tests: run the Triton kernels through the interpreter on CPU when there is no GPU.

TRITON_INTERPRET must be set when a @triton.jit kernel is defined and when a Triton op is
called. genbench.kernels imports its Triton modules lazily (on the first call of a Triton op,
which happens inside these tests), so setting the variable for each test here is early enough,
and it stays out of the rest of the suite, where the triton backend on CPU must keep raising.
"""

import importlib.util
import os

import pytest
import torch
from genbench.kernels import Backend, compiled, reference, triton

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
