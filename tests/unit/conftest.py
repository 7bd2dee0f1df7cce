"""The fast tier (`make test`): every test here runs in this process.

A test that starts a Python process (the CLI in a subprocess, a worker, a Dask cluster) belongs
in tests/e2e/, and one that calls torch.compile is marked `compile`; `make test-all` runs both.
The autouse fixture below fails a test here that does either, naming where it belongs, so the
fast tier stays fast as tests are added. Other programs (git, a C compiler) may run.
"""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
import sys

import pytest
import torch


def _is_python(args) -> bool:
    """Whether Popen(args) starts a Python interpreter, or a console script of one."""
    if isinstance(args, (str, bytes)):
        program = os.fsdecode(args).split()[0]  # a shell command line
    else:
        program = os.fsdecode(args if isinstance(args, os.PathLike) else args[0])
    name = os.path.basename(program)
    return (name.startswith("python") or name in ("dask", "genbench")
            or os.path.realpath(program) == os.path.realpath(sys.executable))


@pytest.fixture(autouse=True)
def runs_in_this_process(request, monkeypatch):
    if request.node.get_closest_marker("compile") is not None:
        return  # Inductor starts Python processes of its own (to load and check what it built)

    def refuse(what: str):
        pytest.fail(f"{request.node.nodeid} starts {what}: tests/unit/ runs in one process; move the "
                    "test to tests/e2e/ (`make test-all` runs it)", pytrace=False)

    popen_init = subprocess.Popen.__init__

    def popen(self, args, *rest, **kwargs):
        if _is_python(args):
            refuse(f"a Python process ({args!r})")
        popen_init(self, args, *rest, **kwargs)

    def start(self):
        refuse(f"a process ({type(self).__name__} {self.name})")

    monkeypatch.setattr(subprocess.Popen, "__init__", popen)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start)

    def compile_(*args, **kwargs):
        pytest.fail(f"{request.node.nodeid} calls torch.compile: mark it @pytest.mark.compile "
                    "(`make test` leaves those to `make test-all`)", pytrace=False)

    monkeypatch.setattr(torch, "compile", compile_)
