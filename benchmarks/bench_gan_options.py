"""What the GAN training options cost per step: EMA of G, DiffAugment, and bf16 against fp32.

One cell, the DCGAN on mnist5k (batch 64, non-saturating loss, k = 1), or with `--cell
sngan-cnn` SNGAN's standard CNN on mnist5k (width 32, spectral norm in D, hinge loss, k = 1),
trained through genbench's runner with each option alone against the same cell without it:
`ema` (ema_decay = 0.999: one fused lerp over G's parameters per step), `diffaugment` ("translation,cutout,color"
on every batch D judges), `bf16` (forward passes under autocast; its speed depends on the CPU:
without avx512_bf16 or AMX, torch emulates bf16 matmuls). Each round runs the baseline, every
option, and the baseline again, back to back; an option's ratio is its steady training rate
(examples per second of process CPU time after the warm-up step, as
bench_gan_throughput.py) over the mean of the two baselines around it, and the round's control
is baseline / baseline, the noise floor the ratios must be read against. The figures are
medians over rounds. Goal: ema >= 0.97 (at most 3% overhead).
Measured on this machine's AMD EPYC (no avx512_bf16 or AMX: bf16 is emulated), 1 thread, one
round (--steps 10 / 5): bf16 / fp32 = 0.066 on the DCGAN cell (30 vs 432 examples per CPU
second) and 0.101 on the SNGAN CNN cell (10 vs 114); controls 1.11 and 0.80.

    python benchmarks/bench_gan_options.py --steps 40 --rounds 5 --threads 1
    python benchmarks/bench_gan_options.py --cell sngan-cnn --options bf16 --steps 20 --rounds 3 --threads 1
    pytest benchmarks/bench_gan_options.py --benchmark-enable
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from genbench.api.registry import load_plugins
from genbench.run.runner import run_cell
from genbench.suite.config import load
from genbench.suite.plan import expand

CELLS = {  # name -> its [matrix] models and objectives, TOML
    "dcgan": ('["dcgan"]', '["nonsaturating"]'),
    "sngan-cnn": ('[{ name = "sngan-cnn", width = 32 }]', '["hinge"]'),
}

OPTIONS = {  # name -> the [train] lines that turn it on
    "ema": "ema_decay = 0.999",
    "diffaugment": 'diffaugment = "translation,cutout,color"',
    "bf16": 'precision = "bf16"',
}
SUITE = """
[suite]
name = "gan-options"
seeds = [0]
[train]
steps = {steps}
batch_size = 64
lr = 2e-4
device = "{device}"
{option}
[eval]
every = {steps}
[matrix]
datasets = ["mnist5k"]
models = {models}
objectives = {objectives}
"""


def steady_rate(option: str, steps: int, device: str, registry, cell: str = "dcgan") -> float:
    """Examples per second of process CPU time (CUDA: of wall time) over the training loop
    after the warm-up step, for one run of `cell` with `option`'s [train] lines."""
    models, objectives = CELLS[cell]
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.toml"
        suite.write_text(SUITE.format(steps=steps, device=device, option=OPTIONS.get(option, ""),
                                      models=models, objectives=objectives))
        [cell] = expand(load(str(suite), registry), registry)
    result = run_cell(cell, registry)
    if result.status != "done":
        raise RuntimeError(result.error)
    if device != "cpu":
        return result.samples_per_s
    steady_examples = result.samples_per_s * (result.train_time_s - result.warmup_time_s)
    return steady_examples / result.train_cpu_s


def compare(steps: int, rounds: int, device: str = "cpu", options=tuple(OPTIONS), cell: str = "dcgan") -> dict:
    """Per option: the median over rounds of its rate / the mean of the baselines around it,
    and its median rate; "control": the median baseline / baseline of the same rounds."""
    registry = load_plugins()
    ratios: dict[str, list[float]] = {name: [] for name in options}
    rates: dict[str, list[float]] = {name: [] for name in ("baseline", *options)}
    controls = []
    before = steady_rate("baseline", steps, device, registry, cell)
    for _ in range(rounds):
        measured = {name: steady_rate(name, steps, device, registry, cell) for name in options}
        after = steady_rate("baseline", steps, device, registry, cell)
        for name, rate in measured.items():
            ratios[name].append(rate / ((before + after) / 2))
            rates[name].append(rate)
        rates["baseline"].append(before)
        controls.append(after / before)
        before = after
        print(f"  round {len(controls)}/{rounds}: " + ", ".join(f"{name} {values[-1]:.3f}" for name, values in
              ratios.items()) + f", control {controls[-1]:.3f}", file=sys.stderr, flush=True)
    return {"steps": steps, "rounds": rounds, "control": statistics.median(controls),
            "rate": {name: statistics.median(values) for name, values in rates.items()},
            "ratio": {name: statistics.median(values) for name, values in ratios.items()}}


def test_gan_option_overheads(benchmark):
    torch.set_num_threads(1)
    result = benchmark.pedantic(lambda: compare(20, 3), rounds=1, iterations=1)
    for name, ratio in result["ratio"].items():
        benchmark.extra_info[name] = round(ratio, 3)
        print(f"\n{name}: {ratio:.3f} of the baseline's rate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cell", default="dcgan", choices=tuple(CELLS))
    parser.add_argument("--options", default=",".join(OPTIONS), help="comma-separated: " + ", ".join(OPTIONS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = compare(args.steps, args.rounds, args.device, tuple(args.options.split(",")), args.cell)
    per = "CPU second" if args.device == "cpu" else "second"
    print(f"{args.cell} on mnist5k, batch 64: {args.steps} steps x {args.rounds} rounds, torch threads "
          f"{torch.get_num_threads()}; examples per {per} after the warm-up step, medians over rounds")
    print(f"{'option':12} {'examples/s':>10} {'ratio':>6}")
    print(f"{'baseline':12} {result['rate']['baseline']:10.0f} {1.0:6.3f}")
    for name, ratio in result["ratio"].items():
        print(f"{name:12} {result['rate'][name]:10.0f} {ratio:6.3f}")
    print(f"{'control':12} {'':>10} {result['control']:6.3f}  (baseline / baseline: the noise floor)")


if __name__ == "__main__":
    main()
