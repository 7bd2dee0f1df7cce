"""The metrics' pure functions against independent formulas: FID vs scipy's sqrtm and a 40-digit
mpmath reference, IS vs torchmetrics, PRDC vs a brute-force scipy version of the prdc package and
its published example, Parzen vs scipy's Gaussian density."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import scipy.stats
import torch
from genbench.plugins.metrics.fid import frechet_distance, moments, trace_sqrt_product
from genbench.plugins.metrics.inception_score import inception_score
from genbench.plugins.metrics.parzen import parzen_log_likelihood, select_sigma
from genbench.plugins.metrics.prdc import knn_radii, prdc
from scipy.spatial.distance import cdist
from torchmetrics.image.inception import InceptionScore


def gaussian_features(n: int, d: int, seed: int, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / math.sqrt(d)
    return rng.normal(size=(n, d)) @ mixing * scale + shift  # (n, d), correlated


def stats(x: np.ndarray):
    return torch.tensor(x.mean(0)), torch.tensor(np.cov(x, rowvar=False))


# --- FID ----------------------------------------------------------------------------------------

def test_moments_from_sums_equal_numpy_mean_and_covariance():
    x = gaussian_features(500, 16, 0, shift=3.0)
    t = torch.tensor(x)
    mean, cov = moments(t.sum(0), t.T @ t, len(t))
    assert np.allclose(mean.numpy(), x.mean(0), rtol=1e-12)
    assert np.allclose(cov.numpy(), np.cov(x, rowvar=False), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("d", [2, 32, 200])
def test_frechet_distance_matches_scipy_sqrtm(d):
    (m1, s1), (m2, s2) = stats(gaussian_features(4 * d, d, 1)), stats(gaussian_features(4 * d, d, 2, 1.3, 0.1))
    covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    expected = float((m1 - m2).square().sum()) + float(s1.trace() + s2.trace()) - 2 * np.trace(covmean)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_a_mean_shift_adds_its_square():
    mean, cov = stats(gaussian_features(300, 40, 3))
    assert abs(frechet_distance(mean, cov, mean, cov)) < 1e-12 * float(cov.trace())
    shift = torch.linspace(-1, 2, 40, dtype=torch.float64)
    assert frechet_distance(mean, cov, mean + shift, cov) == pytest.approx(float(shift.square().sum()), rel=1e-10)


@pytest.mark.parametrize("n1, n2, rel", [(30, 40, 1e-12), (8, 10, 1e-8)])
def test_frechet_distance_is_accurate_on_singular_covariances(n1, n2, rel):
    """Dead features, and then also fewer samples than features, against 40-digit arithmetic.
    Measured relative errors of tr sqrt(S1 S2) at (8, 10): ours 1e-10; eigvals(S1 S2) (torchmetrics)
    1e-8, scipy sqrtm 9e-9, eigh of sqrt(S1) S2 sqrt(S1) 2e-9."""
    mpmath = pytest.importorskip("mpmath")
    x1, x2 = gaussian_features(n1, 12, 4), gaussian_features(n2, 12, 5, 2.0)
    x1[:, :2] = x2[:, :2] = 0.0  # two dead features
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    mpmath.mp.dps = 40
    eigenvalues = mpmath.eig(mpmath.matrix(s1.tolist()) * mpmath.matrix(s2.tolist()), left=False, right=False)
    exact_trace = sum(mpmath.sqrt(max(mpmath.re(e), 0)) for e in eigenvalues)
    m1, m2 = x1.mean(0), x2.mean(0)
    exact = float(mpmath.mpf(float(((m1 - m2) ** 2).sum())) + mpmath.mpf(float(np.trace(s1)))
                  + mpmath.mpf(float(np.trace(s2))) - 2 * exact_trace)
    t = torch.tensor
    assert float(trace_sqrt_product(t(s1), t(s2))) == pytest.approx(float(exact_trace), rel=rel)
    assert frechet_distance(t(m1), t(s1), t(m2), t(s2)) == pytest.approx(exact, rel=rel)


# --- IS -----------------------------------------------------------------------------------------

def test_inception_score_bounds():
    assert inception_score(torch.zeros(100, 7), splits=5) == (pytest.approx(1.0), pytest.approx(0.0))
    confident = 100.0 * torch.eye(4).repeat(20, 1)  # 80 samples cycling through 4 classes, certain
    assert inception_score(confident, splits=4)[0] == pytest.approx(4.0, rel=1e-9)


@pytest.mark.filterwarnings("ignore:std\\(\\)")  # torchmetrics: sd of one split
def test_inception_score_matches_torchmetrics_on_the_same_logits():
    logits = torch.randn(500, 10, generator=torch.Generator().manual_seed(0)) * 3
    reference = InceptionScore(feature=torch.nn.Identity(), splits=1)  # one split: its shuffle is moot
    reference.update(logits.double())
    mean, _ = reference.compute()
    assert inception_score(logits, splits=1)[0] == pytest.approx(float(mean), rel=1e-12)


# --- PRDC ---------------------------------------------------------------------------------------

def brute_force_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """The prdc package's formulas on full scipy distance matrices."""
    real_radii = np.sort(cdist(real, real), axis=1)[:, k]
    fake_radii = np.sort(cdist(fake, fake), axis=1)[:, k]
    d = cdist(real, fake)  # (N, M)
    return {"precision": (d < real_radii[:, None]).any(axis=0).mean(),
            "recall": (d < fake_radii[None, :]).any(axis=1).mean(),
            "density": (d < real_radii[:, None]).sum(axis=0).mean() / k,
            "coverage": (d.min(axis=1) < real_radii).mean()}


