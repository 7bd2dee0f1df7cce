"""Feature extractors for the image metrics, trained or loaded offline and cached on disk.

`get_extractor(data, name, seed, inception_path)` returns an `Extractor`: an nn.Module mapping
images (N, C, H, W) in [-1, 1] to (N, d) float64 features (what torchmetrics' FID and KID take as
`feature=`), with `logits(images)` for class probabilities and `provenance` for every score.

- "auto", "lenet", "cnn": a domain classifier (classifiers.py) trained on the dataset's train
  split the first time it is needed, then cached in $GENBENCH_CACHE (default ~/.cache/genbench)
  under extractors/, keyed by sha256 of (dataset fingerprint, architecture, training recipe,
  seed, genbench version). A JSON file beside the weights holds the weights' hash and the
  held-out accuracy (on the test split, or on the last 10% of train when there is none).
- "dinov2": DINOv2 ViT class-token features (dinov2.py) from a local weights file, for FD_DINOv2
  (Stein et al. 2023); no logits, so no Inception Score.
- "inception": the FID Inception-v3 (inception.py: torch-fidelity's network and preprocessing, in
  plain PyTorch) from a local weights file, torch-fidelity's or pytorch-fid's, read with
  weights_only=True. Nothing is ever downloaded; a missing file is an error saying where to put it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from genbench import Data, DataError, __version__, load_weights

from .classifiers import ARCHITECTURES, RECIPE, accuracy, auto_architecture, build_classifier, train_classifier
from .dinov2 import FILES as DINOV2_FILES
from .dinov2 import load_dinov2
from .inception import FIDInceptionV3

log = logging.getLogger(__name__)

EXTRACTORS = ("auto", *ARCHITECTURES, "inception", "dinov2")
DINOV2_FILE = "dinov2_vitl14_pretrain.pth"  # the official ViT-L/14 checkpoint, as Stein et al. use
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's FID Inception-v3
PYTORCH_FID_FILE = "pt_inception-2015-12-05-6726825d.pth"  # pytorch-fid's: the same layers and names
HELDOUT_FRACTION = 0.1  # of train, held out for the accuracy when the dataset has no labelled test split
_loaded: dict[tuple, Extractor] = {}  # in-process: (cache file or weights path, ...) -> Extractor


class Unavailable(Exception):
    """A metric cannot be computed on this data; the message is the reason stored with its NaN."""


class Extractor(nn.Module):
    """images (N, C, H, W) in [-1, 1] -> (N, d) float64 features; logits(images) -> (N, K)."""

    def __init__(self, net: nn.Module, provenance: dict):
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.num_features = net.num_features  # torchmetrics reads this instead of probing 299x299 input
        self.provenance = provenance

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.features(images).double()  # float64: FID/KID statistics in double precision

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


def cache_dir() -> Path:
    return Path(os.environ.get("GENBENCH_CACHE") or Path.home() / ".cache" / "genbench")


def _update(digest, tensor: torch.Tensor) -> None:
    array = tensor.detach().cpu().contiguous().numpy()
    digest.update(f"{array.dtype}{array.shape};".encode())
    digest.update(array.data)


def fingerprint(*tensors: torch.Tensor | None) -> str:
    """sha256 over each tensor's dtype, shape and bytes (None entries count as absent)."""
    digest = hashlib.sha256()
    for tensor in tensors:
        if tensor is None:
            digest.update(b"none;")
        else:
            _update(digest, tensor)
    return digest.hexdigest()


def weights_hash(module: nn.Module) -> str:
    """sha256 over the module's state (names, dtypes, shapes, bytes) in name order, 16 hex digits."""
    state = module.state_dict()
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        _update(digest, state[name])
    return digest.hexdigest()[:16]


def get_extractor(data: Data, name: str = "auto", seed: int = 0, inception_path: str = "",
                  dinov2_path: str = "") -> Extractor:
    """The extractor `name` for `data`: cached in this process, then on disk, else trained (or loaded)."""
    if name not in EXTRACTORS:
        raise ValueError(f"unknown extractor {name!r}; one of {', '.join(EXTRACTORS)}")
    if name == "inception":
        return inception_extractor(inception_path)
    if name == "dinov2":
        return dinov2_extractor(dinov2_path)
    return classifier_extractor(data, auto_architecture(data.info.shape) if name == "auto" else name, seed)


