"""The GAN architectures (SNGAN's standard CNN, the ResNet), normalisation as a parameter of
every built-in GAN model, and the class-conditional heads (projection, ACGAN)."""

import hashlib

import pytest
import torch
from genbench.suite.config import load
from genbench.plugins.families.gan import train_gan
from genbench.plugins.models import dcgan, mlp_gan, resnet_gan, sngan_cnn
from genbench.plugins.models.gan_layers import (ConditionalBatchNormAct, FeatureDiscriminator, LayerNormAct,
                                                conditional_problem)
from genbench.plugins.models.layers import BatchNormAct
from genbench.plugins.objectives import gan
from torch import nn
from torch.nn.utils import parametrize

from genbench import ConfigError, Data, DataInfo, TrainSetup

SIDES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar": (3, 32, 32)}
ARCHITECTURES = {"sngan-cnn": sngan_cnn.make_sngan_cnn, "resnet": resnet_gan.make_resnet_gan}
TINY = {"width": 4, "z_dim": 8}


def image(shape, n_classes=10):
    return DataInfo("image", shape, n_classes=n_classes)


def modules(net, kind):
    return [m for m in net.modules() if isinstance(m, kind)]


def weighted(net):
    return modules(net, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding))


@pytest.mark.parametrize("shape", SIDES.values(), ids=SIDES.keys())
@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize("conditioning", [{}, {"num_classes": 10}, {"num_classes": 10, "d_head": "acgan"}],
                         ids=["unconditional", "projection", "acgan"])
def test_each_architecture_makes_images_of_the_data_shape(name, shape, conditioning):
    torch.manual_seed(0)
    model = ARCHITECTURES[name](image(shape), **TINY, **conditioning)
    z, y = torch.randn(5, 8), torch.arange(5)
    labels = (y,) if conditioning else ()
    x = model.generator(z, *labels)
    assert x.shape == (5, *shape) and x.abs().max() <= 1  # tanh output
    assert model.discriminator(x, *labels).shape == (5,)
    assert model.num_classes == conditioning.get("num_classes", 0)
    if conditioning.get("d_head") == "acgan":
        assert model.classifier(x).shape == (5, 10)
    else:
        assert model.classifier is None


def test_the_paper_widths_give_the_published_networks():
    """At the default widths: SNGAN's standard CNN on 32x32 is 512 -> 256 -> 128 -> 64 in G and
    64, 64, 128, 128, 256, 256, 512 in D (Table 3); the ResNet has 256-channel G blocks and
    128-channel D blocks, 4.28M and 1.05M parameters (Table 4; the sizes reproductions report)."""
    torch.manual_seed(0)
    cnn = sngan_cnn.make_sngan_cnn(image((3, 32, 32)))
    assert [m.out_channels for m in modules(cnn.generator, nn.ConvTranspose2d)] == [256, 128, 64]
    assert cnn.generator.dense.out_features == 512 * 4 * 4
    assert [m.out_channels for m in modules(cnn.discriminator, nn.Conv2d)] == [64, 64, 128, 128, 256, 256, 512]
    assert [m.stride[0] for m in modules(cnn.discriminator, nn.Conv2d)] == [1, 2, 1, 2, 1, 2, 1]
    res = resnet_gan.make_resnet_gan(image((3, 32, 32)))
    assert len(res.generator.blocks) == 3 and res.generator.out.in_channels == 256
    assert len(res.discriminator.features.blocks) == 4 and res.discriminator.psi.in_features == 128
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert (count(res.generator), count(res.discriminator)) == (4_276_739, 1_053_825)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_fits_explains_what_the_architectures_cannot_model(name):
    fits = {"sngan-cnn": sngan_cnn.fits, "resnet": resnet_gan.fits}[name]
    assert all(fits(image(shape)) is None for shape in SIDES.values())
    assert "square" in fits(image((3, 32, 16)))
    assert "17 is not s * 2^n" in fits(image((1, 17, 17)))
    assert "set num_classes = 10" in fits(image((1, 8, 8)), num_classes=5)
    assert "no class labels" in fits(image((1, 8, 8), n_classes=None), num_classes=10)
    assert "set g_norm = 'batch'" in fits(image((1, 8, 8)), num_classes=10, g_norm="layer")
    assert "set pack = 1" in fits(image((1, 8, 8)), num_classes=10, pack=2)
    assert "set num_classes" in fits(image((1, 8, 8)), d_head="acgan")
    with pytest.raises(ValueError, match=f"{name} cannot model"):
        ARCHITECTURES[name](image((1, 8, 8)), num_classes=3)
    assert "multiple of 4" in resnet_gan.fits(image((1, 14, 14)))  # D halves the side twice


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_packing_stacks_images_along_the_discriminators_channels(name):
    model = ARCHITECTURES[name](image((3, 8, 8)), **TINY, pack=2)
    assert model.pack == 2 and model.discriminator(torch.randn(4, 6, 8, 8)).shape == (4,)


