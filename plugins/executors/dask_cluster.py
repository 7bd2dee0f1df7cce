"""The dask executor: each cell is a task on a Dask cluster; the driver stays the only writer.

`genbench run SUITE --executor dask --scheduler tcp://host:8786` (short for `--executor-opt
scheduler=tcp://host:8786`; or `scheduler = "..."` in the suite's [executor] table) submits cells
to a running cluster; without a scheduler it starts a LocalCluster here (one worker process per
cell in flight, one thread each, sized by the CPU policy) and prints its dashboard address. Results, pictures and
checkpoints come back over the wire (plugins/executors/dask_worker.py): workers need no shared
file system. The limits (--timeout, --max-memory) hold as under the process executor, with its
messages: each cell's watchdog on its worker reports a cell past them, the driver fails that
cell at once, and the worker stops the cell or is killed (a LocalCluster's workers are started
without Dask's own memory limit, so genbench's is the one that acts). A cell whose worker is
lost is re-run by Dask on another worker, from its last checkpoint, up to MAX_ATTEMPTS times in
all, then fails with `worker lost` and its history; a worker that crashed (a signal such as
SIGSEGV, or its nanny's memory limit) fails its cell with that cause at once. A cell that raises
comes back `failed` and is not retried (run_cell returns, it does not raise), and so does a cell
whose checkpoint cannot be read (the others run). `shutdown(cancel=True)` (Ctrl-C) cancels the
run's tasks, and leaves a cluster it did not start running. On a cluster whose workers declare a
GPU resource (`dask worker --resources GPU=1`), every cell not set to `device = "cpu"` asks for
one GPU. Needs `pip install genbench[dask]`.
"""

from __future__ import annotations

import sys
import uuid
from concurrent.futures import Future, InvalidStateError

from genbench import ExecutorSpec, Param, hookimpl
from genbench.api.errors import ConfigError, DataError, PluginError
from genbench.api.result import CellResult
from genbench.plugins.executors.dask_deaths import death_of
from genbench.plugins.executors.dask_worker import Channels, prepare_worker, run_cell_task, worker_lost
from genbench.run.executors import ExecutorOptions, ProgressEvent
from genbench.suite.limits import default_limits

PARAMS = {"scheduler": Param("", "the address of a running Dask cluster's scheduler, e.g. tcp://host:8786 "
                                 "(empty: start a LocalCluster here)")}
MAX_ATTEMPTS = 3  # workers a cell may begin on before it fails with `worker lost`
CONNECT_TIMEOUT_S = 30