def _split_for_training(data: Data):
    """(train images, labels), (held-out images, labels), description of the held-out set."""
    if data.test is not None and data.test_labels is not None:
        return (data.train, data.train_labels), (data.test, data.test_labels), f"test split (n={len(data.test)})"
    cut = len(data.train) - max(1, int(HELDOUT_FRACTION * len(data.train)))
    return ((data.train[:cut], data.train_labels[:cut]), (data.train[cut:], data.train_labels[cut:]),
            f"last {len(data.train) - cut} of train (no labelled test split)")


def classifier_extractor(data: Data, arch: str, seed: int) -> Extractor:
    if data.train_labels is None:
        raise Unavailable("the dataset has no labels, so no domain classifier can be trained for "
                          "features or class probabilities; fix: use a labelled dataset, or "
                          "extractor='inception' with a local Inception weights file (FID, KID, PRDC)")
    data_hash = fingerprint(data.train, data.train_labels, data.test, data.test_labels)
    key_parts = {"data": data_hash, "arch": arch, "recipe": RECIPE, "seed": seed, "genbench": __version__}
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()
    path = cache_dir() / "extractors" / f"{arch}-{key[:24]}.pt"
    if (path, key) in _loaded:
        return _loaded[(path, key)]
    n_classes = max(int(data.train_labels.max()) + 1, data.info.n_classes or 0)
    net = build_classifier(arch, tuple(data.info.shape), n_classes)
    record = _read_cached(path, net)
    if record is None:
        (train_x, train_y), (held_x, held_y), heldout = _split_for_training(data)
        log.info("training the %s feature extractor on %d images (cached in %s)", arch, len(train_x), path)
        net = train_classifier(arch, train_x.cpu(), train_y.cpu(), n_classes, seed)
        record = {**key_parts, "weights": weights_hash(net), "n_classes": n_classes,
                  "accuracy": accuracy(net, held_x.cpu(), held_y.cpu()), "heldout": heldout}
        _write_cached(path, net, record)
    extractor = Extractor(net, {
        "extractor": arch, "extractor_hash": record["weights"], "extractor_seed": seed,
        "extractor_accuracy": record["accuracy"], "extractor_heldout": record["heldout"],
        "extractor_data": data_hash[:16],
    })
    _loaded[(path, key)] = extractor
    return extractor


def _read_cached(path: Path, net: nn.Module) -> dict | None:
    """The cached record with its weights loaded into `net`, or None (absent or not matching)."""
    meta = path.with_suffix(".json")
    if not (path.exists() and meta.exists()):
        return None
    record = json.loads(meta.read_text())
    try:
        net.load_state_dict(load_weights(path, "cached extractor", "It is trained again."))
    except DataError as exc:  # e.g. truncated by a full disk: a cache is rebuilt, not trusted
        log.warning("%s", exc)
        return None
    net.eval().requires_grad_(False)
    if weights_hash(net) != record["weights"]:
        log.warning("cached extractor %s does not match its recorded hash; retraining it", path)
        return None
    return record


