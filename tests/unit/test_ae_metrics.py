"""Reconstruction and application metrics, the IWAE bound and the pretraining study."""

import math

import pytest
import torch
from genbench.plugins.datasets.digits import digits
from genbench.plugins.metrics import pretraining as pretraining_module
from genbench.plugins.metrics.iwae import binarise, iwae_bounds, make_iwae
from genbench.plugins.metrics.pretraining import labelled_subset, make_pretraining
from genbench.plugins.metrics.reconstruction import (
    make_denoising,
    make_inpainting,
    make_reconstruction,
    make_superres,
)
from genbench.plugins.models.autoencoders import AEModel, make_deep
from torch import nn

from genbench import ConfigError, Data, DataInfo, EvalContext

INFO = DataInfo("image", (1, 16, 16), n_classes=2)
IMAGES = torch.rand(40, *INFO.shape, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.8  # in [-0.8, 0.8]
DATA = Data(INFO, train=IMAGES, test=IMAGES)


def context(reconstruct, seed: int = 0, data: Data = DATA, model=None) -> EvalContext:
    return EvalContext(data, seed, 10, torch.device("cpu"), reconstruct=reconstruct, model=model)


def test_reconstruction_scores_a_known_error():
    values = make_reconstruction(n=40, split="test")(context(lambda x: x + 0.1)).values
    # +0.1 in data units is +0.05 on [0, 1] pixels: MSE 0.0025, PSNR 10 log10(1 / 0.0025)
    assert values["recon_mse"] == pytest.approx(0.0025, rel=1e-4)
    assert values["recon_psnr"] == pytest.approx(10 * math.log10(400), rel=1e-4)
    assert make_reconstruction(n=40, split="test")(context(lambda x: x)).values["recon_ssim"] == pytest.approx(1.0)


def test_applications_of_the_identity_score_as_their_corrupted_inputs():
    identity = context(lambda x: x)
    denoise = make_denoising(n=40, split="test", sd=0.3)(identity).values
    assert denoise["denoise_psnr"] == pytest.approx(denoise["denoise_psnr_input"])
    inpaint = make_inpainting(n=40, split="test", size=0.5, fill=0.0)(identity).values
    assert inpaint["inpaint_psnr"] == pytest.approx(inpaint["inpaint_psnr_input"])
    superres = make_superres(n=40, split="test", factor=2, mode="bilinear")(identity).values
    assert superres["sr_psnr"] == pytest.approx(superres["sr_psnr_input"])
    assert superres["sr_ssim"] == pytest.approx(superres["sr_ssim_input"]) and superres["sr_ssim"] < 1


def test_inpainting_scores_the_masked_square_only():
    # an output equal to the clean image outside the square, 0.1 off inside it
    square = torch.zeros(16, 16, dtype=torch.bool)
    square[4:12, 4:12] = True

    def oracle(masked):
        return torch.where(square, IMAGES + 0.1, IMAGES)

    values = make_inpainting(n=40, split="test", size=0.5, fill=0.0)(context(oracle)).values
    assert values["inpaint_psnr"] == pytest.approx(10 * math.log10(400), rel=1e-4)


def test_denoising_noise_is_fixed_per_seed():
    def run(seed):
        return make_denoising(n=40, split="test", sd=0.3)(context(lambda x: x, seed)).values["denoise_psnr_input"]

    assert run(0) == run(0) != run(1)


def test_reconstruction_metrics_need_a_reconstructor():
    with pytest.raises(ValueError, match="ctx.reconstruct"):
        make_reconstruction(n=4, split="test")(context(None))


def tiny_vae() -> AEModel:
    """Four pixels, a one-dimensional code: p(x) = integral p(x | z) N(z; 0, 1) dz is a 1-D integral."""
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    decoder = nn.Sequential(nn.Linear(1, 4), nn.Unflatten(1, (1, 2, 2)))
    with torch.no_grad():
        decoder[0].weight.mul_(3)
    return AEModel(encoder, decoder, code_dim=1, variational=True).double()


def exact_log_likelihood(model: AEModel, x_bin: torch.Tensor) -> torch.Tensor:
    """log p(x) per image (B,) by quadrature over z on [-12, 12]."""
    z = torch.linspace(-12, 12, 200_001, dtype=torch.float64)[:, None]  # (Q, 1)
    logits = model.decode(z).flatten(1)  # (Q, 4)
    log_px_z = -nn.functional.binary_cross_entropy_with_logits(
        logits[:, None, :].expand(-1, len(x_bin), -1), x_bin.flatten(1).expand(len(z), -1, -1),
        reduction="none").sum(-1)  # (Q, B)
    log_prior = -0.5 * (z.pow(2) + math.log(2 * math.pi))  # (Q, 1)
    return torch.logsumexp(log_px_z + log_prior, 0) + math.log((z[1] - z[0]).item())


def test_iwae_bound_approaches_the_exact_log_likelihood_from_below():
    model = tiny_vae()
    x_bin = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 1]], dtype=torch.float64).view(3, 1, 2, 2)
    with torch.no_grad():
        exact = exact_log_likelihood(model, x_bin)
    repeated = x_bin.repeat(400, 1, 1, 1)  # (1200, ...): averages over 400 draws of each bound

    def mean_bounds(k):
        iwae, elbo = iwae_bounds(model, repeated, k, torch.Generator().manual_seed(0))
        return iwae.view(400, 3).mean(0), elbo.view(400, 3).mean(0)

    iwae_1, elbo = mean_bounds(1)
    assert torch.allclose(iwae_1, elbo)  # k = 1: the IWAE bound is the ELBO
    iwae_10, iwae_1000 = mean_bounds(10)[0], mean_bounds(1000)[0]
    assert (elbo < iwae_10).all() and (iwae_10 < iwae_1000).all()  # tighter as k grows
    assert (iwae_1000 <= exact + 0.005).all() and (exact - iwae_1000 < 0.02).all()


