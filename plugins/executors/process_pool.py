"""The process executor: cells run in `workers` supervised worker processes that fail alone.

Each worker (genbench.run.workers) is a spawned process with its own registry, loaded once, and
`threads` torch threads (default: cores / workers); it runs one cell at a time. `poll()`, which
the driver calls every 0.2 s, delivers progress events and results and supervises the workers:
a worker that died (segfault, OOM kill, kill -9) fails only its own cell, with the cause and the
last lines of its output, and is replaced; a cell past its time or memory limit
(options.limits) is failed with `timeout: ...` / `memory: ...` and its worker killed and
replaced. `shutdown(cancel=True)` kills every worker at once, whatever it is doing. The workers'
logs are in a temporary folder that a `Reaper` removes, with any worker left, when the driver is
gone, however it ended.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path

from genbench import ExecutorSpec, hookimpl
from genbench.run.executors import ExecutorOptions, death_error, memory_error, timeout_error
from genbench.suite.limits import default_limits, format_duration
from genbench.api.result import CellResult
from genbench.run.workers import Reaper, Worker

STOP_GRACE_S = 5.0  # how long idle workers get to exit on their own at the end of a run
STARTUP_ALLOWANCE_S = 120.0  # a worker's start-up (torch, plugins) is not the cell's time, but is bounded


class SupervisedProcessExecutor:
    def __init__(self, options: ExecutorOptions):
        self.options, self.slots = options, options.workers
        self.limits = options.limits or default_limits(options.workers)
        self.threads = options.threads or max(1, (os.cpu_count() or 1) // options.workers)
        self.context = multiprocessing.get_context("spawn")
        self.log_dir = Path(tempfile.mkdtemp(prefix="genbench-workers-"))
        self.reaper = Reaper(self.log_dir)  # the workers and the folder go with the driver, however it ends
        self.started = 0  # workers started so far, replacements included (names their logs)
        self.workers: list[Worker] = []
        try:
            for _ in range(self.slots):
                self.workers.append(self._start_worker())
        except BaseException:  # e.g. a stop signal while starting them: leave none behind
            self.shutdown(cancel=True)
            raise

    def _start_worker(self) -> Worker:
        self.started += 1
        return Worker(self.context, self.log_dir / f"worker-{self.started}.log", self.threads,
                      self.options.checkpoints, self.reaper)

    def submit(self, cell) -> Future:
        future: Future = Future()
        index = next(i for i, worker in enumerate(self.workers) if not worker.busy)
        if not self.workers[index].alive():  # died while idle: nothing of ours was lost
            self.workers[index].kill()
            self.workers[index] = self._start_worker()
        self.workers[index].give(cell, future)
        return future

    def poll(self) -> None:
        for index, worker in enumerate(self.workers):
            if not worker.busy:
                continue
            self._read(worker)
            if worker.busy:
                failure = self._failure(worker)
                if failure is not None:
                    self._fail(worker, failure)
                    self.workers[index] = self._start_worker()

    def _read(self, worker: Worker) -> None:
        for kind, payload in worker.messages():
            if kind == "started":  # the cell's clock starts: the worker's own start-up is not the cell's
                worker.began = time.monotonic()
            elif kind == "event":
                self.options.on_event(payload)
            elif kind == "result":
                _, future = worker.release()
                future.set_result(payload)

    def _failure(self, worker: Worker) -> str | None:
        """Why the worker's cell must end now, or None while it may go on."""
        if not worker.alive():
            self._read(worker)  # it may have sent its result just before exiting
            if not worker.busy:
                return None
            return death_error(worker.death())
        now, limit = time.monotonic(), format_duration(self.limits.timeout_s)
        if worker.began is None and now - worker.handed > self.limits.timeout_s + STARTUP_ALLOWANCE_S:
            return (f"timeout: the worker did not begin the cell within its limit of {limit} plus "
                    f"{format_duration(STARTUP_ALLOWANCE_S)} for its start-up (importing torch and the plugins); "
                    f"its worker was killed")
        if worker.began is not None and now - worker.began > self.limits.timeout_s:
            return timeout_error(self.limits)
        memory = worker.memory()
        if memory > self.limits.max_memory_bytes:
            return memory_error(memory, self.limits)
        return None

    def _fail(self, worker: Worker, reason: str) -> None:
        """End the worker's cell as failed with `reason` and the tail of its output; kill it."""
        worker.kill()
        cell, future = worker.release()
        error = f"{reason}\nlast lines of the worker's output:\n{worker.log_tail()}"
        future.set_result(CellResult(cell.cell_id, "failed", error=error,
                                     wall_time_s=time.monotonic() - (worker.began or worker.handed),
                                     peak_rss_mb=worker.peak_memory / 2**20 or None))

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            for worker in self.workers:
                worker.kill()
                if worker.busy:
                    worker.release()[1].cancel()
        else:
            for worker in self.workers:
                worker.ask_to_stop()
            deadline = time.monotonic() + STOP_GRACE_S
            for worker in self.workers:
                worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
                worker.kill()
        shutil.rmtree(self.log_dir, ignore_errors=True)
        self.reaper.close()


@hookimpl
def register_executors(register):
    register(ExecutorSpec("process", "run each cell in a supervised worker process (--workers N at once), "
                          "with per-cell time and memory limits", SupervisedProcessExecutor, default=True))
