"""FID's matrix square root: genbench's form vs scipy's sqrtm (and two eigenvalue forms), and the
image metrics on 10,000 generated samples of a 28x28 dataset.

1. tr sqrt(S1 S2) at d = 64, 512, 2048 from covariances of 2d Gaussian samples, in float64:
   - sqrtm:    scipy.linalg.sqrtm(S1 @ S2), the textbook (pytorch-fid) form
   - eigvals:  sqrt of the eigenvalues of the non-symmetric S1 @ S2 (torchmetrics 1.9's _compute_fid)
   - sym-eigh: eigenvalues of the symmetric sqrt(S1) S2 sqrt(S1), from one eigh and one eigvalsh
   - genbench: singular values of R1^T R2 with S = R R^T (Cholesky): plugins/metrics/fid.py
   Times are medians over rounds; "rel diff" is |FID - FID_sqrtm| / FID_sqrtm.
2. fid, kid, is, prdc and parzen on 10,000 noisy training digits standing in for generated
   samples of mnist5k, the domain classifier trained once first (timed apart); each metric is
   run twice: the first call also extracts the real side, which is then memoised.

    python benchmarks/bench_fid.py [--rounds 3] [--threads 2] [--skip-metrics]
    pytest benchmarks/bench_fid.py --benchmark-enable
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np
import pytest
import scipy.linalg
import torch
from threadpoolctl import threadpool_limits
from torchmetrics.image.fid import _compute_fid

from genbench import EvalContext
from genbench.plugins.metrics.extractors import get_extractor
from genbench.plugins.metrics.fid import FID, KID, frechet_distance
from genbench.plugins.metrics.inception_score import InceptionScore
from genbench.plugins.metrics.parzen import Parzen
from genbench.plugins.metrics.prdc import PRDC
from genbench.api.registry import load_plugins

DIMS = (64, 512, 2048)
N_FAKE = 10_000


def covariances(d: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Means and covariances of two sets of 2d correlated Gaussian samples, float64."""
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    x1 = torch.randn(2 * d, d, generator=g, dtype=torch.float64) @ mixing  # (2d, d)
    x2 = 1.1 * torch.randn(2 * d, d, generator=g, dtype=torch.float64) @ mixing + 0.05  # (2d, d)
    return x1.mean(0), torch.cov(x1.T), x2.mean(0), torch.cov(x2.T)


