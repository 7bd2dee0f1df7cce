"""Executor options are the executors' own parameters: a suite's [executor] table (or [cluster]),
`--executor-opt KEY=VALUE` and `--scheduler`, checked before any work; and the defaults the
plugins mark (executor, reporters, kernel backend, optimizer). Nothing here needs Dask."""

from __future__ import annotations

import pytest

from genbench import ExecutorSpec, Param
from genbench.api.errors import ConfigError
from genbench.api.registry import load_plugins
from genbench.plugins.executors import jobqueue
from genbench.suite import config
from genbench.suite.executor_options import executor_params

SUITE = """
[suite]
name = "options"
[train]
steps = 4
batch_size = 32
[matrix]
datasets = [{ name = "ring8", n_train = 64, n_test = 8 }]
models = [{ name = "mlp", hidden = 8, depth = 1, z_dim = 2 }]
objectives = ["nonsaturating"]
"""


def load(tmp_path, registry, tables: str):
    path = tmp_path / "s.toml"
    path.write_text(SUITE + tables)
    return config.load(str(path), registry)


@pytest.mark.parametrize("block, message", [
    ("partition = 'gpu'", "unknown key 'partition'"),
    ("cores = -1", "below the minimum"),
    ("cores = 4\nprocesses = 8", "cannot share 4 cores"),
    ("memory = '1KiB'", "not a possible size"),
    ("memory = 'lots'", "memory: "),
    ("memory = '1GiB'\nprocesses = 8\ncores = 8", "under 256 MiB each"),
    ("walltime = '0s'", "walltime"),
    ("gpus = 2", "above the maximum"),
    ("gpus = 1\nprocesses = 2\ncores = 2", "one worker"),
    ("max_jobs = 0", "below the minimum"),
    ("queue = 3", "expected str"),
])
def test_cluster_table_is_checked_with_the_suite(tmp_path, registry, block, message):
    with pytest.raises(ConfigError, match=message) as error:
        load(tmp_path, registry, "\n[cluster]\n" + block)
    assert "cluster" in str(error.value) and str(tmp_path / "s.toml") in str(error.value)


def test_executor_table_is_the_cluster_table_under_its_new_name(tmp_path, registry):
    suite = load(tmp_path, registry, "\n[executor]\ncores = 4\nmemory = '16GiB'\n")
    assert (suite.executor_table, dict(suite.executor)) == ("executor", {"cores": 4, "memory": "16GiB"})
    with pytest.raises(ConfigError, match=r"both \[executor\] and \[cluster\]"):
        load(tmp_path, registry, "\n[executor]\ncores = 4\n[cluster]\ncores = 2\n")


def test_a_table_mixing_two_executors_options_is_refused(tmp_path, registry):
    with pytest.raises(ConfigError, match=r"no executor takes all of cores, scheduler \(cores: lsf, pbs, slurm; "
                                          r"scheduler: dask\)"):
        load(tmp_path, registry, "\n[executor]\nscheduler = 'tcp://host:8786'\ncores = 4\n")


def test_job_options_become_dask_jobqueue_arguments_and_unset_ones_stay_out():
    params = {key: param.default for key, param in jobqueue.JOB_PARAMS.items()}
    assert jobqueue.cluster_kwargs("slurm", jobqueue.job_settings(params)) == {}  # dask-jobqueue's configuration
    params.update(queue="gpu", account="lab", cores=4, memory="16GiB", walltime="90m", gpus=1, max_jobs=3,
                  job_extra=("--constraint=a100",))
    assert jobqueue.cluster_kwargs("slurm", jobqueue.job_settings(params)) == {
        "queue": "gpu", "account": "lab", "cores": 4, "memory": "16384MiB", "walltime": "01:30:00",
        "worker_extra_args": ["--resources", "GPU=1"], "job_extra_directives": ["--constraint=a100", "--gres=gpu:1"]}


def test_the_run_gets_the_tables_options_then_the_command_lines(tmp_path, registry):
    suite = load(tmp_path, registry, "\n[cluster]\ncores = 4\nmemory = '16GiB'\n")
    slurm = registry.get("executor", "slurm")
    params, notice = executor_params(slurm, suite.executor, suite.executor_table, suite.path, (("cores", 8),))
    assert notice is None and params["cores"] == 8 and params["memory"] == "16GiB" and params["queue"] == ""
    with pytest.raises(ConfigError, match="--executor-opt: processes: 16 workers per job cannot share 8 cores"):
        executor_params(slurm, suite.executor, "cluster", suite.path, (("cores", 8), ("processes", 16)))
    # a table for another executor is set aside, with a notice; the command line's options must be its own
    process = registry.get("executor", "process")
    params, notice = executor_params(process, suite.executor, suite.executor_table, suite.path, ())
    assert params == {} and "[cluster] table (cores, memory) is not for executor 'process'" in notice
    with pytest.raises(ConfigError, match="--executor-opt scheduler: executor 'process' takes no option"):
        executor_params(process, (), "executor", suite.path, (("scheduler", "tcp://host:8786"),))
    dask = registry.get("executor", "dask")
    assert executor_params(dask, (), "executor", suite.path, (("scheduler", "tcp://h:1"),))[0] == {
        "scheduler": "tcp://h:1"}


def test_an_executor_plugin_declares_and_checks_its_own_options(tmp_path):
    """A third-party executor's options reach its factory through the same table, checked by its rule."""
    registry, made = load_plugins(entry_points=False), []
    registry.add("executor", ExecutorSpec(
        "toy-cluster", "a cluster of toys", lambda options, **params: made.append(params),
        {"nodes": Param(1, "nodes", min=1), "name": Param("", "job name")},
        check=lambda nodes, name: "name: a job on several nodes needs a name; fix: set name" if nodes > 1 and not name
        else None), "test", "test")
    with pytest.raises(ConfigError, match="executor: name: a job on several nodes needs a name"):
        load(tmp_path, registry, "\n[executor]\nnodes = 2\n")
    suite = load(tmp_path, registry, "\n[executor]\nnodes = 2\nname = 'x'\n")
    spec = registry.get("executor", "toy-cluster")
    params, _ = executor_params(spec, suite.executor, suite.executor_table, suite.path, ())
    spec.factory(None, **params)
    assert made == [{"nodes": 2, "name": "x"}]


def test_defaults_are_marked_by_the_plugins(tmp_path):
    registry = load_plugins(entry_points=False)
    assert registry.default("executor") == "process"
    assert (registry.default("reporter"), registry.default("reporter", "terminal")) == ("csv", "table")
    suite = load(tmp_path, registry, "")  # the block names no optimizer and no kernel backend
    block = suite.blocks[0]
    assert (block.axis("optimizer")[0].name, block.axis("kernel")[0].name) == ("adam", "eager")
    # a later plugin's claim does not take the default over (the built-ins are registered first)
    registry.add("executor", ExecutorSpec("greedy", "wants to be the default", lambda options: None, default=True),
                 "test", "test")
    assert registry.default("executor") == "process"
    assert not registry.get("executor", "local").enforces_limits
