"""Kill trials: does a run lose, duplicate or change results when processes die at random?

Each trial runs a small suite (tiny ring8 cells, `--workers 2`) as a real `genbench run`,
kill -9s the driver or one of its workers at a random moment, then runs the same command
again until it exits 0 (resume). It then checks the results folder against an uninterrupted
reference run of the same suite: every cell `done`, exactly one row per metric per eval step
(none lost, none duplicated), every value equal to the reference's, and no process of the
trial left alive. Prints one summary line (and one line per trial with -v).

    python benchmarks/kill_trials.py                # 20 trials
    python benchmarks/kill_trials.py --trials 5 -v
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

SUITE = """
[suite]
name = "kill-trials"
seeds = [0, 1]
[train]
steps = 100
batch_size = 32
[eval]
every = 50
metrics = [{ name = "modes", n_samples = 200 }]
[matrix]
datasets = [{ name = "ring8", n_train = 512, n_test = 64 }]
models = [{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }]
objectives = ["saturating", "nonsaturating"]
"""
CHECKS = ("not_done", "lost", "duplicated", "differing", "left_behind")
ENV = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="120")


def genbench_run(suite: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out), "--workers", "2",
                             "--threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)


class Descendants:
    """Every process a driver started, sampled every 50 ms while it runs."""

    def __init__(self, pid: int):
        self.seen: dict[int, psutil.Process] = {}
        self.driver = psutil.Process(pid)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while True:
            try:
                for child in self.driver.children(recursive=True):
                    self.seen.setdefault(child.pid, child)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)

    def workers(self) -> list[psutil.Process]:
        try:
            return self.driver.children()
        except psutil.NoSuchProcess:
            return []


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def read_results(out: Path) -> tuple[dict[str, str], dict[tuple[str, int, str], list[float]]]:
    """(cell statuses, (cell_id, step, metric) -> every stored value)."""
    with sqlite3.connect(f"file:{out / 'results.sqlite'}?mode=ro", uri=True) as db:
        statuses = dict(db.execute("SELECT cell_id, status FROM cells"))
        values: dict[tuple[str, int, str], list[float]] = {}
        for cell_id, step, name, value in db.execute("SELECT cell_id, step, name, value FROM metrics"):
            values.setdefault((cell_id, step, name), []).append(value)
    return statuses, values


def trial(suite: Path, out: Path, duration: float, rng: random.Random, reference) -> dict:
    driver = genbench_run(suite, out)
    watch = Descendants(driver.pid)
    moment = rng.uniform(0.1, 0.9) * duration
    target = rng.choice(["driver", "worker"])
    started = time.monotonic()
    while time.monotonic() - started < moment and driver.poll() is None:
        time.sleep(0.02)
    killed = None
    if driver.poll() is None:
        workers = watch.workers()
        if target == "worker" and workers:
            victim = rng.choice(workers)
            try:
                victim.kill()
                killed = "worker"
            except psutil.NoSuchProcess:
                pass
        if killed is None:
            driver.kill()
            killed = "driver"
    driver.communicate()
    watches = [watch]
    runs = 1
    while True:  # resume until a run exits 0 (a killed worker's cell re-runs on resume)
        again = genbench_run(suite, out)
        watches.append(Descendants(again.pid))
        _, stderr = again.communicate()
        runs += 1
        if again.returncode == 0:
            break
        if runs > 5:
            raise RuntimeError(f"resume keeps failing in {out}: {stderr[-2000:]}")
    deadline = time.monotonic() + 5
    survivors = [p for w in watches for p in w.seen.values() if alive(p)]
    while survivors and time.monotonic() < deadline:
        time.sleep(0.1)
        survivors = [p for p in survivors if alive(p)]
    for process in survivors:  # report them, and do not leave them running
        process.kill()

    statuses, values = read_results(out)
    ref_statuses, ref_values = reference
    return {
        "killed": killed or "nothing (finished first)",
        "moment": moment,
        "runs": runs,
        "not_done": sum(statuses.get(c) != "done" for c in ref_statuses),
        "lost": sum(key not in values for key in ref_values),
        "duplicated": sum(len(v) - 1 for v in values.values()) + sum(key not in ref_values for key in values),
        "differing": sum(key in values and values[key][0] != value[0] for key, value in ref_values.items()),
        "left_behind": len(survivors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill moments and targets")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="genbench-kill-trials-") as tmp:
        suite = Path(tmp) / "suite.toml"
        suite.write_text(SUITE)
        started = time.monotonic()
        reference_run = genbench_run(suite, Path(tmp) / "reference")
        _, stderr = reference_run.communicate()
        if reference_run.returncode != 0:
            raise SystemExit(f"the reference run failed: {stderr}")
        duration = time.monotonic() - started
        reference = read_results(Path(tmp) / "reference")
        totals: dict[str, int] = {}
        kills: dict[str, int] = {}
        for index in range(args.trials):
            outcome = trial(suite, Path(tmp) / f"trial{index}", duration, rng, reference)
            kills[outcome["killed"]] = kills.get(outcome["killed"], 0) + 1
            for key in CHECKS:
                totals[key] = totals.get(key, 0) + outcome[key]
            if args.verbose:
                checks = ", ".join(f"{key} {outcome[key]}" for key in CHECKS)
                print(f"trial {index}: killed {outcome['killed']} at {outcome['moment']:.1f} s, "
                      f"{outcome['runs']} runs, {checks}", flush=True)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(kills.items()))
    print(f"kill_trials: {args.trials} trials ({kinds} killed; reference run {duration:.1f} s, "
          f"{len(reference[1])} metric rows in {len(reference[0])} cells): {totals['lost']} results lost, "
          f"{totals['duplicated']} duplicated, {totals['differing']} differing from the reference, "
          f"{totals['not_done']} cells not done, {totals['left_behind']} processes left behind")


if __name__ == "__main__":
    main()
