"""The reproductions (docs/reproductions.md): every suite the document names validates, and the
options the PacGAN protocol needs (batch norm, maxout, packing) and stacked MNIST behave."""

import math
import re
from pathlib import Path

import pytest
import scipy.stats
import torch
from genbench.plugins.datasets.stacked_mnist import stacked_mnist
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.families.gan import train_gan
from genbench.plugins.models.gan import pack_samples, packed_shape
from genbench.plugins.metrics.modes import (StackedModeCoverage, channel_modes, has_digits, has_modes,
                                            histogram_statistics, stacked_statistics)
from genbench.plugins.models.dcgan import make_dcgan
from genbench.plugins.models.layers import BatchNormAct, Maxout
from genbench.plugins.models.mlp_gan import make_mlp_gan
from genbench.plugins.objectives.gan import hinge, lsgan, nonsaturating, ragan, rsgan, saturating, wgan_gp

from genbench import DataInfo, EvalContext, TrainSetup
from genbench.suite.config import builtin_suites, load
from genbench.suite.plan import expand

DOC = Path(__file__).parents[2] / "docs" / "reproductions.md"
OBJECTIVES = [saturating, nonsaturating, lsgan, hinge, wgan_gp, rsgan, ragan]
POINTS = DataInfo(domain="points", shape=(2,))


def documented_suites() -> set[str]:
    """The suite of every `genbench run NAME` command in docs/reproductions.md."""
    return set(re.findall(r"genbench run ([\w-]+)", DOC.read_text()))


def test_the_document_names_the_reproduction_suites():
    assert {"pacgan", "pacgan-short", "stacked-mnist", "lucic-mnist", "pretraining", "gan-budget", "pacgan-ring",
            "rbm", "kurach-small", "sngan-cifar10"} <= documented_suites()


VERDICTS = ("reproduced", "ordering reproduced", "not resolved at this budget", "not run")
STATUS_LINE = re.compile(r"^- \*\*(\d+)\. [^*]+\*\*: (" + "|".join(VERDICTS) + r")\b.*`(genbench run [\w-]+[^`]*)`")


def status_lines() -> list[re.Match | None]:
    """The items of the document's Status section (an item's indented lines joined to it)."""
    block = DOC.read_text().split("\n## Status\n", 1)[1].split("\n## ", 1)[0]
    _, first = block.split("\n- ", 1)  # the introduction, then the items
    items = re.split(r"\n(?=- )", "- " + first)
    return [STATUS_LINE.match(" ".join(line.strip() for line in item.splitlines())) for item in items]


def test_every_reproduction_has_a_status_and_a_command():
    lines = status_lines()
    assert lines and all(lines), "a Status line is not '- **N. Title**: <verdict> ... `genbench run ...`'"
    sections = set(re.findall(r"^## (\d+)\. ", DOC.read_text(), flags=re.MULTILINE))
    assert {m.group(1) for m in lines} == sections  # every numbered section, and no other
    for m in lines:
        assert m.group(3).split()[2] in builtin_suites()


@pytest.mark.parametrize("name", sorted(documented_suites()))
def test_every_suite_the_document_names_exists_and_validates(name, registry, local_files):
    assert name in builtin_suites(), f"docs/reproductions.md names a suite {name!r} that is not shipped"
    assert expand(load(name, registry), registry)