def import_distributed(extra: str = "dask"):
    """The `distributed` module, or a PluginError saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise PluginError(f"this executor needs Dask's `distributed` ({exc}); fix: pip install "
                          f"'genbench[{extra}]'") from None
    return distributed


class DaskExecutor:
    """Cells as tasks on a Dask cluster: `cluster` (an object with a scheduler address that this
    executor closes) or an existing scheduler at the address `scheduler`, else a new LocalCluster."""

    def __init__(self, options: ExecutorOptions, cluster=None, slots: int | None = None, gpu: bool | None = None,
                 scheduler: str = ""):
        distributed = import_distributed()
        self.options = options
        self.limits = options.limits or default_limits(options.workers)
        self.own_cluster = cluster
        threads = None
        if cluster is None and not scheduler:
            threads = options.threads
            self.own_cluster = distributed.LocalCluster(  # memory_limit=0: genbench's watchdog enforces it
                n_workers=options.workers, threads_per_worker=1, processes=True, memory_limit=0,
                dashboard_address="127.0.0.1:0")
        address = self.own_cluster.scheduler_address if self.own_cluster is not None else scheduler
        try:
            self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            self.close_cluster()
            raise ConfigError(f"scheduler {address}: cannot connect to a Dask scheduler there ({exc}); fix: "
                              f"start one (`dask scheduler`) and workers (`dask worker {address}`), or leave "
                              f"out the scheduler option to start a LocalCluster") from None
        print(f"Dask scheduler {address}; dashboard {self.client.dashboard_link}", flush=True)
        workers = self.client.scheduler_info()["workers"].values()
        if slots is None:
            slots = sum(w["nthreads"] for w in workers)
            if slots == 0:
                self.shutdown()
                raise ConfigError(f"the Dask cluster at {address} has no workers; fix: start some "
                                  f"(`dask worker {address}`) before the run")
        self.slots = slots
        self.gpu = any("GPU" in w.get("resources", {}) for w in workers) if gpu is None else gpu
        self.threads = threads
        self.channels = Channels(uuid.uuid4().hex)
        self.events = self.channels.events(self.client)
        self.client.run(prepare_worker, threads)  # load plugins on the workers there are now
        self.tasks: dict[str, tuple] = {}  # cell_id -> (dask future, our future)

    def submit(self, cell) -> Future:
        future: Future = Future()
        try:
            step, data = self._newest_checkpoint(cell.cell_id)
        except DataError as exc:  # fails this cell alone, as run_cell does under the other executors
            future.set_result(CellResult(cell.cell_id, "failed", error=str(exc)))
            return future
        self.channels.cell(cell.cell_id, self.client).set(
            {"attempts": [], "processes": [], "step": step, "data": data, "stopped": None})
        gpu = self.gpu and cell.train_config()["device"] != "cpu"
        task = self.client.submit(
            run_cell_task, cell, self.channels, self.options.checkpoints and self.options.checkpoints.retention,
            self.limits, MAX_ATTEMPTS, self.threads, pure=False,
            key=f"genbench-cell-{cell.cell_id}-{uuid.uuid4().hex[:8]}", resources={"GPU": 1} if gpu else None)
        self.tasks[cell.cell_id] = (task, future)
        task.add_done_callback(lambda task: self._finished(cell, task, future))
        return future

    def _newest_checkpoint(self, cell_id: str) -> tuple[int | None, bytes | None]:
        """The driver's newest checkpoint of the cell (an interrupted run's), to continue from."""
        checkpoints = self.options.checkpoints
        steps = checkpoints.steps(cell_id) if checkpoints is not None else []
        if not steps:
            return None, None
        checkpoints.load(cell_id, steps[-1])  # a DataError naming the file if it is not a checkpoint
        return steps[-1], checkpoints.path(cell_id, steps[-1]).read_bytes()

    def _finished(self, cell, task, future: Future) -> None:
        """Runs in a Dask callback thread when the task ends: its CellResult, or why there is none."""
        if future.done():
            return
        distributed = sys.modules["distributed"]
        try:
            result = task.result()
        except distributed.KilledWorker:  # the scheduler's own bound on lost workers came first
            state = self._cell_state(cell.cell_id)
            attempts, processes = state.get("attempts", []), state.get("processes", [])
            death = death_of(self.client, *processes[-1]) if processes else None
            result = CellResult(cell.cell_id, "failed", error=worker_lost(attempts, death),
                                env={"dask": {"attempts": attempts}})
        except BaseException as exc:  # cancelled, or the task could not run at all
            if task.cancelled():
                future.cancel()
                return
            result = CellResult(cell.cell_id, "failed", error=f"dask: the task of this cell failed: "
                                f"{type(exc).__name__}: {exc}")
        settle(future, result)

    def _cell_state(self, cell_id: str) -> dict:
        try:
            return self.channels.cell(cell_id, self.client).get(timeout=5)
        except Exception:  # the variable is gone with the run
            return {}

    def poll(self) -> None:
        """Deliver progress events and write shipped checkpoints (the driver's thread)."""
        for message in self.events.get(batch=True):
            kind, cell_id, *rest = message
            if kind == "event":
                self.options.on_event(ProgressEvent(cell_id, *rest))
            elif kind == "checkpoint" and self.options.checkpoints is not None:
                step, data = rest
                self.options.checkpoints.write(cell_id, step, data)
            elif kind == "stopped" and cell_id in self.tasks:  # past a limit: failed now, whatever its worker does
                task, future = self.tasks[cell_id]
                settle(future, CellResult(cell_id, "failed", error=rest[0]))
                self.client.cancel([task], force=True)
        for cell_id in [c for c, (_, future) in self.tasks.items() if future.done()]:
            del self.tasks[cell_id]
            self.channels.cell(cell_id, self.client).delete()

    def shutdown(self, cancel: bool = False) -> None:
        try:
            if cancel:
                self.channels.cancel(self.client).set()  # running cells stop at their next check
                self.client.cancel([task for task, _ in self.tasks.values()], force=True)
                for cell_id, (_, future) in self.tasks.items():
                    future.cancel()
                    self.channels.cell(cell_id, self.client).delete()
            else:
                self.poll()  # the last checkpoints
            self.client.close()
        finally:
            self.close_cluster()

    def close_cluster(self) -> None:
        if self.own_cluster is not None:
            self.own_cluster.close()


def settle(future: Future, result: CellResult) -> None:
    """The cell's result, unless it has one already: a Dask callback and the driver's poll may
    both end a cell."""
    try:
        future.set_result(result)
    except InvalidStateError:
        pass


@hookimpl
def register_executors(register):
    register(ExecutorSpec("dask", "run each cell as a task on a Dask cluster (a running one's scheduler, or "
                          "a LocalCluster here); needs genbench[dask]", DaskExecutor, PARAMS))
