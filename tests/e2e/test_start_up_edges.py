"""Clean edges of a run with the process executor, with real processes and signals: a Ctrl-C
while the workers start (importing torch, seconds) prints no traceback, a second one exits 130,
workers die within a second of the driver however it dies, and the driver's temporary
`genbench-workers-*` folder goes with it."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest


@pytest.fixture
def start_run(write_suite, tmp_path):
    """start_run() -> (the driver, its workers as soon as they exist, its TMPDIR): a `genbench run`
    in a session of its own, as a terminal runs it, so that killpg is the terminal's Ctrl-C."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    def start():
        env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200", TMPDIR=str(tmp))
        driver = subprocess.Popen([sys.executable, "-m", "genbench", "run", str(write_suite()), "--out",
                                   str(tmp_path / "out"), "--workers", "2"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        workers = []
        deadline = time.monotonic() + 120
        while len(workers) < 2:  # just spawned: their start-up (imports) lasts seconds
            assert driver.poll() is None and time.monotonic() < deadline, driver.communicate()
            workers = [child for child in psutil.Process(driver.pid).children()
                       if "--multiprocessing-fork" in child.cmdline()]
            time.sleep(0.02)
        time.sleep(1)  # into their imports (once the driver has written what they read from it)
        assert all(worker.is_running() for worker in workers)
        return driver, workers, tmp

    return start


def gone_within(processes, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in processes):
            return True
        time.sleep(0.02)
    return False


def no_folder_left(tmp, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while any(tmp.glob("genbench-workers-*")):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_ctrl_c_while_workers_start_prints_no_traceback_and_leaves_nothing(start_run):
    driver, workers, tmp = start_run()
    os.killpg(driver.pid, signal.SIGINT)  # the terminal's Ctrl-C reaches the workers too
    _, stderr = driver.communicate(timeout=60)
    assert driver.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert "interrupted by SIGINT" in stderr
    assert gone_within(workers, 5) and no_folder_left(tmp)


def test_a_second_ctrl_c_exits_130_at_once(start_run):
    driver, workers, tmp = start_run()
    os.killpg(driver.pid, signal.SIGINT)
    time.sleep(0.05)
    os.killpg(driver.pid, signal.SIGINT)
    _, stderr = driver.communicate(timeout=60)
    assert driver.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert gone_within(workers, 5) and no_folder_left(tmp)


def test_workers_die_within_a_second_of_a_driver_killed_during_their_start_up(start_run):
    driver, workers, tmp = start_run()
    driver.kill()
    driver.wait()  # not communicate(): the workers hold its stderr open as long as they live
    assert gone_within(workers, 1.5)  # not after their imports (10-15 s under load)
    assert no_folder_left(tmp)
