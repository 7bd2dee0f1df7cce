"""The DCGAN model on each supported image size, its variants, and the MLP GAN on images."""

import pytest
import torch
from genbench.plugins.families.gan import make_sampler, train_gan
from genbench.plugins.models.dcgan import fits, layout, make_dcgan
from genbench.plugins.models.layers import BatchNormAct
from genbench.plugins.models.mlp_gan import make_mlp_gan
from genbench.plugins.objectives import gan
from torch.nn.utils import parametrize

from genbench import Data, DataInfo, TrainSetup

SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "patches": (3, 32, 32)}
TINY = {"width": 4, "z_dim": 8}


def image(shape):
    return DataInfo("image", shape)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_generator_makes_images_of_the_data_shape_and_d_returns_one_logit_each(shape):
    torch.manual_seed(0)
    model = make_dcgan(image(shape), **TINY)
    x = model.generator(torch.randn(5, 8))
    assert x.shape == (5, *shape) and x.abs().max() <= 1  # tanh output
    assert model.discriminator(x).shape == (5,)


def test_layout_and_fits_accept_the_supported_sizes_and_explain_the_rest(registry):
    assert [layout(side) for side in (8, 28, 32, 64)] == [(4, 1), (7, 2), (4, 3), (4, 4)]
    assert all(fits(image(shape)) is None for shape in SHAPES.values())
    assert "17 is not s * 2^n" in fits(image((1, 17, 17)))
    assert "square" in fits(image((3, 32, 16)))
    assert fits(image((1, 4, 4))) is not None  # too small for one stride-2 layer
    spec = registry.get("model", "dcgan")
    assert spec.domains == ("image",) and spec.fits is fits
    with pytest.raises(ValueError, match="dcgan cannot model"):
        make_dcgan(image((1, 17, 17)))


def test_initialisation_follows_the_paper():
    torch.manual_seed(0)
    model = make_dcgan(image((3, 32, 32)), width=32, z_dim=100)
    nets = (model.generator, model.discriminator)
    convs = [m for net in nets for m in net.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
    weights = torch.cat([m.weight.detach().flatten() for m in convs])
    assert abs(weights.mean()) < 1e-3 and weights.std() == pytest.approx(0.02, rel=0.02)
    norms = [m for net in nets for m in net.modules() if isinstance(m, BatchNormAct)]
    gammas = torch.cat([m.weight.detach() for m in norms])
    assert abs(gammas.mean() - 1) < 0.005 and gammas.std() == pytest.approx(0.02, rel=0.2)
    assert all(m.bias.eq(0).all() for m in norms)
    assert len(norms) == 3 + 2  # G: after every layer but the last; D: all but the first and last


@pytest.mark.parametrize("fused", [True, False])
def test_batchnorm_act_matches_torch_batchnorm_in_training_and_eval_mode(fused):
    torch.manual_seed(0)
    ours = BatchNormAct(3, "leaky_relu", 0.2, fused=fused)
    torch.nn.init.normal_(ours.weight, 1.0, 0.3)
    reference = torch.nn.BatchNorm2d(3)
    reference.load_state_dict(ours.state_dict(), strict=False)
    for _ in range(3):
        x = torch.randn(4, 3, 5, 5) * 2 + 1
        torch.testing.assert_close(ours(x), torch.nn.functional.leaky_relu(reference(x), 0.2))
    torch.testing.assert_close(ours.running_var, reference.running_var)
    ours.eval(), reference.eval()
    x = torch.randn(1, 3, 5, 5)
    torch.testing.assert_close(ours(x), torch.nn.functional.leaky_relu(reference(x), 0.2))


@pytest.mark.parametrize("variant", [{"g_batchnorm": False, "d_batchnorm": False},
                                     {"spectral_norm": True}, {"spectral_norm": True, "d_batchnorm": False}])
def test_variants_train_and_take_a_gradient_penalty(variant):
    torch.manual_seed(0)
    model = make_dcgan(image((1, 28, 28)), **TINY, **variant)
    D = model.discriminator
    real, fake = torch.rand(6, 1, 28, 28) * 2 - 1, model.generator(torch.randn(6, 8))
    g_norms = [m for m in model.generator.modules() if isinstance(m, BatchNormAct)]
    assert bool(g_norms) == variant.get("g_batchnorm", True)
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(parametrize.is_parametrized(m) for m in convs) == variant.get("spectral_norm", False)
    loss = gan.wgan_gp(r1=1.0).penalty(D, real, fake) + D(fake).mean()
    loss.backward()  # through the penalty's double backward
    grads = [p.grad for p in D.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize(("objective", "d_batchnorm"), [
    (gan.nonsaturating(), True),
    (gan.wgan_gp(k=2, r1=1.0), False),  # no BN in a penalised critic
], ids=["nonsaturating", "wgan-gp"])
def test_a_few_training_steps_on_random_images_stay_finite(objective, d_batchnorm, monkeypatch):
    info = image((1, 8, 8))
    data = Data(info, train=torch.rand(64, 1, 8, 8) * 2 - 1)
    torch.manual_seed(0)
    model = make_dcgan(info, **TINY, d_batchnorm=d_batchnorm)
    train = {"steps": 4, "batch_size": 16, "lr": 2e-4, "device": "cpu", "g_noise": "fresh"}
    setup = TrainSetup(data, model, objective, lambda p, role=None: torch.optim.Adam(p, lr=2e-4, betas=(0.5, 0.999)), train,
                       seed=0, device=torch.device("cpu"))
    steps = list(train_gan(setup))
    assert [s.step for s in steps] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.stack(list(s.stats.values()))).all() for s in steps)
    parameters = [*model.generator.parameters(), *model.discriminator.parameters()]
    assert all(torch.isfinite(p).all() for p in parameters)


def test_eval_mode_sampling_is_deterministic_and_per_example():
    torch.manual_seed(0)
    model = make_dcgan(image((3, 32, 32)), **TINY)
    model.generator(torch.randn(16, 8))  # one training-mode pass fills BN's running statistics
    sample = make_sampler(model.generator, model.z_dim, seed=0, device=torch.device("cpu"))
    first = sample(6)
    assert first.shape == (6, 3, 32, 32) and torch.equal(first, sample(6))
    assert model.generator.training  # the sampler restores training mode
    model.generator.eval()  # BN normalises with running statistics: no batch dependence
    z = torch.randn(6, 8)
    with torch.no_grad():
        torch.testing.assert_close(model.generator(z[:1]), model.generator(z)[:1])


def test_mlp_gan_models_flat_images_with_a_tanh_output():
    torch.manual_seed(0)
    model = make_mlp_gan(image((1, 28, 28)), hidden=16, depth=2, z_dim=4)
    x = model.generator(torch.randn(5, 4) * 100)
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1
    assert model.discriminator(x).shape == (5,)
