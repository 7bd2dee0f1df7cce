"""`rbm-loglik`: the average log-probability of held-out binary images under an RBM, in nats,

    log p(v) = -F(v) - log Z,

with the partition function Z computed exactly or estimated by annealed importance sampling.

Exact (n_hidden <= 24): Z = sum_h exp(c.h) prod_i (1 + exp(b_i + W^T_i.h)), i.e.
log Z = logsumexp_h [c.h + sum_i softplus(b_i + W^T_i.h)] over all 2^H hidden configurations,
in chunks of 2^12, in float64.

AIS (Salakhutdinov & Murray 2008): anneal from the base-rate model p_A(v) ∝ exp(b_A.v) (b_A the
log-odds of the training data's pixel marginals, an RBM with no weights; log Z_A = H log 2 +
sum_i softplus(b_A_i)) to the RBM through

    p*_beta(v) = exp((1 - beta) b_A.v + beta b.v) prod_j (1 + exp(beta (c_j + W_j.v))),

with the paper's schedule shape (a fraction 500/14500 of the n_betas temperatures evenly in
[0, 0.5], 4000/14500 in [0.5, 0.9], 10000/14500 in [0.9, 1]), M independent runs, each a
Gibbs transition per temperature. With importance weights w_m, log Z = log Z_A + log mean w_m,
and the interval is log Z_A + log(mean w +- 3 std(w) / sqrt(M)) (its lower end -inf when the
spread exceeds the mean). The runs draw from a CPU generator seeded by the cell.

`method = "auto"` is exact when n_hidden <= 24, else AIS; "both" always runs AIS and reports its
log-likelihood as rbm_loglik_ais, beside the exact rbm_loglik when n_hidden <= 24 (so one suite
compares the two where both apply and still scores larger models). Everything computed
(log Z, its interval, the schedule, the runs) is in the provenance. The metric refuses data that
is not binary (DataInfo.extras lacks "binarize") before any work: use digits-bin or mnist5k-bin.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genbench import DataInfo, EvalContext, MetricOutput, MetricResult, MetricSpec, Param, hookimpl
from genbench.plugins.models.rbm import MARGINAL_CLAMP, RBM, bernoulli

MAX_EXACT_HIDDEN = 24
EXACT_CHUNK = 2**12  # hidden configurations per chunk of the exact sum: (4096, D) float64 at a time
AIS_SEED_OFFSET = 4_000_037  # the AIS runs' stream: cell seed + offset
SCHEDULE_SHAPE = ((0.5, 500), (0.9, 4000), (1.0, 10000))  # (upper end, temperatures), S&M 2008


@torch.no_grad()
def exact_log_z(model: RBM) -> float:
    """log Z by summing over every hidden configuration (float64)."""
    H = model.n_hidden
    if H > MAX_EXACT_HIDDEN:
        raise ValueError(f"exact log Z sums 2^{H} hidden configurations; it allows n_hidden <= {MAX_EXACT_HIDDEN}")
    W, b, c = (t.detach().double() for t in (model.weight, model.visible_bias, model.hidden_bias))
    powers = 2 ** torch.arange(H, device=W.device)  # (H,)
    terms = []
    for start in range(0, 2**H, EXACT_CHUNK):
        index = torch.arange(start, min(start + EXACT_CHUNK, 2**H), device=W.device)  # (C,)
        h = (index[:, None] & powers).ne(0).double()  # (C, H): the bits of each index
        terms.append(torch.logsumexp(h @ c + F.softplus(h @ W + b).sum(1), 0))
    return torch.logsumexp(torch.stack(terms), 0).item()


def ais_schedule(n_betas: int) -> torch.Tensor:
    """n_betas + 1 temperatures from 0 to 1, spaced as in Salakhutdinov & Murray 2008. (n_betas + 1,)"""
    total = sum(n for _, n in SCHEDULE_SHAPE)
    pieces, lower = [torch.zeros(1, dtype=torch.float64)], 0.0
    counts = [max(1, round(n_betas * n / total)) for _, n in SCHEDULE_SHAPE]
    counts[-1] = max(1, n_betas - sum(counts[:-1]))
    for (upper, _), count in zip(SCHEDULE_SHAPE, counts, strict=True):
        pieces.append(torch.linspace(lower, upper, count + 1, dtype=torch.float64)[1:])
        lower = upper
    return torch.cat(pieces)


def base_rate_bias(train_v: torch.Tensor) -> torch.Tensor:
    """b_A: the log-odds of the pixel marginals of training data (N, D) in [0, 1]. (D,)"""
    return torch.logit(train_v.double().mean(0).clamp(MARGINAL_CLAMP, 1 - MARGINAL_CLAMP))


@torch.no_grad()
def ais_log_z(model: RBM, base_bias: torch.Tensor, n_betas: int, runs: int,
              generator: torch.Generator) -> dict[str, float]:
    """AIS estimate of log Z: {"log_z", "log_z_low", "log_z_high", "log_z_base"}; float64 throughout."""
    W, b, c = (t.detach().double() for t in (model.weight, model.visible_bias, model.hidden_bias))
    b_a = base_bias.to(W.device)  # (D,)
    betas = ais_schedule(n_betas).tolist()

    def log_p_star(v: torch.Tensor, beta: float) -> torch.Tensor:  # (M, D) -> (M,)
        return v @ ((1 - beta) * b_a + beta * b) + F.softplus(beta * (v @ W.T + c)).sum(1)

    v = bernoulli(torch.sigmoid(b_a).expand(runs, -1), generator)  # (M, D): exact samples of p_A
    log_w = torch.zeros(runs, dtype=torch.float64, device=W.device)  # (M,)
    for previous, beta in zip(betas, betas[1:], strict=False):
        log_w += log_p_star(v, beta) - log_p_star(v, previous)
        h = bernoulli(torch.sigmoid(beta * (v @ W.T + c)), generator)  # (M, H): Gibbs at beta
        v = bernoulli(torch.sigmoid((1 - beta) * b_a + beta * (b + h @ W)), generator)  # (M, D)
    log_z_base = model.n_hidden * math.log(2) + F.softplus(b_a).sum().item()
    shift = log_w.max()
    w = torch.exp(log_w - shift)  # (M,): the weights over exp(shift)
    mean, spread = w.mean().item(), 3 * w.std().item() / math.sqrt(runs) if runs > 1 else 0.0
    offset = log_z_base + shift.item()
    return {"log_z": offset + math.log(mean),
            "log_z_low": offset + math.log(mean - spread) if mean > spread else -math.inf,
            "log_z_high": offset + math.log(mean + spread), "log_z_base": log_z_base}


class RBMLogLikelihood:
    def __init__(self, method: str, n: int, split: str, ais_runs: int, ais_betas: int):
        self.method, self.n, self.split = method, n, split
        self.ais_runs, self.ais_betas = ais_runs, ais_betas

    def __call__(self, ctx: EvalContext) -> MetricResult:
        model: RBM = ctx.model
        images = ctx.data.test if self.split == "test" else ctx.data.train
        if images is None or len(images) == 0:
            raise ValueError(f"dataset has no {self.split} split; fix: split = 'train'")
        exact_ok = model.n_hidden <= MAX_EXACT_HIDDEN
        if self.method == "exact" and not exact_ok:
            raise ValueError(f"method = 'exact' needs n_hidden <= {MAX_EXACT_HIDDEN} (the model has "
                             f"{model.n_hidden}); fix: method = 'auto', 'ais' or 'both'")
        with torch.no_grad():
            v = model.to_visible(images[:self.n]).to(model.weight.device)  # (n, D)
            mean_neg_free_energy = -model.free_energy(v).double().mean().item()
        provenance = {"n_real": len(v), "split": self.split, "n_hidden": model.n_hidden,
                      "binarize": ctx.data.extras.get("binarize")}
        values = {}
        if self.method == "exact" or (self.method in ("auto", "both") and exact_ok):
            provenance["log_z_exact"] = exact_log_z(model)
            provenance["method"] = "exact"
        if self.method in ("ais", "both") or (self.method == "auto" and not exact_ok):
            generator = torch.Generator().manual_seed(ctx.seed + AIS_SEED_OFFSET)
            train_v = model.to_visible(ctx.data.train)
            ais = ais_log_z(model, base_rate_bias(train_v), self.ais_betas, self.ais_runs, generator)
            provenance.update({f"{key}_ais": value for key, value in ais.items()})
            provenance.update({"ais_runs": self.ais_runs, "ais_betas": self.ais_betas,
                               "ais_seed": ctx.seed + AIS_SEED_OFFSET,
                               "loglik_interval_ais": [mean_neg_free_energy - ais["log_z_high"],
                                                       mean_neg_free_energy - ais["log_z_low"]]})
            provenance.setdefault("method", "ais")
            if self.method == "both":
                values["rbm_loglik_ais"] = mean_neg_free_energy - ais["log_z"]
        log_z = provenance["log_z_exact"] if provenance["method"] == "exact" else provenance["log_z_ais"]
        values.update({"rbm_loglik": mean_neg_free_energy - log_z, "rbm_log_z": log_z})
        return MetricResult(values, provenance)


def make_rbm_loglik(*, method: str, n: int, split: str, ais_runs: int, ais_betas: int) -> RBMLogLikelihood:
    return RBMLogLikelihood(method, n, split, ais_runs, ais_betas)


def binary_data(info: DataInfo, **params) -> str | None:
    """MetricSpec.fits: an RBM's log-probability is defined on binary images only."""
    if "binarize" not in info.extras:
        return ("an RBM's log-likelihood is defined on binary images and this dataset is not binarised; "
                "use digits-bin or mnist5k-bin (binarize = \"threshold\" or \"stochastic\")")
    return None


@hookimpl
def register_metrics(register):
    register(MetricSpec(
        "rbm-loglik", "average held-out log p(v) of an RBM: exact log Z (n_hidden <= 24) or AIS",
        make_rbm_loglik,
        {"method": Param("auto", "how log Z is computed: auto (exact when n_hidden <= 24, else AIS), exact, ais, "
                         "or both (AIS always, and exact when n_hidden <= 24)",
                         choices=("auto", "exact", "ais", "both")),
         "n": Param(1000, "held-out images: the first n of the split", min=1),
         "split": Param("test", "split the images come from", choices=("test", "train")),
         "ais_runs": Param(100, "independent AIS runs M", min=2, max=100_000),
         "ais_betas": Param(14500, "AIS intermediate temperatures (Salakhutdinov & Murray: 14,500)",
                            min=10, max=10_000_000)},
        outputs={"rbm_loglik": MetricOutput(True, "log p(v), held-out", "nats"),
                 "rbm_log_z": MetricOutput(True, "log Z", "nats"),
                 "rbm_loglik_ais": MetricOutput(True, "log p(v) by AIS (method both)", "nats")},
        domains=("image",), needs=("real", "energy"), fits=binary_data))
