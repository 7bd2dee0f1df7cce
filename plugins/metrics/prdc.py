"""Improved precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

Every sample gets a k-NN ball: its radius is the distance to its k-th nearest other sample of the
same set (the (k+1)-th smallest distance counting itself, as in the prdc package).
    precision = fraction of generated samples inside some real ball           (k = k_pr)
    recall    = fraction of real samples inside some generated ball           (k = k_pr)
    density   = mean over generated samples of #real balls containing it / k  (k = k_dc)
    coverage  = fraction of real balls that contain some generated sample     (k = k_dc)
"Inside" is strict (<), as in the prdc package. Squared Euclidean distances are computed in float64
(as the prdc package, through scikit-learn), in row chunks of at most `max_elements` entries, so
memory is O(max_elements), never N x M. In float32 the |a|^2 + |b|^2 - 2 a.b form loses about
eps32 * |a|^2 to cancellation and flips borderline neighbours, so results moved with the chunk
size; in float64 they do not. The real-vs-generated distances are taken row by row over the real
samples, as the radii are, so for prdc(x, x) each ball is tested with the very values that set
its radius: density and coverage are exactly 1.
"""

from __future__ import annotations

import torch

from genbench import MetricOutput, MetricResult, MetricSpec, Param, hookimpl

from .inputs import (
    EXTRACTOR_PARAMS, SPLIT_PARAM, ExtractorMetric, Unavailable, extract, extractor_fits, extractor_for, memo,
    nan_result, real_images, real_key, samples,
)

MAX_ELEMENTS = 2**23  # distances alive at once: 64 MB in float64, plus the comparison masks
OUTPUTS = {
    "precision": MetricOutput(True, "precision"),
    "recall": MetricOutput(True, "recall"),
    "density": MetricOutput(True, "density"),
    "coverage": MetricOutput(True, "coverage"),
}
PARAMS = {
    "n_fake": Param(10_000, "generated samples", min=2, examples=True),
    "n_real": Param(10_000, "real images: the first n of the split (all of it if smaller)", min=2),
    "k_pr": Param(3, "neighbours for precision and recall (Kynkäänniemi et al.: 3)", min=1),
    "k_dc": Param(5, "neighbours for density and coverage (Naeem et al.: 5)", min=1),
    **SPLIT_PARAM,
    **EXTRACTOR_PARAMS,
}


def squared_distances(a: torch.Tensor, b: torch.Tensor, b_squared: torch.Tensor) -> torch.Tensor:
    """a (n, d), b (m, d), b_squared (m,) = |b|^2, all float64 -> (n, m) squared Euclidean distances."""
    return (a.square().sum(1, keepdim=True) + b_squared - 2 * a @ b.T).clamp_min_(0)


def _rows(n_columns: int, max_elements: int) -> int:
    return max(1, max_elements // max(1, n_columns))


def knn_radii(x: torch.Tensor, ks: tuple[int, ...], max_elements: int = MAX_ELEMENTS) -> dict[int, torch.Tensor]:
    """x (N, d) -> {k: (N,) squared distance (float64) of each row to its k-th nearest other row}."""
    if len(x) <= max(ks):
        raise ValueError(f"{len(x)} samples are too few for {max(ks)} nearest neighbours")
    x = x.double()
    x_squared = x.square().sum(1)  # (N,)
    step = _rows(len(x), max_elements)
    smallest = []
    for start in range(0, len(x), step):
        d2 = squared_distances(x[start:start + step], x, x_squared)  # (c, N)
        d2[torch.arange(len(d2)), torch.arange(start, start + len(d2))] = 0  # itself, exactly
        smallest.append(d2.topk(max(ks) + 1, dim=1, largest=False).values)  # (c, max k + 1), ascending
    smallest = torch.cat(smallest)  # (N, max k + 1)
    return {k: smallest[:, k] for k in ks}


def prdc(real: torch.Tensor, fake: torch.Tensor, k_pr: int = 3, k_dc: int = 5,
         max_elements: int = MAX_ELEMENTS) -> dict[str, float]:
    """real (N, d), fake (M, d) features -> precision, recall, density, coverage (distances in float64)."""
    real, fake = real.double(), fake.double()
    real_radii = knn_radii(real, (k_pr, k_dc), max_elements)  # {k: (N,)}
    fake_radii = knn_radii(fake, (k_pr,), max_elements)[k_pr]  # (M,)
    fake_squared = fake.square().sum(1)  # (M,)
    in_real_ball = torch.zeros(len(fake), dtype=torch.bool)  # precision, per generated sample
    in_fake_ball = torch.zeros(len(real), dtype=torch.bool)  # recall, per real sample
    real_balls_containing = torch.zeros(len(fake), dtype=torch.long)  # density
    covered = torch.zeros(len(real), dtype=torch.bool)  # coverage
    step = _rows(len(fake), max_elements)
    for start in range(0, len(real), step):  # real rows, as in knn_radii: with fake = real, the same values
        rows = slice(start, start + step)
        d2 = squared_distances(real[rows], fake, fake_squared)  # (c, M)
        in_real_ball |= (d2 < real_radii[k_pr][rows, None]).any(dim=0)
        in_fake_ball[rows] = (d2 < fake_radii).any(dim=1)
        real_balls_containing += (d2 < real_radii[k_dc][rows, None]).sum(dim=0)
        covered[rows] = d2.min(dim=1).values < real_radii[k_dc][rows]
    return {
        "precision": in_real_ball.double().mean().item(),
        "recall": in_fake_ball.double().mean().item(),
        "density": real_balls_containing.double().mean().item() / k_dc,
        "coverage": covered.double().mean().item(),
    }


class PRDC(ExtractorMetric):
    def __call__(self, ctx) -> MetricResult:
        p = self.params
        provenance = {"split": p["split"], "n_fake": p["n_fake"], "k_pr": p["k_pr"], "k_dc": p["k_dc"]}
        try:
            extractor = extractor_for(ctx, p)
            provenance.update(extractor.provenance)
            real = real_images(ctx.data, p["split"], p["n_real"])
            provenance["n_real"] = len(real)
            if min(len(real), p["n_fake"]) <= max(p["k_pr"], p["k_dc"]):
                raise Unavailable(f"n_real={len(real)}, n_fake={p['n_fake']}: too few for "
                                  f"{max(p['k_pr'], p['k_dc'])} nearest neighbours")
            fake_features = extract(extractor, samples(ctx, p["n_fake"]), ctx.device).double()  # (M, d)
            if not torch.isfinite(fake_features).all():
                raise Unavailable("the features of the samples are not finite (samples far outside [-1, 1]?)")
            real_features = memo.get(("features", *real_key(real, extractor)),
                                     lambda: extract(extractor, real, ctx.device).double())  # (N, d)
            values = prdc(real_features, fake_features, p["k_pr"], p["k_dc"])
        except Unavailable as exc:
            return nan_result(OUTPUTS, provenance, str(exc))
        provenance["distances"] = "float64, squared Euclidean, chunked"
        return MetricResult(values, provenance)


@hookimpl
def register_metrics(register):
    register(MetricSpec("prdc", "improved precision/recall and density/coverage of domain-classifier features "
                        "(k-NN balls)", PRDC, PARAMS, outputs=OUTPUTS,
                        domains=("image",), needs=("samples", "real", "labels"),
                        fits=extractor_fits))
