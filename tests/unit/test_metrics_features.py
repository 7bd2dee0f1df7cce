"""The image metrics end to end on a synthetic labelled dataset: extractor cache, FID against an
independent scipy formula, KID against a numpy MMD, IS, PRDC, Parzen, provenance and bad input."""

import json
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from genbench.plugins.metrics import classifiers, extractors
from genbench.plugins.metrics.extractors import get_extractor
from genbench.plugins.metrics.fid import FID, KID
from genbench.plugins.metrics.inception_score import InceptionScore
from genbench.plugins.metrics.inputs import memo
from genbench.plugins.metrics.parzen import Parzen
from genbench.plugins.metrics.prdc import PRDC
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from genbench import Data, DataError, DataInfo, EvalContext
from genbench.run.runner import share_samples

SHAPE = (1, 8, 8)
EXTRACTOR = {"extractor": "auto", "extractor_seed": 0, "inception_path": ""}


def bars(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n 8x8 images in [-1, 1]: class c has a bright horizontal bar on row 2c + 1, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    images = torch.full((n, *SHAPE), -0.8)
    images[torch.arange(n), 0, 2 * labels + 1, :] = 0.8
    images = (images + 0.25 * torch.randn(n, *SHAPE, generator=g)).clamp(-1, 1)
    return images, labels


def make_data(labelled: bool = True) -> Data:
    train, train_labels = bars(600, 0)
    test, test_labels = bars(300, 1)
    if not labelled:
        train_labels = test_labels = None
    return Data(DataInfo("image", SHAPE, 3 if labelled else None), train, test, train_labels, test_labels)


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    """One extractor cache for the module (training once), never the user's ~/.cache."""
    path = tmp_path_factory.getbasetemp() / "genbench-cache"
    monkeypatch.setenv("GENBENCH_CACHE", str(path))
    return path


def context(data: Data, fake: torch.Tensor, seed: int = 0) -> EvalContext:
    return EvalContext(data, seed, 100, torch.device("cpu"), sample=lambda n: fake[:n])


def fid_params(**overrides):
    return {"n_fake": 300, "n_real": 300, "split": "test", **EXTRACTOR, **overrides}


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula: float64 numpy moments and scipy's matrix square root (which warns that
    S1 S2 is singular here: dead ReLU units of the classifier)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def features(extractor, images):
    with torch.no_grad():
        return extractor(images).numpy()


# --- the extractor and its cache ---------------------------------------------------------------

def test_extractor_is_trained_once_then_loaded_from_disk(data, tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path))
    first = get_extractor(data, "auto", seed=0)
    [weights] = (tmp_path / "extractors").glob("lenet-*.pt")
    record = json.loads(weights.with_suffix(".json").read_text())
    assert record["weights"] == first.provenance["extractor_hash"]
    assert record["accuracy"] == first.provenance["extractor_accuracy"] > 0.95
    assert record["heldout"] == "test split (n=300)" and record["arch"] == "lenet" and record["seed"] == 0
    extractors._loaded.clear()  # a new process: only the disk cache is left

    def no_training(*args, **kwargs):
        raise AssertionError("the cached extractor should have been loaded, not retrained")

    monkeypatch.setattr(extractors, "train_classifier", no_training)
    again = get_extractor(data, "auto", seed=0)
    assert again.provenance == first.provenance
    images = data.test[:50]
    assert torch.equal(again(images), first(images))


@pytest.mark.slow
def test_training_is_deterministic_and_keyed_by_seed_and_data(data, tmp_path, monkeypatch):
    hashes = {}
    for name, seed, dataset in [("a", 0, data), ("b", 0, data), ("seed1", 1, data), ("other", 0, make_data())]:
        monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / name))
        extractors._loaded.clear()
        hashes[name] = get_extractor(dataset, "lenet", seed=seed).provenance["extractor_hash"]
    assert hashes["a"] == hashes["b"] == hashes["other"]  # same data, seed and recipe: same weights
    assert hashes["seed1"] != hashes["a"]
    changed = make_data()
    changed.train[0, 0, 0, 0] = 1.0
    assert extractors.fingerprint(changed.train) != extractors.fingerprint(data.train)


def test_training_leaves_the_callers_random_state_and_threads_alone(data):
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    expected = torch.rand(3)
    torch.manual_seed(123)
    classifiers.train_classifier("lenet", data.train[:64], data.train_labels[:64], 3, seed=5)
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads


def test_classifier_architectures_fit_the_dataset_shapes():
    for shape, arch in [((1, 28, 28), "lenet"), ((1, 8, 8), "lenet"), ((3, 32, 32), "cnn")]:
        assert classifiers.auto_architecture(shape) == arch
        net = classifiers.build_classifier(arch, shape, 10)
        assert net.features(torch.zeros(2, *shape)).shape == (2, net.num_features)
        assert net(torch.zeros(2, *shape)).shape == (2, 10)


def test_inception_without_a_local_weights_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path))
    with pytest.raises(DataError, match="never downloads") as missing_default:
        FID(**fid_params(extractor="inception"))  # at factory time: before any training
    assert str(tmp_path / "inception" / extractors.INCEPTION_FILE) in str(missing_default.value)
    with pytest.raises(DataError, match="no file at /nowhere/inception.pth.*inception_path="):
        KID(**fid_params(extractor="inception", inception_path="/nowhere/inception.pth", subsets=1,
                         subset_size=10))


def test_inception_with_a_file_that_is_not_weights_says_which_files_fit(data, tmp_path):
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"not really weights")
    with pytest.raises(DataError, match="weights_only=True.*pt_inception-2015-12-05-6726825d.pth"):
        get_extractor(data, "inception", inception_path=str(weights))


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_torchmetrics_gives_a_custom_feature_module_our_images_unchanged():
    seen = []

    class Recorder(torch.nn.Module):
        num_features = 4

        def forward(self, x):
            seen.append(x)
            return x.flatten(1)[:, :4].double()

    images = torch.rand(5, *SHAPE) * 2 - 1  # [-1, 1]
    for metric in (FrechetInceptionDistance(feature=Recorder(), normalize=True),
                   KernelInceptionDistance(feature=Recorder(), normalize=True, subset_size=2)):
        metric.update(images, real=True)
        assert torch.equal(seen.pop(), images)  # no rescaling to uint8, whatever `normalize` says


# --- FID ---------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_fid_and_its_floor_match_the_scipy_formula_on_the_same_features(data):
    fake = (data.test + 0.3 * torch.randn(data.test.shape, generator=torch.Generator().manual_seed(2))).clamp(-1, 1)
    result = FID(**fid_params(n_fake=250))(context(data, fake))
    extractor = get_extractor(data, "auto", seed=0)
    real = features(extractor, data.test)
    assert result.values["fid"] == pytest.approx(scipy_fid(real, features(extractor, fake[:250])), rel=1e-6)
    assert result.values["fid_floor"] == pytest.approx(scipy_fid(real, features(extractor, data.train[:250])),
                                                       rel=1e-6)
    assert result.values["fid_floor"] > 0


def test_fid_provenance_names_extractor_counts_split_and_floor(data):
    result = FID(**fid_params(n_fake=200, n_real=10_000, split="train"))(context(data, data.test))
    p = result.provenance
    assert p["extractor"] == "lenet" and len(p["extractor_hash"]) == 16 and p["extractor_seed"] == 0
    assert p["extractor_accuracy"] > 0.95 and p["extractor_heldout"] == "test split (n=300)"
    assert (p["split"], p["n_real"], p["n_fake"]) == ("train", 600, 200)  # n_real capped at the split
    assert (p["floor_split"], p["floor_n"]) == ("test", 200)
    assert "warning" not in p and "reason" not in p


def test_fid_of_the_reference_itself_is_zero_and_the_floor_is_cached(data):
    metric = FID(**fid_params())
    first = metric(context(data, data.test))
    assert abs(first.values["fid"]) < 1e-9
    assert any(key[0] == "fid_floor" for key in memo.items)
    assert metric(context(data, data.test)).values["fid_floor"] == first.values["fid_floor"]


def test_fewer_samples_than_features_is_a_warning_recorded_with_the_score(data):
    result = FID(**fid_params(n_fake=50))(context(data, data.test))  # LeNet features: 84 dimensions
    assert math.isfinite(result.values["fid"])
    assert "n_fake=50" in result.provenance["warning"] and "ill-conditioned" in result.provenance["warning"]


# --- KID, IS, PRDC, Parzen through their plugins ------------------------------------------------

def test_kid_with_one_subset_of_everything_matches_a_numpy_unbiased_mmd(data):
    fake = data.train[:300]
    result = KID(**fid_params(subsets=1, subset_size=300))(context(data, fake))
    extractor = get_extractor(data, "auto", seed=0)
    x, y = features(extractor, data.test), features(extractor, fake)
    kernel = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3
    m = len(x)
    off_diagonal = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))
    expected = off_diagonal(kernel(x, x)) + off_diagonal(kernel(y, y)) - 2 * kernel(x, y).mean()
    assert result.values["kid"] == pytest.approx(expected, rel=1e-9)
    assert result.provenance["subset_size"] == 300 and result.values["kid_std"] == 0.0


