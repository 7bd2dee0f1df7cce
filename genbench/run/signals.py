"""Stopping a run on SIGINT, SIGTERM or SIGHUP: promptly the first time, at once the second.

Inside `stop_on_signals()`, the first of these signals raises Interrupted in the main thread
(wherever the driver is: waiting on cells, or running one in-process), so the usual cleanup runs:
the executor kills its workers, the store closes, cells that did not finish stay `running` and
re-run on resume. A second signal while that cleanup runs kills this process's children and
exits at once. The exit code is 128 + the signal number (130, 143, 129), as a shell reports it.
A signal ignored when the run started (e.g. SIGHUP under `nohup`) stays ignored.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """The run was asked to stop by a signal (a BaseException, like KeyboardInterrupt, so that
    no `except Exception` in a cell or plugin swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    stopping = False

    def handle(signum, frame) -> None:
        nonlocal stopping
        if stopping:
            _exit_now(signum)
        stopping = True
        raise Interrupted(signum)

    previous = {}
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handle)
    interrupted = False
    try:
        yield
    except Interrupted:
        interrupted = True  # the handlers stay: a second signal during the cleanup exits at once
        raise
    finally:
        if not interrupted:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _exit_now(signum: int) -> None:
    """The second signal: kill every process this one started and exit without cleanup."""
    for child in psutil.Process().children(recursive=True):
        try:
            child.kill()
        except psutil.Error:
            continue
    os.write(2, f"\nstopped at once by a second {signal.Signals(signum).name}; run the same command "
                f"again to resume (interrupted cells re-run).\n".encode())
    os._exit(128 + signum)
