"""FID and KID between real and generated images, in the feature space of a domain extractor.

The extractor (extractors.py) goes to torchmetrics' FrechetInceptionDistance and
KernelInceptionDistance as `feature=`. With a custom feature module torchmetrics hands our [-1, 1]
images to it unchanged (`normalize` only rescales for its own Inception), and FID accumulates
sums of features and of their outer products in float64. The final Fréchet distance is ours:
torchmetrics 1.9 takes tr sqrt(S1 S2) from eigvals of the non-symmetric S1 @ S2 and casts the
result back to the features' dtype; `frechet_distance` takes it, in float64, as the sum of the
singular values of R1^T R2 (S = R R^T), which is both faster and far more accurate on the
singular covariances small classifiers give (benchmarks/bench_fid.py compares the forms).

Beside each FID the metric reports `fid_floor`: the FID between the same real reference and the
other split at the same sample count (all of that split if it is smaller), i.e. the score of a
generator that reproduced the data exactly; computed once per (data, extractor, N) per process.
With split='test' the other split is train, on which the extractor was trained, so the floor
also holds that small train/test shift in feature space.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

import torch

from genbench import MetricOutput, MetricResult, MetricSpec, Param, hookimpl

from .extractors import Extractor
from .inputs import (
    CHUNK, EXTRACTOR_PARAMS, SPLIT_PARAM, ExtractorMetric, Unavailable, extractor_fits, extractor_for, memo,
    nan_result, other_split, real_images, real_key, samples,
)

if TYPE_CHECKING:
    from torchmetrics.image.fid import FrechetInceptionDistance

log = logging.getLogger(__name__)

FID_OUTPUTS = {
    "fid": MetricOutput(False, "FID"),
    "fid_floor": MetricOutput(False, "FID floor (real vs real)"),
}
KID_OUTPUTS = {
    "kid": MetricOutput(False, "KID"),
    "kid_std": MetricOutput(False, "KID sd over subsets"),
}
COUNT_PARAMS = {
    "n_fake": Param(10_000, "generated samples", min=2, examples=True),
    "n_real": Param(10_000, "real images: the first n of the split (all of it if smaller)", min=2),
}
FID_PARAMS = {**COUNT_PARAMS, **SPLIT_PARAM, **EXTRACTOR_PARAMS}
KID_PARAMS = {
    **FID_PARAMS,
    "subsets": Param(100, "random subsets the MMD is averaged over", min=1),
    "subset_size": Param(1000, "samples per subset (capped at n_real and n_fake)", min=2),
}


def moments(total: torch.Tensor, outer: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """sum of x (d,), sum of x x^T (d, d) over n rows -> mean (d,), unbiased covariance (d, d)."""
    mean = total.double() / n
    return mean, (outer.double() - n * torch.outer(mean, mean)) / (n - 1)


def covariance_factor(cov: torch.Tensor) -> torch.Tensor:
    """R (d, d) with R R^T = cov: Cholesky when cov is positive definite, else V diag(sqrt w) from eigh."""
    factor, info = torch.linalg.cholesky_ex(cov)
    if info == 0:
        return factor
    w, v = torch.linalg.eigh(cov)  # (d,), (d, d)
    return v * w.clamp_min(0).sqrt()  # column j scaled by sqrt(w_j); round-off negatives -> 0


def trace_sqrt_product(cov1: torch.Tensor, cov2: torch.Tensor) -> torch.Tensor:
    """tr sqrt(cov1 cov2) for symmetric positive semi-definite (d, d) matrices, in float64.

    With S = R R^T, S1 S2 = R1 (R1^T R2 R2^T) has the eigenvalues of A A^T, A = R1^T R2: they are
    the squared singular values of A, so tr sqrt(S1 S2) = sum of the singular values of A. Taking
    the square roots of the eigenvalues directly as singular values avoids forming a product with
    squared condition number (as eigvals(S1 @ S2) and sqrt(S1) S2 sqrt(S1) do), whose round-off
    the square root then magnifies; and it is the fastest form when both factors are Cholesky.
    """
    return torch.linalg.svdvals(covariance_factor(cov1.double()).T @ covariance_factor(cov2.double())).sum()


def frechet_distance(mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor) -> float:
    """|m1 - m2|^2 + tr(S1 + S2 - 2 sqrt(S1 S2)) between N(m1, S1) and N(m2, S2), in float64.

    Features constant in both sets (a classifier's dead ReLU units) have all-zero rows and
    columns in both covariances. They are dropped from the trace term, which they do not change:
    left in, they make both covariances singular (no Cholesky factor) and add round-off.
    """
    mean1, mean2, cov1, cov2 = mean1.double(), mean2.double(), cov1.double(), cov2.double()
    live = (cov1.diagonal() > 0) | (cov2.diagonal() > 0)  # (d,)
    cov1, cov2 = cov1[live][:, live], cov2[live][:, live]  # (d', d')
    distance = (mean1 - mean2).square().sum() + cov1.trace() + cov2.trace() - 2 * trace_sqrt_product(cov1, cov2)
    return float(distance)


def _feed(metric, images: torch.Tensor, real: bool, device: torch.device) -> None:
    with torch.no_grad():
        for chunk in images.split(CHUNK):
            metric.update(chunk.to(device), real=real)


def _fid_with_real(real: torch.Tensor, extractor: Extractor, device: torch.device) -> FrechetInceptionDistance:
    """torchmetrics' FID state holding the real statistics (memoised; reset() keeps them)."""

    def build():
        from torchmetrics.image.fid import FrechetInceptionDistance  # here: loading the plugins stays fast

        metric = FrechetInceptionDistance(feature=extractor, reset_real_features=False).to(device)
        _feed(metric, real, True, device)
        return metric

    return memo.get(("fid", *real_key(real, extractor)), build)


def fid_against(metric: FrechetInceptionDistance, images: torch.Tensor, device: torch.device) -> float:
    """FID between the metric's real statistics and images (N, C, H, W)."""
    metric.reset()  # the generated side only: reset_real_features=False
    _feed(metric, images, False, device)
    real = moments(metric.real_features_sum, metric.real_features_cov_sum, int(metric.real_features_num_samples))
    fake = moments(metric.fake_features_sum, metric.fake_features_cov_sum, int(metric.fake_features_num_samples))
    if not all(torch.isfinite(t).all() for t in fake):
        raise Unavailable("the features of the samples are not finite (samples far outside [-1, 1]?)")
    return frechet_distance(*real, *fake)


def conditioning_warning(counts: dict[str, int], dim: int) -> str | None:
    small = [f"{name}={n}" for name, n in counts.items() if n <= dim]
    if not small:
        return None
    return (f"{', '.join(small)} <= {dim} feature dimensions: the covariance is singular, FID is "
            f"ill-conditioned and strongly biased; use more than {dim} samples (10x that for a stable score)")


class FID(ExtractorMetric):
    def __call__(self, ctx) -> MetricResult:
        p = self.params
        provenance = {"split": p["split"], "n_fake": p["n_fake"]}
        try:
            extractor = extractor_for(ctx, p)
            provenance.update(extractor.provenance)
            real = real_images(ctx.data, p["split"], p["n_real"])
            provenance["n_real"] = len(real)
            metric = _fid_with_real(real, extractor, ctx.device)
            fid = fid_against(metric, samples(ctx, p["n_fake"]), ctx.device)
        except Unavailable as exc:
            return nan_result(FID_OUTPUTS, provenance, str(exc))
        floor, floor_provenance = self.floor(ctx, real, extractor, metric)
        provenance.update(floor_provenance)
        counts = {"n_real": len(real), "n_fake": p["n_fake"], "floor_n": floor_provenance.get("floor_n", len(real))}
        warning = conditioning_warning(counts, extractor.num_features)
        if warning:
            log.warning("fid: %s", warning)
            provenance["warning"] = warning
        return MetricResult({"fid": fid, "fid_floor": floor}, provenance)

    def floor(self, ctx, real: torch.Tensor, extractor: Extractor, metric) -> tuple[float, dict]:
        """FID of the other real split (same N) against the reference: (value, provenance)."""
        split = other_split(self.params["split"])
        try:
            other = real_images(ctx.data, split, self.params["n_fake"])
        except Unavailable as exc:
            return float("nan"), {"floor_split": split, "floor_reason": str(exc)}
        key = ("fid_floor", *real_key(real, extractor), *real_key(other, extractor))
        return memo.get(key, lambda: fid_against(metric, other, ctx.device)), {"floor_split": split,
                                                                                 "floor_n": len(other)}


class KID(ExtractorMetric):
    def __call__(self, ctx) -> MetricResult:
        p = self.params
        provenance = {"split": p["split"], "n_fake": p["n_fake"], "subsets": p["subsets"]}
        try:
            extractor = extractor_for(ctx, p)
            provenance.update(extractor.provenance)
            real = real_images(ctx.data, p["split"], p["n_real"])
            provenance["n_real"] = len(real)
            fake = samples(ctx, p["n_fake"])
        except Unavailable as exc:
            return nan_result(KID_OUTPUTS, provenance, str(exc))
        size = min(p["subset_size"], len(real), p["n_fake"])
        provenance["subset_size"] = size

        def build():
            from torchmetrics.image.kid import KernelInceptionDistance

            with warnings.catch_warnings():  # "will save all extracted features": n_real + n_fake rows of d
                warnings.filterwarnings("ignore", "Metric `Kernel Inception Distance` will save", UserWarning)
                metric = KernelInceptionDistance(feature=extractor, subsets=p["subsets"], subset_size=size,
                                                 reset_real_features=False).to(ctx.device)
            _feed(metric, real, True, ctx.device)
            return metric

        metric = memo.get(("kid", *real_key(real, extractor), p["subsets"], size), build)
        metric.reset()
        _feed(metric, fake, False, ctx.device)
        with torch.random.fork_rng(devices=[]):  # subsets drawn from the cell's seed, caller's stream untouched
            torch.manual_seed(ctx.seed)
            kid, kid_std = metric.compute()
        return MetricResult({"kid": float(kid), "kid_std": float(kid_std)}, provenance)


@hookimpl
def register_metrics(register):
    register(MetricSpec("fid", "Fréchet distance of domain-classifier features to a real split, with the "
                        "real-vs-real floor", FID, FID_PARAMS, outputs=FID_OUTPUTS,
                        domains=("image",), needs=("samples", "real", "labels"),
                        fits=extractor_fits))
    register(MetricSpec("kid", "kernel (MMD, cubic polynomial) distance of domain-classifier features to a "
                        "real split", KID, KID_PARAMS, outputs=KID_OUTPUTS,
                        domains=("image",), needs=("samples", "real", "labels"),
                        fits=extractor_fits))