def norm_layers(net):
    """Which normalisation a network has: its set of BN / LN / spectral-norm facts."""
    found = set()
    if modules(net, BatchNormAct | ConditionalBatchNormAct):
        found.add("batch")
    if modules(net, LayerNormAct):
        found.add("layer")
    spectral = [parametrize.is_parametrized(m, "weight") for m in weighted(net)]
    if any(spectral):
        assert all(spectral), "spectral norm reaches every weight"
        found.add("spectral")
    return found


MODELS = {
    "mlp": lambda info, **p: mlp_gan.make_mlp_gan(info, hidden=8, depth=2, z_dim=8, **p),
    "dcgan": lambda info, **p: dcgan.make_dcgan(info, **TINY, **p),
    **{name: lambda info, make=make, **p: make(info, **TINY, **p) for name, make in ARCHITECTURES.items()},
}


@pytest.mark.parametrize("norm", ["none", "batch", "layer", "spectral"])
@pytest.mark.parametrize("name", MODELS)
def test_each_norm_choice_builds_its_layers_in_either_network(name, norm):
    torch.manual_seed(0)
    info = image((1, 16, 16))  # DCGAN's D normalises no layer on 8x8 images (its first is never)
    expected = set() if norm == "none" else {norm}
    model = MODELS[name](info, d_norm=norm)
    assert norm_layers(model.discriminator) == expected
    model = MODELS[name](info, g_norm=norm)
    assert norm_layers(model.generator) == expected
    x = model.generator(torch.randn(4, 8))
    assert x.shape == (4, 1, 16, 16) and model.discriminator(x).shape == (4,)


def test_layer_norm_is_group_norm_with_one_group_over_channels_and_positions():
    torch.manual_seed(0)
    ours, reference = LayerNormAct(3, "leaky_relu", 0.1), nn.GroupNorm(1, 3)
    nn.init.normal_(ours.weight), nn.init.normal_(ours.bias)
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(4, 3, 5, 5) * 3 + 1
    torch.testing.assert_close(ours(x), nn.functional.leaky_relu(reference(x), 0.1))
    flat = torch.randn(4, 6)  # on features alone it is LayerNorm
    torch.testing.assert_close(LayerNormAct(6, "relu", 0.0)(flat), torch.relu(nn.LayerNorm(6)(flat)))


def test_published_defaults_of_each_architecture(registry):
    defaults = {name: {k: p.default for k, p in registry.get("model", name).params.items()}
                for name in ("mlp", "dcgan", "sngan-cnn", "resnet")}
    assert [(defaults[n]["g_norm"], defaults[n]["d_norm"]) for n in defaults] == [
        ("auto", "none"), ("auto", "auto"), ("batch", "spectral"), ("batch", "spectral")]
    torch.manual_seed(0)
    model = dcgan.make_dcgan(image((3, 32, 32)), **TINY)  # DCGAN: BN in both
    assert norm_layers(model.generator) == norm_layers(model.discriminator) == {"batch"}
    for make in ARCHITECTURES.values():  # SNGAN: spectral norm in D, BN in G
        model = make(image((3, 32, 32)), **TINY)
        assert norm_layers(model.generator) == {"batch"} and norm_layers(model.discriminator) == {"spectral"}


