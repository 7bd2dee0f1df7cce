"""genbench's runner vs a bare PyTorch loop: same model, optimiser, data, batch size and backend.

Two cells, each for the eager and the compiled kernel backend: the DCGAN on mnist5k (batch 64)
and the 2x128 MLP GAN on ring8 (batch 256). The bare loop is written the way pytorch/examples'
dcgan/main.py is (D step on real then fake.detach(), G step reusing the fake batch), with the
same arithmetic as genbench's: the non-saturating losses in softplus form and D's weights frozen
during the G step; for `compiled` it torch.compiles both networks, as the compiled backend
does. genbench trains Algorithm 1 with k = 1 through the runner (objective plugin, kernels,
statistics kept on the device, divergence checks) with g_noise = "reuse", so the ratio is
genbench's overhead. Both count examples per second over the training loop after
the first (warm-up, compile) step, per second of process CPU time on CPU (robust to other work
on a shared machine; wall-clock figures beside it); genbench's eval and warm-up times are
reported separately.
Target: genbench / bare >= 0.97 for every pair.

With --log-overhead it measures instead what recording the training statistics between
evaluations costs: genbench at the default log_every (about 50 records per run, one host sync
each) against log_every = 0 (records at the eval step only), side by side in the same way.
Each measured case prints a line to stderr as it finishes.

    python benchmarks/bench_gan_throughput.py --steps 100 --rounds 9 --threads 1
    python benchmarks/bench_gan_throughput.py --steps 100 --rounds 9 --threads 1 --log-overhead
    pytest benchmarks/bench_gan_throughput.py --benchmark-enable
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch

from genbench.suite.config import load
from genbench.suite.plan import expand
from genbench.api.registry import load_plugins
from genbench.run.runner import run_cell

CELLS = {  # name -> (dataset, model, model parameters, batch size, learning rate)
    "dcgan-mnist5k": ("mnist5k", "dcgan", {}, 64, 2e-4),
    "mlp-ring8": ("ring8", "mlp", {"hidden": 128, "depth": 2, "z_dim": 16}, 256, 1e-3),
}
SUITE = """
[suite]
name = "throughput"
seeds = [0]
[train]
steps = {steps}
batch_size = {batch}
lr = {lr}
device = "{device}"
g_noise = "reuse"
{log_every}[eval]
every = {steps}
[matrix]
datasets = ["{dataset}"]
models = [{{ name = "{model}"{model_params} }}]
objectives = ["nonsaturating"]
kernels = ["{kernel}"]
"""


def genbench_run(cell_name: str, kernel: str, steps: int, device: str, batch: int | None,
                 log_every: int | None = None) -> dict:
    """Examples/s over the training loop after warm-up, and the warm-up and eval seconds, for
    one run of the cell through genbench's runner (at log_every, else its default)."""
    dataset, model, model_params, default_batch, lr = CELLS[cell_name]
    batch = batch or default_batch
    registry = load_plugins()
    params = "".join(f", {key} = {value}" for key, value in model_params.items())
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.toml"
        suite.write_text(SUITE.format(steps=steps, batch=batch, lr=lr, dataset=dataset, model=model,
                                      model_params=params, kernel=kernel, device=device,
                                      log_every="" if log_every is None else f"log_every = {log_every}\n"))
        [cell] = expand(load(str(suite), registry), registry)
    result = run_cell(cell, registry)
    if result.status != "done":
        raise RuntimeError(result.error)
    steady_examples = result.samples_per_s * (result.train_time_s - result.warmup_time_s)
    return {"rate": result.samples_per_s, "cpu_rate": steady_examples / result.train_cpu_s,
            "warmup_s": result.warmup_time_s, "eval_s": result.eval_time_s}


def bare_run(cell_name: str, kernel: str, steps: int, device: str, batch: int | None) -> dict:
    """The same networks and optimiser trained by a bare loop in the style of pytorch/examples;
    examples per second of wall-clock and of process CPU time after the first step."""
    dataset, model_name, model_params, default_batch, lr = CELLS[cell_name]
    batch = batch or default_batch
    registry = load_plugins()
    torch.manual_seed(0)
    data = registry.get("dataset", dataset).factory(**_defaults(registry, "dataset", dataset))
    model = registry.get("model", model_name).factory(data.info, **{**_defaults(registry, "model", model_name),
                                                                   **model_params})
    netG, netD = model.generator.to(device), model.discriminator.to(device)
    train = data.train.to(device)
    if kernel == "compiled":
        netG, netD = torch.compile(netG), torch.compile(netD)
    optimizerD = torch.optim.Adam(netD.parameters(), lr=lr, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=lr, betas=(0.5, 0.999))
    generator = torch.Generator(device).manual_seed(0)
    softplus = torch.nn.functional.softplus
    started, cpu_started = time.perf_counter(), time.process_time()
    for step in range(steps):
        if step == 1:  # leave the first step out, as genbench's runner does (warm-up, compile)
            _synchronize(device)
            started, cpu_started = time.perf_counter(), time.process_time()
        real = train[torch.randint(len(train), (batch,), generator=generator, device=device)]  # (m, *shape)
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        noise = torch.randn(batch, model.z_dim, generator=generator, device=device)  # (m, z_dim)
        fake = netG(noise)
        errD = softplus(-netD(real)).mean() + softplus(netD(fake.detach())).mean()
        optimizerD.zero_grad()
        errD.backward()
        optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netD.requires_grad_(False)
        errG = softplus(-netD(fake)).mean()
        optimizerG.zero_grad()
        errG.backward()
        optimizerG.step()
        netD.requires_grad_(True)
    _synchronize(device)
    examples = (steps - 1) * batch
    return {"rate": examples / (time.perf_counter() - started),
            "cpu_rate": examples / (time.process_time() - cpu_started)}


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _defaults(registry, kind: str, name: str) -> dict:
    return {key: param.default for key, param in registry.get(kind, name).params.items()}


