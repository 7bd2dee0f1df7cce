"""genbench's runner vs a bare PyTorch DCGAN loop: same model, optimiser, data and batch size.

The bare loop is written the way pytorch/examples' dcgan/main.py is (BCE on D's output, D step
on real then fake.detach(), G step reusing the fake batch). genbench's loop is Algorithm 1 with
k = 1 through the runner (objective plugin, kernels, statistics, divergence checks), with
g_noise = "reuse" so both loops do the same arithmetic and the ratio is genbench's overhead.
(The default g_noise = "fresh" samples new noise for the G step, as Algorithm 1 does, at the
cost of one more generator forward per iteration.) Both count
images per second over the training loop only; genbench's eval time is reported separately.
Target: genbench / bare >= 0.97 with the eager backend.

    python benchmarks/bench_gan_throughput.py --steps 60 --rounds 3
    pytest benchmarks/bench_gan_throughput.py --benchmark-enable
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from genbench.config import load
from genbench.plan import expand
from genbench.registry import load_plugins
from genbench.runner import run_cell

SUITE = """
[suite]
name = "throughput"
seeds = [0]
[train]
steps = {steps}
batch_size = {batch}
lr = 2e-4
beta1 = 0.5
beta2 = 0.999
device = "cpu"
g_noise = "reuse"
[eval]
every = {steps}
[matrix]
datasets = ["mnist5k"]
models = ["dcgan"]
objectives = ["nonsaturating"]
kernels = ["eager"]
"""


def genbench_images_per_s(steps: int, batch: int) -> tuple[float, float]:
    """(images/s over the training loop, eval seconds) for one run through genbench's runner."""
    registry = load_plugins()
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.toml"
        suite.write_text(SUITE.format(steps=steps, batch=batch))
        [cell] = expand(load(str(suite), registry), registry)
        result = run_cell(cell, tmp)
    if result.status != "done":
        raise RuntimeError(result.error)
    return result.samples_per_s, result.eval_time_s


def bare_images_per_s(steps: int, batch: int) -> float:
    """The same model and optimiser trained by a bare loop in the style of pytorch/examples."""
    registry = load_plugins()
    torch.manual_seed(0)
    data = registry.get("dataset", "mnist5k").factory(**_defaults(registry, "dataset", "mnist5k"))
    model = registry.get("model", "dcgan").factory(data.info, backend="eager", **_defaults(registry, "model", "dcgan"))
    netG, netD = model.generator, model.discriminator
    criterion = torch.nn.BCEWithLogitsLoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    generator = torch.Generator().manual_seed(0)
    real_label, fake_label = torch.ones(batch), torch.zeros(batch)
    started = time.perf_counter()
    for step in range(steps):
        if step == 1:  # leave the first step out, as genbench's runner does (warm-up)
            started = time.perf_counter()
        real = data.train[torch.randint(len(data.train), (batch,), generator=generator)]  # (m, C, H, W)
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        errD_real = criterion(netD(real), real_label)
        errD_real.backward()
        noise = torch.randn(batch, model.z_dim, generator=generator)
        fake = netG(noise)
        errD_fake = criterion(netD(fake.detach()), fake_label)
        errD_fake.backward()
        optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        errG = criterion(netD(fake), real_label)
        errG.backward()
        optimizerG.step()
    return (steps - 1) * batch / (time.perf_counter() - started)


def _defaults(registry, kind: str, name: str) -> dict:
    return {key: param.default for key, param in registry.get(kind, name).params.items()}


def compare(steps: int, batch: int, rounds: int) -> dict:
    """Alternate bare and genbench runs `rounds` times; medians and their ratio."""
    bare, ours, evals = [], [], []
    for _ in range(rounds):
        bare.append(bare_images_per_s(steps, batch))
        rate, eval_s = genbench_images_per_s(steps, batch)
        ours.append(rate)
        evals.append(eval_s)
    return {"bare_images_per_s": statistics.median(bare), "genbench_images_per_s": statistics.median(ours),
            "ratio": statistics.median(ours) / statistics.median(bare), "genbench_eval_s": statistics.median(evals),
            "bare_all": bare, "genbench_all": ours}


def test_genbench_throughput_matches_a_bare_loop(benchmark):
    result = benchmark.pedantic(compare, args=(30, 64, 3), rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in result.items() if not k.endswith("_all")})
    print(f"\nbare {result['bare_images_per_s']:.0f} img/s, genbench {result['genbench_images_per_s']:.0f} img/s, "
          f"ratio {result['ratio']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = compare(args.steps, args.batch, args.rounds)
    print(f"dcgan + nonsaturating on mnist5k, batch {args.batch}, {args.steps} steps x {args.rounds} rounds, "
          f"torch threads {torch.get_num_threads()}")
    print(f"  bare PyTorch loop : {result['bare_images_per_s']:8.1f} images/s  (runs: "
          f"{', '.join(f'{v:.0f}' for v in result['bare_all'])})")
    print(f"  genbench runner   : {result['genbench_images_per_s']:8.1f} images/s  (runs: "
          f"{', '.join(f'{v:.0f}' for v in result['genbench_all'])})")
    print(f"  ratio genbench/bare: {result['ratio']:.3f}   (eval, excluded: {result['genbench_eval_s']:.2f} s per run)")


if __name__ == "__main__":
    main()
