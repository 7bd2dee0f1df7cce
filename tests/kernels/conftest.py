"""Kernel tests: run the Triton kernels through the interpreter on CPU when there is no GPU.

TRITON_INTERPRET must be set when a @triton.jit kernel is defined and when the "triton" backend
is chosen. genbench.kernels imports its Triton modules lazily (on first use of that backend, which
happens inside these tests), so setting the variable for each test here is early enough, and it
stays out of the rest of the suite, where backend="triton" on CPU must keep raising.
"""

import importlib.util
import os

import pytest
import torch


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