def compare(cell_name: str, kernel: str, steps: int, rounds: int, device: str = "cpu",
            batch: int | None = None, log_overhead: bool = False) -> dict:
    """Run bare, genbench and bare again back to back, `rounds` times. The ratio is the median
    over rounds of genbench / the mean of its two bare neighbours (on a shared machine the speed
    drifts by tens of percent within seconds; neighbours in time share the drift), and the
    control is the same for bare / bare: how far apart two identical runs land, the noise floor
    the ratio must be read against. On CPU both are per second of process CPU time (other work
    delays a loop's wall time far more); on CUDA, where the host waits on the device, of wall
    time. With `log_overhead`, "bare" is genbench recording its statistics at the eval step only
    (log_every = 0) and the ratio is the default log_every's over it."""
    key = "cpu_rate" if device == "cpu" else "rate"
    case = (cell_name, kernel, steps, device, batch)
    base = partial(genbench_run, *case, log_every=0) if log_overhead else partial(bare_run, *case)
    bare, ours, ratios, controls = [], [], [], []
    before = base()
    for _ in range(rounds):
        ours.append(genbench_run(*case))
        after = base()
        bare.append(before)
        ratios.append(ours[-1][key] / ((before[key] + after[key]) / 2))
        controls.append(after[key] / before[key])
        before = after
        print(f"  {cell_name} {kernel}: round {len(ratios)}/{rounds}, ratio {ratios[-1]:.3f}, control "
              f"{controls[-1]:.3f}", file=sys.stderr, flush=True)
    median = lambda runs, k: statistics.median(r[k] for r in runs)
    return {"cell": cell_name, "kernel": kernel, "batch": batch or CELLS[cell_name][3],
            "bare": median(bare, "rate"), "genbench": median(ours, "rate"),
            "ratio": statistics.median(ratios), "control": statistics.median(controls),
            "control_spread": statistics.quantiles(controls, n=4)[2] - statistics.quantiles(controls, n=4)[0]
            if len(controls) > 1 else 0.0,
            "warmup_s": median(ours, "warmup_s"), "eval_s": median(ours, "eval_s")}


def test_genbench_throughput_matches_a_bare_loop(benchmark):
    torch.set_num_threads(1)
    results = benchmark.pedantic(lambda: [compare(c, "eager", 30, 5) for c in CELLS], rounds=1, iterations=1)
    for result in results:
        benchmark.extra_info[f"{result['cell']}/{result['kernel']}"] = round(result["ratio"], 3)
        print(f"\n{result['cell']} {result['kernel']}: ratio {result['ratio']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated: " + ", ".join(CELLS))
    parser.add_argument("--kernels", default="eager,compiled",
                        help="backends (the bare loop torch.compiles its networks for compiled, else runs eager)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", help="comma-separated batch sizes (default: each cell's)")
    parser.add_argument("--log-overhead", action="store_true",
                        help="measure the default log_every against log_every = 0 instead of genbench against bare")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    versus = "genbench at the default log_every / at log_every = 0" if args.log_overhead else "genbench/bare"
    base = "log at 0" if args.log_overhead else "bare"
    print(f"{args.steps} steps x {args.rounds} rounds, torch threads {torch.get_num_threads()}; examples/s "
          f"after the first step, median of rounds; ratio: {versus}, control: {base}/{base} (and its IQR), "
          f"per CPU second (CUDA: per second); load average at the start {os.getloadavg()[0]:.1f}")
    batches = [int(b) for b in args.batches.split(",")] if args.batches else [None]
    print(f"{'cell':15} {'batch':>5} {'kernel':9} {base:>9} {'genbench':>9} {'ratio':>6} {'control':>7} {'IQR':>5} "
          f"{'warm-up s':>9} {'eval s':>7}")
    for cell_name in args.cells.split(","):
        for batch in batches:
            for kernel in args.kernels.split(","):
                r = compare(cell_name, kernel, args.steps, args.rounds, args.device, batch, args.log_overhead)
                print(f"{cell_name:15} {r['batch']:5} {kernel:9} {r['bare']:9.0f} {r['genbench']:9.0f} "
                      f"{r['ratio']:6.3f} {r['control']:7.3f} {r['control_spread']:5.3f} "
                      f"{r['warmup_s']:9.2f} {r['eval_s']:7.2f}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
