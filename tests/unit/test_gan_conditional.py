"""Class-conditional GANs: labels reach G and D paired with their images, fake labels are uniform
and seeded, ACGAN's loss is the hand-computed one, intra-class FID is the mean of the existing
FID per class, an unconditional model on labelled data trains exactly as before, and a
conditional model on unlabelled data is refused before any work."""

import copy
import math

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from genbench import ConfigError, Data, DataInfo, EvalContext, Resume, TrainSetup, kernels

from genbench.suite import config
from genbench.plugins.datasets.digits import digits
from genbench.plugins.families.gan import discriminator_parameters, evaluate_gan, train_gan
from genbench.plugins.models.gan import GANModel
from genbench.plugins.metrics import fid
from genbench.plugins.metrics.fid import FID
from genbench.plugins.metrics.inputs import memo
from genbench.plugins.metrics.intra_fid import IntraFID, intra_fid_fits
from genbench.plugins.models.cmlp_gan import make_cmlp_gan
from genbench.plugins.models.mlp_gan import make_mlp_gan
from genbench.plugins.objectives.gan import hinge, nonsaturating, wgan_gp

SHAPE = (1, 2, 2)
TRAIN = {"steps": 3, "batch_size": 16, "lr": 1e-3, "device": "cpu", "g_noise": "fresh"}


@pytest.fixture(autouse=True)
def identity_prepare(monkeypatch):
    monkeypatch.setattr(kernels, "prepare", lambda module: module, raising=False)


def adam(parameters, lr: float = 1e-3, role: str | None = None):
    return torch.optim.Adam(parameters, lr=lr, betas=(0.5, 0.999))


def labelled(n: int = 48, k: int = 3) -> Data:
    """n images (1, 2, 2) whose every pixel is the image's own label 0..k-1 (so a batch shows
    whether its labels are its images'), in a shuffled order."""
    labels = torch.randperm(n, generator=torch.Generator().manual_seed(1)) % k  # (n,)
    images = labels.float()[:, None, None, None].expand(n, *SHAPE).clone()
    return Data(DataInfo("image", SHAPE, k), images, None, labels, None)


class RecordingG(nn.Module):
    """G(z, y): a linear map of z plus the label, recording every y it is given."""

    def __init__(self, z_dim: int = 2):
        super().__init__()
        self.linear = nn.Linear(z_dim, math.prod(SHAPE))
        self.seen = []

    def forward(self, z, y):
        self.seen.append(y.clone())
        return (self.linear(z) + y[:, None].float()).view(len(z), *SHAPE)


class RecordingD(nn.Module):
    """D(x, y): a linear score plus a per-class bias, recording every (x, y) it judges."""

    def __init__(self, k: int = 3):
        super().__init__()
        self.linear = nn.Linear(math.prod(SHAPE), 1)
        self.bias = nn.Embedding(k, 1)
        self.seen = []

    def forward(self, x, y):
        self.seen.append((x.detach().clone(), y.clone()))
        return self.linear(x.flatten(1)).squeeze(1) + self.bias(y).squeeze(1)


def recording_setup(steps: int = 3, seed: int = 0, data: Data | None = None, **train) -> TrainSetup:
    torch.manual_seed(0)
    model = GANModel(RecordingG(), RecordingD(), z_dim=2, num_classes=3)
    return TrainSetup(data or labelled(), model, hinge(), adam, {**TRAIN, "steps": steps, **train}, seed,
                      torch.device("cpu"))


def test_labels_reach_g_and_d_and_real_labels_stay_with_their_images():
    setup = recording_setup(steps=6)
    list(train_gan(setup))
    G, D = setup.model.generator, setup.model.discriminator
    real, fake, generated = D.seen[0::3], D.seen[1::3], D.seen[2::3]  # per step: real, fake, then G's batch
    assert len(D.seen) == 3 * 6 and len(G.seen) == 2 * 6  # fresh noise: a G forward per D step and G step
    for x, y in real:
        assert torch.equal(x[:, 0, 0, 0].long(), y)  # each real image with its own label
    # one epoch (48 images, 3 batches of 16) draws every training label once
    epoch = torch.cat([y for _, y in real[:3]])
    assert torch.equal(torch.bincount(epoch, minlength=3), torch.bincount(setup.data.train_labels, minlength=3))
    for step in range(6):  # D judges each fake batch with the labels G drew it for
        assert torch.equal(fake[step][1], G.seen[2 * step]) and torch.equal(generated[step][1], G.seen[2 * step + 1])


