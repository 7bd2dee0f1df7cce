"""The autoencoder models and trainer: shapes, eval contexts, seeding, pairing and divergence."""

import pytest
import torch
from genbench.plugins.datasets.digits import digits
from genbench.plugins.models.autoencoders import conv_fits, make_conv, make_deep, make_linear
from genbench.plugins.objectives.autoencoder import make_mse, make_vae

from genbench import DataInfo, TrainingDiverged, TrainSetup
from genbench.train.autoencoder import train_autoencoder
from genbench.train.common import EVAL_NOISE_OFFSET

TRAIN = {"steps": 6, "batch_size": 16, "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "device": "cpu"}
DATA = digits(128)


def setup_for(model, objective, seed: int = 0) -> TrainSetup:
    setup = TrainSetup(DATA, model, objective, TRAIN, seed, torch.device("cpu"), (3, 6),
                       evaluate=lambda step, ctx: setup.evaluated.append((step, ctx)),
                       record=lambda step, stats: setup.recorded.__setitem__(step, stats))
    setup.evaluated, setup.recorded = [], {}
    return setup


def deep(variational: bool = False):
    torch.manual_seed(0)
    return make_deep(DATA.info, backend="eager", hidden=(16,), code_dim=4, variational=variational)


@pytest.mark.parametrize("info", [DataInfo("image", (1, 8, 8)), DataInfo("image", (1, 28, 28)),
                                  DataInfo("image", (3, 32, 32))])
@pytest.mark.parametrize("variational", [False, True])
def test_models_map_images_to_codes_and_back(info, variational):
    x = torch.rand(5, *info.shape) * 2 - 1
    for model in (make_linear(info, backend="eager", code_dim=6, variational=variational),
                  make_deep(info, backend="eager", hidden=(12, 10), code_dim=6, variational=variational),
                  make_conv(info, backend="eager", channels=3, code_dim=6, variational=variational)):
        code = model.encode(x)
        if variational:
            assert code[0].shape == code[1].shape == (5, 6)
        else:
            assert code.shape == (5, 6) and 0 < code.min() and code.max() < 1  # sigmoid units
        assert model.decode(torch.randn(5, 6)).shape == (5, *info.shape)
        out = model.reconstruct(x)
        assert out.shape == x.shape and out.abs().max() < 1


def test_conv_model_rejects_sizes_it_cannot_halve_twice():
    assert conv_fits(DataInfo("image", (1, 28, 28))) is None
    assert "divisible by 4" in conv_fits(DataInfo("image", (1, 10, 10)))


def test_trainer_records_loss_and_parts_and_evaluates_with_reconstruct_and_model():
    model = deep()
    setup = setup_for(model, make_mse(backend="eager"))
    stats = train_autoencoder(setup)
    assert stats.steps == 6 and stats.samples_seen == 6 * 16 and stats.train_time_s > 0
    assert sorted(setup.recorded) == [3, 6] and set(setup.recorded[6]) == {"loss", "recon"}
    assert [step for step, _ in setup.evaluated] == [3, 6]
    ctx = setup.evaluated[-1][1]
    assert ctx.sample is None and ctx.model is model  # a plain autoencoder has nothing to sample from
    x = torch.rand(1500, 1, 8, 8) * 2 - 1  # more than one chunk
    out = ctx.reconstruct(x)
    assert out.shape == x.shape and torch.allclose(out, model.reconstruct(x).detach())
    assert model.training  # reconstruct switched to eval mode and back


def test_vae_trainer_samples_from_a_fixed_prior_noise_stream():
    setup = setup_for(deep(variational=True), make_vae(backend="eager", beta=1.0), seed=3)
    train_autoencoder(setup)
    assert set(setup.recorded[6]) == {"loss", "recon", "kl"}
    ctx = setup.evaluated[-1][1]
    first = ctx.sample(10)
    assert first.shape == (10, 1, 8, 8) and first.abs().max() < 1
    assert torch.equal(first, ctx.sample(10))
    z = torch.randn(10, 4, generator=torch.Generator().manual_seed(3 + EVAL_NOISE_OFFSET))
    assert torch.allclose(first, ctx.model.generate(z).detach())


def test_same_seed_same_numbers_other_seed_other_numbers():
    runs = []
    for seed in (0, 0, 1):
        setup = setup_for(deep(variational=True), make_vae(backend="eager", beta=1.0), seed=seed)
        train_autoencoder(setup)
        runs.append(setup.recorded[6]["loss"])
    assert runs[0] == runs[1] != runs[2]


def test_objective_and_model_must_agree_on_variational():
    with pytest.raises(ValueError, match="needs a variational model"):
        train_autoencoder(setup_for(deep(), make_vae(backend="eager", beta=1.0)))
    with pytest.raises(ValueError, match="trains only with the vae objective"):
        train_autoencoder(setup_for(deep(variational=True), make_mse(backend="eager")))


def test_non_finite_loss_raises_training_diverged():
    class Exploding:
        variational = False

        def loss(self, model, x, generator):
            loss = model.decode(model.encode(x)).sum() * float("nan")
            return loss, {}

    with pytest.raises(TrainingDiverged) as caught:
        train_autoencoder(setup_for(deep(), Exploding()))
    assert caught.value.step == 1 and caught.value.what == "loss"
