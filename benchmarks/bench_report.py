"""`genbench report` on a 60-cell results folder: wall time (goal: under 10 s) and file size.

The store is written through the Store API (tests/report_store.py): 2 datasets x 5 objectives
x 2 kernel backends x 3 seeds = 60 cells, 5 eval steps each, every cell with two scores, three
training statistics and a sample picture per eval step drawn by the built-in 2D scatter (a
realistic picture size), plus a failed and a diverged cell. Timed: the whole command in a fresh
process (imports included) and the rendering alone, in-process.

    OMP_NUM_THREADS=1 python benchmarks/bench_report.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from report_store import build_store  # noqa: E402

from genbench.plugins.datasets.toy2d import ring8  # noqa: E402
from genbench.plugins.domains.points import draw_points  # noqa: E402
from genbench.plugins.reporters.html import render_report  # noqa: E402
from genbench.results.model import Results  # noqa: E402
from genbench.results.store import Store  # noqa: E402

OBJECTIVES = ("saturating", "nonsaturating", "lsgan", "hinge", "wgan-gp")
DATA = ring8(512, 64, 0)


@cache
def scatter(step: int, seed: int) -> bytes:
    """The built-in scatter of 2500 samples that move toward the modes as the step grows."""
    generator = torch.Generator().manual_seed(seed)
    modes = torch.as_tensor(DATA.extras["modes"]).float()
    samples = modes[torch.randint(len(modes), (2500,), generator=generator)]  # (2500, 2)
    return draw_points(samples + torch.randn(2500, 2, generator=generator) * (1.0 / step), DATA)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = build_store(Path(tmp) / "results", datasets=("ring8", "grid25"), objectives=OBJECTIVES,
                              kernels=("eager", "compiled"), eval_steps=(1, 2, 3, 4, 5), draw=scatter)
        store = Store(results, create=False)
        cells = len(store.cells())
        renders, render_cpu = [], []
        for _ in range(args.repeats):
            started, cpu = time.perf_counter(), time.process_time()
            render_report(Results.from_store(store))  # reading the store is part of rendering
            renders.append(time.perf_counter() - started)
            render_cpu.append(time.process_time() - cpu)
        store.close()
        target = Path(tmp) / "report.html"
        commands, command_cpu = [], []
        for _ in range(args.repeats):
            started, cpu = time.perf_counter(), children_cpu()
            subprocess.run([sys.executable, "-m", "genbench", "report", str(results), "-o", str(target)],
                           check=True, capture_output=True)
            commands.append(time.perf_counter() - started)
            command_cpu.append(children_cpu() - cpu)
        size = target.stat().st_size
    print(f"cells: {cells} (60 finished + 1 failed + 1 diverged)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"genbench report (fresh process): wall median {statistics.median(commands):.2f} s "
          f"(min {min(commands):.2f}, {args.repeats} runs); CPU median {statistics.median(command_cpu):.2f} s")
    print(f"rendering alone (in-process):    wall median {statistics.median(renders):.2f} s "
          f"(min {min(renders):.2f}); CPU median {statistics.median(render_cpu):.2f} s")
    print(f"file size: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