def test_reused_noise_reuses_its_labels_too():
    setup = recording_setup(steps=2, g_noise="reuse")
    list(train_gan(setup))
    G, D = setup.model.generator, setup.model.discriminator
    assert len(G.seen) == 2
    assert all(torch.equal(D.seen[3 * s + 1][1], D.seen[3 * s + 2][1]) for s in range(2))


def fake_labels(seed: int, steps: int = 100) -> torch.Tensor:
    setup = recording_setup(steps=steps, seed=seed)
    list(train_gan(setup))
    return torch.cat(setup.model.generator.seen)  # (2 * steps * 16,)


def test_fake_labels_are_uniform_over_the_classes_and_follow_the_seed():
    labels = fake_labels(0)
    counts = torch.bincount(labels, minlength=3).numpy()
    assert len(counts) == 3 and counts.sum() == 3200
    assert scipy.stats.chisquare(counts).pvalue > 1e-3  # the training labels are not uniform: 16/16/16 here,
    assert torch.equal(labels, fake_labels(0))  # but the draws are; and seeded: the same again,
    assert not torch.equal(labels, fake_labels(1))  # another with another seed


def test_eval_samples_draw_labels_with_the_data_frequencies_and_per_class_on_request():
    labels = torch.tensor([0] * 40 + [1] * 6 + [2] * 2)  # unbalanced: 40 / 6 / 2
    data = Data(DataInfo("image", SHAPE, 3), labels.float()[:, None, None, None].expand(48, *SHAPE).clone(),
                None, labels, None)
    setup = recording_setup(steps=1, data=data)
    ctx = next(train_gan(setup)).context
    G = setup.model.generator
    G.seen.clear()
    first = ctx.sample(4800)
    drawn = torch.cat(G.seen)
    assert torch.bincount(drawn, minlength=3).tolist() == pytest.approx([4000, 600, 200], rel=0.1)
    assert torch.equal(first, ctx.sample(4800))  # the same noise and labels at every eval step
    G.seen.clear()
    asked = torch.tensor([2, 0, 1, 1])
    images = ctx.sample_class(asked)
    assert torch.equal(torch.cat(G.seen), asked) and images.shape == (4, *SHAPE)
    assert G.training  # sampling switched to eval mode and back


def test_acgan_loss_is_the_hand_computed_one():
    """With lr = 0 nothing moves, so step 1's losses can be recomputed from the recorded batches:
    D: hinge + w (CE(C(x), y) + CE(C(G(z, y')), y')); G: -mean D(G(z, y')) + w CE(C(G(z, y')), y')."""
    w = 0.7
    data = digits(200)
    torch.manual_seed(0)
    model = make_cmlp_gan(data.info, hidden=16, depth=1, z_dim=4, d_head="acgan")
    judged, made = [], []
    d_forward, g_forward = model.discriminator.forward, model.generator.forward
    model.discriminator.forward = lambda x, y: judged.append((x.detach(), y)) or d_forward(x, y)
    model.generator.forward = lambda z, y: made.append((z, y)) or g_forward(z, y)
    frozen = copy.deepcopy(model)
    setup = TrainSetup(data, model, hinge(acgan=w), lambda p, role=None: adam(p, lr=0.0), {**TRAIN, "steps": 1}, 0,
                       torch.device("cpu"))
    (step,) = list(train_gan(setup))
    D, C, G = frozen.discriminator, frozen.classifier, frozen.generator

    def cross_entropy(logits, labels):  # -log softmax(logits)[label], averaged
        return (torch.logsumexp(logits, 1) - logits[torch.arange(len(labels)), labels]).mean()

    (real, real_y), (fake, fake_y) = judged[0], judged[1]
    with torch.no_grad():
        hinge_d = torch.relu(1 - D(real, real_y)).mean() + torch.relu(1 + D(fake, fake_y)).mean()
        loss_d = hinge_d + w * (cross_entropy(C(real), real_y) + cross_entropy(C(fake), fake_y))
        z, y = made[1]
        generated = G(z, y)
        loss_g = -D(generated, y).mean() + w * cross_entropy(C(generated), y)
    assert torch.equal(fake, G(*made[0]).detach())  # the D step's fakes: G's first batch
    assert step.stats["loss_d"].item() == pytest.approx(loss_d.item(), rel=1e-5)
    assert step.stats["loss_g"].item() == pytest.approx(loss_g.item(), rel=1e-5)
    assert w * cross_entropy(C(real), real_y).item() == pytest.approx(
        hinge(acgan=w).classification_loss(C(real), real_y).item(), rel=1e-6)


