"""A second Ctrl-C while genbench stops exits at once with 130, outside a run too (during a run,
tests/e2e/test_start_up_edges.py sends real signals to a real process)."""

import os
import signal
import time

import pytest

from genbench.run import signals


@pytest.fixture
def python_sigint():
    """SIGINT with Python's own handler, as a command starts with it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_second_sigint_while_a_command_stops_exits_130(monkeypatch, python_sigint):
    exits = []
    monkeypatch.setattr(signals, "_exit_now", lambda signum: exits.append(128 + signum))
    with pytest.raises(KeyboardInterrupt), signals.second_interrupt_exits():
        try:
            os.kill(os.getpid(), signal.SIGINT)  # the first: the command stops, as Python's handler would
            time.sleep(5)
        finally:  # ... and while it cleans up, the second
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
    assert exits == [130]  # once os._exit(130), not a traceback and a death by SIGINT (-2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_sigint_after_an_interrupted_command_has_ended_still_exits_130(monkeypatch, python_sigint):
    """The interpreter's shutdown after `sys.exit(130)` can take a while (workers, atexit): a
    Ctrl-C then must not die by SIGINT (-2) with a traceback."""
    exits = []
    monkeypatch.setattr(signals, "_exit_now", lambda signum: exits.append(128 + signum))
    with pytest.raises(SystemExit), signals.second_interrupt_exits():
        raise SystemExit(130)  # what `genbench` does once it has stopped on the first Ctrl-C
    try:
        os.kill(os.getpid(), signal.SIGINT)  # during the shutdown
        time.sleep(0.1)
    except KeyboardInterrupt:  # Python's handler: the process would die by SIGINT with a traceback
        exits.append("KeyboardInterrupt")
    assert exits == [130]
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a new command starts with Python's
    with pytest.raises(SystemExit), signals.second_interrupt_exits():
        raise SystemExit(2)  # an error, no signal: Python's own handler again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with signals.second_interrupt_exits():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
