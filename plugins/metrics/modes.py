"""Mode coverage by the VEEGAN / PacGAN protocol: `modes` on the 2D mixtures, `stacked-modes`
on stacked MNIST.

`modes` (ring8, grid25: extras "modes" and "sd"): a sample is high quality (HQ) if it lies within
3 standard deviations of its nearest mode; a mode is covered if at least one HQ sample is nearest
to it. `stacked-modes` (stacked-mnist: extras "digits", the digits its channels come from): a
domain classifier trained on those digits (the `lenet` extractor of extractors.py) reads each
channel, and the sample's mode is the digit triple, one of 1,000; a mode is covered if at least
one sample falls in it (VEEGAN, PacGAN Table 2). Both report the reverse KL of the histogram q of
the counted samples over the K modes against the uniform mode weights p = 1/K:
KL(q || p) = sum_k q_k log(q_k K). They are two metrics because a metric applies to every
dataset of its domains: `modes` stays on points, `stacked-modes` takes images and refuses
image sets without stacked digits.
"""

from __future__ import annotations

import math

import torch

from genbench import MetricOutput, MetricResult, MetricSpec, Param, hookimpl

from .extractors import classifier_extractor

OUTPUTS = {
    "modes": MetricOutput(True, "modes"),
    "hq_pct": MetricOutput(True, "HQ", "%"),
    "reverse_kl": MetricOutput(False, "rev KL", "nats"),
}
STACKED_OUTPUTS = {"modes": OUTPUTS["modes"], "reverse_kl": OUTPUTS["reverse_kl"]}
PARAMS = {"n_samples": Param(2500, "generated samples scored", min=1, examples=True)}
STACKED_PARAMS = {
    "n_samples": Param(26_000, "generated samples scored (VEEGAN and PacGAN: 26,000)", min=1, examples=True),
    "classifier_seed": Param(0, "seed of the digit classifier's training (fixed across cells)"),
}
CHUNK = 1000  # images per classifier call


def histogram_statistics(counts: torch.Tensor) -> dict[str, float]:
    """Samples per mode (K,) -> modes covered and reverse KL(q || uniform) of the histogram q."""
    total = counts.sum().item()
    if total == 0:
        reverse_kl = math.nan
    else:
        q = counts[counts > 0].double() / total
        reverse_kl = float((q * torch.log(q * len(counts))).sum())
    return {"modes": float((counts > 0).sum()), "reverse_kl": reverse_kl}


def mode_statistics(samples: torch.Tensor, modes: torch.Tensor, sd: float) -> dict[str, float]:
    """samples (N, 2), modes (K, 2) -> modes covered, % HQ, reverse KL of HQ histogram."""
    distances = torch.cdist(samples.double(), modes.double())  # (N, K)
    nearest_distance, nearest = distances.min(dim=1)  # (N,), (N,)
    high_quality = nearest_distance <= 3 * sd  # (N,); NaN samples compare False
    counts = torch.bincount(nearest[high_quality], minlength=len(modes))  # (K,)
    return {**histogram_statistics(counts), "hq_pct": 100.0 * float(high_quality.double().mean())}


@torch.no_grad()
def channel_modes(samples: torch.Tensor, classify) -> torch.Tensor:
    """samples (N, C, H, W) -> mode index (N,) in 0..10^C - 1: each channel's arg-max class under
    `classify` ((n, 1, H, W) -> (n, 10) logits), read as a base-10 number, first channel first."""
    n, channels = samples.shape[:2]
    single = samples.reshape(n * channels, 1, *samples.shape[2:])  # (N * C, 1, H, W), sample-major
    digits = torch.cat([classify(chunk).argmax(1) for chunk in single.split(CHUNK)])  # (N * C,)
    places = 10 ** torch.arange(channels - 1, -1, -1)  # (C,): 100, 10, 1
    return digits.view(n, channels) @ places  # (N,)


def stacked_statistics(samples: torch.Tensor, classify) -> dict[str, float]:
    """samples (N, C, H, W) -> modes covered out of 10^C and reverse KL over those modes."""
    modes = channel_modes(samples, classify)  # (N,)
    return histogram_statistics(torch.bincount(modes, minlength=10 ** samples.shape[1]))  # (10^C,) counts


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

class StackedModeCoverage:
    """Each channel of the samples read by a LeNet trained on extras['digits']."""

    def __init__(self, n_samples: int, classifier_seed: int):
        self.n_samples = n_samples
        self.classifier_seed = classifier_seed

    def __call__(self, ctx) -> MetricResult:
        if "digits" not in ctx.data.extras:
            raise ValueError("metric 'stacked-modes' needs a dataset that declares extras['digits'] "
                             "(stacked-mnist does)")
        classifier = classifier_extractor(ctx.data.extras["digits"], "lenet", self.classifier_seed)
        samples = ctx.sample(self.n_samples).cpu()  # (N, C, H, W)
        values = stacked_statistics(samples, classifier.logits)
        provenance = {"n_fake": self.n_samples, "n_modes": 10 ** samples.shape[1],
                      "classifier": "lenet per channel", **classifier.provenance}
        return MetricResult(values, provenance)


def has_modes(info, **params) -> str | None:
    """Why the dataset cannot be scored: it does not declare the mixture's modes and sd."""
    missing = [key for key in ("modes", "sd") if key not in info.extras]
    if missing:
        return (f"the dataset does not provide {' and '.join(missing)} (its DataInfo.extras: "
                f"{', '.join(info.extras) or 'none'}); mode coverage needs a mixture with known modes, "
                "e.g. ring8 or grid25")
    return None


def has_digits(info, **params) -> str | None:
    """Why the dataset cannot be scored: its channels are not stacked digits."""
    if "digits" not in info.extras:
        return (f"the dataset does not provide digits (its DataInfo.extras: {', '.join(info.extras) or 'none'}); "
                "stacked-modes reads each channel as a digit: use stacked-mnist")
    return None


def make_modes(*, n_samples: int) -> ModeCoverage:
    return ModeCoverage(n_samples)


def make_stacked_modes(*, n_samples: int, classifier_seed: int) -> StackedModeCoverage:
    return StackedModeCoverage(n_samples, classifier_seed)


@hookimpl
def register_metrics(register):
    register(MetricSpec("modes", "modes covered, % high-quality samples, reverse KL (2D mixtures)",
                        make_modes, PARAMS, outputs=OUTPUTS, domains=("points",), needs=("samples",),
                        fits=has_modes))
    register(MetricSpec("stacked-modes", "modes covered of 10^C digit combinations, reverse KL (stacked MNIST)",
                        make_stacked_modes, STACKED_PARAMS, outputs=STACKED_OUTPUTS, domains=("image",),
                        needs=("samples",), fits=has_digits))
