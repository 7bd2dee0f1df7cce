"""Metric fidelity against the references researchers cite: the FID Inception's TF1 resize (hand
case, numpy, torch-fidelity) and features (torch-fidelity's own module when its files are present:
`pip install --no-deps --target DIR torch-fidelity` and DIR on PYTHONPATH), the Inception Score's
splits (scipy), PRDC in float64 (the prdc package, numpy), and the DINOv2 extractor with random
weights (shapes, determinism, missing or wrong files; the official DinoVisionTransformer when a
checkout of facebookresearch/dinov2 is on PYTHONPATH; dgm-eval's PIL preprocessing)."""

import importlib
import importlib.util
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from genbench.plugins.metrics import extractors
from genbench.plugins.metrics.dinov2 import DINOv2, resize_like_pil
from genbench.plugins.metrics.extractors import get_extractor
from genbench.plugins.metrics.fid import FID
from genbench.plugins.metrics.inception import FIDInceptionV3, resize_like_tensorflow1
from genbench.plugins.metrics.inception_score import SD, InceptionScore, inception_score
from genbench.plugins.metrics.prdc import prdc
from PIL import Image
from scipy.spatial.distance import cdist

from genbench import ConfigError, DataError

PARAMS = {"extractor_seed": 0, "inception_path": "", "dinov2_path": "", "split": "test"}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(extractors, "_loaded", {})


@pytest.fixture
def torch_fidelity():
    """torch-fidelity's modules, imported without its package __init__ (which imports torchvision,
    and that does not import beside a CPU build of torch); skipped where its files are absent."""
    spec = importlib.util.find_spec("torch_fidelity")
    if spec is None:
        pytest.skip("torch-fidelity's files are not installed (pip install --no-deps torch-fidelity)")
    before = set(sys.modules)
    package = types.ModuleType("torch_fidelity")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["torch_fidelity"] = package
    yield types.SimpleNamespace(
        inception=importlib.import_module("torch_fidelity.feature_extractor_inceptionv3"),
        resize=importlib.import_module("torch_fidelity.interpolate_compat_tensorflow"))
    for name in set(sys.modules) - before:
        del sys.modules[name]


def random_inception_file(path) -> str:
    """A FID Inception-v3 state dict with random weights and batch-norm statistics, saved to path."""
    torch.manual_seed(0)
    net = FIDInceptionV3()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    torch.save(net.state_dict(), path)
    return str(path)


def uint8_images(n: int, channels: int, side: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, channels, side, side), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


# --- 1. Inception: TF1 resize, features, weights files ------------------------------------------

def test_tf1_resize_of_a_hand_checked_case():
    """2x2 -> 4x4, align_corners=False in TF1: target t samples the source at t * 2/4 = 0, .5, 1, 1.5;
    past the last pixel it repeats it (no half-pixel offset, unlike torch's bilinear)."""
    image = torch.tensor([[0.0, 10.0], [20.0, 30.0]]).view(1, 1, 2, 2)
    expected = torch.tensor([[0.0, 5.0, 10.0, 10.0],
                             [10.0, 15.0, 20.0, 20.0],
                             [20.0, 25.0, 30.0, 30.0],
                             [20.0, 25.0, 30.0, 30.0]])
    assert torch.equal(resize_like_tensorflow1(image, 4)[0, 0], expected)
    assert not torch.allclose(torch.nn.functional.interpolate(image, size=4, mode="bilinear")[0, 0], expected)


@pytest.mark.parametrize("side", [28, 32])
def test_tf1_resize_to_299_equals_an_independent_numpy_computation(side):
    image = uint8_images(1, 1, side, side)[0, 0].double().numpy()  # (side, side)
    source = np.arange(299) * (side / 299)  # TF1: in/out scale, no offset
    low = np.floor(source).astype(int)
    high, frac = np.minimum(low + 1, side - 1), source - low
    rows = image[low] * (1 - frac)[:, None] + image[high] * frac[:, None]  # (299, side)
    expected = rows[:, low] * (1 - frac) + rows[:, high] * frac  # (299, 299)
    got = resize_like_tensorflow1(torch.tensor(image, dtype=torch.float32).view(1, 1, side, side))[0, 0]
    assert np.allclose(got.numpy(), expected, atol=1e-3)  # float32 against float64, pixels in [0, 255]
    antialiased = torch.nn.functional.interpolate(torch.tensor(image).view(1, 1, side, side), size=299,
                                                  mode="bilinear", antialias=True)[0, 0].numpy()
    assert np.abs(antialiased - expected).mean() > 5  # what torchmetrics' default does: far from TF1