def acgan_cell(data: Data, resume: Resume | None = None) -> TrainSetup:
    torch.manual_seed(0)
    model = make_cmlp_gan(data.info, hidden=16, depth=1, z_dim=4, d_head="acgan")
    return TrainSetup(data, model, nonsaturating(acgan=1.0), adam, {**TRAIN, "steps": 4}, 0, torch.device("cpu"),
                      resume)


def test_the_acgan_classifier_trains_with_d_once_and_resumes_bit_identically():
    data = digits(200)
    setup = acgan_cell(data)
    model = setup.model
    parameters = discriminator_parameters(model, model.discriminator)
    assert len({id(p) for p in parameters}) == len(parameters)  # the shared trunk once
    assert {id(p) for p in model.classifier.parameters()} <= {id(p) for p in parameters}
    head = model.classifier.out.weight.detach().clone()
    steps, saved = [], None
    for step in train_gan(setup):
        steps.append(step)
        if step.step == 2:
            saved = copy.deepcopy(step.state())
    assert not torch.equal(head, model.classifier.out.weight)  # D's optimiser trains the classifier head
    assert "classifier" in saved["modules"]
    again = list(train_gan(acgan_cell(data, Resume(2, saved))))
    assert [s.step for s in again] == [3, 4]
    for a, b in zip(steps[2:], again, strict=True):
        assert all(torch.equal(a.stats[k], b.stats[k]) for k in a.stats)


def test_a_rescored_conditional_gan_samples_each_class_as_its_trainer_did():
    data = digits(200)
    setup = acgan_cell(data)
    last = list(train_gan(setup))[-1]
    labels = torch.tensor([0, 9, 3, 3])
    rescored = evaluate_gan(acgan_cell(data), last.state())
    assert torch.equal(rescored.sample_class(labels), last.context.sample_class(labels))
    assert torch.equal(rescored.sample(20), last.context.sample(20))


def test_the_projection_head_is_miyato_and_koyamas_formula():
    """D(x, y) = psi(phi(x)) + <V e_y, phi(x)> on a hand-built case."""
    torch.manual_seed(0)
    model = make_cmlp_gan(DataInfo("image", SHAPE, 3), hidden=4, depth=1, z_dim=2, d_head="projection")
    D = model.discriminator
    x, y = torch.randn(5, *SHAPE), torch.tensor([0, 2, 1, 2, 0])
    with torch.no_grad():
        phi = D.mlp.body(x.flatten(1))  # (5, 4)
        expected = phi @ D.mlp.out.weight[0] + D.mlp.out.bias[0] + (D.embed.weight[y] * phi).sum(1)
        assert torch.allclose(D(x, y), expected, atol=1e-6)
        flipped = D(x, torch.tensor([1, 0, 0, 1, 2]))
    assert not torch.allclose(flipped, expected)  # the label matters
    assert model.classifier is None and model.num_classes == 3


# The numbers the trainer gave before class-conditional GANs existed (same seeds and settings):
# an unconditional model on a labelled dataset must train exactly as it did.
BEFORE = [
    (nonsaturating, 1, [1.2287819386, 0.7159523964, 0.1147050038], -19.244709014892578),
    (wgan_gp, 2, [4.4869613647, 0.0001090001, 0.3802396059], -17.600509643554688),
]


@pytest.mark.parametrize("objective, pack, stats, sample_sum", BEFORE)
def test_an_unconditional_model_on_labelled_data_trains_as_before(objective, pack, stats, sample_sum):
    data = digits(0)
    torch.manual_seed(0)
    model = make_mlp_gan(data.info, hidden=16, depth=1, z_dim=4, pack=pack)
    setup = TrainSetup(data, model, objective(k=2), adam, {**TRAIN, "steps": 4}, 0, torch.device("cpu"))
    last = list(train_gan(setup))[-1]
    got = [last.stats[k].item() for k in ("loss_d", "loss_g", "g_grad_norm")]
    assert got == pytest.approx(stats, rel=1e-5, abs=1e-7)
    assert last.context.sample(8).sum().item() == pytest.approx(sample_sum, rel=1e-5)
    assert last.context.sample_class is None


