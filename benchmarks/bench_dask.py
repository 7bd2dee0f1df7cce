"""The dask executor's overhead, end to end: a suite on a 2-worker LocalCluster against the
process executor with the same 2 workers x 1 thread (the default CPU policy on a free 2-core
machine), each `genbench run` a subprocess into a fresh results folder, alternating ABAB.

Reported per run: wall time of the whole command (start-up included), and the per-cell
scheduling overhead: for each cell, the time the driver saw it in flight (store: finished_at -
started_at) minus the time the cell itself took on its worker (wall_time_s), in ms, as a mean
over the first cell of each worker (for the process executor it includes starting the worker
process; a LocalCluster starts before the first cell is submitted) and over the later cells
(the steady-state cost of scheduling a cell and bringing its result back). The ratio is
T(process) / T(dask): 1.0 means Dask costs nothing, the goal is >= 0.9.

    python benchmarks/bench_dask.py                       # the quick suite, once each
    python benchmarks/bench_dask.py --only seed0 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKERS = 2
EXECUTORS = {"process": ["--executor", "process"], "dask": ["--executor", "dask"]}


def run(suite: str, executor: str, only: list[str], folder: Path) -> dict:
    out = folder / f"{executor}-{time.monotonic_ns()}"
    args = [sys.executable, "-m", "genbench", "run", suite, "--out", str(out), "--workers", str(WORKERS),
            "--threads", "1",
            *EXECUTORS[executor], *[a for pattern in only for a in ("--only", pattern)]]
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{executor} run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT finished_at - started_at - wall_time_s FROM cells WHERE status = 'done' "
                          "ORDER BY started_at").fetchall()
    overheads = [r[0] * 1000 for r in rows]
    return {"wall_s": wall, "cells": len(rows), "first_ms": statistics.mean(overheads[:WORKERS]),
            "later_ms": statistics.mean(overheads[WORKERS:]) if len(overheads) > WORKERS else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--only", action="append", default=[], help="passed to genbench run --only")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {name: [] for name in EXECUTORS}
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        for repeat in range(args.repeats):
            for name in EXECUTORS:
                measured = run(args.suite, name, args.only, Path(tmp))
                results[name].append(measured)
                print(f"repeat {repeat}: {name:8s} {measured['wall_s']:7.1f} s for {measured['cells']} cells; "
                      f"per-cell overhead, mean: {measured['first_ms']:.0f} ms for the first cell of each worker, "
                      f"{measured['later_ms']:.0f} ms for the later cells", flush=True)
    wall = {name: statistics.median(r["wall_s"] for r in runs) for name, runs in results.items()}
    print(f"median wall: process {wall['process']:.1f} s, dask {wall['dask']:.1f} s; "
          f"ratio T(process)/T(dask) = {wall['process'] / wall['dask']:.2f}")


if __name__ == "__main__":
    main()