@pytest.mark.parametrize("max_elements", [1, 997, 2**23])  # one row at a time, odd chunks, all at once
def test_prdc_in_chunks_equals_the_brute_force_formulas(max_elements):
    real, fake = gaussian_features(400, 16, 6), gaussian_features(300, 16, 7, 1.2, 0.3)
    for k in (3, 5):
        got = prdc(torch.tensor(real), torch.tensor(fake), k, k, max_elements=max_elements)
        assert got == pytest.approx(brute_force_prdc(real, fake, k), abs=1e-12)


def test_prdc_mixes_k_for_precision_recall_and_density_coverage():
    real, fake = gaussian_features(300, 8, 8), gaussian_features(300, 8, 9, 0.7)
    got = prdc(torch.tensor(real), torch.tensor(fake), k_pr=3, k_dc=5)
    three, five = brute_force_prdc(real, fake, 3), brute_force_prdc(real, fake, 5)
    assert (got["precision"], got["recall"]) == pytest.approx((three["precision"], three["recall"]))
    assert (got["density"], got["coverage"]) == pytest.approx((five["density"], five["coverage"]))


def test_knn_radius_excludes_the_point_itself_even_with_duplicates():
    x = torch.tensor([[0.0], [0.0], [1.0], [3.0]])
    assert knn_radii(x, (1, 2))[1].tolist() == [0.0, 0.0, 1.0, 4.0]  # squared
    with pytest.raises(ValueError, match="too few"):
        knn_radii(x, (4,))


@pytest.mark.slow
def test_prdc_identical_gaussians_small_version():
    """The published example's setting at 2,000 samples: float32 chunked equals float64 brute force."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2000, 1000, generator=g), torch.randn(2000, 1000, generator=g)
    got = prdc(real, fake, 5, 5)
    assert got == pytest.approx(brute_force_prdc(real.double().numpy(), fake.double().numpy(), 5), abs=1e-3)


@pytest.mark.slow
def test_prdc_reproduces_the_prdc_package_published_example():
    """prdc README: two identical 1000-d Gaussians, 10,000 samples each, k=5 gives precision 0.4772,
    recall 0.4705, density 1.0555, coverage 0.9735. Tolerances are ~3 sd over seeds (measured:
    sd 0.013, 0.010, 0.075, 0.008). About 20-40 s on 2 shared cores."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(10_000, 1000, generator=g), torch.randn(10_000, 1000, generator=g)
    got = prdc(real, fake, 5, 5)
    assert got["precision"] == pytest.approx(0.4772, abs=0.04)
    assert got["recall"] == pytest.approx(0.4705, abs=0.03)
    assert got["density"] == pytest.approx(1.0555, abs=0.2)
    assert got["coverage"] == pytest.approx(0.9735, abs=0.025)


# --- Parzen -------------------------------------------------------------------------------------

def test_parzen_with_one_center_is_a_gaussian_density():
    x, center = np.random.default_rng(0).normal(size=(20, 5)), np.full((1, 5), 0.5)
    got = parzen_log_likelihood(torch.tensor(x), torch.tensor(center), torch.tensor([0.3, 2.0], dtype=torch.float64))
    for j, sigma in enumerate((0.3, 2.0)):
        expected = scipy.stats.multivariate_normal(center[0], sigma**2 * np.eye(5)).logpdf(x)
        assert np.allclose(got[:, j].numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("max_elements", [1, 500, 2**22])
def test_parzen_in_chunks_equals_a_logsumexp_over_all_centers(max_elements):
    rng = np.random.default_rng(1)
    x, centers = rng.uniform(size=(30, 50)), rng.uniform(size=(200, 50))
    got = parzen_log_likelihood(torch.tensor(x), torch.tensor(centers), torch.tensor([0.2], dtype=torch.float64), max_elements)[:, 0]
    d2 = cdist(x, centers, "sqeuclidean")
    expected = (scipy.special.logsumexp(-d2 / (2 * 0.2**2), axis=1) - math.log(200)
                - 50 * math.log(0.2) - 25 * math.log(2 * math.pi))
    assert np.allclose(got.numpy(), expected, rtol=1e-12)


def test_parzen_sigma_is_the_grid_value_best_on_validation():
    rng = np.random.default_rng(2)
    centers, validation = torch.tensor(rng.normal(size=(500, 3))), torch.tensor(rng.normal(size=(200, 3)))
    sigmas = torch.logspace(-2, 1, 13, dtype=torch.float64)
    means = parzen_log_likelihood(validation, centers, sigmas).mean(0)
    assert select_sigma(validation, centers, sigmas) == float(sigmas[means.argmax()])
    assert 0.1 < select_sigma(validation, centers, sigmas) < 1.0  # unit Gaussian, 500 centres in 3-d