def write_npz(path, with_labels: bool):
    x = np.random.default_rng(0).integers(0, 256, (40, 8, 8), dtype=np.uint8)
    arrays = {"x": x, "x_test": x[:10]}
    if with_labels:
        arrays |= {"y": np.arange(40) % 4, "y_test": np.arange(10) % 4}
    np.savez(path, **arrays)
    return path


SUITE = """
[suite]
name = "c"
seeds = [0]
[train]
steps = 2
batch_size = 16
[eval]
every = 2
metrics = [{metric}]
[matrix]
datasets = [{{ name = "npz", path = "{path}" }}]
models = [{model}]
objectives = ["hinge"]
"""


@pytest.mark.parametrize("model, metric, message", [
    ('"cmlp"', '"fid"', "model 'cmlp' cannot fit dataset 'npz.*': the dataset has no class labels"),
    ('"mlp"', '{ name = "intra-fid", extractor = "lenet" }', "metric 'intra-fid.*' cannot score dataset 'npz.*': the dataset has no class labels"),
])
def test_a_conditional_model_or_intra_fid_on_unlabelled_data_is_refused_before_any_work(
        tmp_path, write_suite, registry, model, metric, message):
    unlabelled = write_npz(tmp_path / "x.npz", with_labels=False)
    with pytest.raises(ConfigError, match=message):
        config.load(str(write_suite(SUITE.format(path=unlabelled, model=model, metric=metric))), registry)
    labelled_file = write_npz(tmp_path / "xy.npz", with_labels=True)  # the same suite on labelled data is valid
    config.load(str(write_suite(SUITE.format(path=labelled_file, model=model, metric=metric))), registry)


def test_a_labelled_npz_trains_a_conditional_model(tmp_path, registry):
    spec = registry.get("dataset", "npz")
    data = spec.factory(path=str(write_npz(tmp_path / "xy.npz", with_labels=True)), n_train=0)
    model = make_cmlp_gan(data.info, hidden=8, depth=1, z_dim=2, d_head="concat")
    setup = TrainSetup(data, model, hinge(), adam, {**TRAIN, "steps": 2}, 0, torch.device("cpu"))
    steps = list(train_gan(setup))
    assert model.num_classes == 4 and steps[-1].context.sample_class(torch.tensor([3, 0])).shape == (2, 1, 8, 8)


@pytest.mark.parametrize("change, message", [
    ({"pack": 2}, "PacGAN .* with a class-conditional model is not supported"),
    ({"objective": hinge(acgan=1.0)}, "acgan term needs a model with an auxiliary classifier"),
    ({"unlabelled": True}, "training split has none"),
])
def test_what_cannot_train_together_is_a_config_error_before_the_first_step(change, message):
    data = labelled()
    if change.get("unlabelled"):
        data.train_labels = None
    torch.manual_seed(0)
    model = GANModel(RecordingG(), RecordingD(), z_dim=2, num_classes=3, pack=change.get("pack", 1))
    setup = TrainSetup(data, model, change.get("objective", hinge()), adam, TRAIN, 0, torch.device("cpu"))
    with pytest.raises(ConfigError, match=message):
        next(train_gan(setup))
    assert model.discriminator.seen == []


# intra-class FID against the existing FID, on the synthetic bars of test_metrics_features

EXTRACTOR = {"extractor": "auto", "extractor_seed": 0, "inception_path": ""}


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    """One extractor cache for the module (training once), never the user's ~/.cache."""
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "genbench-cache"))


