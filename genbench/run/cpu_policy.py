"""How many cells run at once and with how many torch threads each, and whether a cell's
throughput was measured on an overloaded machine.

The rule (`choose`): as many worker processes as there are cores the run may use, one
intra-op thread each; threads only for the cores the cells cannot fill (fewer cells than
cores). Why workers before threads: cells are independent, so w workers finish w cells in the
time of one, while t threads speed one cell up by S(t) < t (benchmarks/bench_cpu_policy.py
measures S(2) of the built-in models against 2 workers side by side). The cores the run may use
are the ones this process may run on (its CPU affinity), less the ones other programs keep busy
when the run starts (measured over a moment, not the load average, which still counts a run that
just ended): torch's intra-op threads spin while they wait, so threads beyond the free cores slow
a cell down several-fold rather than sharing fairly.
`--workers` and `--threads` override either number.

Each cell records its policy and the machine's load at start and end (`env`); `overload`
says when a cell got much less CPU than its threads asked for, which reports flag beside its
throughput.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import psutil

FAIR_SHARE = 0.7  # a cell whose threads got less than this share of a core each was starved


@dataclass(frozen=True)
class CpuPolicy:
    workers: int  # cells in flight at once
    threads: int  # torch intra-op threads per worker
    cores: int  # cores this process may run on
    busy: float  # cores' worth of CPU other programs used when the run started
    chosen_by: str  # "rule", or which flags set the numbers

    def describe(self) -> str:
        threads = f"{self.threads} thread{'s' if self.threads > 1 else ''}"
        return (f"{self.workers} worker{'s' if self.workers > 1 else ''} x {threads} "
                f"({self.cores} cores, {self.busy:.1f} busy; {self.chosen_by})")

    def record(self) -> dict[str, Any]:
        """What each cell's environment keeps of the policy."""
        return asdict(self)


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def busy_cores(seconds: float = 0.3) -> float:
    """Cores' worth of CPU the whole machine is using, measured over `seconds`."""
    return psutil.cpu_percent(interval=seconds) / 100 * (psutil.cpu_count() or 1)


def choose(cells: int, workers: int | None = None, threads: int | None = None,
           cores: int | None = None, busy: float | None = None) -> CpuPolicy:
    """The policy for `cells` cells; `workers`/`threads` as the user gave them (None: the rule).
    `cores` and `busy` default to this machine's, measured now."""
    cores = usable_cores() if cores is None else cores
    busy = busy_cores() if busy is None and not (workers and threads) else busy or 0.0
    free = max(1, min(cores, round(cores - busy)))
    chosen_workers = workers or max(1, min(cells, free))
    chosen_threads = threads or max(1, free // chosen_workers)
    flags = [flag for flag, given in (("--workers", workers), ("--threads", threads)) if given]
    chosen_by = f"set by {' and '.join(flags)}" if flags else "rule: a worker per free core, threads for the rest"
    return CpuPolicy(chosen_workers, chosen_threads, cores, busy, chosen_by)


def overload(row: Mapping[str, Any], env: Mapping[str, Any]) -> str | None:
    """Why this cell's throughput is not representative (it ran starved of CPU), or None.

    `row` is the cell's stored timing (train_time_s, warmup_time_s, train_cpu_s); `env` its
    environment. GPU cells wait on the device, so only their load is judged.
    """
    threads = env.get("torch_threads") or 1
    cores = env.get("cpu_count") or 1
    loads = [load for load in (env.get("load_start"), env.get("load_end")) if load is not None]
    busy = bool(loads) and max(loads) > cores
    where = f"; load {max(loads):.1f} on {cores} cores" if loads else ""
    steady = (row.get("train_time_s") or 0.0) - (row.get("warmup_time_s") or 0.0)
    cpu = row.get("train_cpu_s")
    if not str(env.get("device", "cpu")).startswith("cpu"):
        return f"load {max(loads):.1f} on {cores} cores" if busy and max(loads) > 1.5 * cores else None
    if cpu is None or steady < 1.0:
        return None  # too short to judge
    used = cpu / steady  # cores' worth of CPU the cell's process used
    # One thread that got under FAIR_SHARE of a core waited for the CPU. Several threads may
    # idle on small ops on a quiet machine, so they count as starved only on a busy one.
    if used < FAIR_SHARE or (threads > 1 and busy and used < FAIR_SHARE * threads):
        return f"used {used:.2f} cores' CPU with {threads} thread{'s' if threads > 1 else ''}{where}"
    return None
