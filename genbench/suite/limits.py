"""Per-cell resource limits: how long a cell may run and how much memory its worker may hold.

Limits are set by `genbench run --timeout/--max-memory`, else the suite's [train] `timeout` /
`max_memory`, else the defaults here. They bound a run, they do not change what a cell computes,
so they are not part of a cell's configuration (nor of its id): the driver hands them to the
executor through ExecutorOptions, and the process executor enforces them per cell.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import psutil

LIMIT_KEYS = ("timeout", "max_memory")  # the [train] keys
DEFAULT_TIMEOUT_S = 12 * 3600.0
DEFAULT_MEMORY_SHARE = 0.8  # of physical memory, split evenly between the workers

_MEMORY_UNITS = {"": 2**20, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6,
                 "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12,
                 "tib": 2**40}
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_NUMBER_AND_UNIT = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*", re.IGNORECASE)

MEMORY_HELP = 'a number of MiB (e.g. 4096) or a size with a unit (e.g. "4GiB", "512MiB")'
TIMEOUT_HELP = 'seconds (e.g. 600) or a duration with a unit (e.g. "90s", "30m", "2h")'


@dataclass(frozen=True)
class CellLimits:
    """What the process executor enforces on every cell."""

    timeout_s: float  # wall-clock seconds from the cell's start to its result
    max_memory_bytes: int  # resident memory of the cell's worker process and its children

    def describe(self) -> str:
        return f"timeout {format_duration(self.timeout_s)}, max_memory {format_bytes(self.max_memory_bytes)}"


def default_max_memory(workers: int) -> int:
    """80% of this machine's physical memory, split evenly between the workers."""
    return int(psutil.virtual_memory().total * DEFAULT_MEMORY_SHARE / max(1, workers))


def default_limits(workers: int) -> CellLimits:
    return CellLimits(DEFAULT_TIMEOUT_S, default_max_memory(workers))


def parse_timeout(value: object) -> float:
    """Seconds from a positive number or a string like "90s", "30m", "2h"; ValueError saying why."""
    return _parse(value, _DURATION_UNITS, 1, TIMEOUT_HELP)


def parse_memory(value: object) -> int:
    """Bytes from a positive number of MiB or a string like "4GiB"; ValueError saying why."""
    return int(_parse(value, _MEMORY_UNITS, 2**20, MEMORY_HELP))


def _parse(value: object, units: dict[str, int], bare_unit: int, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not {expected}")
    if isinstance(value, str):
        match = _NUMBER_AND_UNIT.fullmatch(value)
        if match is None or match.group(2).lower() not in units:
            raise ValueError(f"{value!r} is not {expected}")
        amount = float(match.group(1)) * units[match.group(2).lower()]
    else:
        amount = float(value) * bare_unit
    if not math.isfinite(amount) or amount <= 0:
        raise ValueError(f"{value!r} is not positive; expected {expected}")
    return amount


def resolve(flags: dict[str, float | int | None], suite: dict[str, float | int], workers: int
            ) -> tuple[CellLimits, dict[str, str]]:
    """The limits that apply (flag > suite > default, each already parsed) and where each came
    from ("--timeout", "suite", "default")."""
    defaults = {"timeout": DEFAULT_TIMEOUT_S, "max_memory": default_max_memory(workers)}
    values, sources = {}, {}
    for key in LIMIT_KEYS:
        if flags.get(key) is not None:
            values[key], sources[key] = flags[key], f"--{key.replace('_', '-')}"
        elif key in suite:
            values[key], sources[key] = suite[key], "suite [train]"
        else:
            values[key], sources[key] = defaults[key], "default"
    return CellLimits(float(values["timeout"]), int(values["max_memory"])), sources


def format_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def format_duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
