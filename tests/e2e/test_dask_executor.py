"""The dask, slurm, pbs and lsf executors: a real LocalCluster, a real `dask scheduler` with two
`dask worker` processes on 127.0.0.1, and dask-jobqueue's own objects (no batch system here)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genbench.suite import config, plan
from genbench.api.errors import ConfigError, PluginError
from genbench.api.registry import load_plugins

pytest.importorskip("distributed")
pytest.importorskip("dask_jobqueue")

from genbench.plugins.executors import dask_cluster, jobqueue  # noqa: E402

SUITE = """
[suite]
name = "dasktest"
seeds = [0, 1, 2]
[train]
steps = 200
batch_size = 32
device = "cpu"
[eval]
every = 100
metrics = [{ name = "modes", n_samples = 100 }]
[matrix]
datasets = [{ name = "ring8", n_train = 256, n_test = 16 }]
models = [{ name = "mlp", hidden = 8, depth = 1, z_dim = 2 }]
objectives = ["nonsaturating"]
"""
LONG_CELL = SUITE.replace("seeds = [0, 1, 2]", "seeds = [7]").replace("steps = 200", "steps = 600") \
    .replace("every = 100", "every = 150")
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def genbench(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "genbench", "run", *map(str, args), "--threads", "1"],
                          capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def metrics(out: Path) -> dict:
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT cell_id, step, name, value FROM metrics").fetchall()
    return {(c, s, n): v for c, s, n, v in rows}


def cells(out: Path) -> dict:
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT cell_id, status, env FROM cells").fetchall()
    return {c: (status, json.loads(env or "{}")) for c, status, env in rows}


def pictures(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in (out / "artifacts").rglob("*.png")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The suites run in-process: the metrics every executor must reproduce bit for bit."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "suite.toml").write_text(SUITE)
    (folder / "long.toml").write_text(LONG_CELL)
    genbench(folder / "suite.toml", "--out", folder / "out", "--executor", "local")
    genbench(folder / "long.toml", "--out", folder / "long", "--executor", "local")
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real `dask scheduler` and two `dask worker` processes (no nanny: killing one kills the
    worker), started in a folder of their own; yields (address, {address: process})."""
    folder = tmp_path_factory.mktemp("cluster-cwd")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    scheduler = subprocess.Popen([bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--dashboard-address", ":0"], cwd=folder, env=ENV,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = {}
    for _ in range(2):
        worker_port = free_port()
        workers[f"tcp://127.0.0.1:{worker_port}"] = subprocess.Popen(
            [bin_dir / "dask", "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
             "--worker-port", str(worker_port), "--no-dashboard", "--local-directory", str(folder / "scratch")],
            cwd=folder, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    yield address, workers, folder
    for process in (*workers.values(), scheduler):
        process.kill()
        process.wait()


# --- configuration, extras, job scripts: fast ----------------------------------------------------

def test_import_genbench_and_its_plugins_do_not_import_dask():
    code = ("import sys, genbench; from genbench.api.registry import load_plugins; r = load_plugins(); "
            "assert {'dask', 'slurm', 'pbs', 'lsf'} <= set(r.names('executor')); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'dask_jobqueue')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV)
    assert out.stdout.strip() == "[]"


def test_missing_extra_is_a_plugin_error_naming_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an install without the extra sees
    with pytest.raises(PluginError, match=r"pip install 'genbench\[dask\]'"):
        dask_cluster.import_distributed()
    with pytest.raises(PluginError, match=r"genbench\[slurm\]"):
        jobqueue.make_cluster("slurm", {"cores": 1, "memory": 2**30})


def load_suite(tmp_path, cluster_block: str):
    path = tmp_path / "s.toml"
    path.write_text(SUITE + "\n[cluster]\n" + cluster_block)
    return config.load(str(path), load_plugins(entry_points=False))


def test_slurm_job_script_and_submission_from_dask_jobqueue(tmp_path, monkeypatch):
    suite = load_suite(tmp_path, "queue = 'gpu'\naccount = 'lab'\ncores = 4\nmemory = '16GiB'\n"
                                 "walltime = '90m'\ngpus = 1\nmax_jobs = 3\njob_extra = ['--constraint=a100']")
    settings = jobqueue.job_settings(dict(suite.executor))
    assert jobqueue.cluster_kwargs("slurm", settings) == {
        "queue": "gpu", "account": "lab", "cores": 4, "memory": "16384MiB", "walltime": "01:30:00",
        "worker_extra_args": ["--resources", "GPU=1"], "job_extra_directives": ["--constraint=a100", "--gres=gpu:1"]}
    submitted = []

    async def fake_call(cmd, **kwargs):  # the batch system's reply to sbatch, without one
        submitted.append(cmd)
        return "Submitted batch job 4242"

    import dask_jobqueue.slurm

    monkeypatch.setattr(dask_jobqueue.slurm.SLURMJob, "_call", staticmethod(fake_call))
    cluster = jobqueue.make_cluster("slurm", settings)
    try:
        script = cluster.job_script()
        for line in ("#SBATCH -p gpu", "#SBATCH -A lab", "#SBATCH -n 1", "#SBATCH --cpus-per-task=4",
                     "#SBATCH --mem=16G", "#SBATCH -t 01:30:00", "#SBATCH --constraint=a100",
                     "#SBATCH --gres=gpu:1", "--resources GPU=1"):
            assert line in script, (line, script)
        assert cluster.scheduler_address in script
        cluster.scale(jobs=1)
        deadline = time.monotonic() + 30
        while not submitted and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        cluster.close()
    assert submitted and submitted[0][0] == "sbatch" and submitted[0][1].endswith(".sh")


@pytest.mark.parametrize("kind, lines", [
    ("pbs", ["#PBS -q long", "#PBS -l walltime=02:00:00", "#PBS -l ngpus=1"]),
    ("lsf", ["#BSUB -q long", "#BSUB -W 02:00", '#BSUB -gpu "num=1"']),
])
def test_pbs_and_lsf_job_scripts(tmp_path, kind, lines):
    suite = load_suite(tmp_path, "queue = 'long'\ncores = 2\nmemory = '4GiB'\nwalltime = '2h'\ngpus = 1")
    cluster = jobqueue.make_cluster(kind, jobqueue.job_settings(dict(suite.executor)))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in lines:
        assert line in script, (line, script)


def test_jobqueue_without_cores_is_a_config_error_before_submission(monkeypatch):
    import dask

    with dask.config.set({"jobqueue.slurm.cores": None, "jobqueue.slurm.memory": None}):
        with pytest.raises(ConfigError, match=r"\[cluster\]"):
            jobqueue.make_cluster("slurm", {})


# --- real clusters: slow -----------------------------------------------------------------------

@pytest.mark.slow
def test_local_cluster_gives_the_in_process_metrics_and_pictures(tmp_path, reference):
    (tmp_path / "suite.toml").write_text(SUITE)
    run = genbench(tmp_path / "suite.toml", "--out", tmp_path / "out", "--executor", "dask", "--workers", "2")
    assert "dashboard http://127.0.0.1:" in run.stdout
    assert metrics(tmp_path / "out") == metrics(reference / "out")  # bit-identical on CPU
    assert pictures(tmp_path / "out") == pictures(reference / "out") != set()
    assert len({env["dask"]["worker"] for _, env in cells(tmp_path / "out").values()}) == 2


@pytest.mark.slow
def test_external_scheduler_gives_the_same_results_with_workers_elsewhere(tmp_path, reference, cluster):
    address, _, worker_cwd = cluster
    (tmp_path / "suite.toml").write_text(SUITE)
    genbench(tmp_path / "suite.toml", "--out", tmp_path / "out", "--executor", "dask", "--scheduler", address)
    assert metrics(tmp_path / "out") == metrics(reference / "out")
    assert pictures(tmp_path / "out") == pictures(reference / "out") != set()
    assert not list(worker_cwd.glob("*.png")) and not (worker_cwd / "genbench-results").exists()


@pytest.mark.slow
def test_killed_worker_cell_reruns_on_the_other_from_its_checkpoint(tmp_path, reference, cluster):
    address, workers, _ = cluster
    from distributed import Client

    (tmp_path / "long.toml").write_text(LONG_CELL)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "genbench", "run", tmp_path / "long.toml", "--out", out,
                             "--executor", "dask", "--scheduler", address, "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 300
    while not list(out.glob("checkpoints/*/step*.pt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    with Client(address, timeout=30) as client:  # which worker runs the cell
        running = [w for w, keys in client.processing().items() if keys]
    assert len(running) == 1, running
    workers[running[0]].kill()
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    [(status, env)] = cells(out).values()
    assert status == "done"
    assert env["dask"]["attempts"][0] == running[0] and len(env["dask"]["attempts"]) == 2
    assert env["dask"]["worker"] != running[0]
    assert env["checkpoints"]["resumed_from_step"] >= 150
    assert metrics(out) == metrics(reference / "long")  # nothing lost, nothing twice, same numbers
    del workers[running[0]]


def interrupt_after_one_cell(args, out: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "genbench", "run", *map(str, args), "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "results.sqlite").exists() and \
                sum(status == "done" for status, _ in _cells_or_empty(out).values()) >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]


def _cells_or_empty(out: Path) -> dict:
    try:
        return cells(out)
    except sqlite3.OperationalError:
        return {}


@pytest.mark.slow
@pytest.mark.parametrize("first, then", [("dask", "process"), ("process", "dask")])
def test_resume_across_executors(tmp_path, reference, cluster, first, then):
    """Interrupted (SIGINT) under one executor, finished under the other; Ctrl-C cancels the
    run's tasks and leaves the cluster running."""
    address = cluster[0]
    (tmp_path / "suite.toml").write_text(SUITE)
    out = tmp_path / "out"
    extra = {"dask": ["--executor", "dask", "--scheduler", address], "process": ["--executor", "process", "--workers", "2"]}
    interrupt_after_one_cell([tmp_path / "suite.toml", "--out", out, *extra[first]], out)
    done_before = {c for c, (status, _) in cells(out).items() if status == "done"}
    assert 1 <= len(done_before) < 3
    if first == "dask":
        from distributed import Client

        with Client(address, timeout=30) as client:
            deadline = time.monotonic() + 30  # a running cell stops at its next progress report
            while any(client.processing().values()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not any(client.processing().values()) and client.scheduler_info()["workers"]
    resumed = genbench(tmp_path / "suite.toml", "--out", out, *extra[then])
    assert f"skipped {len(done_before)} cells already in the store" in resumed.stdout
    assert metrics(out) == metrics(reference / "out")
    assert {status for status, _ in cells(out).values()} == {"done"}
    shutil.rmtree(out)


# --- limits, crashes and bad checkpoints under Dask ------------------------------------------

MISBEHAVING = """
[suite]
name = "dasklimits"
seeds = [0]
[train]
steps = 20
batch_size = 32
device = "cpu"
[eval]
every = 10
[matrix]
datasets = [{{ name = "ring8", n_train = 256, n_test = 16 }}]
models = [{{ name = "misbehaving", label = "bad", how = "{how}", hidden = 8, depth = 1, z_dim = 2 }},
          {{ name = "mlp", label = "good", hidden = 8, depth = 1, z_dim = 2 }}]
objectives = ["nonsaturating"]
"""


@pytest.fixture
def misbehaving(tmp_path, install_plugin):
    """misbehaving(how, *flags) -> (the finished `genbench run --executor dask` process, out dir,
    {model label: (status, error, seconds from start to end, env)}) for a suite of a misbehaving
    cell (tests/plugins/genbench_misbehaving_model.py) beside a good one, on a LocalCluster."""
    site = install_plugin("genbench_misbehaving_model", dist="genbench-misbehaving")
    env = dict(ENV, COLUMNS="200", PYTHONPATH=os.pathsep.join([str(site), str(Path(__file__).parents[1] / "plugins")]))

    def run(how: str, *flags: str, out: Path | None = None):
        suite, out = tmp_path / f"{how}.toml", out or tmp_path / how
        suite.write_text(MISBEHAVING.format(how=how))
        proc = subprocess.run([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out), "--executor",
                               "dask", "--workers", "2", "--threads", "1", *flags], capture_output=True, text=True,
                              env=env, timeout=600)
        with sqlite3.connect(out / "results.sqlite") as db:
            rows = db.execute("SELECT a.label, c.status, c.error, c.finished_at - c.started_at, c.env FROM cells c "
                              "JOIN cell_axes a ON a.cell_id = c.cell_id AND a.axis = 'model'").fetchall()
        return proc, out, {label: (status, error, seconds, json.loads(env or "{}"))
                           for label, status, error, seconds, env in rows}

    return run


@pytest.mark.slow
def test_a_hung_cell_under_dask_ends_within_its_timeout_with_the_process_executors_message(misbehaving):
    proc, _, found = misbehaving("hang", "--timeout", "20")
    assert proc.returncode == 1, proc.stderr[-3000:]
    status, error, seconds, _ = found["bad"]
    assert status == "failed" and error.startswith("timeout: the cell ran longer than its limit of 20 s (set by "
                                                   "--timeout or the suite's [train] timeout)")
    assert seconds < 20 + 8, seconds  # the limit plus a few seconds, though the cell never reports progress
    assert "/bad/nonsaturating/adam/eager/seed0: timeout: the cell ran longer than its limit of 20 s" in proc.stderr
    assert found["good"][0] == "done"


@pytest.mark.slow
def test_a_crashed_dask_worker_names_the_signal_and_is_not_tried_again(misbehaving):
    proc, _, found = misbehaving("crash", "--timeout", "300")
    assert proc.returncode == 1, proc.stderr[-3000:]
    status, error, _, env = found["bad"]
    assert status == "failed" and error.startswith("worker died: the worker process running this cell was killed "
                                                   "by SIGSEGV"), error
    assert len(env["dask"]["attempts"]) == 1 and "history: attempt 1 on tcp://" in error
    assert "killed by SIGSEGV" in proc.stderr and found["good"][0] == "done"


@pytest.mark.slow
def test_a_leaking_cell_under_dask_hits_the_memory_limit(misbehaving):
    proc, _, found = misbehaving("leak", "--timeout", "300", "--max-memory", "1GiB")
    assert proc.returncode == 1, proc.stderr[-3000:]
    status, error, _, _ = found["bad"]
    assert status == "failed" and error.startswith("memory: the cell's worker held") and \
        "over its limit of 1.0 GiB (set by --max-memory or the suite's [train] max_memory)" in error
    assert found["good"][0] == "done"


@pytest.mark.slow
def test_a_cell_whose_checkpoint_cannot_be_read_fails_alone_under_dask(misbehaving, tmp_path):
    out = tmp_path / "out"
    first, _, found = misbehaving("none", "--only", "bad", out=out)  # the store exists; the good cell is pending
    assert first.returncode == 0 and set(found) == {"bad"}, first.stderr[-3000:]
    registry = load_plugins()  # the misbehaving plugin is installed here too
    [good] = plan.select(plan.expand(config.load(str(tmp_path / "none.toml"), registry), registry), ("good",))
    good_id = good.cell_id
    planted = out / "checkpoints" / good_id / "step0000010.pt"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"not a checkpoint")
    proc, _, found = misbehaving("none", out=out)
    assert proc.returncode == 1, proc.stderr[-3000:]  # one failed cell, not a refused run (2)
    status, error, _, _ = found["good"]
    assert status == "failed" and f"checkpoint {planted} cannot be read safely" in error
    assert f"delete {planted}" in error and planted.read_bytes() == b"not a checkpoint"
    assert found["bad"][0] == "done"


def watched(monkeypatch, limits, finishes_after: float | None, cancelled=lambda: False):
    """Run a Dask cell's watchdog (dask_worker.watch) in this process against `limits`, the cell
    ending after `finishes_after` seconds (None: it hangs): (the stops it made, whether it killed)."""
    import threading

    from genbench.plugins.executors import dask_worker

    killed, stops, done = [], [], threading.Event()
    monkeypatch.setattr(dask_worker, "kill_this_worker", lambda: killed.append(True))
    monkeypatch.setattr(dask_worker, "STOP_GRACE_S", 0.5)
    if finishes_after is not None:
        threading.Timer(finishes_after, done.set).start()
    dask_worker.watch(limits, cancelled, lambda cause, tell: stops.append((cause, tell)), done)
    return stops, bool(killed)


def test_the_dask_watchdog_stops_a_cell_past_its_time_and_kills_a_worker_that_hangs(monkeypatch):
    from genbench.suite.limits import CellLimits

    limits = CellLimits(timeout_s=0.6, max_memory_bytes=2**45)
    stops, killed = watched(monkeypatch, limits, finishes_after=None)
    assert stops == [("timeout: the cell ran longer than its limit of 0.6 s (set by --timeout or the suite's "
                      "[train] timeout); it was stopped", True)] and killed
    stops, killed = watched(monkeypatch, limits, finishes_after=1.3)  # it stops at a progress report in time
    assert len(stops) == 1 and not killed
    assert watched(monkeypatch, CellLimits(60, 2**45), finishes_after=0.3) == ([], False)


def test_the_dask_watchdog_kills_a_worker_over_its_memory_limit_and_obeys_a_cancel(monkeypatch):
    from genbench.suite.limits import CellLimits

    [(cause, told)], killed = watched(monkeypatch, CellLimits(60, 2**20), finishes_after=1.5)
    assert cause.startswith("memory: the cell's worker held ") and "over its limit of 1.0 MiB" in cause
    assert cause.endswith("; its Dask worker was killed") and told and killed
    monkeypatch.setattr("genbench.plugins.executors.dask_worker.CHECK_EVERY_S", 0.1)
    stops, killed = watched(monkeypatch, CellLimits(60, 2**45), finishes_after=None, cancelled=lambda: True)
    assert stops == [("cancelled: the run was interrupted", False)] and killed


def test_a_dask_workers_death_is_read_from_its_nannys_log_and_memory_events():
    from genbench.plugins.executors.dask_deaths import death_in_log, memory_restart
    from genbench.plugins.executors.dask_worker import worker_lost

    log = ["2026-01-01 - distributed.nanny - INFO - Worker process 41 was killed by signal 9",
           "2026-01-01 - distributed.nanny - INFO - Worker process 42 was killed by signal 11",
           "2026-01-01 - distributed.nanny - INFO - Worker process 43 exited with status 3"]
    segfault = death_in_log(log, 42)
    assert segfault.error.startswith("worker died: the worker process running this cell was killed by SIGSEGV")
    assert not segfault.again  # it would crash again
    assert death_in_log(log, 41).again and "killed by SIGKILL" in death_in_log(log, 41).error  # a kill, preemption
    assert "exited with status 3" in death_in_log(log, 43).error and death_in_log(log, 7) is None
    memory = memory_restart([(0.0, {"worker": "tcp://w", "pid": 42, "rss": 3 * 2**30})], 42)
    assert memory.error.startswith("memory: Dask's nanny restarted the worker") and "3.0 GiB" in memory.error
    assert not memory.again and memory_restart([(0.0, {"pid": 1})], 42) is None
    lost = worker_lost(["tcp://a", "tcp://b"], death_in_log(log, 41))
    assert lost.splitlines() == [
        "worker lost: the Dask worker running this cell was lost 2 times (killed, preempted or cut off), so it was "
        "not retried again",
        "the last: worker died: the worker process running this cell was killed by SIGKILL (a crash, the "
        "out-of-memory killer, or a kill)",
        "history: attempt 1 on tcp://a; attempt 2 on tcp://b"]