def test_pacgan_suite_is_the_papers_protocol(registry):
    cells = expand(load("pacgan", registry), registry)
    assert len(cells) == 2 * 3 * 10  # ring and grid x GAN, PacGAN2, PacGAN4 x 10 trials
    for cell in cells:
        model = cell.component("model").kwargs()
        assert (model["hidden"], model["depth"], model["z_dim"], model["g_batchnorm"]) == (400, 4, 2, True)
        assert (model["d_hidden"], model["d_depth"], model["maxout"]) == (200, 3, 5)
        assert cell.component("optimizer").kwargs()["beta1"] == 0.8  # fjxmlzn/PacGAN's config.py
        train = cell.train_config()
        assert (train["lr"], train["batch_size"], train["steps"]) == (1e-4, 100, 400 * 100_000 // 100)
        assert cell.component("dataset").kwargs()["n_train"] == 100_000
        assert dict(cell.metrics[0].params)["n_samples"] == 2500
    assert {c.component("model").label: c.component("model").kwargs()["pack"] for c in cells} == {
        "GAN": 1, "PacGAN2": 2, "PacGAN4": 4}


def test_pacgan_ring_is_pacgan_shorts_ring_scored_along_training(registry):
    ring, short = (expand(load(name, registry), registry) for name in ("pacgan-ring", "pacgan-short"))
    protocol = {c.component("model").label: (c.component("model"), c.component("dataset"),
                                             c.component("optimizer"), c.component("objective"))
                for c in short if c.component("dataset").label == "ring8"}
    assert {c.component("model").label for c in ring} == {"GAN", "PacGAN2"}
    assert sorted(c.seed for c in ring) == sorted(2 * [0, 1, 2, 3, 4])  # 5 trials each
    for cell in ring:
        assert (cell.component("model"), cell.component("dataset"), cell.component("optimizer"),
                cell.component("objective")) == protocol[cell.component("model").label]
        train, reference = cell.train_config(), short[0].train_config()
        assert (train["lr"], train["batch_size"]) == (reference["lr"], reference["batch_size"])
        assert len(cell.eval_steps) == 10 and cell.eval_steps[-1] == train["steps"]  # a curve of 10 points
        assert cell.metrics == short[0].metrics


def test_maxout_is_the_max_of_its_affine_pieces():
    torch.manual_seed(0)
    layer = Maxout(6, 4, 5)
    x = torch.randn(3, 6)
    pieces = (x @ layer.linear.weight.T + layer.linear.bias).view(3, 4, 5)  # unit j's pieces: rows 5j..5j+4
    assert layer(x).shape == (3, 4)
    torch.testing.assert_close(layer(x), pieces.max(dim=2).values)


def test_mlp_generator_batch_norm_normalises_each_unit_like_torch():
    torch.manual_seed(0)
    model = make_mlp_gan(POINTS, hidden=8, depth=2, z_dim=2, g_batchnorm=True)
    norms = [m for m in model.generator.modules() if isinstance(m, BatchNormAct)]
    assert len(norms) == 2
    first = model.generator.body[0]
    z = torch.randn(32, 2)
    reference = torch.nn.BatchNorm1d(8)  # gamma 1, beta 0, as BatchNormAct starts
    torch.testing.assert_close(first(z), torch.relu(reference(first[0](z))))
    assert model.generator(z).shape == (32, 2)


def test_pacgan_options_size_the_networks():
    model = make_mlp_gan(POINTS, hidden=400, depth=4, z_dim=2, d_hidden=200, d_depth=3, maxout=5,
                         g_batchnorm=True, init_std=0.02, pack=4)
    assert model.pack == 4
    layers = [m for m in model.discriminator.body if isinstance(m, Maxout)]
    assert [m.linear.in_features for m in layers] == [8, 200, 200]  # 4 packed points of 2 coordinates
    assert all(m.linear.out_features == 200 * 5 for m in layers)
    assert len(model.generator.body) == 4 and model.generator.out.in_features == 400
    weight = model.discriminator.body[1].linear.weight
    assert abs(weight.std().item() - 0.02) < 0.002 and model.discriminator.out.bias.abs().max() == 0
    assert model.discriminator(torch.randn(5, 8)).shape == (5,)
    images = make_dcgan(DataInfo(domain="image", shape=(3, 8, 8)), width=4, z_dim=4, pack=2)
    assert images.discriminator(torch.randn(5, 6, 8, 8)).shape == (5,)  # 2 images stacked on the channels


def test_pack_samples_concatenates_consecutive_groups():
    x = torch.arange(24.0).view(6, 2, 2)  # (6, C=2, 2)
    packed = pack_samples(x, 3)
    assert packed.shape == (2, *packed_shape((2, 2), 3)) == (2, 6, 2)
    torch.testing.assert_close(packed[1], torch.cat([x[3], x[4], x[5]]))
    assert pack_samples(x, 1).shape == x.shape


def test_a_packed_discriminator_judges_its_group_of_samples_and_no_other():
    torch.manual_seed(0)
    model = make_mlp_gan(POINTS, hidden=16, depth=2, z_dim=2, maxout=3, pack=2)
    x = torch.randn(6, 2, requires_grad=True)  # three groups of two samples
    logits = model.discriminator(pack_samples(x, 2))  # (3,)
    (grad,) = torch.autograd.grad(logits[1], x)
    assert grad[2:4].abs().sum(1).min() > 0  # both samples of group 1 move its logit
    assert grad[[0, 1, 4, 5]].abs().sum() == 0  # the other groups' samples do not


def packed_setup(objective, pack: int, seen: list) -> TrainSetup:
    data = ring8(256, 16, 0)
    torch.manual_seed(0)
    model = make_mlp_gan(data.info, hidden=8, depth=1, z_dim=2, g_batchnorm=True, maxout=2, pack=pack)
    forward = model.discriminator.forward
    model.discriminator.forward = lambda x: (seen.append(tuple(x.shape)), forward(x))[1]
    train = {"steps": 3, "batch_size": 8, "lr": 1e-3, "device": "cpu", "g_noise": "fresh"}
    return TrainSetup(data, model, objective, lambda p, role=None: torch.optim.Adam(p, lr=1e-3), train,
                      seed=0, device=torch.device("cpu"))


@pytest.mark.parametrize("make_objective", OBJECTIVES, ids=lambda f: f.__name__)
def test_packing_trains_with_every_objective(make_objective):
    seen = []
    steps = list(train_gan(packed_setup(make_objective(), 4, seen)))
    assert {s for s in seen} == {(8, 8)}  # batch_size inputs, each 4 points of 2 coordinates
    k = make_objective().d_steps
    assert all(s.examples == k * 8 * 4 for s in steps)  # p times as many real examples per step
    assert all(math.isfinite(float(v)) for s in steps for v in s.stats.values())


def test_packed_dcgan_trains_under_a_gradient_penalty():
    from genbench.plugins.datasets.digits import digits

    data = digits(64)
    torch.manual_seed(0)
    model = make_dcgan(data.info, width=4, z_dim=4, d_batchnorm=False, pack=2)
    train = {"steps": 2, "batch_size": 4, "lr": 1e-4, "device": "cpu", "g_noise": "fresh"}
    steps = list(train_gan(TrainSetup(data, model, wgan_gp(k=1), lambda p, role=None: torch.optim.Adam(p, lr=1e-4),
                                      train, seed=0, device=torch.device("cpu"))))
    assert all(math.isfinite(float(s.stats["loss_d"])) for s in steps)


def test_packing_is_reproducible():
    def losses():
        return [float(s.stats["loss_d"]) for s in train_gan(packed_setup(nonsaturating(), 2, []))]

    assert losses() == losses()


def test_reverse_kl_over_a_thousand_modes():
    uniform = torch.full((1000,), 7)
    assert histogram_statistics(uniform) == {"modes": 1000.0, "reverse_kl": 0.0}
    one = torch.zeros(1000, dtype=torch.long)
    one[3] = 26_000
    assert histogram_statistics(one)["reverse_kl"] == pytest.approx(math.log(1000))  # total collapse
    half = torch.zeros(1000, dtype=torch.long)
    half[:500] = 4
    assert histogram_statistics(half) == {"modes": 500.0, "reverse_kl": pytest.approx(math.log(2))}
    counts = torch.randint(0, 30, (1000,), generator=torch.Generator().manual_seed(0))
    expected = scipy.stats.entropy(counts.numpy(), [1 / 1000] * 1000)  # KL(q || uniform)
    assert histogram_statistics(counts)["reverse_kl"] == pytest.approx(expected, rel=1e-12)
    assert math.isnan(histogram_statistics(torch.zeros(1000, dtype=torch.long))["reverse_kl"])


def test_channel_modes_read_the_digits_red_first():
    def classify(x):  # (n, 1, H, W) whose pixels all equal a digit d -> one-hot logits of d
        return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 10).float()

    digits = torch.tensor([[1, 2, 3], [9, 0, 0], [0, 0, 7]])
    samples = digits[:, :, None, None].expand(3, 3, 4, 4).float()  # (3, 3, 4, 4)
    assert channel_modes(samples, classify).tolist() == [123, 900, 7]
    values = stacked_statistics(samples, classify)
    assert values["modes"] == 3 and values["reverse_kl"] == pytest.approx(math.log(1000 / 3))


