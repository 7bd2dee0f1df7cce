"""The reference (the spec; what the ops run outside any backend): formulas, stability, errors."""

import math

import pytest
import torch
import torch.nn.functional as F

from genbench.kernels import functional as K


def test_gan_losses_follow_their_definitions():
    real, fake = torch.randn(6, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = {
        "saturating": -(d_real.log().mean() + (1 - d_fake).log().mean()),
        "lsgan": 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean(),
        "hinge": F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
        "wasserstein": -real.mean() + fake.mean(),
    }
    expected_d["nonsaturating"] = expected_d["saturating"]
    expected_g = {
        "saturating": (1 - d_fake).log().mean(),
        "nonsaturating": -d_fake.log().mean(),
        "lsgan": 0.5 * ((fake - 1) ** 2).mean(),
        "hinge": -fake.mean(),
        "wasserstein": -fake.mean(),
    }
    for kind in K.GAN_LOSS_KINDS:
        torch.testing.assert_close(K.discriminator_loss(real, fake, kind), expected_d[kind])
        torch.testing.assert_close(K.generator_loss(fake, kind), expected_g[kind])
        real_terms, fake_terms = K.discriminator_loss(real, fake, kind, reduction="none")
        assert real_terms.shape == real.shape and fake_terms.shape == fake.shape
        torch.testing.assert_close(K.discriminator_loss(real, fake, kind, reduction="sum"),
                                   real_terms.sum() + fake_terms.sum())


def test_vae_loss_follows_its_definition():
    recon, target = torch.randn(3, 1, 2, 2), torch.rand(3, 1, 2, 2)
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5)
    p = torch.sigmoid(recon)
    bce = -(target * p.log() + (1 - target) * (1 - p).log()).flatten(1).sum(1)
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
    per_example = K.vae_loss(recon, target, mu, logvar, beta=2.0, reduction="none")
    torch.testing.assert_close(per_example, bce + 2.0 * kl)
    torch.testing.assert_close(K.vae_loss(recon, target, mu, logvar, beta=2.0), per_example.mean())


def test_reference_is_stable_for_extreme_logits():
    x = torch.tensor([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], requires_grad=True)
    for kind in K.GAN_LOSS_KINDS:
        for loss in (K.generator_loss(x, kind), K.discriminator_loss(x, x, kind)):
            (grad,) = torch.autograd.grad(loss, x)
            assert torch.isfinite(loss) and torch.isfinite(grad).all(), kind
    # softplus(-1e4) is 0 to float precision, not log(1 - sigmoid(1e4)) = log(0)
    assert K.generator_loss(x, "nonsaturating", reduction="none")[-1] == 0
    assert math.isclose(K.generator_loss(x, "saturating", reduction="none")[0].item(), 0.0)


def test_mean_over_an_empty_batch_is_nan_as_in_torch():
    assert K.generator_loss(torch.empty(0), "lsgan").isnan()
    assert K.generator_loss(torch.empty(0), "lsgan", reduction="sum") == 0


def test_bias_act_and_batchnorm_act_match_torch_modules():
    x, bias = torch.randn(4, 3, 5), torch.randn(3)
    torch.testing.assert_close(K.bias_act(x, bias, negative_slope=0.1),
                               F.leaky_relu(x + bias[:, None], 0.1))
    torch.testing.assert_close(K.bias_act(x, bias, activation="relu"), F.relu(x + bias[:, None]))
    bn = torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
    y, mean, var = K.batchnorm_act_with_stats(x, bn.weight, bn.bias)
    torch.testing.assert_close(y, F.relu(bn(x)))
    torch.testing.assert_close(mean, x.mean((0, 2)))
    torch.testing.assert_close(var * 20 / 19, bn.running_var * 10 - 9)  # momentum 0.1 from 1
    assert not mean.requires_grad and not var.requires_grad


@pytest.mark.parametrize("call, message", [
    (lambda: K.generator_loss(torch.zeros(2), "wgan"), "unknown GAN loss kind 'wgan'"),
    (lambda: K.generator_loss(torch.zeros(2), "hinge", reduction="avg"), "unknown reduction"),
    (lambda: K.bias_act(torch.zeros(2, 3), torch.zeros(3), activation="gelu"), "activation"),
    (lambda: K.bias_act(torch.zeros(2, 3), torch.zeros(3), negative_slope=-0.1), "negative_slope"),
    (lambda: K.bias_act(torch.zeros(2, 3), torch.zeros(4)), "bias"),
    (lambda: K.batchnorm_act(torch.zeros(1, 3), None, None), "more than 1 value per channel"),
    (lambda: K.discriminator_loss(torch.zeros(2), torch.zeros(2, device="meta"), "hinge"), "one device"),
    (lambda: K.vae_loss(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 1),
                        torch.zeros(2, 1)), "one shape"),
    (lambda: K.vae_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3, 1),
                        torch.zeros(3, 1)), "mu and logvar"),
])
def test_bad_arguments_raise_value_errors_that_list_the_choices(call, message):
    with pytest.raises(ValueError, match=message):
        call()