def _write_cached(path: Path, net: nn.Module, record: dict) -> None:
    """Weights, then the JSON beside them, each written whole (temporary file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, write in ((path, lambda f: torch.save(net.state_dict(), f)),
                          (path.with_suffix(".json"), lambda f: f.write_text(json.dumps(record, indent=1)))):
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        write(temporary)
        os.replace(temporary, target)


class InceptionV3(nn.Module):
    """The FID Inception-v3 (inception.py) on [-1, 1] images: 2048 pool features, 1008 logits."""

    def __init__(self, state: dict[str, torch.Tensor]):
        super().__init__()
        self.inception = FIDInceptionV3()
        self.inception.load_state_dict(state)
        self.num_features = 2048

    def _both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (N, C, H, W) in [0, 255]
        pixels = pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels  # grey -> RGB
        return self.inception(pixels)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self._both(x)[0]  # (N, 2048)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._both(x)[1]  # (N, 1008)


def read_inception_state(path: Path) -> dict[str, torch.Tensor]:
    """The weights file's state dict (tensors only: weights_only), in FIDInceptionV3's layout; DataError if not."""
    state = load_weights(path, "Inception weights file", f"Fix: use torch-fidelity's {INCEPTION_FILE} or "
                                                          f"pytorch-fid's {PYTORCH_FID_FILE}")
    keys = set(state) if isinstance(state, dict) else set()
    if any(str(key).startswith("blocks.") for key in keys):
        raise DataError(f"{path} holds the state of pytorch-fid's InceptionV3 wrapper (keys blocks.*), which "
                        f"drops the 1008-class layer the Inception Score needs. Fix: use the plain weights file, "
                        f"pytorch-fid's {PYTORCH_FID_FILE} or torch-fidelity's {INCEPTION_FILE} (the same "
                        f"layers, named Conv2d_1a_3x3.conv.weight, ..., fc.bias)")
    expected = set(FIDInceptionV3().state_dict())
    if keys != expected:
        missing, unexpected = sorted(expected - keys), sorted(map(str, keys - expected))
        raise DataError(f"{path} is not the FID Inception-v3: missing {len(missing)} weights {missing[:3]}, "
                        f"unexpected {len(unexpected)} {unexpected[:3]}. Fix: use torch-fidelity's "
                        f"{INCEPTION_FILE} or pytorch-fid's {PYTORCH_FID_FILE}")
    return state


@dataclass(frozen=True)
class WeightsFile:
    """A pretrained extractor read from a local file, which genbench never downloads."""

    extractor: str  # its name, and its folder under $GENBENCH_CACHE
    default: str  # the file looked for in that folder
    param: str  # the metric parameter naming another file
    wanted: str  # what file it needs, as the error says it
    others: str = ""  # other files that fit, as the fix says it


INCEPTION = WeightsFile("inception", INCEPTION_FILE, "inception_path", f"the FID Inception-v3 weights file "
                        f"{INCEPTION_FILE} (torch-fidelity's release asset)", f" (or pytorch-fid's {PYTORCH_FID_FILE})")
DINOV2 = WeightsFile("dinov2", DINOV2_FILE, "dinov2_path", f"a DINOv2 weights file ({DINOV2_FILES}, the official "
                     f"checkpoints, or a timm vit_*_patch14_dinov2 state dict)")


def weights_file(kind: WeightsFile, given: str) -> Path:
    """The weights file to read: `given`, or the default place in the cache; DataError if absent."""
    path = Path(given).expanduser() if given else cache_dir() / kind.extractor / kind.default
    if not path.is_file():
        raise DataError(
            f"extractor {kind.extractor!r} needs {kind.wanted} on disk, and genbench never downloads it: no file "
            f"at {path}. Fix: copy the file there from a machine that has it{kind.others}, or pass "
            f"{kind.param}=<file>; or use a domain classifier (extractor='auto').")
    return path


def weights_file_extractor(kind: str, path: Path, load: Callable[[Path], tuple[nn.Module, str]],
                           preprocessing: str) -> Extractor:
    """The extractor `load(path)` builds (a network and its name), once per file and kind; its
    provenance names the file and the file's hash."""
    if (path, kind) not in _loaded:
        net, name = load(path)
        file_hash = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        _loaded[(path, kind)] = Extractor(net, {
            "extractor": name, "extractor_hash": file_hash, "extractor_path": str(path),
            "extractor_preprocessing": preprocessing})
    return _loaded[(path, kind)]


def inception_extractor(inception_path: str) -> Extractor:
    return weights_file_extractor(
        "inception", weights_file(INCEPTION, inception_path),
        lambda path: (InceptionV3(read_inception_state(path)), "inception-v3-compat"),
        "uint8, TF1 bilinear resize to 299 (torch-fidelity's), (x - 128) / 128")


def dinov2_extractor(dinov2_path: str) -> Extractor:
    return weights_file_extractor("dinov2", weights_file(DINOV2, dinov2_path), load_dinov2,
                                  "bicubic resize to 224, ImageNet mean and sd; class token after the norm")
