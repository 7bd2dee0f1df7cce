"""A suite's [cluster] block: the batch jobs a cluster executor (slurm, pbs, lsf) asks for.

Validated with the rest of the suite, before any job is submitted: unknown keys, wrong types and
impossible sizes are ConfigErrors naming the key and the fix. Sizes are per job; each job runs
`processes` Dask workers that share its `cores` and `memory`. Keys the block leaves out come from
dask-jobqueue's own configuration (~/.config/dask/jobqueue.yaml), as its documentation describes.
This module imports no cluster library: `import genbench` stays free of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genbench.suite.limits import MEMORY_HELP, TIMEOUT_HELP, parse_memory, parse_timeout
from genbench.api.specs import Param

MAX_CORES = 1024  # per job: beyond any node
MAX_GPUS = 1  # per job: each worker uses its job's one GPU as `device = "auto"` (cuda:0)
MIN_MEMORY = 256 * 2**20  # a worker imports torch: less cannot run a cell
MAX_MEMORY = 64 * 2**40
MAX_WALLTIME_S = 366 * 86400.0

CLUSTER_PARAMS: dict[str, Param] = {
    "queue": Param("", "the batch queue or partition to submit to (SLURM -p, PBS -q, LSF -q)"),
    "account": Param("", "the account or project charged for the jobs"),
    "cores": Param(1, "cores per job", min=1, max=MAX_CORES),
    "processes": Param(1, "Dask workers per job (each runs one cell at a time)", min=1, max=MAX_CORES),
    "memory": Param("4GiB", f"memory per job: {MEMORY_HELP}"),
    "walltime": Param("1h", f"wall-clock limit per job: {TIMEOUT_HELP}"),
    "gpus": Param(0, "GPUs per job (0 or 1; ask for more jobs to use more GPUs)", min=0, max=MAX_GPUS),
    "max_jobs": Param(1, "jobs running at once (the cluster scales between 0 and this)", min=1, max=10_000),
    "job_extra": Param(("",), "extra scheduler directives, e.g. [\"--constraint=a100\"]"),
}


def validate_cluster(raw: Mapping[str, Any], fail) -> dict[str, Any]:
    """The block's settings, checked and parsed (memory in bytes, walltime in seconds);
    `fail(where, problem, fix)` builds the ConfigError."""
    settings: dict[str, Any] = {}
    for key, value in raw.items():
        param = CLUSTER_PARAMS[key]  # unknown keys were refused by the caller
        if key == "memory":
            parsed, low, high = _parse(value, parse_memory, MEMORY_HELP, key, fail), MIN_MEMORY, MAX_MEMORY
        elif key == "walltime":
            parsed, low, high = _parse(value, parse_timeout, TIMEOUT_HELP, key, fail), 60.0, MAX_WALLTIME_S
        else:
            try:
                settings[key] = param.check(value)
            except ValueError as exc:
                raise fail(f"cluster.{key}", str(exc), param.describe()) from None
            continue
        if not low <= parsed <= high:
            raise fail(f"cluster.{key}", f"{value!r} is not a possible size for one job",
                       f"give between {low if key == 'walltime' else '256MiB'} and "
                       f"{'366 days' if key == 'walltime' else '64TiB'}")
        settings[key] = parsed
    cores, processes = settings.get("cores"), settings.get("processes", 1)
    if cores is not None and processes > cores:
        raise fail("cluster.processes", f"{processes} workers per job cannot share {cores} cores",
                   "set processes <= cores (each worker runs one cell on at least one core)")
    if settings.get("gpus", 0) and processes != 1:
        raise fail("cluster.processes", f"a job with a GPU runs one worker, not {processes}",
                   "set processes = 1 with gpus = 1 (ask for more jobs with max_jobs for more GPUs)")
    memory = settings.get("memory")
    if memory is not None and memory / processes < MIN_MEMORY:
        raise fail("cluster.memory", f"{memory / 2**20:.0f} MiB shared by {processes} workers is under "
                   f"256 MiB each", "give more memory per job or fewer processes")
    return settings


def _parse(value, parse, expected: str, key: str, fail):
    try:
        return parse(value)
    except ValueError as exc:
        raise fail(f"cluster.{key}", str(exc), f"give {expected}") from None
