"""The CPU policy: workers per free core, threads for the cores cells leave idle, flags that
override it, and the overload flag (tests/e2e/test_cpu_policy_run.py: what a run records, and
the flag in `show` and exports)."""

from __future__ import annotations


import pytest

from genbench.run.cpu_policy import choose, overload


@pytest.mark.parametrize(("cells", "cores", "busy", "expected"), [
    (12, 2, 0.0, (2, 1)),  # more cells than cores: a worker per core, one thread each
    (1, 2, 0.0, (1, 2)),  # one cell: its worker gets the idle cores as threads
    (3, 8, 0.0, (3, 2)),  # 8 cores, 3 cells: 3 workers x 2 threads (2 cores left idle, not split)
    (12, 2, 2.0, (1, 1)),  # two busy processes already on 2 cores: never more threads than free cores
    (1, 2, 1.1, (1, 1)),
    (12, 16, 3.6, (12, 1)),
])
def test_the_rule_fills_free_cores_with_workers_first(cells, cores, busy, expected):
    policy = choose(cells, cores=cores, busy=busy)
    assert (policy.workers, policy.threads) == expected
    assert policy.workers * policy.threads <= max(1, cores - round(busy)) or policy.workers == 1
    assert policy.chosen_by.startswith("rule")


def test_flags_override_the_rule_and_say_so():
    assert (choose(12, workers=3, cores=2, busy=0.0).workers, choose(12, workers=3, cores=2, busy=0.0).threads) == (3, 1)
    policy = choose(12, workers=1, threads=4, cores=2, busy=2.0)
    assert (policy.workers, policy.threads) == (1, 4)
    assert policy.chosen_by == "set by --workers and --threads"


CPU_ENV = {"torch_threads": 1, "cpu_count": 2, "device": "cpu", "load_start": 0.5, "load_end": 0.6}
TIMING = {"train_time_s": 10.0, "warmup_time_s": 0.5}


def test_overload_flags_a_cell_that_got_too_little_cpu():
    assert overload({**TIMING, "train_cpu_s": 9.2}, CPU_ENV) is None
    why = overload({**TIMING, "train_cpu_s": 3.8}, {**CPU_ENV, "load_end": 4.1})
    assert why == "used 0.40 cores' CPU with 1 thread; load 4.1 on 2 cores"
    two_threads = {**CPU_ENV, "torch_threads": 2}
    assert overload({**TIMING, "train_cpu_s": 9.5}, two_threads) is None  # idle threads, quiet machine
    assert overload({**TIMING, "train_cpu_s": 9.5}, {**two_threads, "load_start": 3.5}) is not None
    assert overload({**TIMING, "train_cpu_s": 0.1}, {**CPU_ENV, "device": "cuda:0"}) is None  # waits on the GPU
    assert overload({"train_time_s": 0.4, "warmup_time_s": 0.1, "train_cpu_s": 0.01}, CPU_ENV) is None  # too short