def digest(model) -> tuple[str, float, float]:
    """A hash of both networks' state (names and bytes), and |G(z)|, |D(G(z))| summed."""
    h = hashlib.sha256()
    for name, net in (("G", model.generator), ("D", model.discriminator)):
        for key, value in net.state_dict().items():
            h.update(f"{name}.{key}".encode())
            h.update(value.detach().contiguous().numpy().tobytes())
    torch.manual_seed(1)
    x = model.generator(torch.randn(4, model.z_dim))
    d = model.discriminator(x.reshape(4 // model.pack, model.pack * x.shape[1], *x.shape[2:]))
    return h.hexdigest()[:16], x.double().abs().sum().item(), d.double().abs().sum().item()


# Measured with the code before g_norm / d_norm existed: the same parameters, initial values and
# outputs mean the stored cells of these models still describe the networks built today.
BEFORE_NORMS = {
    "dcgan-32": (lambda: dcgan.make_dcgan(image((3, 32, 32)), width=8, z_dim=16),
                 ("d394fc047236699c", 801.4738, 0.72795136)),
    "dcgan-28-nobn-sn": (lambda: dcgan.make_dcgan(image((1, 28, 28)), width=8, z_dim=16, d_batchnorm=False,
                                                  g_batchnorm=False, spectral_norm=True),
                         ("e06d23bef221cf9c", 1.4624366, 0.00027829782)),
    "dcgan-8-bn-sn-pack": (lambda: dcgan.make_dcgan(image((1, 8, 8)), width=8, z_dim=16, spectral_norm=True, pack=2),
                           ("1599ac2ef2e69f69", 12.3569, 0.037233593)),
    "mlp-ring": (lambda: mlp_gan.make_mlp_gan(DataInfo("points", (2,)), hidden=16, depth=2, z_dim=4),
                 ("6cece1d277b6634f", 1.1058318, 0.60998057)),
    "mlp-pacgan": (lambda: mlp_gan.make_mlp_gan(DataInfo("points", (2,)), hidden=16, depth=2, z_dim=4,
                                                g_batchnorm=True, maxout=5, init_std=0.02, pack=2),
                   ("5a256bb6d994a185", 0.52356215, 5.6511451e-05)),
    "mlp-image": (lambda: mlp_gan.make_mlp_gan(image((1, 8, 8)), hidden=16, depth=1, z_dim=4, d_hidden=8,
                                               d_depth=3),
                  ("6763a99b52feeee6", 54.763792, 0.24949557)),
}


@pytest.mark.parametrize("case", BEFORE_NORMS)
def test_defaults_and_old_booleans_build_the_networks_of_before(case):
    make, (state, g_out, d_out) = BEFORE_NORMS[case]
    torch.manual_seed(0)
    got = digest(make())
    assert got[0] == state, "parameters or initial values changed: stored cells would no longer match"
    assert got[1:] == pytest.approx((g_out, d_out), rel=1e-5)


@pytest.mark.parametrize(("name", "old", "new"), [
    ("dcgan", {"d_batchnorm": False, "spectral_norm": True}, {"d_norm": "spectral"}),
    ("dcgan", {"d_batchnorm": False}, {"d_norm": "none"}),
    ("dcgan", {"g_batchnorm": False}, {"g_norm": "none"}),
    ("dcgan", {}, {"g_norm": "batch", "d_norm": "batch"}),
    ("mlp", {"g_batchnorm": True}, {"g_norm": "batch"}),
    ("mlp", {}, {"g_norm": "none"}),
])
def test_an_old_boolean_and_its_named_norm_build_the_same_network(name, old, new):
    state = []
    for params in (old, new):
        torch.manual_seed(0)
        model = MODELS[name](image((1, 28, 28)), **params)
        state.append({k: v for net in (model.generator, model.discriminator) for k, v in net.state_dict().items()})
    assert state[0].keys() == state[1].keys()
    assert all(torch.equal(state[0][k], state[1][k]) for k in state[0])


def test_contradictions_between_old_booleans_and_named_norms_are_explained():
    info = image((1, 28, 28))
    assert "d_norm = 'batch' contradicts d_batchnorm = false" in dcgan.fits(info, d_norm="batch", d_batchnorm=False)
    assert "g_norm = 'batch' contradicts g_batchnorm = false" in dcgan.fits(info, g_norm="batch", g_batchnorm=False)
    assert "contradicts spectral_norm = true" in dcgan.fits(info, d_norm="layer", spectral_norm=True)
    assert dcgan.fits(info, d_norm="spectral", spectral_norm=True) is None  # they agree
    assert dcgan.fits(info, d_norm="layer") is None  # the booleans at their defaults give way
    assert "contradicts g_batchnorm = true" in mlp_gan.fits(info, g_norm="layer", g_batchnorm=True)
    assert "maxout units take no batch norm" in mlp_gan.fits(info, maxout=5, d_norm="batch")
    with pytest.raises(ValueError, match="contradicts"):
        dcgan.make_dcgan(info, d_norm="batch", d_batchnorm=False)


def test_a_suite_with_a_contradiction_is_a_config_error_naming_it(write_suite, registry):
    suite = """
    [suite]
    name = "norms"
    [train]
    steps = 2
    [matrix]
    datasets = ["digits"]
    models = [{ name = "dcgan", width = 4, d_batchnorm = false, d_norm = "batch" }]
    objectives = ["nonsaturating"]
    """
    with pytest.raises(ConfigError, match="d_norm = 'batch' contradicts d_batchnorm = false"):
        load(str(write_suite(suite)), registry)
    ok = suite.replace("d_batchnorm = false, ", "").replace('"dcgan"', '"sngan-cnn", num_classes = 10')
    load(str(write_suite(ok)), registry)


def spectral_norms(net):
    """The largest singular value of each spectrally normalised weight, as the matrix
    torch.nn.utils.parametrizations.spectral_norm normalises (its dim first, the rest flattened)."""
    sigmas = []
    for layer in weighted(net):
        dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0
        matrix = layer.weight.detach().movedim(dim, 0).flatten(1)
        sigmas.append(torch.linalg.matrix_norm(matrix, ord=2).item())
    return sigmas


@pytest.mark.parametrize("name", MODELS)
def test_spectral_norm_keeps_every_weight_at_unit_spectral_norm_after_steps(name):
    torch.manual_seed(0)
    conditional = {"num_classes": 10} if name in ARCHITECTURES else {}
    model = MODELS[name](image((1, 8, 8)), d_norm="spectral", **conditional)
    G, D = model.generator, model.discriminator
    if name == "dcgan":  # the generator's transposed convolutions too
        G = dcgan.make_dcgan(image((1, 8, 8)), **TINY, g_norm="spectral").generator
    optimizer = torch.optim.Adam([*D.parameters(), *G.parameters()], lr=2e-4, betas=(0.0, 0.9))  # SNGAN's
    y = torch.arange(16) % 10
    labels = (y,) if conditional else ()
    for _ in range(3):
        real, fake = torch.rand(16, 1, 8, 8) * 2 - 1, G(torch.randn(16, 8), *labels)
        loss = torch.nn.functional.softplus(-D(real, *labels)).mean() + torch.nn.functional.softplus(
            D(fake, *labels)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    D.eval(), G.eval()  # read each weight with the power iteration's current estimate
    networks = (D, G) if name == "dcgan" else (D,)
    sigmas = [s for net in networks for s in spectral_norms(net)]
    assert len(sigmas) >= 3 and sigmas == pytest.approx([1.0] * len(sigmas), rel=0.03)


def test_projection_head_on_a_hand_built_case():
    """D(x, y) = psi(phi(x)) + <embed(y), phi(x)> with phi the identity on 3 features."""
    D = FeatureDiscriminator(nn.Identity(), 3, num_classes=2)
    with torch.no_grad():
        D.psi.weight.copy_(torch.tensor([[1.0, 2.0, 3.0]]))
        D.psi.bias.fill_(0.5)
        D.embed.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]]))
    x, y = torch.tensor([[1.0, 0.0, 2.0], [1.0, 0.0, 2.0]]), torch.tensor([0, 1])
    # psi: 1 + 6 + 0.5 = 7.5 for both; projection: <(1, 0, 0), x> = 1, <(0, 1, -1), x> = -2
    torch.testing.assert_close(D(x, y), torch.tensor([8.5, 5.5]))
    with pytest.raises(ValueError, match="needs the labels"):
        D(x)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_projection_discriminator_adds_the_class_embedding_inner_product(name):
    torch.manual_seed(0)
    D = ARCHITECTURES[name](image((1, 8, 8)), **TINY, num_classes=10).discriminator
    D.eval()  # fixes the spectral norm's estimate, so every read of a weight is the same
    x, y = torch.randn(6, 1, 8, 8), torch.tensor([0, 1, 2, 3, 9, 9])
    with torch.no_grad():
        phi = D.features(x)  # (6, F)
        by_hand = phi @ D.psi.weight[0] + D.psi.bias + (D.embed.weight[y] * phi).sum(1)
        torch.testing.assert_close(D(x, y), by_hand)
        assert not torch.allclose(D(x, y), D(x, (y + 1) % 10))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_conditional_generator_output_depends_on_the_label(name):
    """Per-class gains start at 1 and biases at 0 (Miyato & Koyama's code), so G ignores y until
    a step that depends on y; then G(z, y) differs between classes, and only the labels used
    received gradients."""
    torch.manual_seed(0)
    G = ARCHITECTURES[name](image((1, 8, 8)), **TINY, num_classes=10).generator
    norms = modules(G, ConditionalBatchNormAct)
    assert norms and not modules(G, BatchNormAct)
    z = torch.randn(8, 8)
    first, second = torch.zeros(8, dtype=torch.long), torch.ones(8, dtype=torch.long)
    torch.testing.assert_close(G(z, first), G(z, second))
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    target = torch.where(y[:, None, None, None] == 0, -1.0, 1.0)  # class 0 dark, class 1 bright
    optimizer = torch.optim.SGD(G.parameters(), lr=0.1)
    loss = (G(z, y) - target).square().mean()
    loss.backward()
    assert all(m.gain.grad[2:].eq(0).all() and m.gain.grad[:2].ne(0).any() for m in norms)
    optimizer.step()
    assert (G(z, second) - G(z, first)).mean() > 0


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_acgan_classifier_shares_the_discriminators_trunk(name):
    torch.manual_seed(0)
    model = ARCHITECTURES[name](image((1, 8, 8)), **TINY, num_classes=10, d_head="acgan")
    D, C = model.discriminator, model.classifier
    assert C.features is D.features and C.classes is D.classes and D.embed is None
    d_params = {id(p) for p in D.parameters()}
    assert {id(p) for p in C.parameters()} <= d_params  # D's optimizer trains the classifier
    assert {id(p) for p in D.classes.parameters()} <= d_params
    D.eval()
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(C(x), D.classes(D.features(x)))
        torch.testing.assert_close(D(x, torch.zeros(4, dtype=torch.long)), D(x, torch.ones(4, dtype=torch.long)))


