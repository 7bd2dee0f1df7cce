"""The slurm, pbs and lsf executors: a Dask cluster of batch jobs (dask-jobqueue) runs the cells.

Their options say what each job asks for (queue, account, cores, processes, memory, walltime,
gpus, max_jobs, job_extra), set in a suite's [executor] table (or [cluster], its earlier name)
or with `--executor-opt KEY=VALUE`, and checked with the suite before any job is submitted; an
option left unset (empty, or 0 for cores and processes) comes from dask-jobqueue's
configuration file. The cluster adapts between 0 and `max_jobs` jobs while cells are pending;
cells then run exactly as with the dask executor (plugins/executors/dask_cluster.py), the driver
writing the results folder. Run genbench where jobs can be submitted from (a login node) and
reach the scheduler it starts there. Needs `pip install genbench[slurm]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genbench import ExecutorSpec, Param, hookimpl
from genbench.api.errors import ConfigError, PluginError
from genbench.run.executors import ExecutorOptions
from genbench.suite.limits import MEMORY_HELP, TIMEOUT_HELP, parse_memory, parse_timeout
from genbench.plugins.executors.dask_cluster import DaskExecutor, import_distributed

MAX_CORES = 1024  # per job: beyond any node
MAX_GPUS = 1  # per job: each worker uses its job's one GPU as `device = "auto"` (cuda:0)
MIN_MEMORY = 256 * 2**20  # a worker imports torch: less cannot run a cell
MAX_MEMORY = 64 * 2**40
MIN_WALLTIME_S, MAX_WALLTIME_S = 60.0, 366 * 86400.0
CONFIG = "dask-jobqueue's configuration"  # where an option left unset comes from
JOB_PARAMS: dict[str, Param] = {
    "queue": Param("", f"the batch queue or partition to submit to (SLURM -p, PBS -q, LSF -q; empty: {CONFIG})"),
    "account": Param("", f"the account or project charged for the jobs (empty: {CONFIG})"),
    "cores": Param(0, f"cores per job (0: {CONFIG})", min=0, max=MAX_CORES),
    "processes": Param(0, f"Dask workers per job, each running one cell at a time (0: {CONFIG})", min=0,
                       max=MAX_CORES),
    "memory": Param("", f"memory per job: {MEMORY_HELP} (empty: {CONFIG})"),
    "walltime": Param("", f"wall-clock limit per job: {TIMEOUT_HELP} (empty: {CONFIG})"),
    "gpus": Param(0, "GPUs per job (0 or 1; ask for more jobs to use more GPUs)", min=0, max=MAX_GPUS),
    "max_jobs": Param(1, "jobs running at once (the cluster scales between 0 and this)", min=1, max=10_000),
    "job_extra": Param(("",), "extra scheduler directives, e.g. [\"--constraint=a100\"]"),
}


def job_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """The options that are set (memory in bytes, walltime in seconds); ValueError naming the
    option whose text is not a size or a duration."""
    settings = {key: value for key, value in params.items() if value not in ("", 0, ("",), ())}
    for key, parse, expected in (("memory", parse_memory, MEMORY_HELP), ("walltime", parse_timeout, TIMEOUT_HELP)):
        if key in settings:
            try:
                settings[key] = parse(settings[key])
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}; fix: give {expected}") from None
    return settings


def check_job(**params) -> str | None:
    """Why these options cannot make a job (each worker runs a cell on at least one core, in at
    least 256 MiB), or None."""
    try:
        settings = job_settings(params)
    except ValueError as exc:
        return str(exc)
    memory, walltime = settings.get("memory"), settings.get("walltime")
    if memory is not None and not MIN_MEMORY <= memory <= MAX_MEMORY:
        return f"memory: {params['memory']!r} is not a possible size for one job; fix: give between 256MiB and 64TiB"
    if walltime is not None and not MIN_WALLTIME_S <= walltime <= MAX_WALLTIME_S:
        return f"walltime: {params['walltime']!r} is not a possible time for one job; fix: give between 1m and 366d"
    cores, processes = settings.get("cores"), settings.get("processes", 1)
    if cores is not None and processes > cores:
        return (f"processes: {processes} workers per job cannot share {cores} cores; fix: set processes <= cores "
                f"(each worker runs one cell on at least one core)")
    if settings.get("gpus") and processes != 1:
        return (f"processes: a job with a GPU runs one worker, not {processes}; fix: set processes = 1 with gpus = 1 "
                f"(ask for more jobs with max_jobs for more GPUs)")
    if memory is not None and memory / processes < MIN_MEMORY:
        return (f"memory: {memory / 2**20:.0f} MiB shared by {processes} workers is under 256 MiB each; fix: give "
                f"more memory per job or fewer processes")
    return None


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
    """dask-jobqueue's keyword arguments for the options that are set (as job_settings parsed
    them); the others are left to dask-jobqueue's configuration."""
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
                          f"them in the suite's [executor] table (or [cluster]; cores, memory, ...) or with "
                          f"--executor-opt KEY=VALUE") from None


def jobqueue_executor(kind: str):
    def factory(options: ExecutorOptions, **params) -> DaskExecutor:
        settings = job_settings(params)  # checked with the suite (check_job)
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
        register(ExecutorSpec(kind, f"run each cell on a Dask cluster of {scheduler} batch jobs (options: what "
                              f"each job asks for); needs genbench[slurm]", jobqueue_executor(kind), JOB_PARAMS,
                              check=check_job))
