"""The autoencoder models and trainer: shapes, eval contexts, seeding, pairing and divergence."""

import pytest
import torch
from genbench.plugins.datasets.digits import digits
from genbench.plugins.models.autoencoders import conv_fits, make_conv, make_deep, make_linear
from genbench.plugins.objectives.autoencoder import make_contractive, make_mse, make_vae

from genbench.plugins.families.autoencoder import STATISTICS, train_autoencoder
from genbench.plugins.families.common import EVAL_NOISE_OFFSET
from genbench.plugins.models.autoencoders import AEModel

from genbench import DataInfo, TrainSetup, kernels

TRAIN = {"steps": 6, "batch_size": 16, "lr": 1e-3, "device": "cpu"}
DATA = digits(128)


def setup_for(model, objective, seed: int = 0) -> TrainSetup:
    def adam(parameters):
        return torch.optim.Adam(parameters, lr=TRAIN["lr"], betas=(0.9, 0.999))

    return TrainSetup(DATA, model, objective, adam, TRAIN, seed, torch.device("cpu"))


def deep(variational: bool = False):
    torch.manual_seed(0)
    return make_deep(DATA.info, hidden=(16,), code_dim=4, variational=variational)


@pytest.mark.parametrize("info", [DataInfo("image", (1, 8, 8)), DataInfo("image", (1, 28, 28)),
                                  DataInfo("image", (3, 32, 32))])
@pytest.mark.parametrize("variational", [False, True])
def test_models_map_images_to_codes_and_back(info, variational):
    x = torch.rand(5, *info.shape) * 2 - 1
    for model in (make_linear(info, code_dim=6, variational=variational),
                  make_deep(info, hidden=(12, 10), code_dim=6, variational=variational),
                  make_conv(info, channels=3, code_dim=6, variational=variational)):
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


def test_trainer_yields_loss_and_parts_and_evaluates_with_reconstruct_and_model():
    model = deep()
    steps = list(train_autoencoder(setup_for(model, make_mse())))
    assert [s.step for s in steps] == [1, 2, 3, 4, 5, 6] and all(s.examples == 16 for s in steps)
    assert all(set(s.stats) == {"loss", "recon"} for s in steps)
    assert all(v.ndim == 0 and not v.requires_grad for s in steps for v in s.stats.values())
    ctx = steps[-1].context
    assert all(s.context is ctx for s in steps) and ctx.step == 0
    assert ctx.sample is None and ctx.model is model  # a plain autoencoder has nothing to sample from
    x = torch.rand(1500, 1, 8, 8) * 2 - 1  # more than one chunk
    out = ctx.reconstruct(x)
    assert out.shape == x.shape and torch.allclose(out, model.reconstruct(x).detach())
    assert model.training  # reconstruct switched to eval mode and back


def test_vae_trainer_samples_from_a_fixed_prior_noise_stream():
    steps = list(train_autoencoder(setup_for(deep(variational=True), make_vae(beta=1.0), seed=3)))
    assert set(steps[-1].stats) == {"loss", "recon", "kl"}
    ctx = steps[-1].context
    first = ctx.sample(10)
    assert first.shape == (10, 1, 8, 8) and first.abs().max() < 1
    assert torch.equal(first, ctx.sample(10))
    z = torch.randn(10, 4, generator=torch.Generator().manual_seed(3 + EVAL_NOISE_OFFSET))
    assert torch.allclose(first, ctx.model.generate(z).detach())


def test_same_seed_same_numbers_other_seed_other_numbers():
    runs = []
    for seed in (0, 0, 1):
        steps = list(train_autoencoder(setup_for(deep(variational=True), make_vae(beta=1.0), seed=seed)))
        runs.append(steps[-1].stats["loss"].item())
    assert runs[0] == runs[1] != runs[2]


def test_objective_and_model_must_agree_on_variational():
    with pytest.raises(ValueError, match="needs a variational model"):
        next(train_autoencoder(setup_for(deep(), make_vae(beta=1.0))))
    with pytest.raises(ValueError, match="trains only with the vae objective"):
        next(train_autoencoder(setup_for(deep(variational=True), make_mse())))


def test_a_non_finite_loss_is_yielded_for_the_runner_to_stop_on(registry):
    class Exploding:
        variational = False

        def loss(self, model, x, generator):
            loss = model.decode(model.encode(x)).sum() * float("nan")
            return loss, {}

    first = next(train_autoencoder(setup_for(deep(), Exploding())))
    assert first.step == 1 and torch.isnan(first.stats["loss"])
    spec = registry.get("family", "autoencoder")
    assert spec.factory is train_autoencoder and spec.model_type is AEModel and dict(spec.statistics) == STATISTICS
    assert [name for name, s in STATISTICS.items() if s.finite] == ["loss"]  # the runner's divergence check
    assert [name for name, s in STATISTICS.items() if s.column] == ["loss"]


@pytest.mark.parametrize("name", ["mse", "bce", "denoising", "sparse", "contractive", "vae"])
def test_every_part_an_objective_returns_is_a_declared_statistic(registry, name):
    spec = registry.get("objective", name)
    objective = spec.factory(**{key: param.default for key, param in spec.params.items()})
    step = next(train_autoencoder(setup_for(deep(variational=objective.variational), objective)))
    assert set(step.stats) <= set(STATISTICS) and "loss" in step.stats


@pytest.mark.compile
def test_compiled_backend_leaves_a_twice_differentiated_network_uncompiled():
    """The contractive penalty differentiates the encoder's Jacobian; torch.compile has no double
    backward, so under `compiled` the trainer trains that network as it is."""
    from genbench.kernels import compiled

    backend = kernels.Backend("compiled", compiled.OPS, compiled.prepare)
    with kernels.use(backend):
        steps = list(train_autoencoder(setup_for(deep(), make_contractive(weight=0.1, recon="bce"))))
    assert len(steps) == TRAIN["steps"] and all(torch.isfinite(s.stats["loss"]) for s in steps)