@pytest.mark.parametrize("d_norm", ["spectral", "batch", "layer"])
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_discriminators_take_a_gradient_penalty(name, d_norm):
    torch.manual_seed(0)
    model = ARCHITECTURES[name](image((1, 8, 8)), **TINY, d_norm=d_norm)
    D = model.discriminator
    real, fake = torch.rand(6, 1, 8, 8) * 2 - 1, model.generator(torch.randn(6, 8))
    loss = gan.wgan_gp(r1=1.0).penalty(D, real, fake) + D(fake).mean()
    loss.backward()  # through the penalty's double backward
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in D.parameters())


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_a_few_hinge_steps_of_the_gan_trainer_stay_finite(name):
    info = image((1, 8, 8), n_classes=None)
    data = Data(info, train=torch.rand(64, 1, 8, 8) * 2 - 1)
    torch.manual_seed(0)
    model = ARCHITECTURES[name](info, **TINY)
    train = {"steps": 3, "batch_size": 16, "lr": 2e-4, "device": "cpu", "g_noise": "fresh"}
    setup = TrainSetup(data, model, gan.hinge(), lambda p, role=None: torch.optim.Adam(p, lr=2e-4, betas=(0.0, 0.9)),
                       train, seed=0, device=torch.device("cpu"))
    steps = list(train_gan(setup))
    assert [s.step for s in steps] == [1, 2, 3]
    assert all(torch.isfinite(torch.stack(list(s.stats.values()))).all() for s in steps)


def test_every_gan_model_parameter_has_a_description(registry):
    for name in ("mlp", "dcgan", "sngan-cnn", "resnet"):
        assert all(len(p.help) > 10 for p in registry.get("model", name).params.values()), name
    assert conditional_problem(image((1, 8, 8)), 0, "projection", "none", 4) is None  # unconditional: anything