@pytest.mark.slow
def test_stacked_mnist_stacks_three_labelled_digits():
    data = stacked_mnist(40, 10, 0)
    assert data.train.shape == (40, 3, 28, 28) and data.test.shape == (10, 3, 28, 28)
    assert data.info.n_classes == 1000 and int(data.train_labels.max()) < 1000
    source = data.extras["digits"]
    flat = source.train.flatten(1)  # (4000, 784)
    for image, label in zip(data.train[:5], data.train_labels[:5], strict=True):
        for channel, place in zip(image, (100, 10, 1), strict=True):
            match = (flat == channel.flatten()).all(1).nonzero()[0]  # the source digit of this channel
            assert int(source.train_labels[match]) == int(label) // place % 10
    torch.testing.assert_close(stacked_mnist(40, 10, 0).train, data.train)  # the same draw every time
    assert has_digits(data.info) is None and has_modes(data.info) is not None
    assert has_digits(ring8(10, 10, 0).info) is not None


@pytest.mark.slow
def test_modes_metric_counts_the_digit_triples_of_real_stacked_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path))
    data = stacked_mnist(10, 500, 0)
    ctx = EvalContext(data, 0, 1, torch.device("cpu"), sample=lambda n: data.test[:n])
    result = StackedModeCoverage(500, 0)(ctx)
    true = len(set(data.test_labels.tolist()))
    assert 0.9 * true <= result.values["modes"] <= 1000
    counts = torch.bincount(data.test_labels, minlength=1000)
    assert result.values["reverse_kl"] == pytest.approx(histogram_statistics(counts)["reverse_kl"], abs=0.15)
    assert result.provenance["extractor"] == "lenet"
