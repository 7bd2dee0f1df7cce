"""Why a Dask worker process ended while it ran a cell: its nanny's log, the scheduler's events.

A worker that dies mid-cell (a segfault, the out-of-memory killer, Dask's own memory limit, a
kill) takes the cell with it, and the scheduler only learns that the worker is gone. Its nanny,
the process that restarts it, knows how: it logs "Worker process PID was killed by signal N" or
"exited with status N", and a restart for memory is a `worker-restart-memory` event on the
scheduler. From these the cell's next attempt (plugins/executors/dask_worker.py) names the
cause, in the words the process executor uses, and does not run a cell again that would die the
same way (a crash signal, memory). A worker without a nanny (`dask worker --no-nanny`) leaves no
such trace: its death has no known cause, and the cell is tried again.
"""

from __future__ import annotations

import re
import signal
import time
from dataclasses import dataclass

from genbench.run.executors import death_error
from genbench.suite.limits import format_bytes

CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}
LOG_LINES = 200  # of the nanny's log searched for the worker's end
LOG_WAIT_S = 3.0  # how long to wait for the nanny to log a death it has not logged yet


@dataclass(frozen=True)
class Death:
    """How a worker process ended: the cell's error, and whether running it again may succeed."""

    error: str
    again: bool  # False for a crash signal or memory: the cell would die the same way


def death_in_log(lines: list[str], pid: int) -> Death | None:
    """The end of worker process `pid` as its nanny logged it, or None if it is not there."""
    pattern = re.compile(rf"Worker process {pid} (?:was killed by signal (\d+)|exited with status (\d+)"
                         r"|was killed by (unknown signal))")
    for line in lines:
        found = pattern.search(line)
        if found is None:
            continue
        signum, status, _ = found.groups()
        if status is not None:
            return Death(death_error(f"exited with status {status}"), again=True)
        if signum is None:
            return Death(death_error("killed by an unknown signal"), again=True)
        try:
            number = signal.Signals(int(signum))
        except ValueError:
            return Death(death_error(f"killed by signal {signum}"), again=True)
        return Death(death_error(f"killed by {number.name}"), again=number not in CRASH_SIGNALS)
    return None


def memory_restart(events, pid: int) -> Death | None:
    """A `worker-restart-memory` event (timestamp, message) of process `pid`, as a Death."""
    for _, message in events:
        if isinstance(message, dict) and message.get("pid") == pid:
            return Death(f"memory: Dask's nanny restarted the worker running this cell when it held "
                         f"{format_bytes(message.get('rss', 0))}, over its share of the worker's memory_limit "
                         f"(the cluster's setting)", again=False)
    return None


async def nanny_log(nanny: str, connection_args: dict) -> list[str]:
    """The newest lines of the nanny's log, asked of the nanny itself (the scheduler reaches a
    nanny only through a worker, which a restarting nanny does not have yet)."""
    from distributed.core import rpc

    async with rpc(nanny, connection_args=connection_args) as server:
        return [message for _, message in await server.get_logs(n=LOG_LINES)]


def death_of(client, nanny: str | None, pid: int) -> Death | None:
    """How worker process `pid`, restarted by `nanny`, ended; None when nothing says (no nanny,
    or the nanny is gone with its machine)."""
    if nanny is None:
        return None
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        try:
            death = memory_restart(client.get_events("worker-restart-memory"), pid) or \
                death_in_log(client.sync(nanny_log, nanny, client.connection_args), pid)
        except (OSError, TimeoutError):  # the nanny went with its machine: unknown
            return None
        if death is not None or time.monotonic() > deadline:
            return death
        time.sleep(0.2)  # the nanny logs the death as it notices it, maybe after the cell moved on
