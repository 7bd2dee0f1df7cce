"""Mode coverage on 2D mixtures, by the VEEGAN / PacGAN protocol.

A sample is high quality (HQ) if it lies within 3 standard deviations of its nearest mode; a
mode is covered if at least one HQ sample is nearest to it. Reverse KL compares the histogram
of HQ samples over modes, q, with the uniform mixture weights p: KL(q || p) = sum q log(q K).
"""

from __future__ import annotations

import math

import torch

from genbench import MetricOutput, MetricResult, MetricSpec, Param, hookimpl

OUTPUTS = {
    "modes": MetricOutput(True, "modes"),
    "hq_pct": MetricOutput(True, "HQ", "%"),
    "reverse_kl": MetricOutput(False, "rev KL", "nats"),
}
PARAMS = {"n_samples": Param(2500, "generated samples scored", min=1)}


def mode_statistics(samples: torch.Tensor, modes: torch.Tensor, sd: float) -> dict[str, float]:
    """samples (N, 2), modes (K, 2) -> modes covered, % HQ, reverse KL of HQ histogram."""
    distances = torch.cdist(samples.double(), modes.double())  # (N, K)
    nearest_distance, nearest = distances.min(dim=1)  # (N,), (N,)
    high_quality = nearest_distance <= 3 * sd  # (N,); NaN samples compare False
    counts = torch.bincount(nearest[high_quality], minlength=len(modes)).double()  # (K,)
    total = counts.sum().item()
    if total == 0:
        reverse_kl = math.nan
    else:
        q = counts[counts > 0] / total
        reverse_kl = float((q * torch.log(q * len(modes))).sum())
    return {
        "modes": float((counts > 0).sum()),
        "hq_pct": 100.0 * float(high_quality.double().mean()),
        "reverse_kl": reverse_kl,
    }


class ModeCoverage:
    def __init__(self, n_samples: int):
        self.n_samples = n_samples

    def __call__(self, ctx) -> MetricResult:
        extras = ctx.data.extras
        if "modes" not in extras or "sd" not in extras:
            raise ValueError("metric 'modes' needs a dataset that declares extras['modes'] and "
                             "extras['sd'] (the 2D mixtures ring8, grid25 do)")
        samples = ctx.sample(self.n_samples).cpu()  # (N, 2)
        values = mode_statistics(samples, extras["modes"], extras["sd"])
        provenance = {"n_fake": self.n_samples, "n_modes": len(extras["modes"]), "sd": extras["sd"],
                      "nonfinite_samples": int((~torch.isfinite(samples).all(dim=1)).sum())}
        if math.isnan(values["reverse_kl"]):
            provenance["reason"] = "no high-quality samples: reverse KL is undefined"
        return MetricResult(values, provenance)


def has_modes(info, **params) -> str | None:
    """Why the dataset cannot be scored: it does not declare the mixture's modes and sd."""
    missing = [key for key in ("modes", "sd") if key not in info.extras]
    if missing:
        return (f"the dataset does not provide {' and '.join(missing)} (its DataInfo.extras: "
                f"{', '.join(info.extras) or 'none'}); mode coverage needs a mixture with known modes, "
                "e.g. ring8 or grid25")
    return None


def make_modes(*, n_samples: int) -> ModeCoverage:
    return ModeCoverage(n_samples)


@hookimpl
def register_metrics(register):
    register(MetricSpec("modes", "modes covered, % high-quality samples, reverse KL (2D mixtures)",
                        make_modes, PARAMS, outputs=OUTPUTS, domains=("points",), needs=("samples",),
                        fits=has_modes))
