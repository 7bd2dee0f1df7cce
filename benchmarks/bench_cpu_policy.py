"""The CPU policy measured end to end: `genbench run` as a user runs it, policies side by side.

Three measurements, each a list of `genbench run` subprocesses into fresh result folders,
repeated in alternating order (ABAB...) so that drift in the machine's load hits every policy:

- `suite`: the quick suite's wall time under the default policy, `--workers 1` (one process
  with the free cores as threads: the old default) and `--workers 1 --threads 1`.
- `threads`: why workers come before threads. One DCGAN-on-mnist5k cell (the biggest built-in
  model) with 1 and 2 threads gives S(2), the speed-up threads buy one cell; two such cells with
  2 workers x 1 thread against 1 worker x 2 threads shows what the machine does with the same cores.
- `busy`: one quick-suite cell under the default policy, alone and with `--busy` spinning
  processes beside it: the slowdown should be near the fair share, not the several-fold of
  oversubscribed threads.

    python benchmarks/bench_cpu_policy.py suite threads busy --repeats 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DCGAN_SUITE = """
[suite]
name = "policy-dcgan"
seeds = [0, 1]
[train]
steps = {steps}
batch_size = 64
[eval]
every = {steps}
[matrix]
datasets = ["mnist5k"]
models = ["dcgan"]
objectives = ["nonsaturating"]
"""


def timed_run(suite: str, flags: list[str], folder: Path) -> float:
    """Wall seconds of one `genbench run` into a fresh results folder (start-up included)."""
    out = Path(tempfile.mkdtemp(dir=folder))
    started = time.perf_counter()
    ran = subprocess.run([sys.executable, "-m", "genbench", "run", suite, "--out", str(out), *flags],
                         capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if ran.returncode != 0:
        raise SystemExit(f"genbench run {suite} {' '.join(flags)} failed:\n{ran.stdout}\n{ran.stderr}")
    return seconds


def compare(name: str, suite: str, policies: dict[str, list[str]], repeats: int, folder: Path) -> dict:
    """Median wall seconds of each policy over `repeats` alternating rounds; printed with ratios."""
    times: dict[str, list[float]] = {label: [] for label in policies}
    for round_ in range(repeats):
        order = list(policies) if round_ % 2 == 0 else list(reversed(policies))
        for label in order:
            times[label].append(timed_run(suite, policies[label], folder))
            print(f"  {name}, round {round_ + 1}/{repeats}: {label} {times[label][-1]:.1f} s", file=sys.stderr,
                  flush=True)
    medians = {label: statistics.median(t) for label, t in times.items()}
    first = next(iter(medians.values()))
    print(f"\n{name} ({repeats} rounds, median wall s; ratio to {next(iter(medians))}):")
    for label, median in medians.items():
        spread = ", ".join(f"{t:.1f}" for t in times[label])
        print(f"  {label:<34} {median:7.1f} s  x{median / first:5.2f}   [{spread}]")
    return medians


def spin() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", default=["suite", "threads", "busy"],
                        choices=["suite", "threads", "busy"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--suite", default="quick", help="suite for `suite` and `busy`")
    parser.add_argument("--cell", default="ring8/mlp/nonsaturating/adam/eager/seed0",
                        help="the cell of --suite that `busy` runs")
    parser.add_argument("--dcgan-steps", type=int, default=200)
    parser.add_argument("--busy", type=int, default=2, help="spinning processes beside the cell in `busy`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "suite" in args.parts:
            compare("suite: " + args.suite, args.suite, {
                "default policy": [],
                "--workers 1 (free cores as threads)": ["--workers", "1"],
                "--workers 1 --threads 1": ["--workers", "1", "--threads", "1"],
            }, args.repeats, folder)
        if "threads" in args.parts:
            suite = folder / "dcgan.toml"
            suite.write_text(DCGAN_SUITE.format(steps=args.dcgan_steps))
            one = compare("threads: one DCGAN cell", str(suite), {
                "1 thread": ["--only", "seed0", "--workers", "1", "--threads", "1"],
                "2 threads": ["--only", "seed0", "--workers", "1", "--threads", "2"],
            }, args.repeats, folder)
            two = compare("threads: two DCGAN cells", str(suite), {
                "2 workers x 1 thread": ["--workers", "2", "--threads", "1"],
                "1 worker x 2 threads": ["--workers", "1", "--threads", "2"],
            }, args.repeats, folder)
            print(f"  S(2) = {one['1 thread'] / one['2 threads']:.2f} (2 threads on one cell); "
                  f"2 workers finish two cells x{two['1 worker x 2 threads'] / two['2 workers x 1 thread']:.2f} "
                  f"faster than 1 worker x 2 threads")
        if "busy" in args.parts:
            only = ["--only", args.cell]
            quiet = compare("busy: one cell, quiet", args.suite, {"default policy": only}, args.repeats, folder)
            spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
            for process in spinners:
                process.start()
            try:
                time.sleep(1.0)  # let the policy see them
                busy = compare(f"busy: one cell beside {args.busy} spinning processes", args.suite,
                               {"default policy": only, "--threads 2 (oversubscribed)": [*only, "--threads", "2"]},
                               args.repeats, folder)
            finally:
                for process in spinners:
                    process.kill()
            print(f"  slowdown under load: default policy x{busy['default policy'] / quiet['default policy']:.2f}, "
                  f"2 threads x{busy['--threads 2 (oversubscribed)'] / quiet['default policy']:.2f}")


if __name__ == "__main__":
    main()
