"""Parzen-window log-likelihood (Goodfellow et al. 2014, Table 1) -- a sanity check only.

A Gaussian Parzen window (isotropic, width sigma) is fitted on n_fake generated samples; sigma
is the grid value (log-spaced 0.1 .. 1, as in the paper's code) with the highest mean
log-likelihood of validation images; the score is the mean log-likelihood of test images and its
standard error. Pixels are rescaled from [-1, 1] to [0, 1] first, the scale of the paper's
numbers (a density on [-1, 1] is lower by D log 2 nats). Validation images are the last n_val of
the train split (the paper used a validation set the model never saw; our test splits are too
small to halve), test images the first n_test of the test split. All in float64, chunked:

    log p(x) = logsumexp_i(-|x - s_i|^2 / (2 sigma^2)) - log N - D log sigma - (D / 2) log(2 pi)

The estimate is unreliable in high dimensions (Theis et al. 2016, "A note on the evaluation of
generative models"): it can rank a poor model above a good one. Do not compare models by it.
"""

from __future__ import annotations

import math

import torch

from genbench import MetricOutput, MetricResult, MetricSpec, Param, hookimpl

from .inputs import Unavailable, nan_result, samples
from .prdc import squared_distances

CAVEAT = "sanity check only: Parzen-window estimates are unreliable in high dimensions (Theis et al. 2016)"
MAX_ELEMENTS = 2**22  # float64 distances alive at once (32 MB)
OUTPUTS = {
    "parzen_ll": MetricOutput(True, "Parzen LL (sanity check)", "nats"),
    "parzen_ll_se": MetricOutput(False, "Parzen LL standard error", "nats"),
}
PARAMS = {
    "n_fake": Param(10_000, "generated samples the window is fitted on", min=1, examples=True),
    "n_val": Param(1000, "validation images for sigma: the last n of the train split", min=1),
    "n_test": Param(10_000, "test images scored: the first n of the test split", min=1),
    "sigma_min": Param(0.1, "smallest kernel width tried (pixels in [0, 1])", min=1e-6),
    "sigma_max": Param(1.0, "largest kernel width tried", min=1e-6),
    "n_sigmas": Param(10, "kernel widths tried, log-spaced", min=1),
}


def parzen_log_likelihood(x: torch.Tensor, centers: torch.Tensor, sigmas: torch.Tensor,
                          max_elements: int = MAX_ELEMENTS) -> torch.Tensor:
    """x (n, D), centers (N, D), sigmas (S,) -> (n, S) log-density of each x under each width."""
    x, centers, sigmas = x.double(), centers.double(), sigmas.double()
    n_centers, dim = centers.shape
    normaliser = math.log(n_centers) + dim * sigmas.log() + dim / 2 * math.log(2 * math.pi)  # (S,)
    centers_squared = centers.square().sum(1)  # (N,)
    step = max(1, max_elements // n_centers)
    out = []
    for start in range(0, len(x), step):
        d2 = squared_distances(x[start:start + step], centers, centers_squared)  # (c, N)
        per_sigma = [torch.logsumexp(-d2 / (2 * sigma**2), dim=1) for sigma in sigmas]  # S x (c,)
        out.append(torch.stack(per_sigma, dim=1) - normaliser)  # (c, S)
    return torch.cat(out)  # (n, S)


def select_sigma(validation: torch.Tensor, centers: torch.Tensor, sigmas: torch.Tensor) -> float:
    """The sigma of the grid with the highest mean validation log-likelihood."""
    return float(sigmas[parzen_log_likelihood(validation, centers, sigmas).mean(dim=0).argmax()])


class Parzen:
    def __init__(self, **params):
        if params["sigma_min"] > params["sigma_max"]:
            raise ValueError(f"sigma_min {params['sigma_min']} is above sigma_max {params['sigma_max']}")
        self.params = params

    def __call__(self, ctx) -> MetricResult:
        p = self.params
        provenance = {"caveat": CAVEAT, "n_fake": p["n_fake"], "pixel_scale": "[0, 1]",
                      "validation": "last n_val of train (seen in training)", "split": "test"}
        try:
            if ctx.data.test is None or len(ctx.data.test) == 0:
                raise Unavailable("the dataset has no test split to score")
            to_unit = lambda images: (images.flatten(1).double() + 1) / 2  # (n, D) in [0, 1]
            centers = to_unit(samples(ctx, p["n_fake"]).cpu())
        except Unavailable as exc:
            return nan_result(OUTPUTS, provenance, str(exc))
        validation = to_unit(ctx.data.train[-p["n_val"]:])
        test = to_unit(ctx.data.test[:p["n_test"]])
        sigmas = torch.logspace(math.log10(p["sigma_min"]), math.log10(p["sigma_max"]), p["n_sigmas"],
                                dtype=torch.float64)
        sigma = select_sigma(validation, centers, sigmas)
        scores = parzen_log_likelihood(test, centers, torch.tensor([sigma], dtype=torch.float64))[:, 0]  # (n_test,)
        se = float(scores.std() / math.sqrt(len(scores))) if len(scores) > 1 else math.nan
        provenance.update({"n_val": len(validation), "n_real": len(test), "sigma": sigma,
                           "sigma_grid": [round(float(s), 6) for s in sigmas]})
        if len(sigmas) > 1 and sigma in (float(sigmas[0]), float(sigmas[-1])):
            provenance["warning"] = f"sigma {sigma:.4g} is at the edge of the grid; widen sigma_min/sigma_max"
        return MetricResult({"parzen_ll": float(scores.mean()), "parzen_ll_se": se}, provenance)


@hookimpl
def register_metrics(register):
    register(MetricSpec("parzen", "Parzen-window log-likelihood of test images under the samples "
                        "(Goodfellow et al. 2014; a sanity check only, unreliable in high dimensions)",
                        Parzen, PARAMS, outputs=OUTPUTS,
                        domains=("image",), needs=("samples", "real")))
