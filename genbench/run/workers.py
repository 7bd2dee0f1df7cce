"""Worker processes that fail alone: the code a worker runs, and the driver's handle on one.

A worker is a spawned process that loads its own registry once, then runs the cells it is sent
over a pipe, one at a time, sending back progress events and each CellResult. Its stdout and
stderr go to a log file (faulthandler writes a segfault's Python stack there), so the driver can
quote the last lines of a worker that died. A worker never outlives the driver: on Linux the
kernel kills it when the driver dies (PR_SET_PDEATHSIG), and everywhere a watchdog thread exits
when its parent changes. Both are armed only once the worker's start-up has imported genbench
(and torch: seconds), so until then a `Reaper`, a tiny process started beside the workers, kills
them when the driver is gone, and removes the driver's temporary folder. Terminal signals
(SIGINT, SIGHUP) are the driver's to handle: a worker is started with them ignored, so a Ctrl-C
during its start-up prints nothing, and the driver kills its workers when it stops.

The driver side (`Worker`) starts a worker, hands it a cell, reads its messages, measures its
memory (psutil: the worker and its children) and kills it with everything it started.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import psutil

from genbench.run.signals import CLEANERS

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_CHECK_S = 0.5  # how often the watchdog looks for its parent
LOG_TAIL_LINES = 40
LOG_TAIL_BYTES = 16_384


# --- in the worker process -------------------------------------------------------------------

def worker_main(conn: Connection, log_path: str, threads: int, parent_pid: int, checkpoints) -> None:
    """A worker's whole life: set up, load the registry, run cells until told to stop."""
    _send_output_to(log_path)
    faulthandler.enable(all_threads=False)  # a segfault leaves the crashing thread's Python stack in the log
    _die_with_parent(parent_pid)  # SIGINT and SIGHUP came ignored: the driver stops the run and kills us

    import torch

    from genbench.api.registry import load_plugins
    from genbench.run.runner import run_cell

    torch.set_num_threads(threads)
    registry = load_plugins()
    while True:
        try:
            cell = conn.recv()
        except EOFError:  # the driver closed its end
            return
        if cell is None:
            return
        conn.send(("started", None))
        print(f"--- cell {cell.cell_id} {cell.path}", flush=True)
        result = run_cell(cell, registry, lambda event: conn.send(("event", event)), checkpoints)
        conn.send(("result", result))


def _send_output_to(log_path: str) -> None:
    """Point file descriptors 1 and 2 (Python's and C's output alike) at the log file."""
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout.reconfigure(line_buffering=True)


def _die_with_parent(parent_pid: int) -> None:
    """Exit when the driver is gone: the kernel's parent-death signal where there is one, and a
    watchdog thread polling os.getppid() everywhere."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the driver died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="genbench-parent-watchdog", daemon=True).start()


def resident_memory(processes) -> int:
    """Resident bytes of these processes (psutil.Process), those already gone counting 0."""
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


# --- in the driver ---------------------------------------------------------------------------

TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGHUP)


@contextmanager
def terminal_signals_ignored() -> Iterator[None]:
    """Ignore SIGINT and SIGHUP while a worker is started: a process inherits ignored signals, and
    Python then installs no KeyboardInterrupt handler, so a Ctrl-C reaching the whole terminal's
    process group during the worker's start-up (seconds of imports) neither stops it nor prints
    a traceback. (One reaching the driver in this moment, a few milliseconds, is lost.)"""
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in TERMINAL_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


REAPER = """
import os, shutil, signal, sys
pids = set()
for line in sys.stdin:  # '+PID': a worker started, '-PID': one reaped; the end: the driver is gone
    (pids.add if line[0] == '+' else pids.discard)(int(line[1:]))
for pid in pids:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