def bars(n: int, seed: int, noise: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """n 8x8 images in [-1, 1]: class c has a bright bar on row 2c + 1, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    images = torch.full((n, 1, 8, 8), -0.8)
    images[torch.arange(n), 0, 2 * labels + 1, :] = 0.8
    return (images + noise * torch.randn(n, 1, 8, 8, generator=g)).clamp(-1, 1), labels


def bar_data() -> Data:
    (train, train_labels), (test, test_labels) = bars(600, 0), bars(400, 1)
    return Data(DataInfo("image", (1, 8, 8), 3), train, test, train_labels, test_labels)


def class_sampler(seed: int):
    """sample_class(labels): noisier bars of the asked classes, the i-th of class c always the same."""
    pool, pool_labels = bars(3000, seed, noise=0.5)
    by_class = {c: pool[pool_labels == c] for c in range(3)}

    def sample_class(labels: torch.Tensor) -> torch.Tensor:
        ranks = torch.zeros(len(labels), dtype=torch.long)
        for c in range(3):
            ranks[labels == c] = torch.arange(int((labels == c).sum()))
        return torch.stack([by_class[int(c)][r] for c, r in zip(labels, ranks, strict=True)])

    return sample_class


def test_intra_fid_is_the_mean_of_the_existing_fid_per_class(monkeypatch):
    data, sample_class = bar_data(), class_sampler(7)
    n_fake, n_real = 150, 120
    ctx = EvalContext(data, 0, 10, torch.device("cpu"), sample=None, sample_class=sample_class)
    params = {"n_fake": n_fake, "n_real": n_real, "split": "test", **EXTRACTOR}
    result = IntraFID(**params)(ctx)
    extractor = fid.extractor_for(ctx, params)  # the features of the whole dataset's classifier, for every class
    monkeypatch.setattr(fid, "extractor_for", lambda ctx, params: extractor)
    per_class = {}
    for c in range(3):  # the existing FID, on a dataset holding only class c's test images
        only_c = Data(data.info, data.train[data.train_labels == c], data.test[data.test_labels == c][:n_real],
                      data.train_labels[data.train_labels == c], data.test_labels[data.test_labels == c][:n_real])
        fake = sample_class(torch.full((n_fake,), c))
        class_ctx = EvalContext(only_c, 0, 10, torch.device("cpu"), sample=lambda n, f=fake: f[:n])
        memo.items.clear()  # nothing shared with the intra-FID's computation
        per_class[c] = FID(n_fake=n_fake, n_real=10_000, split="test", **EXTRACTOR)(class_ctx).values["fid"]
    assert result.provenance["per_class"] == pytest.approx({str(c): v for c, v in per_class.items()}, rel=1e-6)
    assert result.values["intra_fid"] == pytest.approx(sum(per_class.values()) / 3, rel=1e-6)
    assert result.provenance["n_real_per_class"] == {str(c): min(n_real, int((data.test_labels == c).sum()))
                                                    for c in range(3)}
    assert 0 < result.values["intra_fid_floor"] < result.values["intra_fid"]  # train bars are closer than noisy ones
    assert set(result.provenance["floor_per_class"]) == {"0", "1", "2"}
    assert result.provenance["extractor"] == "lenet"


def test_intra_fid_sees_samples_of_the_wrong_class_that_fid_does_not():
    data, right = bar_data(), class_sampler(7)
    wrong = lambda labels: right((labels + 1) % 3)  # every class drawn as the next one
    params = {"n_fake": 150, "n_real": 120, "split": "test", **EXTRACTOR}
    scores = {}
    for name, sampler in (("right", right), ("wrong", wrong)):
        ctx = EvalContext(data, 0, 10, torch.device("cpu"), sample_class=sampler,
                          sample=lambda n, s=sampler: s(torch.arange(n) % 3))
        scores[name] = (FID(**{**params, "n_real": 400})(ctx).values["fid"], IntraFID(**params)(ctx).values["intra_fid"])
    assert scores["wrong"][0] == pytest.approx(scores["right"][0], rel=0.05)  # the same images overall
    assert scores["wrong"][1] > 5 * scores["right"][1]


def test_intra_fid_of_an_unconditional_model_is_nan_with_the_reason_and_unlabelled_data_does_not_fit():
    data = bar_data()
    ctx = EvalContext(data, 0, 10, torch.device("cpu"), sample=lambda n: data.train[:n])
    result = IntraFID(n_fake=10, n_real=10, split="test", **EXTRACTOR)(ctx)
    assert all(math.isnan(v) for v in result.values.values())
    assert "not class-conditional" in result.provenance["reason"]
    assert "no class labels" in intra_fid_fits(DataInfo("image", (1, 8, 8)), **EXTRACTOR)
    assert intra_fid_fits(data.info, **EXTRACTOR) is None