def test_kid_subsets_follow_the_cell_seed(data):
    metric = KID(**fid_params(subsets=5, subset_size=100))
    fake = data.train[:300]
    a, b = metric(context(data, fake, seed=0)), metric(context(data, fake, seed=0))
    assert a.values == b.values
    assert metric(context(data, fake, seed=1)).values != a.values


def test_inception_score_of_real_images_is_the_real_score(data):
    result = InceptionScore(n_fake=300, splits=3, split="test", **EXTRACTOR)(context(data, data.test))
    assert result.values["is"] == result.values["is_real"]
    assert "divisor n" in result.provenance["is_std"]
    assert 2.5 < result.values["is"] <= 3  # 3 balanced classes, classified confidently
    assert result.provenance["extractor_accuracy"] > 0.95


def test_prdc_of_the_reference_itself(data):
    result = PRDC(n_fake=300, n_real=300, k_pr=3, k_dc=5, split="test", **EXTRACTOR)(context(data, data.test))
    assert result.values["precision"] == result.values["recall"] == result.values["coverage"] == 1.0
    assert result.values["density"] == pytest.approx(1.0, abs=0.15)


def test_parzen_is_labelled_a_sanity_check(data):
    params = {"n_fake": 300, "n_val": 100, "n_test": 200, "sigma_min": 0.05, "sigma_max": 1.0, "n_sigmas": 8}
    result = Parzen(**params)(context(data, data.train[:300]))
    assert "sanity check only" in result.provenance["caveat"]
    assert result.provenance["pixel_scale"] == "[0, 1]" and result.provenance["n_real"] == 200
    assert math.isfinite(result.values["parzen_ll"]) and result.values["parzen_ll_se"] > 0


# --- bad input -----------------------------------------------------------------------------------

def all_metrics():
    yield FID(**fid_params())
    yield KID(**fid_params(subsets=2, subset_size=50))
    yield InceptionScore(n_fake=300, splits=3, split="test", **EXTRACTOR)
    yield PRDC(n_fake=300, n_real=300, k_pr=3, k_dc=5, split="test", **EXTRACTOR)
    yield Parzen(n_fake=300, n_val=100, n_test=100, sigma_min=0.1, sigma_max=1.0, n_sigmas=3)


def test_the_metrics_of_one_eval_step_share_its_samples(data):
    calls = []

    def sample(n):
        calls.append(n)
        return data.test[:n].clone()

    ctx = share_samples(EvalContext(data, 0, 100, torch.device("cpu"), sample=sample))  # as the runner does
    for metric in all_metrics():
        metric(ctx)
    assert calls == [300]  # Parzen, IS, PRDC, KID and FID all asked for 300
    metric(share_samples(EvalContext(data, 0, 200, torch.device("cpu"), sample=sample)))
    assert calls == [300, 300]  # a new eval step draws again


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nonfinite_samples_score_nan_with_a_reason(data, bad):
    fake = data.test.clone()
    fake[7, 0, 3, 3] = bad
    for metric in all_metrics():
        result = metric(context(data, fake))
        assert all(math.isnan(v) for v in result.values.values()), type(metric).__name__
        assert result.provenance["reason"] == "1 of 300 generated samples contain NaN or inf"


def test_an_unlabelled_dataset_makes_the_classifier_metrics_nan_with_the_fix():
    data = make_data(labelled=False)
    for metric in all_metrics():
        result = metric(context(data, data.test))
        if isinstance(metric, Parzen):  # pixels only: no classifier needed
            assert math.isfinite(result.values["parzen_ll"])
            continue
        assert all(math.isnan(v) for v in result.values.values())
        assert "no labels" in result.provenance["reason"] and "extractor='inception'" in result.provenance["reason"]


def test_a_missing_split_is_nan_with_the_fix(data):
    no_test = Data(data.info, data.train, train_labels=data.train_labels)
    result = FID(**fid_params())(context(no_test, data.test))
    assert math.isnan(result.values["fid"]) and "split='train'" in result.provenance["reason"]
    result = FID(**fid_params(split="train", n_fake=200))(context(no_test, data.test))
    assert math.isfinite(result.values["fid"]) and math.isnan(result.values["fid_floor"])
    assert result.provenance["extractor_heldout"] == "last 60 of train (no labelled test split)"
    assert "no test split" in result.provenance["floor_reason"]


def test_metrics_are_registered_for_images_with_what_they_need(registry):
    for name in ("fid", "kid", "is", "prdc", "parzen"):
        spec = registry.get("metric", name)
        assert spec.domains == ("image",)
        assert {"samples", "real"} <= set(spec.needs)
    assert "labels" not in registry.get("metric", "parzen").needs
