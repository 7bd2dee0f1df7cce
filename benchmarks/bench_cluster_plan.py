"""Per-step costs for the cluster plan (docs/cluster.md), measured on this machine's CPU.

- `pacgan`: one training step (a D update and a G update, non-saturating loss, Adam) of the
  PacGAN Table 1 networks on 2D points, batch 100: G 4 x 400 ReLU with batch norm, z in R^2;
  D 3 x 200 linear maxout with 5 pieces over m packed samples (m = 1, 2, 3: GAN, PacGAN2,
  PacGAN3), plain PyTorch, 1 thread. Median CPU time (time.process_time) per step over `--steps`
  steps after a warm-up: on a shared, overloaded machine wall time measures the other programs,
  CPU time of one thread is what the step costs (its wall time on an idle core).
- `suite`: one cell of each kind in `gan-objectives` (DCGAN on mnist5k, DCGAN on patches32, MLP GAN
  on ring8; the suite's batch sizes and metrics), run through `genbench run` with a short step
  budget and two eval steps: CPU seconds per training step (steady state, the store's
  train_cpu_s) and wall seconds per eval step (the metric pass and picture; the first eval
  includes building feature extractors not yet in the cache), from the store.

    python benchmarks/bench_cluster_plan.py pacgan suite
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

import torch
from torch import nn

SUITE = """
[suite]
name = "plan"
seeds = [0]
[train]
steps = {steps}
device = "cpu"
[eval]
every = {every}
metrics = [
    {{ name = "fid", n_fake = 1000 }},
    {{ name = "kid", n_fake = 1000, subset_size = 500 }},
    {{ name = "prdc", n_fake = 1000 }},
    {{ name = "is", n_fake = 1000 }},
    {{ name = "modes", n_samples = 2500 }},
]
[[matrix]]
train = {{ batch_size = 64 }}
datasets = ["mnist5k", "patches32"]
models = ["dcgan"]
objectives = ["nonsaturating"]
[[matrix]]
train = {{ batch_size = 256, lr = 1e-3 }}
datasets = ["ring8"]
models = [{{ name = "mlp", hidden = 128, depth = 2, z_dim = 16 }}]
objectives = ["nonsaturating"]
"""


class Maxout(nn.Module):
    def __init__(self, n_in: int, n_out: int, pieces: int = 5):
        super().__init__()
        self.n_out, self.pieces = n_out, pieces
        self.linear = nn.Linear(n_in, n_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.n_out, self.pieces).amax(2)  # (B, n_out)


def pacgan_networks(packing: int) -> tuple[nn.Module, nn.Module]:
    layers, width = [], 2
    for _ in range(4):
        layers += [nn.Linear(width, 400), nn.BatchNorm1d(400), nn.ReLU()]
        width = 400
    generator = nn.Sequential(*layers, nn.Linear(400, 2))
    discriminator = nn.Sequential(Maxout(2 * packing, 200), Maxout(200, 200), Maxout(200, 200), nn.Linear(200, 1))
    return generator, discriminator


def pacgan_step_seconds(packing: int, steps: int, batch: int = 100) -> float:
    torch.manual_seed(0)
    g, d = pacgan_networks(packing)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-4), torch.optim.Adam(d.parameters(), 1e-4)
    real_all = torch.randn(100_000, 2)
    bce = nn.functional.binary_cross_entropy_with_logits
    times = []
    for step in range(steps + 5):
        started = time.process_time()
        real = real_all[torch.randint(0, len(real_all), (batch * packing,))].view(batch, 2 * packing)  # (B, 2m)
        fake = g(torch.randn(batch * packing, 2)).view(batch, 2 * packing)  # (B, 2m)
        loss_d = bce(d(real), torch.ones(batch, 1)) + bce(d(fake.detach()), torch.zeros(batch, 1))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(d(fake), torch.ones(batch, 1))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step >= 5:
            times.append(time.process_time() - started)
    return statistics.median(times)


def measure_pacgan(steps: int) -> None:
    torch.set_num_threads(1)
    for packing in (1, 2, 3):
        seconds = pacgan_step_seconds(packing, steps)
        print(f"pacgan m={packing}: {seconds * 1000:.2f} ms CPU time/step (1 thread, batch 100)", flush=True)


def measure_suite(steps: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        suite = Path(tmp) / "plan.toml"
        suite.write_text(SUITE.format(steps=steps, every=steps // 2))
        out = Path(tmp) / "out"
        proc = subprocess.run([sys.executable, "-m", "genbench", "run", str(suite), "--out", str(out),
                               "--executor", "local", "--threads", "1"], capture_output=True, text=True,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))
        if proc.returncode != 0:
            raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
        with sqlite3.connect(out / "results.sqlite") as db:
            rows = db.execute("SELECT json_extract(config, '$.dataset.name'), train_cpu_s, steps, steps_per_s, "
                              "eval_time_s FROM cells").fetchall()
    for dataset, train_cpu_s, steps, steps_per_s, eval_time_s in rows:
        print(f"gan-objectives {dataset}: {1000 * train_cpu_s / (steps - 1):.1f} ms CPU time/train step "
              f"({1000 / steps_per_s:.1f} ms wall), {eval_time_s / 2:.1f} s wall/eval step (mean of 2; "
              f"1 thread)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="+", choices=("pacgan", "suite"))
    parser.add_argument("--steps", type=int, default=200, help="pacgan: timed steps per model")
    parser.add_argument("--suite-steps", type=int, default=60, help="suite: training steps per cell")
    args = parser.parse_args()
    if "pacgan" in args.what:
        measure_pacgan(args.steps)
    if "suite" in args.what:
        measure_suite(args.suite_steps)


if __name__ == "__main__":
    main()