def test_tf1_resize_is_bit_identical_to_torch_fidelity(torch_fidelity):
    images = uint8_images(2, 3, 32, 1).float()
    reference = torch_fidelity.resize.interpolate_bilinear_2d_like_tensorflow1x(images, size=(299, 299),
                                                                                align_corners=False)
    assert torch.equal(resize_like_tensorflow1(images), reference)


def test_inception_features_equal_torch_fidelity_on_the_same_weights_and_images(torch_fidelity, tmp_path):
    path = random_inception_file(tmp_path / "random.pth")
    reference = torch_fidelity.inception.FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=path)
    extractor = get_extractor(None, "inception", inception_path=path)
    for pixels in (uint8_images(2, 1, 28, 2).expand(-1, 3, -1, -1), uint8_images(2, 3, 32, 3)):
        images = pixels.double() / 127.5 - 1  # what a model gives: [-1, 1], mapped back to the same uint8
        with torch.no_grad():
            features, logits = reference(pixels)
            assert features.abs().max() > 0
            assert torch.equal(extractor(images), features.double())
            assert torch.equal(extractor.logits(images), logits)


def test_inception_extractor_with_random_weights_gives_features_and_logits(tmp_path):
    extractor = get_extractor(None, "inception", inception_path=random_inception_file(tmp_path / "random.pth"))
    images = uint8_images(2, 1, 28, 4).double() / 127.5 - 1  # grey 28x28, as MNIST
    with torch.no_grad():
        features, logits = extractor(images), extractor.logits(images)
    assert features.shape == (2, 2048) and features.dtype == torch.float64 and torch.isfinite(features).all()
    assert logits.shape == (2, 1008)
    assert not torch.equal(features[0], features[1])
    assert "TF1 bilinear" in extractor.provenance["extractor_preprocessing"]


def test_pytorch_fid_wrapper_state_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "wrapper.pth"
    torch.save({"blocks.0.0.conv.weight": torch.zeros(32, 3, 3, 3), "blocks.3.2.branch_pool.bn.bias": torch.zeros(192)},
               path)
    with pytest.raises(DataError, match=r"blocks\.\*.*pt_inception-2015-12-05-6726825d\.pth"):
        get_extractor(None, "inception", inception_path=str(path))


def test_inception_files_that_are_not_plain_weights_are_refused(tmp_path):
    unsafe = tmp_path / "unsafe.pth"
    unsafe.write_bytes(pickle.dumps({"fc.weight": types.SimpleNamespace(x=1)}, protocol=2))  # an object, not tensors
    with pytest.raises(DataError, match="weights_only=True"):
        get_extractor(None, "inception", inception_path=str(unsafe))
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    with pytest.raises(DataError, match="not the FID Inception-v3: missing"):
        get_extractor(None, "inception", inception_path=str(other))


# --- 2. Inception Score splits --------------------------------------------------------------------

