"""The process-pool executor: cells run in `workers` spawned processes, each with its own
registry (loaded once per worker) and `threads` torch threads (default: cores / workers).

Workers send progress events through a queue; `poll()` hands them to the driver's callback.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
from concurrent.futures import Future, ProcessPoolExecutor

from genbench import ExecutorSpec, hookimpl
from genbench.executors import ExecutorOptions, ProgressEvent
from genbench.registry import Registry, load_plugins
from genbench.runner import run_cell

_worker_registry: Registry | None = None  # each worker process's own, loaded by _start_worker


def _start_worker(threads: int) -> None:
    global _worker_registry
    import torch

    torch.set_num_threads(threads)
    _worker_registry = load_plugins()


def _run_in_worker(cell, events, checkpoints) -> object:
    return run_cell(cell, _worker_registry, events.put, checkpoints)


class ProcessPoolCellExecutor:
    def __init__(self, options: ExecutorOptions):
        self.options, self.slots = options, options.workers
        threads = options.threads or max(1, (os.cpu_count() or 1) // options.workers)
        context = multiprocessing.get_context("spawn")
        self.manager = context.Manager()
        self.events = self.manager.Queue()
        self.pool = ProcessPoolExecutor(options.workers, mp_context=context, initializer=_start_worker,
                                        initargs=(threads,))

    def submit(self, cell) -> Future:
        return self.pool.submit(_run_in_worker, cell, self.events, self.options.checkpoints)

    def poll(self) -> None:
        while True:
            try:
                event: ProgressEvent = self.events.get_nowait()
            except queue_module.Empty:
                return
            self.options.on_event(event)

    def shutdown(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
        self.manager.shutdown()


@hookimpl
def register_executors(register):
    register(ExecutorSpec("process", "run cells in parallel worker processes (--workers)",
                          ProcessPoolCellExecutor))
