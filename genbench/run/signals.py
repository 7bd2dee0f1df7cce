"""Stopping a run on SIGINT, SIGTERM or SIGHUP: promptly the first time, at once the second.

Inside `stop_on_signals()`, the first of these signals raises Interrupted in the main thread
(wherever the driver is: waiting on cells, or running one in-process), so the usual cleanup runs:
the executor kills its workers, the store closes, cells that did not finish stay `running` and
re-run on resume. A second signal while that cleanup runs kills this process's children and
exits at once (sparing the CLEANERS, which clean up after it: the workers' reaper removes the
temporary folder). The exit code is 128 + the signal number (130, 143, 129), as a shell reports it.
A signal ignored when the run started (e.g. SIGHUP under `nohup`) stays ignored.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psutil

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CLEANERS: set[int] = set()  # pids of children that finish their work once this process is gone


class Interrupted(BaseException):
    """The run was asked to stop by a signal (a BaseException, like KeyboardInterrupt, so that
    no `except Exception` in a cell or plugin swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    handle = _first_raises(Interrupted)
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


@contextmanager
def second_interrupt_exits() -> Iterator[None]:
    """Around a whole command: a first SIGINT raises KeyboardInterrupt as Python's own handler
    does (the command stops and says so), a second one, arriving while it stops or while the
    interpreter shuts down after it, exits with 130 at once, not with a traceback and a death by
    the signal. (`stop_on_signals` takes over during a run.)"""
    if (signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # ignored, or someone else's
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    signal.signal(signal.SIGINT, _first_raises(lambda signum: KeyboardInterrupt()))
    interrupted = False
    try:
        yield
    except SystemExit as exc:
        interrupted = exc.code in {128 + signum for signum in STOP_SIGNALS}  # the command stopped on a signal
        raise
    finally:
        # After a first signal the process is on its way out: a second one during its shutdown
        # still exits at once, and once the interpreter finalizes (where it puts SIG_DFL back,
        # so a signal would kill it as -2) the signals wait, blocked, until it has exited.
        signal.signal(signal.SIGINT, _exit_at_once if interrupted else signal.default_int_handler)
        if interrupted:
            atexit.register(signal.pthread_sigmask, signal.SIG_BLOCK, STOP_SIGNALS)


def _first_raises(exception: Callable[[int], BaseException]) -> Callable[[int, object], None]:
    """A signal handler that raises exception(signum) the first time and exits at once (_exit_now)
    the next: a second signal arriving while the first one's cleanup runs."""
    stopping = False

    def handle(signum: int, frame) -> None:
        nonlocal stopping
        if stopping:
            _exit_now(signum)
        stopping = True
        raise exception(signum)

    return handle


def _exit_at_once(signum: int, frame) -> None:
    _exit_now(signum)


def _exit_now(signum: int) -> None:
    """The second signal: kill every process this one started (but the CLEANERS) and exit
    without cleanup."""
    for child in psutil.Process().children(recursive=True):
        if child.pid in CLEANERS:
            continue
        try:
            child.kill()
        except psutil.Error:
            continue
    os.write(2, f"\nstopped at once by a second {signal.Signals(signum).name}; run the same command "
                f"again to resume (interrupted cells re-run).\n".encode())
    os._exit(128 + signum)
