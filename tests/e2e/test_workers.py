"""Workers that fail alone, limits, stop signals and orphans, with real `genbench run` processes.

The misbehaving cells come from tests/plugins/genbench_misbehaving_model.py (installed through a
real entry point): a generator that segfaults, hangs or leaks memory on its first forward pass.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time

from pathlib import Path

import psutil
import pytest


PLUGINS = Path(__file__).parents[1] / "plugins"
SUITE = """
[suite]
name = "workers"
seeds = [0]
[train]
steps = 20
batch_size = 32
{train}
[eval]
every = 10
metrics = [{{ name = "modes", n_samples = 100 }}]
[matrix]
datasets = [{{ name = "ring8", n_train = 256, n_test = 16 }}]
models = [{{ name = "misbehaving", label = "bad", how = "{how}", pidfile = "{pidfile}", hidden = 8, depth = 1, z_dim = 2 }},
          {{ name = "mlp", label = "good1", hidden = 8, depth = 1, z_dim = 2 }},
          {{ name = "mlp", label = "good2", hidden = 12, depth = 1, z_dim = 2 }}]
objectives = ["nonsaturating"]
"""


@pytest.fixture
def setup(tmp_path, install_plugin):
    """setup(how, train="") -> (suite path, out dir, pidfile, env for a `genbench run` subprocess)."""
    site = install_plugin("genbench_misbehaving_model", dist="genbench-misbehaving")
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200", PYTHONPATH=os.pathsep.join([str(site), str(PLUGINS)]))

    def make(how: str, train: str = ""):
        pidfile = tmp_path / "bad.pid"
        suite = tmp_path / "suite.toml"
        suite.write_text(SUITE.format(how=how, pidfile=pidfile, train=train))
        return suite, tmp_path / "out", pidfile, env

    return make


def start(suite, out, env, *flags):
    return subprocess.Popen([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=default_stop_signals)


def default_stop_signals() -> None:
    """A run started by hand handles the stop signals; a test run may have inherited them ignored
    (a shell without job control ignores SIGINT in background jobs, nohup ignores SIGHUP), which
    genbench honours, so the child gets the default actions back."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def cells(out) -> dict[str, tuple[str, str | None]]:
    """label of the model -> (status, error)."""
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT a.label, c.status, c.error FROM cells c JOIN cell_axes a "
                          "ON a.cell_id = c.cell_id AND a.axis = 'model'").fetchall()
    return {label: (status, error) for label, status, error in rows}


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def done_count(out) -> int:
    try:
        return sum(status == "done" for status, _ in cells(out).values())
    except sqlite3.OperationalError:  # not created yet
        return 0


def gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def assert_only_bad_failed(out, *cause: str) -> None:
    found = cells(out)
    assert found["good1"][0] == found["good2"][0] == "done"
    status, error = found["bad"]
    assert status == "failed"
    for text in cause:
        assert text in error, error


def test_a_worker_killed_mid_cell_fails_only_its_cell(setup):
    suite, out, pidfile, env = setup("hang")
    proc = start(suite, out, env, "--workers", "2", "--timeout", "300")
    wait_for(pidfile.exists)
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr
    assert "/bad/nonsaturating/adam/eager/seed0: " in stderr and "SIGKILL" in stderr and "Traceback" not in stderr
    assert_only_bad_failed(out, "worker died", "killed by SIGKILL", "misbehaving: hang")  # the log's tail


def test_a_segfault_fails_its_cell_and_the_suite_goes_on_with_the_default_executor(setup):
    suite, out, _, env = setup("crash")
    ran = subprocess.run([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert ran.returncode == 1, ran.stderr
    assert "killed by SIGSEGV" in ran.stderr
    # faulthandler left the Python stack of the crash in the worker's output
    assert_only_bad_failed(out, "killed by SIGSEGV", "Fatal Python error: Segmentation fault", "in forward")


def test_a_hung_cell_times_out_and_the_suite_goes_on(setup):
    suite, out, _, env = setup("hang")
    ran = subprocess.run([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out),
                          "--workers", "2", "--timeout", "30"], capture_output=True, text=True, env=env, timeout=300)
    assert ran.returncode == 1, ran.stderr
    assert "/bad/nonsaturating/adam/eager/seed0: " in ran.stderr and ": timeout: the cell ran longer than its limit of 30 s" in ran.stderr
    assert_only_bad_failed(out)
    assert cells(out)["bad"][1].startswith("timeout:")


def test_a_leaking_cell_hits_the_suite_memory_limit(setup):
    suite, out, _, env = setup("leak", train='max_memory = "1GiB"')
    ran = subprocess.run([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out),
                          "--workers", "2", "--timeout", "240"], capture_output=True, text=True, env=env, timeout=300)
    assert ran.returncode == 1, ran.stderr
    assert ": memory: the cell's worker held" in ran.stderr and "over its limit of 1.0 GiB" in ran.stderr
    assert_only_bad_failed(out)
    assert cells(out)["bad"][1].startswith("memory:")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_stop_signal_kills_the_workers_keeps_finished_cells_and_exits(setup, signum, code):
    suite, out, pidfile, env = setup("hang")
    proc = start(suite, out, env, "--workers", "2")
    wait_for(lambda: pidfile.exists() and done_count(out) >= 1)  # one cell hangs, one is recorded
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)  # a hung cell does not hold the run up
    assert proc.returncode == code, stderr
    assert f"interrupted by {signal.Signals(signum).name}" in stderr
    assert "run the same command again to resume" in stderr and "Traceback" not in stderr
    wait_for(lambda: all(gone(child) for child in children), seconds=5)
    found = cells(out)
    assert found["bad"][0] == "running"  # never marked finished; resume re-runs it
    assert [status for status, _ in found.values()].count("done") >= 1


def test_workers_exit_when_the_driver_is_killed(setup):
    suite, out, pidfile, env = setup("hang")
    proc = start(suite, out, env, "--workers", "2")
    wait_for(pidfile.exists)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2
    proc.kill()
    proc.communicate()
    wait_for(lambda: all(gone(child) for child in children), seconds=5)


def test_limits_come_from_flag_then_suite_then_default_and_leave_cell_ids_alone(setup, invoke_genbench):
    suite, out, _, _ = setup("none")  # in this process: a dry run starts no worker
    plain = invoke_genbench("run", str(suite), "--dry-run", "--workers", "2")
    assert plain.returncode == 0, plain.stderr
    assert "limits per cell: timeout 12 h (default), max_memory" in plain.stdout
    suite.write_text(suite.read_text().replace("batch_size = 32", 'batch_size = 32\ntimeout = "30m"\nmax_memory = 2048'))
    limited = invoke_genbench("run", str(suite), "--dry-run", "--timeout", "90")
    assert limited.returncode == 0, limited.stderr
    assert "timeout 1.5 min (--timeout), max_memory 2.0 GiB (suite [train])" in limited.stdout
    ids = [line.split()[0] for line in plain.stdout.splitlines()[:3]]
    assert ids == [line.split()[0] for line in limited.stdout.splitlines()[:3]]  # limits are not config
    bad = invoke_genbench("run", str(suite), "--max-memory", "lots")
    assert bad.returncode == 2 and "--max-memory: 'lots' is not" in bad.stderr and not out.exists()
