"""The slurm, pbs and lsf executors: a Dask cluster of batch jobs (dask-jobqueue) runs the cells.

The suite's [cluster] block (genbench.suite.cluster, validated with the suite) says what each
job asks for; keys it leaves out come from dask-jobqueue's configuration file. The cluster adapts
between 0 and `max_jobs` jobs while cells are pending; cells then run exactly as with the dask
executor (plugins/executors/dask_cluster.py), the driver writing the results folder. Run genbench
where jobs can be submitted from (a login node) and reach the scheduler it starts there.
Needs `pip install genbench[slurm]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genbench import ExecutorSpec, hookimpl
from genbench.api.errors import ConfigError, PluginError
from genbench.run.executors import ExecutorOptions
from genbench.plugins.executors.dask_cluster import DaskExecutor, import_distributed

CLUSTER_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster"}
GPU_DIRECTIVES = {"slurm": "--gres=gpu:{n}", "pbs": "-l ngpus={n}", "lsf": '-gpu "num={n}"'}


def walltime(seconds: float, kind: str) -> str:
    """HH:MM:SS (SLURM, PBS) or HH:MM (LSF), rounded up to the minute for LSF."""
    total = int(round(seconds))
    if kind == "lsf":
        minutes = -(-total // 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def cluster_kwargs(kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """dask-jobqueue's keyword arguments for the [cluster] settings (as validate_cluster parsed them);
    keys the block leaves out are left to dask-jobqueue's configuration."""
    kwargs: dict[str, Any] = {}
    for key in ("queue", "account", "cores", "processes"):
        if settings.get(key):
            kwargs[key] = settings[key]
    if "memory" in settings:
        kwargs["memory"] = f"{settings['memory'] // 2**20}MiB"
    if "walltime" in settings:
        kwargs["walltime"] = walltime(settings["walltime"], kind)
    directives = [d for d in settings.get("job_extra", ()) if d]
    if settings.get("gpus"):
        directives.append(GPU_DIRECTIVES[kind].format(n=settings["gpus"]))
        kwargs["worker_extra_args"] = ["--resources", f"GPU={settings['gpus']}"]
    if directives:
        kwargs["job_extra_directives"] = directives
    return kwargs


def make_cluster(kind: str, settings: Mapping[str, Any]):
    """The dask-jobqueue cluster object (its scheduler runs here; no job is submitted yet)."""
    import_distributed("slurm")
    try:
        import dask_jobqueue
    except ImportError as exc:
        raise PluginError(f"--executor {kind} needs dask-jobqueue ({exc}); fix: pip install "
                          f"'genbench[slurm]'") from None
    cluster_class = getattr(dask_jobqueue, CLUSTER_CLASSES[kind])
    try:
        return cluster_class(**cluster_kwargs(kind, settings), scheduler_options={"dashboard_address": ":0"})
    except ValueError as exc:  # e.g. no cores or memory in the block nor in dask-jobqueue's configuration
        raise ConfigError(f"--executor {kind}: dask-jobqueue refused the cluster settings: {exc}; fix: set "
                          f"them in the suite's [cluster] block (cores, memory, ...)") from None


def jobqueue_executor(kind: str):
    def factory(options: ExecutorOptions) -> DaskExecutor:
        settings = dict(options.cluster)
        cluster = make_cluster(kind, settings)
        max_jobs = settings.get("max_jobs", 1)
        try:
            cluster.adapt(minimum_jobs=0, maximum_jobs=max_jobs)
        except BaseException:
            cluster.close()
            raise
        return DaskExecutor(options, cluster, slots=max_jobs * settings.get("processes", 1),
                            gpu=bool(settings.get("gpus")))

    return factory


@hookimpl
def register_executors(register):
    for kind, scheduler in (("slurm", "SLURM"), ("pbs", "PBS"), ("lsf", "LSF")):
        register(ExecutorSpec(kind, f"run each cell on a Dask cluster of {scheduler} batch jobs (the suite's "
                              f"[cluster] block); needs genbench[slurm]", jobqueue_executor(kind)))