def test_iwae_metric_reports_nats_for_a_vae_and_nan_with_a_reason_otherwise():
    data = digits(64)
    vae = make_deep(data.info, hidden=(8,), code_dim=2, variational=True)
    metric = make_iwae(k=16, n=20, split="test")
    scored = metric(context(vae.reconstruct, data=data, model=vae))
    assert scored.values["iwae_nll"] > 0 and scored.values["elbo_nll"] >= scored.values["iwae_nll"]
    assert scored.provenance["n_real"] == 20 and scored.provenance["k"] == 16
    assert scored.values == metric(context(vae.reconstruct, data=data, model=vae)).values  # fixed z stream
    plain = make_deep(data.info, hidden=(8,), code_dim=2, variational=False)
    scored = metric(context(plain.reconstruct, data=data, model=plain))
    assert all(math.isnan(v) for v in scored.values.values()) and "not a variational" in scored.provenance["reason"]
    assert torch.equal(binarise(torch.tensor([-1.0, -0.1, 0.0, 0.2])), torch.tensor([0.0, 0.0, 0.0, 1.0]))


def test_labelled_subset_takes_n_per_class():
    labels = torch.tensor([0, 1, 2] * 20)
    chosen = labelled_subset(labels, 4, torch.Generator().manual_seed(0))
    assert torch.bincount(labels[chosen]).tolist() == [4, 4, 4] and len(set(chosen.tolist())) == 12
    assert len(labelled_subset(labels, 0, torch.Generator())) == 60


EARLY_STOPPING = dict(val_fraction=0.2, patience=3, check_every=10, max_steps=200)


def test_pretraining_reports_both_accuracies_and_both_gaps_and_shares_one_stack(monkeypatch):
    calls = []
    original = pretraining_module.pretrain_stack
    monkeypatch.setattr(pretraining_module, "pretrain_stack", lambda *a: calls.append(a) or original(*a))
    data = digits(300)
    params = dict(method="dae", layers=(16,), pretrain_steps=30, finetune_steps=30, noise=0.25, k=1, rbm_lr=0.05,
                  batch_size=32, lr=1e-2, **EARLY_STOPPING)
    ctx = context(None, seed=4, data=data)
    few = make_pretraining(labels_per_class=5, **params)(ctx)
    every = make_pretraining(labels_per_class=0, **params)(ctx)
    assert set(few.values) == {"acc_pretrained@5", "acc_scratch@5", "gap@5", "gap_equal_steps@5"}
    assert set(every.values) == {"acc_pretrained@all", "acc_scratch@all", "gap@all", "gap_equal_steps@all"}
    assert len(calls) == 1  # the label count does not change the pretrained stack
    v, p = few.values, few.provenance
    assert 0 <= v["acc_scratch@5"] <= 100 and v["gap@5"] == pytest.approx(v["acc_pretrained@5"] - v["acc_scratch@5"])
    equal = p["acc_equal_steps"]
    assert v["gap_equal_steps@5"] == pytest.approx(equal["pretrained"] - equal["scratch"])
    assert v["gap_equal_steps@5"] != v["gap@5"]  # 30 steps is not where either arm stops
    assert p["protocol"] == "early-stopping" and p["equal_steps"] == 30
    for arm in ("pretrained", "scratch"):
        assert p["best_step"][arm] % 10 == 0 and p["best_step"][arm] <= p["stopped_at"][arm] <= 200
    assert (p["n_labelled"], p["n_fit"], p["n_val"]) == (50, 40, 10) and every.provenance["n_labelled"] == 300
    assert make_pretraining(labels_per_class=5, **params)(ctx).values == v  # same seed, same numbers
    with pytest.raises(ValueError, match="positive integer widths"):
        make_pretraining(labels_per_class=5, **{**params, "layers": ()})
    with pytest.raises(ConfigError, match="val_fraction"):
        make_pretraining(labels_per_class=5, **{**params, "val_fraction": 0.0})


def test_pretraining_with_patience_0_trains_every_label_for_the_fixed_steps():
    params = dict(method="dae", layers=(16,), labels_per_class=5, pretrain_steps=30, finetune_steps=30, noise=0.25,
                  k=1, rbm_lr=0.05, batch_size=32, lr=1e-2, **{**EARLY_STOPPING, "patience": 0, "val_fraction": 0.0})
    scored = make_pretraining(**params)(context(None, seed=4, data=digits(300)))
    p = scored.provenance
    assert p["protocol"] == "fixed-steps" and (p["n_fit"], p["n_val"]) == (50, 0)
    assert scored.values["gap@5"] == scored.values["gap_equal_steps@5"]
    assert p["best_step"] == p["stopped_at"] == {"pretrained": 30, "scratch": 30}