def reference_inception_score(logits: np.ndarray, splits: int) -> tuple[float, float]:
    """torch-fidelity's protocol with scipy: splits at i*N//splits, KL per sample, population sd."""
    n, scores = len(logits), []
    for i in range(splits):
        p = scipy.special.softmax(logits[i * n // splits:(i + 1) * n // splits], axis=1)  # (n_i, K)
        kl = scipy.stats.entropy(p, p.mean(axis=0, keepdims=True), axis=1)  # (n_i,)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


@pytest.mark.parametrize("n", [91, 25, 100])
def test_inception_score_splits_at_i_n_over_splits(n):
    """N = 91 and 25 with 10 splits: torch.chunk gave 10 parts of 10 and one of 1, or 9 parts (3 ... 1)."""
    logits = torch.randn(n, 7, generator=torch.Generator().manual_seed(n), dtype=torch.float64) * 3
    expected = reference_inception_score(logits.numpy(), 10)
    assert inception_score(logits, 10) == pytest.approx(expected, rel=1e-12)
    chunked = [float(torch.exp((torch.softmax(part, 1) * (torch.log_softmax(part, 1)
                                - torch.log(torch.softmax(part, 1).mean(0)))).sum(1).mean()))
               for part in logits.chunk(10)]
    if n % 10:
        assert np.mean(chunked) != pytest.approx(expected[0], rel=1e-3)  # the old splits were off


def test_inception_score_params_and_provenance_name_the_sd():
    assert "divisor n" in SD
    params = {"n_fake": 5, "splits": 10, "extractor": "auto", **PARAMS}
    with pytest.raises(ConfigError, match="n_fake >= splits"):
        InceptionScore(**params)
    with pytest.raises(ConfigError, match="no classifier head"):
        InceptionScore(**{**params, "n_fake": 100, "extractor": "dinov2"})


# --- 3. PRDC in float64 -----------------------------------------------------------------------------

def offset_features(n: int, seed: int) -> np.ndarray:
    """Post-ReLU-like features: a large common offset, small differences (float32 cancellation)."""
    rng = np.random.default_rng(seed)
    return 50.0 + rng.normal(size=(n, 64)) * 0.5


def brute_force_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    real_radii = np.sort(cdist(real, real), axis=1)[:, k]
    fake_radii = np.sort(cdist(fake, fake), axis=1)[:, k]
    d = cdist(real, fake)  # (N, M), direct differences in float64
    return {"precision": (d < real_radii[:, None]).any(axis=0).mean(),
            "recall": (d < fake_radii[None, :]).any(axis=1).mean(),
            "density": (d < real_radii[:, None]).sum(axis=0).mean() / k,
            "coverage": (d.min(axis=1) < real_radii).mean()}


def test_prdc_does_not_depend_on_the_chunk_size_and_equals_the_prdc_package():
    real, fake = offset_features(500, 0), offset_features(400, 1)
    results = [prdc(torch.tensor(real, dtype=torch.float32), torch.tensor(fake, dtype=torch.float32), 5, 5,
                    max_elements=m) for m in (1, 997, 50_000, 2**23)]
    assert all(result == results[0] for result in results)  # exactly
    real32, fake32 = real.astype(np.float32).astype(np.float64), fake.astype(np.float32).astype(np.float64)
    assert results[0] == pytest.approx(brute_force_prdc(real32, fake32, 5), abs=1e-12)
    prdc_package = pytest.importorskip("prdc")
    assert results[0] == pytest.approx(prdc_package.compute_prdc(real32, fake32, nearest_k=5), abs=1e-12)


def test_prdc_of_a_set_with_itself_has_density_and_coverage_exactly_one():
    for x in (torch.tensor(offset_features(300, 2), dtype=torch.float32), torch.randn(500, 2048, generator=torch.Generator().manual_seed(3))):
        for max_elements in (1000, 2**23):
            assert prdc(x, x, 3, 5, max_elements) == {"precision": 1.0, "recall": 1.0, "density": 1.0,
                                                     "coverage": 1.0}


# --- 4. DINOv2 ------------------------------------------------------------------------------------

def random_dinov2_file(path, width: int = 384, depth: int = 12, heads: int = 6) -> str:
    """A ViT-S/14 state dict as the official checkpoint holds it (518-pixel grid, mask token), random."""
    torch.manual_seed(1)
    net = DINOv2(width, depth, heads)
    for parameter in (net.cls_token, net.pos_embed, *(b.ls1.gamma for b in net.blocks)):
        parameter.data.normal_(0, 0.5)
    torch.save({**net.state_dict(), "mask_token": torch.zeros(1, width)}, path)
    return str(path)


def test_dinov2_without_a_weights_file_says_where_to_put_it(tmp_path):
    fid = {"n_fake": 10, "n_real": 10, "extractor": "dinov2", **PARAMS}
    with pytest.raises(DataError, match="never downloads") as missing_default:
        FID(**fid)  # at factory time, before any training
    assert str(tmp_path / "cache" / "dinov2" / extractors.DINOV2_FILE) in str(missing_default.value)
    with pytest.raises(DataError, match="no file at /nowhere/dinov2.pth.*dinov2_path="):
        FID(**{**fid, "dinov2_path": "/nowhere/dinov2.pth"})


def test_dinov2_features_with_random_weights_have_the_width_and_are_deterministic(tmp_path):
    path = random_dinov2_file(tmp_path / "dinov2_vits14_pretrain.pth")
    extractor = get_extractor(None, "dinov2", dinov2_path=path)
    assert extractor.provenance["extractor"] == "dinov2-vits14" and extractor.num_features == 384
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1  # grey 28x28
    with torch.no_grad():
        features = extractor(images)
        assert features.shape == (3, 384) and features.dtype == torch.float64 and torch.isfinite(features).all()
        assert torch.equal(features, extractor(images))
        assert not torch.equal(features[0], features[1])
        assert extractor(torch.rand(2, 3, 32, 32) * 2 - 1).shape == (2, 384)  # RGB, another size
    extractors._loaded.clear()  # a fresh load of the same file gives the same features
    with torch.no_grad():
        assert torch.equal(get_extractor(None, "dinov2", dinov2_path=path)(images), features)


def test_dinov2_refuses_files_that_are_not_dinov2(tmp_path):
    inception = random_inception_file(tmp_path / "inception.pth")
    with pytest.raises(DataError, match="not a DINOv2 ViT-S/B/L/14 state dict"):
        get_extractor(None, "dinov2", dinov2_path=inception)
    broken = tmp_path / "broken.pth"
    state = torch.load(random_dinov2_file(tmp_path / "d.pth"), weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("blocks.11.")}, broken)
    with pytest.raises(DataError, match="does not fit DINOv2 vits14: missing"):
        get_extractor(None, "dinov2", dinov2_path=str(broken))


def test_dinov2_preprocessing_is_dgm_evals_pil_bicubic_resize():
    pixels = uint8_images(2, 1, 28, 5)  # grey, as MNIST
    got = resize_like_pil(pixels.double() / 127.5 - 1)  # (2, 3, 224, 224)
    for image, resized in zip(pixels, got, strict=True):
        expected = Image.fromarray(image[0].numpy()).convert("RGB").resize((224, 224), Image.BICUBIC)
        assert torch.equal(resized, torch.tensor(np.asarray(expected)).permute(2, 0, 1).float())


def test_dinov2_features_equal_the_official_model_on_the_same_weights(tmp_path):
    """The official DinoVisionTransformer as torch.hub builds dinov2_vits14 (518-pixel grid, position
    offset 0.1, no antialias), random weights; skipped without a dinov2 checkout on PYTHONPATH."""
    if importlib.util.find_spec("dinov2") is None:
        pytest.skip("the official DINOv2 code is not importable (a facebookresearch/dinov2 checkout on PYTHONPATH)")
    vits = importlib.import_module("dinov2.models.vision_transformer")
    torch.manual_seed(2)
    official = vits.vit_small(img_size=518, patch_size=14, init_values=1.0, ffn_layer="mlp", block_chunks=0,
                              num_register_tokens=0, interpolate_antialias=False, interpolate_offset=0.1).eval()
    for parameter in official.parameters():
        parameter.data.normal_(0, 0.2)
    path = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(official.state_dict(), path)  # with its mask_token, as the released checkpoints
    extractor = get_extractor(None, "dinov2", dinov2_path=str(path))
    images = uint8_images(2, 3, 32, 6).double() / 127.5 - 1
    normalised = (resize_like_pil(images) / 255 - extractor.net.mean) / extractor.net.std
    with torch.no_grad():
        expected = official(normalised)  # (2, 384): the hub model's output, the normed class token
        assert expected.shape == (2, 384)
        assert torch.allclose(extractor(images).float(), expected, rtol=1e-4, atol=1e-5)