class Reaper:
    """A tiny process that kills the driver's workers and removes its temporary `folder` once the
    driver is gone, however it went (kill -9, a second Ctrl-C): it reads the workers' pids from a
    pipe whose end comes when the driver's side closes, as it does when the driver dies. It is
    in a session of its own, so the terminal's signals do not reach it."""

    def __init__(self, folder: Path):
        self.process = subprocess.Popen([sys.executable, "-I", "-S", "-c", REAPER, str(folder)],
                                        stdin=subprocess.PIPE, text=True, bufsize=1, start_new_session=True)
        CLEANERS.add(self.process.pid)  # a second Ctrl-C, exiting at once, leaves it to do its work

    def watch(self, pid: int) -> None:
        self._send(f"+{pid}")

    def forget(self, pid: int) -> None:
        self._send(f"-{pid}")

    def _send(self, line: str) -> None:
        try:
            self.process.stdin.write(line + "\n")
        except (OSError, ValueError):  # it is gone (or closed): the workers' own guards remain
            pass

    def close(self) -> None:
        """The driver's normal end: the reaper kills the workers still listed (none, after a
        shutdown), removes the folder and exits."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        self.process.wait(timeout=10)
        CLEANERS.discard(self.process.pid)

class Worker:
    """The driver's handle on one worker process and the cell it is running, if any."""

    def __init__(self, context, log_path: Path, threads: int, checkpoints=None, reaper: Reaper | None = None):
        self.log_path = log_path
        log_path.touch()
        self.conn, child_conn = context.Pipe()
        # not a daemon: a cell may start processes of its own (a DataLoader's workers)
        self.process = context.Process(target=worker_main, name=f"genbench-{log_path.stem}",
                                       args=(child_conn, str(log_path), threads, os.getpid(), checkpoints))
        with terminal_signals_ignored():  # ... by the worker from its first instruction
            self.process.start()
        self.reaper = reaper
        if reaper is not None:
            reaper.watch(self.process.pid)
        child_conn.close()
        self.handle = psutil.Process(self.process.pid)
        self.descendants: list[psutil.Process] = []  # what it started, as last seen
        self.cell, self.future = None, None
        self.handed = 0.0  # time.monotonic() when the cell was handed over
        self.began: float | None = None  # ... when the worker began it (after its own start-up)
        self.log_offset = 0  # where this cell's output begins in the log
        self.peak_memory = 0  # bytes, over this cell

    @property
    def busy(self) -> bool:
        return self.cell is not None

    def alive(self) -> bool:
        return self.process.is_alive()

    def give(self, cell, future: Future) -> None:
        self.cell, self.future = cell, future
        self.handed, self.began, self.peak_memory = time.monotonic(), None, 0
        self.log_offset = self.log_path.stat().st_size
        try:
            self.conn.send(cell)
        except OSError:  # it died just now: the next poll finds it dead and fails the cell with the cause
            pass

    def messages(self):
        """(kind, payload) messages that have arrived: ("started", None) when the worker begins the
        cell (after its own start-up), ("event", ProgressEvent), ("result", CellResult)."""
        try:
            while self.conn.poll():
                yield self.conn.recv()
        except (EOFError, OSError):  # it died, possibly mid-message: the caller sees it is not alive
            return

    def release(self):
        """The cell and its future, now that the cell is over; the worker is idle again."""
        cell, future = self.cell, self.future
        self.cell = self.future = None
        return cell, future

    def memory(self) -> int:
        """Resident bytes of the worker and every process it started; 0 once it is gone."""
        try:
            self.descendants = self.handle.children(recursive=True)
        except psutil.Error:
            return 0
        total = resident_memory([self.handle, *self.descendants])
        self.peak_memory = max(self.peak_memory, total)
        return total

    def death(self) -> str:
        """How the process ended: 'killed by SIGSEGV', 'exited with code 1'."""
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with code {code}"

    def log_tail(self) -> str:
        """The last lines the worker wrote while running the current cell."""
        try:
            with open(self.log_path, "rb") as log:
                start = max(self.log_offset, log.seek(0, os.SEEK_END) - LOG_TAIL_BYTES)
                log.seek(start)
                text = log.read().decode("utf-8", errors="replace")
        except OSError as exc:
            return f"(the worker's log {self.log_path} cannot be read: {exc.strerror})"
        lines = text.strip().splitlines()[-LOG_TAIL_LINES:]
        return "\n".join(lines) if lines else "(it wrote nothing)"

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, and reap it."""
        try:
            self.descendants = self.handle.children(recursive=True)
        except psutil.Error:
            pass  # already gone: kill what it was last seen to have started
        for process in (self.handle, *self.descendants):
            try:
                process.kill()
            except psutil.Error:
                continue
        self.process.join(timeout=10)
        if self.reaper is not None and self.process.exitcode is not None:  # reaped: its pid may be reused
            self.reaper.forget(self.process.pid)
        self.conn.close()

    def ask_to_stop(self) -> None:
        """Tell an idle worker to exit after its current cell (then `kill` whatever is left)."""
        try:
            self.conn.send(None)
        except OSError:
            pass
