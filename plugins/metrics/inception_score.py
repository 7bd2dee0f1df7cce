"""Inception Score (Salimans et al. 2016) from the domain classifier's logits.

IS = exp(E_x KL(p(y|x) || p(y))), averaged over `splits` equal parts of the samples. Computed
here from the logits by a pure function rather than torchmetrics' InceptionScore: that class
would take the logits (a custom `feature=` module and normalize=False; normalize=True would
rescale our images to uint8 first), but it shuffles the samples with the global torch RNG,
works in the logits' dtype and buffers every output. Here: float64, log-softmax and logsumexp
throughout, contiguous splits (the samples are i.i.d. already) with boundaries at i*N//splits as
in torch-fidelity (equal sizes to within one sample, even when splits does not divide N), and
the population sd over splits (divisor n, as the original code and torch-fidelity; torchmetrics
reports the sample sd, divisor n - 1), which the provenance states. `is_real` is the same score
on real images of the split (the ceiling a perfect generator would reach under this classifier),
memoised per process.
"""

from __future__ import annotations

import math

import torch

from genbench import ConfigError, MetricOutput, MetricResult, MetricSpec, Param, hookimpl

from .inputs import (
    EXTRACTOR_PARAMS, SPLIT_PARAM, ExtractorMetric, Unavailable, extract, extractor_fits, extractor_for, memo,
    nan_result, real_images, real_key, samples,
)

OUTPUTS = {
    "is": MetricOutput(True, "IS"),
    "is_std": MetricOutput(False, "IS population sd over splits (divisor n)"),
    "is_real": MetricOutput(True, "IS of real images"),
}
PARAMS = {
    "n_fake": Param(10_000, "generated samples (also real images scored for is_real, at most)", min=1,
                    examples=True),
    "splits": Param(10, "equal parts the score is averaged over", min=1),
    **SPLIT_PARAM,
    **EXTRACTOR_PARAMS,
}


SD = "population sd over splits (divisor n, as torch-fidelity)"


def inception_score(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """logits (N, K) -> mean and population sd over splits of exp(mean KL(p(y|x) || p(y))).

    Split i holds rows i*N//splits to (i+1)*N//splits - 1, as in torch-fidelity."""
    n = len(logits)
    if n < splits:
        raise ValueError(f"{n} samples cannot be cut into {splits} splits")
    logits = logits.double()
    scores = []
    for i in range(splits):
        part = logits[i * n // splits:(i + 1) * n // splits]  # (n_i, K), n_i = N // splits or one more
        log_p = torch.log_softmax(part, dim=1)  # log p(y|x)
        log_marginal = torch.logsumexp(log_p, dim=0) - math.log(len(part))  # (K,): log p(y)
        kl = (log_p.exp() * (log_p - log_marginal)).sum(dim=1).mean()
        scores.append(kl.exp())
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std(correction=0))


class InceptionScore(ExtractorMetric):
    def __init__(self, **params):
        if params["extractor"] == "dinov2":
            raise ConfigError("metric 'is' needs class probabilities, and the DINOv2 extractor has no classifier "
                              "head; fix: extractor='auto' or 'inception' for 'is' (dinov2 serves fid, kid, prdc)")
        if params["n_fake"] < params["splits"]:
            raise ConfigError(f"metric 'is': n_fake={params['n_fake']} samples cannot be cut into "
                              f"splits={params['splits']} parts; fix: n_fake >= splits (10,000 and 10 as usual)")
        super().__init__(**params)

    def __call__(self, ctx) -> MetricResult:
        p = self.params
        provenance = {"split": p["split"], "n_fake": p["n_fake"], "splits": p["splits"], "is_std": SD}
        try:
            extractor = extractor_for(ctx, p)
            provenance.update(extractor.provenance)
            fake_logits = extract(extractor.logits, samples(ctx, p["n_fake"]), ctx.device)  # (N, K)
            real = real_images(ctx.data, p["split"], p["n_fake"])
            if len(real) < p["splits"]:
                raise Unavailable(f"the {p['split']} split has {len(real)} images, fewer than splits={p['splits']}")
        except Unavailable as exc:
            return nan_result(OUTPUTS, provenance, str(exc))
        provenance["n_real"] = len(real)
        score, sd = inception_score(fake_logits, p["splits"])
        real_score = memo.get(("is", *real_key(real, extractor), p["splits"]),
                              lambda: inception_score(extract(extractor.logits, real, ctx.device), p["splits"])[0])
        return MetricResult({"is": score, "is_std": sd, "is_real": real_score}, provenance)


@hookimpl
def register_metrics(register):
    register(MetricSpec("is", "Inception Score from the domain classifier's class probabilities, with real "
                        "images' score", InceptionScore, PARAMS, outputs=OUTPUTS,
                        domains=("image",), needs=("samples", "real", "labels"),
                        fits=extractor_fits))
