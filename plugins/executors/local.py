"""The in-process executor: each cell runs when it is submitted, in this process, one at a time.

Progress events go straight to the driver's callback (same thread), so bars move live.
"""

from __future__ import annotations

from concurrent.futures import Future

import torch

from genbench import ExecutorSpec, hookimpl
from genbench.run.executors import ExecutorOptions
from genbench.run.runner import run_cell


class LocalExecutor:
    slots = 1

    def __init__(self, options: ExecutorOptions):
        self.options = options
        if options.threads is not None:
            torch.set_num_threads(options.threads)

    def submit(self, cell) -> Future:
        future: Future = Future()
        try:
            result = run_cell(cell, self.options.registry, self.options.on_event, self.options.checkpoints)
            future.set_result(result)
        except Exception as exc:
            future.set_exception(exc)
        return future

    def poll(self) -> None:
        """Events were delivered as they happened."""

    def shutdown(self, cancel: bool = False) -> None:
        """Nothing runs in the background."""


@hookimpl
def register_executors(register):
    register(ExecutorSpec("local", "run cells one after another in this process (for debugging: no "
                          "isolation, no limits)", LocalExecutor, enforces_limits=False))