def fid_sqrtm(m1, s1, m2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    return float((m1 - m2).square().sum() + s1.trace() + s2.trace()) - 2 * float(np.trace(covmean))


def fid_eigvals(m1, s1, m2, s2) -> float:
    return float(_compute_fid(m1, s1, m2, s2))


def fid_sym_eigh(m1, s1, m2, s2) -> float:
    w, v = torch.linalg.eigh(s1)
    b = v * w.clamp_min(0).sqrt()  # sqrt(S1) = b v^T; b^T S2 b has the eigenvalues of S1 S2
    m = b.T @ s2 @ b
    trace = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    return float((m1 - m2).square().sum() + s1.trace() + s2.trace() - 2 * trace)


METHODS = {"sqrtm": fid_sqrtm, "eigvals": fid_eigvals, "sym-eigh": fid_sym_eigh, "genbench": frechet_distance}


def time_method(method: str, d: int, rounds: int) -> tuple[float, float]:
    """(median seconds, FID value)."""
    stats = covariances(d)
    times, value = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        value = METHODS[method](*stats)
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def formula_table(rounds: int) -> list[dict]:
    """Per d: median seconds and FID of each method (10x the rounds at d=64; sqrtm once at 2048)."""
    rows = []
    for d in DIMS:
        row = {"d": d}
        for method in METHODS:
            repeats = 1 if (method == "sqrtm" and d == 2048) else rounds * (10 if d == 64 else 1)
            row[method], row[f"{method}_fid"] = time_method(method, d, repeats)
            print(f"  d={d} {method}: {row[method] * 1e3:.1f} ms", file=sys.stderr, flush=True)
        row["ratio"] = row["sqrtm"] / row["genbench"]
        row["rel_diff"] = abs(row["genbench_fid"] - row["sqrtm_fid"]) / abs(row["sqrtm_fid"])
        rows.append(row)
    return rows


def metrics_on_10k() -> dict[str, float]:
    """Seconds: extractor training, then each metric's first and second call on 10,000 samples."""
    registry = load_plugins()
    data = registry.get("dataset", "mnist5k").factory(n_train=0)
    g = torch.Generator().manual_seed(0)
    fake = data.train[torch.randint(len(data.train), (N_FAKE,), generator=g)]
    fake = (fake + 0.2 * torch.randn(fake.shape, generator=g)).clamp(-1, 1)  # (10000, 1, 28, 28)
    extractor = {"extractor": "auto", "extractor_seed": 0, "inception_path": ""}
    metrics = {
        "fid": FID(n_fake=N_FAKE, n_real=N_FAKE, split="test", **extractor),
        "kid": KID(n_fake=N_FAKE, n_real=N_FAKE, split="test", subsets=100, subset_size=1000, **extractor),
        "is": InceptionScore(n_fake=N_FAKE, splits=10, split="test", **extractor),
        "prdc": PRDC(n_fake=N_FAKE, n_real=N_FAKE, k_pr=3, k_dc=5, split="test", **extractor),
        "parzen": Parzen(n_fake=N_FAKE, n_val=1000, n_test=N_FAKE, sigma_min=0.1, sigma_max=1.0, n_sigmas=10),
    }
    times = {}
    previous = os.environ.get("GENBENCH_CACHE")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GENBENCH_CACHE"] = cache  # a cold cache: the classifier's training is timed
        try:
            started = time.perf_counter()
            get_extractor(data, "auto", 0)
            times["extractor training (once per dataset)"] = time.perf_counter() - started
            print(f"  extractor training: {times['extractor training (once per dataset)']:.1f} s", file=sys.stderr,
                  flush=True)
            for call in ("first", "again"):
                ctx = EvalContext(data, 0, 1, torch.device("cpu"), sample=lambda n: fake[:n])
                for name, metric in metrics.items():
                    started = time.perf_counter()
                    result = metric(ctx)
                    times[f"{name} ({call})"] = time.perf_counter() - started
                    print(f"  {name} ({call}): {times[f'{name} ({call})']:.2f} s", file=sys.stderr, flush=True)
                    assert "reason" not in result.provenance, result.provenance
        finally:
            if previous is None:
                del os.environ["GENBENCH_CACHE"]
            else:
                os.environ["GENBENCH_CACHE"] = previous
    times["all five metrics (again)"] = sum(v for k, v in times.items() if k.endswith("(again)"))
    return times


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("d", DIMS)
def test_fid_formula(benchmark, method, d):
    stats = covariances(d)
    rounds = 1 if (method == "sqrtm" and d == 2048) else 3
    value = benchmark.pedantic(METHODS[method], args=stats, rounds=rounds, iterations=1)
    assert value == pytest.approx(fid_sqrtm(*stats) if d < 2048 else frechet_distance(*stats), rel=1e-9)


def test_image_metrics_on_10k_samples(benchmark):
    times = benchmark.pedantic(metrics_on_10k, rounds=1, iterations=1)
    benchmark.extra_info.update(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed repeats (sqrtm at d=2048: once)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-metrics", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # scipy's BLAS/LAPACK threads too, so sqrtm gets the same cores
    print(f"threads {args.threads} (torch and BLAS), cpus {os.cpu_count()}, median of {args.rounds} rounds "
          f"(x10 at d=64; sqrtm once at d=2048)")
    print(f"{'d':>5} | {'sqrtm ms':>9} {'eigvals ms':>10} {'sym-eigh ms':>11} {'genbench ms':>11} | "
          f"{'sqrtm/genbench':>14} | {'rel diff':>8}")
    for row in formula_table(args.rounds):
        print(f"{row['d']:>5} | {row['sqrtm'] * 1e3:9.1f} {row['eigvals'] * 1e3:10.1f} {row['sym-eigh'] * 1e3:11.1f} "
              f"{row['genbench'] * 1e3:11.1f} | {row['ratio']:13.1f}x | {row['rel_diff']:8.1e}")
    if args.skip_metrics:
        return
    print(f"\nmnist5k (1x28x28), {N_FAKE:,} generated samples, test split as reference:")
    for name, seconds in metrics_on_10k().items():
        print(f"  {name:40s} {seconds:7.2f} s")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
